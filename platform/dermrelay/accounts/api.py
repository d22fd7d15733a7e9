"""Sign-in for the browser (session + CSRF) and for capture devices (token), and the sites a user holds roles at."""

from __future__ import annotations

from django.contrib.auth import authenticate, login, logout
from django.middleware.csrf import get_token
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record
from dermrelay.cases.selectors import site_statistics

from .models import Role, Site
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


def _authenticate(request, serializer: CredentialsSerializer):
    serializer.is_valid(raise_exception=True)
    user = authenticate(request, **serializer.validated_data)
    if user is None:
        audit_record(actor=None, action="login", outcome=AuditOutcome.DENIED,
                     detail={"username": serializer.validated_data["username"]})
        raise AuthenticationFailed("Wrong username or password.")
    return user


class LoginView(APIView):
    """Browser sign-in: starts a session; later unsafe requests must send the X-CSRFToken header."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=CredentialsSerializer, responses=MeSerializer)
    def post(self, request):
        user = _authenticate(request, CredentialsSerializer(data=request.data))
        login(request, user)
        get_token(request)
        audit_record(actor=user, action="login", detail={"method": "session"})
        return Response(_me(user))


class LogoutView(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        audit_record(actor=request.user, action="logout")
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request):
        get_token(request)  # make sure the browser app holds a CSRF cookie
        return Response(_me(request.user))


class TokenView(APIView):
    """Capture devices exchange a user's credentials for a token: `Authorization: Token <key>`."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=CredentialsSerializer, responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}))
    def post(self, request):
        user = _authenticate(request, CredentialsSerializer(data=request.data))
        token, _ = Token.objects.get_or_create(user=user)
        audit_record(actor=user, action="login", detail={"method": "token"})
        return Response({"token": token.key})


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
        return Response([{"id": user.id, "full_name": user.get_full_name() or user.username, "username": user.username}
                         for user in site_technicians(site=site).order_by("last_name", "first_name", "username")])
