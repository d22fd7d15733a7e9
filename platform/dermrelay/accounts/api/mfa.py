"""A person's own second factor: set an authenticator up (also as the last step of a first sign-in
the policy asks it of, accounts/api/sign_in.py), replace it, get new recovery codes, remove it."""

from __future__ import annotations

from django.contrib.auth import update_session_auth_hash
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record

from ..mfa import (MfaRefused, authenticator_begin, authenticator_of, authenticator_confirm, authenticator_setup, mfa_check_code,
                   mfa_enrolled, mfa_remove, mfa_required_sites, recovery_codes_issue, recovery_codes_left)
from ..models import User
from .sign_in import CodeRateThrottle, CodeSerializer, MeSerializer, Refused, me_data, pending_user, session_start


class MfaDetailSerializer(serializers.Serializer):
    enrolled = serializers.BooleanField()
    required_by = serializers.ListField(child=serializers.CharField(), help_text="sites whose policy requires it of you")
    recovery_codes_left = serializers.IntegerField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)


class PasswordSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=256, trim_whitespace=False, required=False, default="", allow_blank=True)


class AuthenticatorSetupSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="base32, to type into the app when it cannot scan")
    otpauth_uri = serializers.CharField()
    qr_code = serializers.CharField(help_text="the otpauth URI as an SVG QR code (data: URI)")


class EnrolledSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(child=serializers.CharField(), help_text="shown this once; each works once")
    me = MeSerializer()


class RecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(child=serializers.CharField())


def _password_checked(user: User, password: str) -> None:
    if not user.check_password(password):
        audit_record(actor=user, action="mfa_change", outcome=AuditOutcome.DENIED, detail={"reason": "wrong_password"})
        raise AuthenticationFailed("The password is not correct.", code="wrong_password")


def _subject(request) -> tuple[User, bool]:
    """Whose authenticator this request sets up: the signed-in user, or (pending=True) the user of a
    pending sign-in their policy asks an authenticator of."""
    if request.user.is_authenticated:
        return request.user, False
    SessionAuthentication().enforce_csrf(request)
    user = pending_user(request, step="mfa_enrol")
    if user is None:
        raise NotAuthenticated("Sign in first.")
    return user, True


class MfaView(APIView):
    @extend_schema(responses=MfaDetailSerializer)
    def get(self, request):
        """Your second factor: whether it is set up, which sites require it, recovery codes left."""
        device = authenticator_of(user=request.user)
        return Response({"enrolled": device is not None,
                         "required_by": [site.name for site in mfa_required_sites(user=request.user)],
                         "recovery_codes_left": recovery_codes_left(user=request.user),
                         "confirmed_at": device.created_at if device else None,
                         "last_used_at": device.last_used_at if device else None})


class AuthenticatorView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [CodeRateThrottle]

    @extend_schema(request=PasswordSerializer, responses=AuthenticatorSetupSerializer)
    def post(self, request):
        """Start setting an authenticator up: scan the QR code (or type the secret), then confirm
        with a code it shows. Replacing an authenticator you have needs your password."""
        user, pending = _subject(request)
        serializer = PasswordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not pending and mfa_enrolled(user=user):
            _password_checked(user, serializer.validated_data["password"])
        return Response(authenticator_setup(device=authenticator_begin(user=user)))


class AuthenticatorConfirmView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [CodeRateThrottle]

    @extend_schema(request=CodeSerializer, responses=EnrolledSerializer)
    def post(self, request):
        """Confirm the new authenticator with a code it shows: it becomes yours (replacing an
        earlier one), with ten new recovery codes; a pending sign-in then starts its session."""
        user, pending = _subject(request)
        serializer = CodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        codes = authenticator_confirm(user=user, code=serializer.validated_data["code"])
        if codes is None:
            raise Refused("That code is not right: check the app shows DermRelay, and try the next code.", code="wrong_code")
        if pending:
            session_start(request, user, second_factor="totp")
        else:
            update_session_auth_hash(request, user)
        return Response({"recovery_codes": codes, "me": me_data(request, user)})


class RecoveryCodesView(APIView):
    throttle_classes = [CodeRateThrottle]

    @extend_schema(request=CodeSerializer, responses=RecoveryCodesSerializer)
    def post(self, request):
        """Ten new recovery codes (the earlier ones stop working), for your authenticator's current code."""
        serializer = CodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        check = mfa_check_code(user=request.user, code=serializer.validated_data["code"])
        if check.method != "totp":
            raise Refused("Give the code your authenticator app shows now.", code="wrong_code")
        return Response({"recovery_codes": recovery_codes_issue(user=request.user)})


class MfaRemoveView(APIView):
    throttle_classes = [CodeRateThrottle]

    @extend_schema(request=PasswordSerializer, responses=MeSerializer)
    def post(self, request):
        """Remove your authenticator and recovery codes (your password; refused while a site requires them)."""
        serializer = PasswordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _password_checked(request.user, serializer.validated_data["password"])
        try:
            mfa_remove(user=request.user)
        except MfaRefused as refusal:
            raise Refused(str(refusal), code=refusal.code) from None
        return Response(me_data(request, request.user))
