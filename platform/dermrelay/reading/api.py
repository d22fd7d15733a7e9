"""Reading over the API: the reader's worklist, assignments, claim and release, the report (draft,
sign, amend, versions, PDF). Thin: cases are found through cases.selectors.case_list (another
site's case, or a case not assigned to this reader, is a 404 and an audited denial), writes go
through reading.services, which decide who may do what.
"""

from __future__ import annotations

import uuid

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from dermrelay.accounts.models import Role, Site, User
from dermrelay.accounts.selectors import site_ids_for_user
from dermrelay.api import Pagination
from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record
from dermrelay.cases import selectors as case_selectors
from dermrelay.cases.models import Case, CaseStatus

from . import selectors, services
from .models import Assignment, Diagnosis, Management, Report, ReportStatus, ReportVersion
from .pdf import report_pdf

PLATFORM_KEYS = ("quality", "model_findings")  # filled by the platform, never by the reader


class ReadingView(APIView):
    """Turns refused reading actions into their status and code, like the shared error format."""

    def handle_exception(self, exc):
        if isinstance(exc, services.ReadingError):
            error = exceptions.APIException(str(exc), code=exc.code)
            error.status_code = exc.status_code
            exc = error
        return super().handle_exception(exc)


def _case(request, pk, action: str) -> Case:
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


def _report(case: Case) -> Report:
    report = selectors.report_of(case=case)
    if report is None:
        raise NotFound("No report has been started for this case; its reader starts one by claiming it.",
                       code="no_report")
    return report


def _person(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.id, "username": user.get_username(), "name": user.get_full_name()}


# ------------------------------------------------------------------------------------ serializers


class AssignmentSerializer(serializers.ModelSerializer):
    reader = serializers.SerializerMethodField()
    assigned_by = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = ["id", "case", "reader", "assigned_by", "due_at", "created_at", "claimed_at", "ended_at", "end_reason"]

    def get_reader(self, assignment) -> dict:
        return _person(assignment.reader)

    def get_assigned_by(self, assignment) -> dict:
        return _person(assignment.assigned_by)


class AssignSerializer(serializers.Serializer):
    reader = serializers.IntegerField(help_text="id of a user with the reader role at the case's site")
    due_at = serializers.DateTimeField(required=False, allow_null=True)


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


class ReportVersionSerializer(serializers.ModelSerializer):
    signed_by = serializers.SerializerMethodField()
    verifies = serializers.SerializerMethodField(help_text="the stored content still has its content hash")

    class Meta:
        model = ReportVersion
        fields = ["version", "kind", "reason", "signed_by", "signed_at", "content_sha256", "verifies", "content"]

    def get_signed_by(self, version) -> dict:
        return _person(version.signed_by)

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

    def get_author(self, report) -> dict:
        return _person(report.author)

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

    def get_quality(self, report) -> dict:
        latest = self._latest(report)
        return latest.content["quality"] if latest else selectors.quality_block(case=report.case)

    def get_quality_frozen(self, report) -> bool:
        return self._latest(report) is not None

    def get_versions(self, report) -> list[dict]:
        return [{"version": v.version, "kind": v.kind, "signed_at": v.signed_at, "signed_by": _person(v.signed_by),
                 "content_sha256": v.content_sha256} for v in selectors.report_versions(report=report)]


# ------------------------------------------------------------------------------------ views


class WorklistQuerySerializer(serializers.Serializer):
    status = serializers.CharField(required=False, help_text="comma-separated case statuses; open cases by default")
    site = serializers.UUIDField(required=False)
    verdict = serializers.ChoiceField(choices=["acceptable", "review", "reimage"], required=False)
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None)
    ordering = serializers.ChoiceField(
        choices=[*selectors.WORKLIST_ORDERINGS, *(f"-{o}" for o in selectors.WORKLIST_ORDERINGS)], required=False,
        default="-waiting")

    def validate_status(self, value):
        statuses = [s.strip() for s in value.split(",") if s.strip()]
        unknown = [s for s in statuses if s not in CaseStatus.values]
        if unknown or not statuses:
            raise serializers.ValidationError(f"Unknown status: {', '.join(unknown) or value!r}.")
        return statuses


class WorklistView(ReadingView):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="comma-separated case statuses (default: open cases)"),
            OpenApiParameter("site", OpenApiTypes.UUID),
            OpenApiParameter("verdict", str, enum=["acceptable", "review", "reimage"]),
            OpenApiParameter("overdue", bool),
            OpenApiParameter("ordering", str, enum=[*selectors.WORKLIST_ORDERINGS,
                                                    *(f"-{o}" for o in selectors.WORKLIST_ORDERINGS)],
                             description="default -waiting: the longest waiting first"),
            OpenApiParameter("page", int), OpenApiParameter("page_size", int),
        ],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description=(
            "Paginated rows: case, status, site, visit_date, submitted_at, waiting_seconds, lesion, quality "
            "(state, verdict), assignment (due_at, claimed_at, ...), overdue."))},
    )
    def get(self, request):
        """The cases assigned to you, with waiting time since submission, site, quality verdict and status."""
        query = WorklistQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        rows = selectors.worklist(user=request.user, statuses=params.get("status"), site_id=params.get("site"),
                                  verdict=params.get("verdict"), overdue=params.get("overdue"),
                                  ordering=params["ordering"])
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        audit_record(actor=request.user, action="worklist", object_type="case",
                     detail={"ids": [row["case"] for row in page], "filters": sorted(request.query_params.keys())})
        return paginator.get_paginated_response(page)


