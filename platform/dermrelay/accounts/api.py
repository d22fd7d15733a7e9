"""Sign-in for the browser (session + CSRF) and for capture devices (token), and the sites a user holds roles at."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.middleware.csrf import get_token
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotFound, Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record
from dermrelay.cases.selectors import site_statistics
from dermrelay.network import client_address

from .device_tokens import device_token_issue, device_token_list, device_token_revoke
from .models import DeviceToken, Role, Site
from .selectors import clinical_site_ids, site_ids_for_user, site_list, site_roles, site_technicians


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "name", "code", "timezone"]


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField()
    roles = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


def _me(user) -> dict:
    return {"id": user.id, "username": user.username, "full_name": user.get_full_name(), "roles": site_roles(user=user)}


class LoginRateThrottle(SimpleRateThrottle):
    """Sign-in attempts per client address (as the trusted proxy saw it, never as the client claims)."""

    scope = "login"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]  # read when asked, so a changed setting holds

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_address(request) or "unknown"}


def _authenticate(request, serializer: CredentialsSerializer):
    """The user these credentials sign in, or a refusal. Repeated wrong passwords lock the account
    (django-axes counts them per username in the database, across every web worker)."""
    serializer.is_valid(raise_exception=True)
    user = authenticate(request, **serializer.validated_data)
    if user is not None:
        return user
    username = serializer.validated_data["username"]
    if getattr(request, "axes_locked_out", False):
        audit_record(actor=None, action="login", outcome=AuditOutcome.DENIED,
                     detail={"username": username, "reason": "locked_out"})
        cool_off = int(settings.AXES_COOLOFF_TIME.total_seconds())
        raise Throttled(wait=cool_off, code="account_locked", detail=(
            f"Too many wrong passwords for this account: sign-in is locked for {cool_off // 60} minutes after "
            "the last attempt, unless the platform's administrator unlocks it sooner."))
    audit_record(actor=None, action="login", outcome=AuditOutcome.DENIED, detail={"username": username})
    raise AuthenticationFailed("Wrong username or password.")


class LoginView(APIView):
    """Browser sign-in: starts a session; later unsafe requests must send the X-CSRFToken header.
    The sign-in itself needs it too (login CSRF: another site's form must not sign a browser in to
    an account of the attacker's); `GET` hands out the CSRF cookie, as the app's page does."""

    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(request=None, responses={204: None})
    def get(self, request):
        """The CSRF cookie to send back as X-CSRFToken with the credentials."""
        get_token(request)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=CredentialsSerializer, responses=MeSerializer)
    def post(self, request):
        SessionAuthentication().enforce_csrf(request)
        user = _authenticate(request, CredentialsSerializer(data=request.data))
        login(request, user)
        get_token(request)
        audit_record(actor=user, action="login", detail={"method": "session"})
        return Response(_me(user))


class LogoutView(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        """Ends the browser session, or, signed in with a device token, revokes that token."""
        audit_record(actor=request.user, action="logout")
        if isinstance(request.auth, DeviceToken):
            device_token_revoke(token=request.auth, actor=request.user, reason="signed_out")
        else:
            logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request):
        get_token(request)  # make sure the browser app holds a CSRF cookie
        return Response(_me(request.user))


class DeviceCredentialsSerializer(CredentialsSerializer):
    name = serializers.CharField(max_length=100, required=False, default="capture device",
                                 help_text="What the device is (e.g. 'VivaScope, room 2'), to tell its token apart.")


class DeviceTokenSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField(help_text="the token this request was signed in with")

    class Meta:
        model = DeviceToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at", "state", "current"]

    def get_state(self, token) -> str:
        if token.revoked_at is not None:
            return "revoked"
        return "expired" if token.expires_at <= timezone.now() else "active"

    def get_current(self, token) -> bool:
        request = self.context.get("request")
        return bool(request and isinstance(request.auth, DeviceToken) and request.auth.pk == token.pk)


class IssuedTokenSerializer(DeviceTokenSerializer):
    token = serializers.CharField(help_text="the key: shown this once, never stored")

    class Meta(DeviceTokenSerializer.Meta):
        fields = ["token", *DeviceTokenSerializer.Meta.fields]


class TokenView(APIView):
    """Capture devices exchange a user's credentials for a token of their own: `Authorization:
    Token <key>`. Every exchange issues a new token with a lifetime (DERMRELAY_DEVICE_TOKEN_DAYS);
    its owner sees and revokes their tokens at /auth/tokens/."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [LoginRateThrottle]

    @extend_schema(request=DeviceCredentialsSerializer, responses={201: IssuedTokenSerializer})
    def post(self, request):
        serializer = DeviceCredentialsSerializer(data=request.data)
        user = _authenticate(request, serializer)
        token, key = device_token_issue(user=user, name=serializer.validated_data["name"])
        audit_record(actor=user, action="login", detail={"method": "token", "token": str(token.id)})
        token.token = key
        return Response(IssuedTokenSerializer(token, context={"request": request}).data, status=status.HTTP_201_CREATED)


class DeviceTokenListView(APIView):
    @extend_schema(responses=DeviceTokenSerializer(many=True))
    def get(self, request):
        """Your device tokens, newest first, revoked and expired ones included."""
        tokens = list(device_token_list(user=request.user))
        audit_record(actor=request.user, action="list", object_type="device_token",
                     detail={"ids": [str(token.id) for token in tokens]})
        return Response(DeviceTokenSerializer(tokens, many=True, context={"request": request}).data)


class DeviceTokenRevokeView(APIView):
    @extend_schema(request=None, responses=DeviceTokenSerializer)
    def post(self, request, pk):
        """Revoke one of your device tokens: the device is signed out at once."""
        token = device_token_list(user=request.user).filter(pk=pk).first()
        if token is None:
            raise NotFound("You have no such device token.")
        device_token_revoke(token=token, actor=request.user, reason="revoked_by_owner")
        return Response(DeviceTokenSerializer(token, context={"request": request}).data)


class SiteViewSet(viewsets.ReadOnlyModelViewSet):
    """The sites you hold a role at."""

    serializer_class = SiteSerializer
    pagination_class = None

    def get_queryset(self):
        return site_list(user=self.request.user)

    @extend_schema(responses=inline_serializer("SiteStatistics", {
        "patients": serializers.IntegerField(), "lesions": serializers.IntegerField(),
        "cases": serializers.IntegerField(), "cases_by_status": serializers.DictField(child=serializers.IntegerField()),
        "images": serializers.IntegerField(), "images_by_kind": serializers.DictField(child=serializers.IntegerField()),
        "images_by_status": serializers.DictField(child=serializers.IntegerField()),
    }))
    @action(detail=True, methods=["get"])
    def statistics(self, request, pk=None):
        """Aggregate counts for QA admins and site admins of this site; no patient-level data."""
        site = self.get_object()
        if site.id not in site_ids_for_user(user=request.user, roles=[Role.QA_ADMIN, Role.SITE_ADMIN]):
            raise NotFound()
        audit_record(actor=request.user, action="view_statistics", object_type="site", object_id=site.id, site_id=site.id)
        return Response(site_statistics(site=site))

    @extend_schema(responses=inline_serializer("SiteTechnician", {
        "id": serializers.IntegerField(), "full_name": serializers.CharField(), "username": serializers.CharField(),
    }, many=True))
    @action(detail=True, methods=["get"])
    def technicians(self, request, pk=None):
        """The site's active technicians, for the clinic's case form; only for the site's technicians and admins."""
        site = self.get_object()
        if site.id not in clinical_site_ids(user=request.user):
            raise NotFound()
        technicians = list(site_technicians(site=site).order_by("last_name", "first_name", "username"))
        audit_record(actor=request.user, action="list", object_type="technician", site_id=site.id,
                     detail={"ids": [user.id for user in technicians]})
        return Response([{"id": user.id, "full_name": user.get_full_name() or user.username, "username": user.username}
                         for user in technicians])
