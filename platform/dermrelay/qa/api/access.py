"""Who may use the QA API (qa_admin or site_admin at an active site) and the audit every QA
view writes."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions
from rest_framework.views import APIView

from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record

from ..selectors.scope import qa_site_ids
from .query import BAD_QUERY, OUT_OF_SCOPE, QaQuery


NO_ACCESS = ("The QA dashboards are for quality administrators and site administrators; you hold neither "
             "role at an active site (technicians and readers have no QA access). Ask a site administrator if you need it.")


class QAAccess(permissions.BasePermission):
    """Holds qa_admin or site_admin at one active site at least (or is a staff superuser)."""

    message = NO_ACCESS

    def has_permission(self, request, view) -> bool:
        return bool(qa_site_ids(user=request.user))


NO_QA_ACCESS = OpenApiResponse(description=NO_ACCESS)
ERRORS = {400: BAD_QUERY, 403: NO_QA_ACCESS, 404: OUT_OF_SCOPE}


class QaView(APIView):
    permission_classes = [permissions.IsAuthenticated, QAAccess]

    def permission_denied(self, request, message=None, code=None):
        if request.user.is_authenticated:
            audit_record(actor=request.user, action="qa_view", object_type="qa", outcome=AuditOutcome.DENIED,
                         detail={"endpoint": request.path})
        super().permission_denied(request, message=message, code=code)

    def audit(self, request, query: QaQuery | None, *, endpoint: str, action: str = "qa_view", **detail) -> None:
        audit_record(actor=request.user, action=action, object_type="qa",
                     site_id=query.site_id if query else None,
                     detail={"endpoint": endpoint, **(query.audit_detail() if query else {}), **detail})