class CaseAssignmentView(ReadingView):
    @extend_schema(responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description=(
        "active: the current assignment or null; history: every assignment of the case, newest first."))})
    def get(self, request, pk):
        """Who reads the case, and who did before."""
        case = _case(request, pk, "view_assignment")
        history = Assignment.objects.filter(case=case).select_related("reader", "assigned_by").order_by("-created_at")
        active = next((a for a in history if a.ended_at is None), None)
        return Response({"active": AssignmentSerializer(active).data if active else None,
                         "history": AssignmentSerializer(history, many=True).data})

    @extend_schema(request=AssignSerializer, responses={201: AssignmentSerializer})
    def post(self, request, pk):
        """Assign a reader of the case's site (site administrators); reassigning ends the previous one."""
        case = _case(request, pk, "assign")
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reader = User.objects.filter(pk=serializer.validated_data["reader"]).first()
        if reader is None:
            raise serializers.ValidationError({"reader": "No such user."})
        assignment = services.assignment_create(case=case, reader=reader, assigned_by=request.user,
                                                due_at=serializer.validated_data.get("due_at"))
        return Response(AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        """Take the case back from its reader (site administrators; not while it is being read)."""
        case = _case(request, pk, "unassign")
        services.assignment_end(case=case, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CaseClaimView(ReadingView):
    @extend_schema(request=None, responses={200: AssignmentSerializer})
    def post(self, request, pk):
        """Start reading the case assigned to you: it goes in_reading and its draft report is created."""
        case = _case(request, pk, "claim")
        return Response(AssignmentSerializer(services.assignment_claim(case=case, reader=request.user)).data)


class CaseReleaseView(ReadingView):
    @extend_schema(request=None, responses={200: AssignmentSerializer})
    def post(self, request, pk):
        """Stop reading for now: the case goes back to ready_for_reading, still yours, the draft kept."""
        case = _case(request, pk, "release")
        return Response(AssignmentSerializer(services.assignment_release(case=case, reader=request.user)).data)


class CaseReportView(ReadingView):
    @extend_schema(responses={200: ReportSerializer})
    def get(self, request, pk):
        """The report: the draft with the platform's current quality block, or the signed text with
        the quality block frozen at signing; its versions with their content hashes."""
        case = _case(request, pk, "view_report")
        report = _report(case)
        reading_it = Case.objects.filter(pk=case.pk, id__in=selectors.assigned_case_ids(user=request.user)).exists()
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
        case = _case(request, pk, "update_report")
        report = _report(case)
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
        case = _case(request, pk, "sign_report")
        report = _report(case)
        serializer = SignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = services.report_sign(report=report, reader=request.user, password=serializer.validated_data["password"])
        return Response(ReportVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class ReportAmendView(PasswordConfirmedView):
    @extend_schema(request=AmendSerializer, responses={201: ReportVersionSerializer})
    def post(self, request, pk):
        """Amend the signed report: the full new fields, the reason and your password; a new version."""
        case = _case(request, pk, "amend_report")
        report = _report(case)
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
        case = _case(request, pk, "view_report_versions")
        report = _report(case)
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
        case = _case(request, pk, "download_report")
        report = _report(case)
        raw = request.query_params.get("version")
        if raw is not None and not raw.isdigit():
            raise serializers.ValidationError({"version": "A version number, e.g. 1."})
        version = selectors.report_version(report=report, version=int(raw) if raw else None)
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


# ------------------------------------------------------------------------------------ site administration


def _admin_site(request, pk, action: str) -> Site:
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


class SiteReaderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField(help_text="The reader's name, or their username when none is recorded.")
    username = serializers.CharField()
    open_assignments = serializers.IntegerField(help_text=(
        "Active assignments of this site's open cases (submitted to in reading) the reader holds now."))

    def to_representation(self, user):
        return {"id": user.id, "full_name": user.get_full_name() or user.username, "username": user.username,
                "open_assignments": user.open_assignments}


class SiteReadersView(ReadingView):
    @extend_schema(responses=SiteReaderSerializer(many=True))
    def get(self, request, pk):
        """The site's active readers with how many of its open cases each holds now, for assigning
        (only for the site's administrators; a 404 for everyone else)."""
        site = _admin_site(request, pk, "list_readers")
        return Response(SiteReaderSerializer(selectors.site_readers_with_load(site=site), many=True).data)


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()


class QueueAssignmentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    reader = PersonSerializer(help_text="who holds the case")
    due_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField(help_text="when it was assigned")
    claimed_at = serializers.DateTimeField(allow_null=True, help_text="set while the reader is reading it")

    def to_representation(self, assignment):
        return {"id": str(assignment.id), "reader": _person(assignment.reader), "due_at": assignment.due_at,
                "created_at": assignment.created_at, "claimed_at": assignment.claimed_at}


class QueueLesionSerializer(serializers.Serializer):
    label = serializers.CharField()
    anatom_site_general = serializers.CharField()
    anatom_site = serializers.CharField()


class QueueCaseSerializer(serializers.Serializer):
    """One row of a site administrator's queue: what identifies the case to its clinic, where it
    stands, its quality verdict, and its active assignment (null in the unassigned queue)."""

    id = serializers.UUIDField()
    status = serializers.CharField(help_text="The case status: submitted, processing, ready_for_reading or in_reading.")
    visit_date = serializers.DateField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    patient_label = serializers.SerializerMethodField(help_text="'Family, Given · MRN'")
    lesion = QueueLesionSerializer()
    quality_verdict = serializers.CharField(allow_null=True, help_text=(
        "The worst verdict among the case's current mosaics: acceptable, review or reimage; null when none is judged."))
    assignment = serializers.SerializerMethodField()

    def get_patient_label(self, case) -> str:
        patient = case.lesion.patient
        return f"{patient.family_name}, {patient.given_name} · {patient.mrn}"

    @extend_schema_field(QueueAssignmentSerializer(allow_null=True))
    def get_assignment(self, case):
        active = case.active_assignments[0] if case.active_assignments else None
        return QueueAssignmentSerializer(active).data if active else None


class QueueQuerySerializer(serializers.Serializer):
    assigned = serializers.BooleanField(required=False, default=False)


class SiteReadingQueueView(generics.ListAPIView):
    serializer_class = QueueCaseSerializer
    pagination_class = Pagination
    filter_backends: list = []

    def get_queryset(self):
        self.site = _admin_site(self.request, self.kwargs["pk"], "view_reading_queue")  # a 404 before any 400
        query = QueueQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        self.assigned = query.validated_data["assigned"]
        return selectors.site_reading_queue(user=self.request.user, site=self.site, assigned=self.assigned)

    @extend_schema(parameters=[
        OpenApiParameter("assigned", bool, description=(
            "false (default): submitted, processing or ready-for-reading cases no reader holds, the longest "
            "waiting first; true: open cases with an active assignment (in reading included).")),
    ])
    def get(self, request, *args, **kwargs):
        """The site's cases waiting on its administrator, paginated (only for the site's administrators)."""
        response = super().get(request, *args, **kwargs)
        audit_record(actor=request.user, action="list", object_type="case", site_id=self.site.id,
                     detail={"ids": [str(row["id"]) for row in response.data["results"]],
                             "queue": "assigned" if self.assigned else "unassigned",
                             "filters": sorted(request.query_params.keys())})
        return response


# ------------------------------------------------------------------------------------ the case header and the chart


class VisitDepthSerializer(serializers.Serializer):
    image = serializers.UUIDField(help_text="The current mosaic (its viewer is /images/{id}/viewer/).")
    depth_level = serializers.CharField(help_text="stratum_granulosum, spinosum, dej, papillary_dermis or other")
    depth_um = serializers.FloatField(allow_null=True, help_text="null when the depth in µm was not recorded")


class SignedDiagnosisSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="the latest signed version")
    kind = serializers.CharField(help_text="signature or amendment")
    signed_at = serializers.DateTimeField(help_text="that version's own signing time")
    diagnosis = serializers.CharField()
    diagnosis_label = serializers.CharField()
    diagnosis_other = serializers.CharField()


class LesionVisitSerializer(serializers.Serializer):
    case = serializers.UUIDField()
    visit_date = serializers.DateField()
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    is_current = serializers.BooleanField(help_text="this is the case the history was asked for")
    quality_verdict = serializers.CharField(allow_null=True, help_text="acceptable, review, reimage or null")
    signed_report = SignedDiagnosisSerializer(allow_null=True, help_text="null until the visit's report is signed")
    mosaic_count = serializers.IntegerField(help_text="current RCM mosaics (replaced captures not counted)")
    mosaics = VisitDepthSerializer(many=True, help_text="the current mosaics, shallowest first")


class LesionHistorySerializer(serializers.Serializer):
    case = serializers.UUIDField()
    visits = LesionVisitSerializer(many=True, help_text="oldest first")


class LesionHistoryView(ReadingView):
    @extend_schema(responses={200: LesionHistorySerializer})
    def get(self, request, pk):
        """The visits of this case's lesion you may read, oldest first, this case marked: for the clinic
        every visit; for the case's reader this case and the lesion's earlier visits, which they may
        open read-only to compare (images, viewer, quality, signed report) while the case is theirs."""
        case = _case(request, pk, "view_lesion_history")
        visits = selectors.lesion_history(user=request.user, case=case)
        audit_record(actor=request.user, action="view_lesion_history", object_type="case", object_id=case.id,
                     site_id=case.site_id, detail={"ids": [str(v["case"]) for v in visits]})
        return Response(LesionHistorySerializer({"case": case.id, "visits": visits}).data)


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
