"""What every app's API shares: pagination, one error format, audited reads, and objects found in the
requesting user's scope (another site's case or image is a 404, audited as a denial)."""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from dermrelay.audit.models import AuditOutcome
from dermrelay.accounts.models import Role
from dermrelay.accounts.selectors import site_ids_for_user
from dermrelay.audit.services import audit_record
from dermrelay.cases import selectors as cases_selectors
from dermrelay.cases.models import Case, Image
from dermrelay.cases.image_files import ImageRejected
from dermrelay.cases.services import CaseLocked, InvalidTransition
from dermrelay.imaging.registration import DegenerateTransform


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def exception_handler(exc, context):
    """Errors as {"detail": ..., "code": ...}; domain errors get their HTTP status here, not in views."""
    if isinstance(exc, ImageRejected):
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status)
    if isinstance(exc, DegenerateTransform):
        return Response({"detail": str(exc), "code": "degenerate_transform"}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, (InvalidTransition, CaseLocked)):
        code = "invalid_transition" if isinstance(exc, InvalidTransition) else "case_locked"
        return Response({"detail": str(exc), "code": code}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "The form fields of the request are too large.", "code": "too_large"},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        return Response({"detail": "The request has too many form fields or files.", "code": "too_many_parts"},
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, SuspiciousOperation):
        return Response({"detail": "The request is malformed.", "code": "bad_request"}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):  # a service's refusal keeps its message (DRF would drop it)
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        if isinstance(response.data, dict) and "detail" in response.data:
            response.data["code"] = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        elif isinstance(exc, exceptions.ValidationError):
            response.data = {"detail": "Some fields are invalid.", "code": "invalid", "fields": response.data}
    return response


class AuditedReadsMixin:
    """Records one audit event per list page and per object read, and a 'denied' event when a user
    asks for an object that exists but is outside their scope (they still get a plain 404)."""

    audit_object_type: str = ""

    def audit_site_id(self, obj):
        return getattr(obj, "site_id", None)

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
            model = self.get_queryset().model
            try:
                exists = model.objects.filter(pk=uuid.UUID(str(lookup))).exists()
            except ValueError:
                exists = False
            if exists:
                audit_record(
                    actor=self.request.user, action=f"{self.action}", object_type=self.audit_object_type,
                    object_id=lookup, outcome=AuditOutcome.DENIED,
                )
            raise

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        rows = response.data.get("results", []) if isinstance(response.data, dict) else response.data
        audit_record(
            actor=request.user, action="list", object_type=self.audit_object_type,
            detail={"ids": [str(row["id"]) for row in rows], "filters": sorted(request.query_params.keys())},
        )
        return response

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        audit_record(
            actor=request.user, action="view", object_type=self.audit_object_type, object_id=instance.pk,
            site_id=self.audit_site_id(instance),
        )
        return Response(self.get_serializer(instance).data)


def scoped_object(queryset, pk, *, object_type: str, action: str, user):
    """The object if the user may see it; else a 404, audited as a denial when it exists."""
    try:
        key = uuid.UUID(str(pk))
    except ValueError:
        raise Http404 from None
    found = queryset.filter(pk=key).first()
    if found is None:
        if queryset.model.objects.filter(pk=key).exists():
            audit_record(actor=user, action=action, object_type=object_type, object_id=key, outcome=AuditOutcome.DENIED)
        raise Http404
    return found


def case_in_scope(request, pk, action: str, *, for_change: bool = False) -> Case:
    """for_change: a write to the clinic's own records (readers read assigned cases, never change them)."""
    return scoped_object(cases_selectors.case_list(user=request.user, for_change=for_change), pk, object_type="case",
                         action=action, user=request.user)


def image_in_scope(request, pk, action: str) -> Image:
    return scoped_object(cases_selectors.image_list(user=request.user), pk, object_type="image", action=action, user=request.user)


def require_site_admin(user, site_id) -> None:
    if not (user.is_staff or site_id in site_ids_for_user(user=user, roles=[Role.SITE_ADMIN])):
        raise exceptions.PermissionDenied("Only a site administrator of this case's site may do this.")
