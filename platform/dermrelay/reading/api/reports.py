"""The report: the draft and its fields, signing and amending with the reader's password, the
signed versions and their PDF."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from dermrelay.audit.services import audit_record
from dermrelay.cases import selectors as case_selectors
from dermrelay.cases.models import Case
from dermrelay.gate.models import LesionSource, Verdict, VerdictBasis
from dermrelay.gate.serializers import (CASE_QUALITY_STATES, MOSAIC_QUALITY_STATES, PercentIntervalSerializer,
                                        ThresholdsSerializer)
from dermrelay.params import whole_number

from .. import selectors, services
from ..models import Diagnosis, Management, Report, ReportStatus, ReportVersion
from ..pdf.report import report_pdf
from .base import PersonSerializer, ReadingView, case_or_404, person, report_or_404


PLATFORM_KEYS = ("quality", "model_findings")  # filled by the platform, never by the reader


class ReportFieldsSerializer(serializers.Serializer):
    """The reader's fields. A PUT replaces all of them (what is left out is emptied); the quality
    block and model findings are the platform's and are refused here."""

    diagnosis = serializers.ChoiceField(choices=Diagnosis.choices, required=False, allow_blank=True)
    diagnosis_other = serializers.CharField(max_length=200, required=False, allow_blank=True)
    management = serializers.ChoiceField(choices=Management.choices, required=False, allow_blank=True)
    follow_up_months = serializers.IntegerField(min_value=1, max_value=120, required=False, allow_null=True)
    findings = serializers.CharField(max_length=20000, required=False, allow_blank=True, trim_whitespace=False)
    comment = serializers.CharField(max_length=20000, required=False, allow_blank=True, trim_whitespace=False)

    def validate(self, attrs):
        refused = [key for key in PLATFORM_KEYS if hasattr(self.initial_data, "keys") and key in self.initial_data]
        if refused:
            raise serializers.ValidationError(
                {key: "Filled by the platform from the analyses; it cannot be edited or removed." for key in refused})
        return attrs


class SignSerializer(serializers.Serializer):
    password = serializers.CharField(write_only=True, trim_whitespace=False, help_text="the signer's own password")


class AmendSerializer(ReportFieldsSerializer):
    reason = serializers.CharField(max_length=2000, help_text="why the signed report changes")
    password = serializers.CharField(write_only=True, trim_whitespace=False)


class BlockModelSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()


class BlockMosaicSerializer(serializers.Serializer):
    image = serializers.UUIDField()
    depth_level = serializers.CharField(required=False, allow_blank=True)
    depth_um = serializers.FloatField(required=False, allow_null=True)
    state = serializers.ChoiceField(choices=MOSAIC_QUALITY_STATES)
    verdict = serializers.ChoiceField(choices=Verdict.choices, allow_null=True)
    percent_whole = serializers.FloatField(required=False, allow_null=True)
    percent_lesion = serializers.FloatField(required=False, allow_null=True)
    interval_whole = PercentIntervalSerializer(required=False, allow_null=True)
    interval_lesion = PercentIntervalSerializer(required=False, allow_null=True)
    interval_coverage = serializers.FloatField(required=False, allow_null=True)
    basis = serializers.ChoiceField(choices=VerdictBasis.choices, required=False, allow_null=True)
    lesion_source = serializers.ChoiceField(choices=LesionSource.choices, required=False, allow_null=True)
    model = BlockModelSerializer(required=False, allow_null=True, help_text="the model that judged it")
    error = serializers.CharField(required=False, allow_null=True)


class QualityBlockSerializer(serializers.Serializer):
    """The quality block as the platform writes it into a report (reading.selectors.quality_block).
    Keys added since a version was signed are absent from that version's frozen block."""

    state = serializers.ChoiceField(choices=CASE_QUALITY_STATES)
    verdict = serializers.ChoiceField(choices=Verdict.choices, allow_null=True)
    verdict_is_final = serializers.BooleanField(required=False)
    basis = serializers.ChoiceField(choices=VerdictBasis.choices, required=False, allow_null=True)
    basis_note = serializers.CharField(required=False, allow_null=True)
    thresholds = ThresholdsSerializer(required=False)
    mosaics = BlockMosaicSerializer(many=True)
    computed_at = serializers.DateTimeField(required=False)


