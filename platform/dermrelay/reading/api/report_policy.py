"""A site's report policy: whether the PDFs its readers download name the patient."""

from __future__ import annotations

import uuid

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from dermrelay.accounts.models import Role, Site
from dermrelay.accounts.selectors import site_ids_for_user
from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record

from .. import selectors, services
from .base import ReadingView


class ReportPolicySerializer(serializers.Serializer):
    patient_identifiers_for_readers = serializers.BooleanField(help_text=(
        "Print the patient's name, MRN, birth date and sex on the PDFs readers download (the clinic's own "
        "technicians and administrators always get them). Default true."))
    is_default = serializers.BooleanField(read_only=True, help_text="no site administrator has set the policy yet")
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)


class SiteReportPolicyView(ReadingView):
    def _site(self, request, pk, action: str) -> Site:
        try:
            key = uuid.UUID(str(pk))
        except ValueError:
            raise Http404 from None
        site = Site.objects.filter(pk=key, id__in=site_ids_for_user(user=request.user, roles=Role.values)).first()
        if site is None:
            if Site.objects.filter(pk=key).exists():
                audit_record(actor=request.user, action=action, object_type="site", object_id=key,
                             outcome=AuditOutcome.DENIED)
            raise Http404
        return site

    @extend_schema(responses={200: ReportPolicySerializer})
    def get(self, request, pk):
        """The site's report policy (anyone with a role at the site; the defaults until set)."""
        site = self._site(request, pk, "view_report_policy")
        return Response(ReportPolicySerializer(selectors.report_policy(site_id=site.id)).data)

    @extend_schema(request=ReportPolicySerializer, responses={200: ReportPolicySerializer})
    def put(self, request, pk):
        """Set the site's report policy (the site's administrators; 403 for its other members)."""
        site = self._site(request, pk, "update_report_policy")
        serializer = ReportPolicySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.report_policy_set(actor=request.user, site=site, **serializer.validated_data)
        return Response(ReportPolicySerializer(selectors.report_policy(site_id=site.id)).data)
