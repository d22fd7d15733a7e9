"""Creates that a client may safely send twice: `Idempotency-Key: <key>` on a POST that makes an
object (a case, a patient, a lesion). A capture station that lost the answer to its POST /cases/
sends it again with the same key and gets the case it made, not a second draft.

A repeat with the same key and the same body answers 201 with the object as it is now, and the
header `Idempotent-Replayed: true`; the same key with another body or address is a 422. Keys are
one user's own and last a day (the IETF draft's suggestion). Two repeats racing each other meet at
the key's unique constraint: the second waits for the first's transaction, then replays it.
"""

from __future__ import annotations

import datetime
import hashlib
import json

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response

from dermrelay.accounts.models import IdempotencyKey
from dermrelay.audit.services import audit_record

HEADER = "Idempotency-Key"
LIFETIME = datetime.timedelta(days=1)
KEY_MAX = 100
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER, str, OpenApiParameter.HEADER, required=False,
    description=("Any unique string of up to 100 printable characters (a UUID): sending the same request "
                 "again with it answers with the object the first one made (Idempotent-Replayed: true) "
                 "instead of making another; the same key with another body is a 422."))


def idempotent_create(serializer):
    """The create operation's schema: the header, the object, and the 422 of a reused key."""
    return extend_schema(parameters=[IDEMPOTENCY_PARAMETER], responses={
        201: serializer,
        422: OpenApiResponse(description="The Idempotency-Key was sent before with another request (idempotency_key_reused)."),
    })


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was sent before with another request: use a new key for a new request."


def _valid_key(key: str) -> str:
    if not 1 <= len(key) <= KEY_MAX or not key.isascii() or not key.isprintable():
        raise exceptions.ValidationError({"Idempotency-Key": [f"1 to {KEY_MAX} printable ASCII characters."]})
    return key


def _fingerprint(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


class IdempotentCreateMixin:
    """For DRF viewsets with CreateModelMixin: `create` honours the Idempotency-Key header."""

    def create(self, request, *args, **kwargs):
        raw = request.headers.get(HEADER)
        if raw is None:
            return super().create(request, *args, **kwargs)
        key, operation = _valid_key(raw), f"{request.method} {request.path}"[:120]
        fingerprint = _fingerprint(request.data)
        with transaction.atomic():
            IdempotencyKey.objects.filter(user=request.user, created_at__lt=timezone.now() - LIFETIME).delete()
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(user=request.user, key=key, operation=operation,
                                                           fingerprint=fingerprint)
            except IntegrityError:
                return self._replay(IdempotencyKey.objects.get(user=request.user, key=key), operation, fingerprint)
            response = super().create(request, *args, **kwargs)
            record.object_id = str(response.data["id"])
            record.save(update_fields=["object_id"])
            return response

    def _replay(self, record: IdempotencyKey, operation: str, fingerprint: str) -> Response:
        if record.operation != operation or record.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        instance = self.get_queryset().filter(pk=record.object_id).first()
        if instance is None:  # made, then deleted or out of the user's reach since
            raise exceptions.NotFound("The object this Idempotency-Key made no longer exists.")
        audit_record(actor=self.request.user, action="create_replayed", object_type=getattr(self, "audit_object_type", ""),
                     object_id=instance.pk, detail={"idempotency_key": record.key})
        response = Response(self.get_serializer(instance).data, status=status.HTTP_201_CREATED)
        response["Idempotent-Replayed"] = "true"
        return response