class VersionSummarySerializer(serializers.Serializer):
    version = serializers.IntegerField()
    kind = serializers.CharField(help_text="signature or amendment")
    signed_at = serializers.DateTimeField()
    signed_by = PersonSerializer()
    content_sha256 = serializers.CharField()


class ReportVersionSerializer(serializers.ModelSerializer):
    signed_by = serializers.SerializerMethodField()
    verifies = serializers.SerializerMethodField(help_text="the stored content still has its content hash")

    class Meta:
        model = ReportVersion
        fields = ["version", "kind", "reason", "signed_by", "signed_at", "content_sha256", "verifies", "content"]

    @extend_schema_field(PersonSerializer)
    def get_signed_by(self, version):
        return person(version.signed_by)

    def get_verifies(self, version) -> bool:
        return selectors.version_verifies(version=version)


class ReportSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    quality = serializers.SerializerMethodField(help_text=(
        "Filled by the platform: for a draft, the case's quality now; once signed, as frozen in the latest version."))
    quality_frozen = serializers.SerializerMethodField()
    versions = serializers.SerializerMethodField()
    signed_at = serializers.SerializerMethodField(help_text=(
        "When the current version was signed: an amendment's own signing time, not the first signature's; "
        "null while a draft."))
    first_signed_at = serializers.DateTimeField(source="signed_at", read_only=True, allow_null=True,
                                                help_text="When version 1 was signed; null while a draft.")

    class Meta:
        model = Report
        fields = ["id", "case", "status", "author", "diagnosis", "diagnosis_other", "management", "follow_up_months",
                  "findings", "comment", "quality", "quality_frozen", "current_version", "signed_at", "first_signed_at",
                  "created_at", "updated_at", "versions"]

    @extend_schema_field(PersonSerializer)
    def get_author(self, report):
        return person(report.author)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_signed_at(self, report):
        latest = self._latest(report)
        return serializers.DateTimeField().to_representation(latest.signed_at) if latest else None

    def _latest(self, report):
        if report.status == ReportStatus.DRAFT:
            return None
        if not hasattr(self, "_latest_version"):
            self._latest_version = selectors.report_version(report=report)
        return self._latest_version

    @extend_schema_field(QualityBlockSerializer)
    def get_quality(self, report):
        latest = self._latest(report)
        return latest.content["quality"] if latest else selectors.quality_block(case=report.case)

    def get_quality_frozen(self, report) -> bool:
        return self._latest(report) is not None

    @extend_schema_field(VersionSummarySerializer(many=True))
    def get_versions(self, report):
        return [{"version": v.version, "kind": v.kind, "signed_at": v.signed_at, "signed_by": person(v.signed_by),
                 "content_sha256": v.content_sha256} for v in selectors.report_versions(report=report)]


class CaseReportView(ReadingView):
    @extend_schema(responses={200: ReportSerializer})
    def get(self, request, pk):
        """The report: the draft with the platform's current quality block, or the signed text with
        the quality block frozen at signing; its versions with their content hashes."""
        case = case_or_404(request, pk, "view_report")
        report = report_or_404(case)
        reading_it = Case.objects.filter(pk=case.pk, id__in=case_selectors.assigned_case_ids(user=request.user)).exists()
        if report.signed_at is None and not reading_it:
            # The clinic reads what its reader signed, never a draft the reader may still change.
            raise NotFound("The report is not signed yet; the clinic can read it once its reader signs it.",
                           code="not_signed")
        audit_record(actor=request.user, action="view_report", object_type="report", object_id=report.id,
                     site_id=case.site_id, detail={"case": str(case.id)})
        return Response(ReportSerializer(report).data)

    @extend_schema(request=ReportFieldsSerializer, responses={200: ReportSerializer})
    def put(self, request, pk):
        """Replace the draft's fields (the reader holding the case; 409 once signed)."""
        case = case_or_404(request, pk, "update_report")
        report = report_or_404(case)
        serializer = ReportFieldsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = services.report_update(report=report, reader=request.user, **serializer.validated_data)
        return Response(ReportSerializer(report).data)


