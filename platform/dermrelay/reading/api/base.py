"""What every reading view shares: a refused reading action as its status and code, and the
case, report or administered site it acts on, or a 404 (audited as a denial when it exists)."""

from __future__ import annotations

import uuid

from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.exceptions import NotFound
from rest_framework.views import APIView

from dermrelay.accounts.models import Role, Site, User
from dermrelay.accounts.selectors import site_ids_for_user
from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record
from dermrelay.cases import selectors as case_selectors
from dermrelay.cases.models import Case

from .. import selectors, services
from ..models import Report


class ReadingView(APIView):
    """Turns refused reading actions into their status and code, like the shared error format."""

    def handle_exception(self, exc):
        if isinstance(exc, services.ReadingError):
            error = exceptions.APIException(str(exc), code=exc.code)
            error.status_code = exc.status_code
            exc = error
        return super().handle_exception(exc)


def case_or_404(request, pk, action: str) -> Case:
    """The case if the user may see it; else a 404, audited as a denial when the case exists."""
    try:
        key = uuid.UUID(str(pk))
    except ValueError:
        raise Http404 from None
    case = case_selectors.case_list(user=request.user).filter(pk=key).first()
    if case is None:
        if Case.objects.filter(pk=key).exists():
            audit_record(actor=request.user, action=action, object_type="case", object_id=key,
                         outcome=AuditOutcome.DENIED)
        raise Http404
    return case


def report_or_404(case: Case) -> Report:
    report = selectors.report_of(case=case)
    if report is None:
        raise NotFound("No report has been started for this case; its reader starts one by claiming it.",
                       code="no_report")
    return report


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(allow_blank=True)


class CaseLesionSerializer(serializers.Serializer):
    """The lesion as a reading list shows it: its label and recorded site (ISIC terms, may be blank)."""

    label = serializers.CharField()
    anatom_site_general = serializers.CharField(allow_blank=True)
    anatom_site = serializers.CharField(allow_blank=True)


def person(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.id, "username": user.get_username(), "name": user.get_full_name()}


def admin_site_or_404(request, pk, action: str) -> Site:
    """The site if the user is one of its site administrators; else a 404 (audited as a denial
    when the site exists), as another tenant's object is everywhere."""
    try:
        key = uuid.UUID(str(pk))
    except ValueError:
        raise Http404 from None
    if key not in site_ids_for_user(user=request.user, roles=[Role.SITE_ADMIN]):
        if Site.objects.filter(pk=key).exists():
            audit_record(actor=request.user, action=action, object_type="site", object_id=key,
                         outcome=AuditOutcome.DENIED)
        raise Http404
    return Site.objects.get(pk=key)
