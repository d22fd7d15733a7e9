"""Sign-in for the browser (session + CSRF) and for capture devices (token), with a second factor
where a site's policy asks for one (accounts/mfa.py).

The browser signs in in two steps when a code is needed: the password starts a pending sign-in in
the session (202, `next_step`), and no session is signed in until `POST /auth/login/code/` gives the
authenticator's code, a recovery code or an emergency code (accounts/break_glass.py), or, for
someone the policy requires to set an authenticator up, until the enrolment is confirmed
(accounts/api/mfa.py). A pending sign-in lasts five minutes and five wrong codes."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.middleware.csrf import get_token
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, AuthenticationFailed, PermissionDenied, Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record
from dermrelay.network import client_address

from ..break_glass import SESSION_KEY as BREAK_GLASS_SESSION_KEY
from ..break_glass import break_glass_session_grant, break_glass_use
from ..device_tokens import device_token_issue, device_token_revoke
from ..mfa import mfa_check_code, mfa_enrolled, mfa_required, recovery_codes_left
from ..models import DeviceToken, User
from ..selectors import site_roles
from .devices import IssuedTokenSerializer

PENDING_KEY = "mfa_pending"
PENDING_SECONDS = 300
PENDING_TRIES = 5


class Refused(APIException):
    """A 400 with its own code (the API's error shape: {"detail", "code"})."""

    status_code = 400
    default_code = "refused"


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class MfaStateSerializer(serializers.Serializer):
    enrolled = serializers.BooleanField(help_text="an authenticator is set up")
    required = serializers.BooleanField(help_text="a site's policy asks this user for a second factor")
    recovery_codes_left = serializers.IntegerField()
    break_glass_until = serializers.DateTimeField(allow_null=True, help_text=(
        "this session was started with emergency access, which ends then"))


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField()
    roles = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    mfa = MfaStateSerializer()


class NextStepSerializer(serializers.Serializer):
    next_step = serializers.ChoiceField(choices=["mfa_code", "mfa_enrol"], help_text=(
        "mfa_code: send the authenticator's code (or a recovery or emergency code) to /auth/login/code/; "
        "mfa_enrol: set an authenticator up (/auth/mfa/authenticator/) before the first session starts"))
    detail = serializers.CharField()


def me_data(request, user: User) -> dict:
    grant_id = request.session.get(BREAK_GLASS_SESSION_KEY) if hasattr(request, "session") else None
    grant = break_glass_session_grant(grant_id=grant_id) if grant_id else None
    return {"id": user.id, "username": user.username, "full_name": user.get_full_name(), "roles": site_roles(user=user),
            "mfa": {"enrolled": mfa_enrolled(user=user), "required": mfa_required(user=user),
                    "recovery_codes_left": recovery_codes_left(user=user),
                    "break_glass_until": grant.expires_at if grant else None}}


class LoginRateThrottle(SimpleRateThrottle):
    """Sign-in attempts per client address (as the trusted proxy saw it, never as the client claims)."""

    scope = "login"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]  # read when asked, so a changed setting holds

    def get_cache_key(self, request, view):
        if request.method == "GET":
            return None  # asking for the CSRF cookie is no guess
        return self.cache_format % {"scope": self.scope, "ident": client_address(request) or "unknown"}


class CodeRateThrottle(LoginRateThrottle):
    """Second-factor steps per client address, counted apart from the passwords (a sign-in with a
    code makes two or three requests); each device also makes the next code wait after a wrong one."""

    scope = "mfa"


def _authenticate(request, serializer: CredentialsSerializer) -> User:
    """The user these credentials sign in, or a refusal. Repeated wrong passwords lock the account
    (django-axes counts them per username in the database, across every web worker)."""
    serializer.is_valid(raise_exception=True)
    user = authenticate(request, **{key: serializer.validated_data[key] for key in ("username", "password")})
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


def _code_refused(user: User, check, why: str) -> None:
    audit_record(actor=None, action="login", outcome=AuditOutcome.DENIED,
                 detail={"username": user.username, "reason": why})
    if check is not None and check.wait_seconds:
        raise Throttled(wait=check.wait_seconds, code="mfa_wait", detail=(
            f"Too many wrong codes: wait {check.wait_seconds} seconds before the next one."))


def pending_user(request, *, step: str | None = None) -> User | None:
    """The user a pending sign-in in this session is for (still fresh, same password and stamp)."""
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["since"] > PENDING_SECONDS or (step and pending["step"] != step):
        return None
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is None or pending["hash"] != user.get_session_auth_hash():
        return None
    return user


def session_start(request, user: User, *, second_factor: str, grant=None) -> None:
    """The browser's session starts, with how the second factor was given (or none was needed)."""
    request.session.pop(PENDING_KEY, None)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session["second_factor"] = second_factor
    if grant is not None:
        request.session[BREAK_GLASS_SESSION_KEY] = str(grant.id)
        request.session.set_expiry(grant.expires_at)
    get_token(request)
    detail = {"method": "session", "second_factor": second_factor}
    if grant is not None:
        detail["break_glass"] = str(grant.id)
    audit_record(actor=user, action="login", detail=detail)


