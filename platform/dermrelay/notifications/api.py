"""GET /notifications/ (own only; ?unread=1), POST /notifications/{id}/read/."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from dermrelay.api import AuditedReadsMixin

from . import selectors, services
from .models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "message", "site", "case", "image", "created_at", "read_at"]
        read_only_fields = fields


class NotificationViewSet(AuditedReadsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A user's notifications name their cases: each page read and each one opened is audited."""

    serializer_class = NotificationSerializer
    audit_object_type = "notification"
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        queryset = selectors.notification_list(user=self.request.user)
        if self.action == "list" and self.request.query_params.get("unread") in ("1", "true"):
            queryset = queryset.filter(read_at__isnull=True)
        return queryset

    @extend_schema(parameters=[OpenApiParameter("unread", bool, description="only unread ones")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        return Response(self.get_serializer(services.notification_mark_read(notification=self.get_object())).data)