class PasswordConfirmedView(ReadingView):
    """Signing checks a password: rate-limited per user like login, so it cannot be used to guess one."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


class ReportSignView(PasswordConfirmedView):
    @extend_schema(request=SignSerializer, responses={
        201: ReportVersionSerializer,
        400: OpenApiResponse(description="Wrong password (code wrong_password) or an incomplete report."),
        409: OpenApiResponse(description="Already signed, not claimed, or quality analysis still running."),
    })
    def post(self, request, pk):
        """Sign the draft, confirmed with your password: version 1, immutable, with its content hash."""
        case = case_or_404(request, pk, "sign_report")
        report = report_or_404(case)
        serializer = SignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = services.report_sign(report=report, reader=request.user, password=serializer.validated_data["password"])
        return Response(ReportVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class ReportAmendView(PasswordConfirmedView):
    @extend_schema(request=AmendSerializer, responses={201: ReportVersionSerializer})
    def post(self, request, pk):
        """Amend the signed report: the full new fields, the reason and your password; a new version."""
        case = case_or_404(request, pk, "amend_report")
        report = report_or_404(case)
        serializer = AmendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        password, reason = fields.pop("password"), fields.pop("reason")
        version = services.report_amend(report=report, reader=request.user, password=password, reason=reason, **fields)
        return Response(ReportVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class ReportVersionsView(ReadingView):
    @extend_schema(responses={200: ReportVersionSerializer(many=True)})
    def get(self, request, pk):
        """Every signed version, oldest first, with its content, hash and whether the hash verifies."""
        case = case_or_404(request, pk, "view_report_versions")
        report = report_or_404(case)
        audit_record(actor=request.user, action="view_report_versions", object_type="report", object_id=report.id,
                     site_id=case.site_id, detail={"case": str(case.id)})
        return Response(ReportVersionSerializer(selectors.report_versions(report=report), many=True).data)


class PDFRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)  # only errors come through here; the PDF itself bypasses renderers


class ReportPdfView(ReadingView):
    renderer_classes = [JSONRenderer, PDFRenderer]

    @extend_schema(
        parameters=[OpenApiParameter("version", int, description="a version number; the latest by default")],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    def get(self, request, pk):
        """The signed report as a PDF for the chart: the patient's identifiers (unless the site's report
        policy leaves them out for readers), the clinical question, the header with the content hash and
        every version's own signing time, the report, quality block with each mosaic's depth, model
        findings with their confidence, and key images with their overlays."""
        case = case_or_404(request, pk, "download_report")
        report = report_or_404(case)
        raw = request.query_params.get("version")
        number = whole_number(raw)
        if raw is not None and number is None:
            raise serializers.ValidationError({"version": "A version number, e.g. 1."})
        version = selectors.report_version(report=report, version=number)
        if version is None:
            raise NotFound("The report has no such signed version." if raw else "The report is not signed yet.",
                           code="not_signed" if not raw else "no_version")
        identifiers = selectors.pdf_patient_identifiers(user=request.user, case=case)
        audit_record(actor=request.user, action="download_report", object_type="report", object_id=report.id,
                     site_id=case.site_id, detail={"case": str(case.id), "version": version.version,
                                                   "patient_identifiers": identifiers is not None})
        versions = selectors.report_versions(report=report)
        response = HttpResponse(report_pdf(version=version, case=case, patient=identifiers, versions=versions),
                                content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="report-{case.id}-v{version.version}.pdf"'
        response["Cache-Control"] = "private, no-store"
        return response