class LoginView(APIView):
    """Browser sign-in: starts a session (200) or a pending sign-in that needs a second factor (202);
    later unsafe requests must send the X-CSRFToken header. The sign-in itself needs it too (login
    CSRF: another site's form must not sign a browser in to an account of the attacker's); `GET`
    hands out the CSRF cookie, as the app's page does."""

    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(request=None, responses={204: None})
    def get(self, request):
        """The CSRF cookie to send back as X-CSRFToken with the credentials."""
        get_token(request)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=CredentialsSerializer, responses={200: MeSerializer, 202: NextStepSerializer})
    def post(self, request):
        SessionAuthentication().enforce_csrf(request)
        user = _authenticate(request, CredentialsSerializer(data=request.data))
        enrolled, required = mfa_enrolled(user=user), mfa_required(user=user)
        if not enrolled and not required:
            session_start(request, user, second_factor="")
            return Response(me_data(request, user))
        step = "mfa_code" if enrolled else "mfa_enrol"
        request.session.cycle_key()
        request.session[PENDING_KEY] = {"user": user.id, "since": time.time(), "step": step, "tries": 0,
                                        "hash": user.get_session_auth_hash()}
        get_token(request)
        audit_record(actor=user, action="login_password", detail={"next_step": step})
        detail = ("Enter the code your authenticator app shows, or a recovery code." if enrolled else
                  "Your role requires a second factor: set an authenticator app up to finish signing in.")
        return Response({"next_step": step, "detail": detail}, status=status.HTTP_202_ACCEPTED)


class CodeSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40, help_text=(
        "the authenticator's six digits, a recovery code, or an emergency access code"))


class LoginCodeView(APIView):
    """The second step of a browser sign-in: the authenticator's code, a recovery code (used up), or
    an emergency access code a site administrator gave (the session then ends with the grant)."""

    permission_classes = [AllowAny]
    throttle_classes = [CodeRateThrottle]

    @extend_schema(request=CodeSerializer, responses={200: MeSerializer})
    def post(self, request):
        SessionAuthentication().enforce_csrf(request)
        serializer = CodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = pending_user(request)
        if user is None:
            request.session.pop(PENDING_KEY, None)
            raise Refused("No sign-in is waiting for a code (or it took too long): enter your password again.",
                          code="no_pending_sign_in")
        code = serializer.validated_data["code"]
        check = mfa_check_code(user=user, code=code) if request.session[PENDING_KEY]["step"] == "mfa_code" else None
        if check is not None and check.method:
            session_start(request, user, second_factor=check.method)
            return Response(me_data(request, user))
        if check is None or not check.wait_seconds:
            grant = break_glass_use(user=user, code=code)
            if grant is not None:
                session_start(request, user, second_factor="break_glass", grant=grant)
                return Response(me_data(request, user))
        _code_refused(user, check, "wrong_code")
        pending = request.session[PENDING_KEY]
        pending["tries"] += 1
        if pending["tries"] >= PENDING_TRIES:
            request.session.pop(PENDING_KEY)
            raise AuthenticationFailed("Too many wrong codes: enter your password again.")
        request.session[PENDING_KEY] = pending
        raise AuthenticationFailed("That code is not right (codes change every 30 seconds).")


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
        return Response(me_data(request, request.user))


class DeviceCredentialsSerializer(CredentialsSerializer):
    name = serializers.CharField(max_length=100, required=False, default="capture device",
                                 help_text="What the device is (e.g. 'VivaScope, room 2'), to tell its token apart.")
    code = serializers.CharField(max_length=40, required=False, default="", allow_blank=True, help_text=(
        "the authenticator's code or a recovery code, for someone with an authenticator"))


class TokenView(APIView):
    """Capture devices exchange a user's credentials for a token of their own: `Authorization:
    Token <key>`. Every exchange issues a new token with a lifetime (DERMRELAY_DEVICE_TOKEN_DAYS);
    its owner sees and revokes their tokens at /auth/tokens/. Someone with an authenticator sends
    its code too; someone a site's policy requires one of sets it up in the browser first (an
    emergency access code never gives a device token)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [LoginRateThrottle]

    @extend_schema(request=DeviceCredentialsSerializer, responses={201: IssuedTokenSerializer})
    def post(self, request):
        serializer = DeviceCredentialsSerializer(data=request.data)
        user = _authenticate(request, serializer)
        second_factor = ""
        if mfa_enrolled(user=user):
            code = serializer.validated_data["code"]
            if not code:
                raise AuthenticationFailed("Send your authenticator's code as 'code' too.", code="mfa_code_required")
            check = mfa_check_code(user=user, code=code)
            if not check.method:
                _code_refused(user, check, "wrong_code")
                raise AuthenticationFailed("That code is not right (codes change every 30 seconds).")
            second_factor = check.method
        elif mfa_required(user=user):
            raise PermissionDenied("Your role requires a second factor: set an authenticator up in the browser "
                                   "(Security, under your name) before signing a device in.", code="mfa_enrolment_required")
        token, key = device_token_issue(user=user, name=serializer.validated_data["name"], second_factor=second_factor)
        audit_record(actor=user, action="login", detail={"method": "token", "token": str(token.id), "second_factor": second_factor})
        token.token = key
        return Response(IssuedTokenSerializer(token, context={"request": request}).data, status=status.HTTP_201_CREATED)
