"""A person's device tokens: listed (revoked and expired ones too) and revoked one at a time."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from dermrelay.audit.services import audit_record

from ..device_tokens import device_token_list, device_token_revoke
from ..models import DeviceToken


class DeviceTokenSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField(help_text="the token this request was signed in with")

    class Meta:
        model = DeviceToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at", "second_factor",
                  "state", "current"]

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
