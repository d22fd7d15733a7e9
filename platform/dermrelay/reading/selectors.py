"""Reads for reading: who is assigned what, the reader's worklist, reports and their versions.

Callers have already found the case through cases.selectors.case_list (so the user may see it);
`cases.selectors.assigned_case_ids` is the reader half of that rule.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import CharField, Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from dermrelay.accounts.models import Site, User
from dermrelay.accounts.selectors import clinical_site_ids, site_readers
from dermrelay.analysis.selectors import case_findings
from dermrelay.gate.selectors import case_verdict_expression, case_quality
from dermrelay.cases.models import Case, CaseStatus, Image, ImageKind
from dermrelay.cases.selectors import assigned_case_ids, case_list

from .models import Assignment, Report, ReportPolicy, ReportVersion

# What a reader's worklist shows unless asked otherwise: the cases waiting for them or being read.
OPEN_STATUSES = (CaseStatus.SUBMITTED, CaseStatus.PROCESSING, CaseStatus.READY_FOR_READING, CaseStatus.IN_READING)
WORKLIST_ORDERINGS = ("waiting", "due_at", "visit_date", "status", "verdict", "site")
VERDICT_ORDER = {"reimage": 0, "review": 1, "acceptable": 2, None: 3}  # worst first
# Cases a site administrator still has to give to a reader (the statuses a case may be assigned in).
UNASSIGNED_QUEUE_STATUSES = (CaseStatus.SUBMITTED, CaseStatus.PROCESSING, CaseStatus.READY_FOR_READING)


def case_list_summary(*, user: User, for_change: bool = False) -> QuerySet[Case]:
    """cases.selectors.case_list with what a case list shows beside each case, in the same query:
    `quality_verdict` (the worst verdict of its current mosaics) and `report_status`."""
    return case_list(user=user, for_change=for_change).annotate(
        quality_verdict=case_verdict_expression(), report_status=case_report_status_expression())


def case_report_status_expression() -> Coalesce:
    """For annotating a queryset of cases: none | draft | signed | amended, in the same query."""
    status = Report.objects.filter(case=OuterRef("pk")).values("status")[:1]
    return Coalesce(Subquery(status, output_field=CharField()), Value("none"), output_field=CharField())


def report_of(*, case: Case) -> Report | None:
    return Report.objects.filter(case=case).select_related("author").first()


def report_versions(*, report: Report) -> list[ReportVersion]:
    return list(ReportVersion.objects.filter(report=report).select_related("signed_by").order_by("version"))


def report_version(*, report: Report, version: int | None = None) -> ReportVersion | None:
    """The given version, or the latest one when version is None."""
    versions = ReportVersion.objects.filter(report=report).select_related("signed_by")
    if version is None:
        return versions.order_by("-version").first()
    return versions.filter(version=version).first()


def as_json_data(value):
    """Plain JSON types only (datetimes and UUIDs as strings), so that what is hashed is exactly
    what the database stores and gives back."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def canonical_json(content: dict) -> bytes:
    """The bytes a content hash is taken over: sorted keys, no whitespace, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def content_sha256(content: dict) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def version_verifies(*, version: ReportVersion) -> bool:
    """Whether the stored content still matches the hash taken when it was signed."""
    return content_sha256(version.content) == version.content_sha256


def quality_block(*, case: Case) -> dict:
    """The report's quality block, filled by the platform from the case's quality runs: the case
    verdict and, per mosaic, % uninformative over the whole mosaic and within the lesion (each with
    its interval where the model has one), with the model that judged it. Readers cannot edit it; it is frozen into each signed version."""
    quality = case_quality(case=case)
    mosaics = []
    for entry in quality["mosaics"]:
        model = entry.get("model") or (entry.get("run") or {}).get("model")
        mosaics.append({
            "image": entry["image"], "depth_level": entry["depth_level"], "depth_um": entry["depth_um"],
            "state": entry["state"], "verdict": entry["verdict"],
            "percent_whole": entry.get("percent_whole"), "percent_lesion": entry.get("percent_lesion"),
            "interval_whole": entry.get("interval_whole"), "interval_lesion": entry.get("interval_lesion"),
            "interval_coverage": entry.get("interval_coverage"),
            "basis": entry.get("basis"), "lesion_source": entry.get("lesion_source"),
            "model": {"name": model["name"], "version": model["version"]} if model else None,
            "error": entry.get("error"),
        })
    return as_json_data({
        "state": quality["state"], "verdict": quality["verdict"], "verdict_is_final": quality["verdict_is_final"],
        "basis": quality["basis"], "basis_note": quality["basis_note"], "thresholds": quality["thresholds"],
        "mosaics": mosaics, "computed_at": timezone.now(),
    })


def model_findings(*, case: Case) -> dict:
    """The model results beside the images (may be empty), as frozen into a signed version."""
    return as_json_data(case_findings(case=case))


def _waiting_seconds(case: Case, now: datetime) -> int | None:
    return int((now - case.submitted_at).total_seconds()) if case.submitted_at else None


def worklist(*, user: User, statuses: list[str] | None = None, site_id=None, verdict: str | None = None,
             overdue: bool | None = None, ordering: str = "-waiting") -> list[dict]:
    """The reader's assigned cases with what they sort by: waiting time since submission, due time,
    site, quality verdict and status. Open cases unless statuses are given. The verdict comes from
    the quality answer of each case, so filtering and sorting happen here, over the reader's own
    (small) list of active assignments."""
    now = timezone.now()
    assignments = (Assignment.objects.filter(case_id__in=assigned_case_ids(user=user), reader=user,
                                             ended_at__isnull=True)
                   .filter(case__status__in=statuses or OPEN_STATUSES)
                   .select_related("case", "case__site", "case__lesion", "assigned_by"))
    if site_id is not None:
        assignments = assignments.filter(case__site_id=site_id)
    rows = []
    for assignment in assignments:
        case = assignment.case
        quality = case_quality(case=case)
        due = assignment.due_at
        row = {
            "case": str(case.id), "status": case.status, "site": {"id": str(case.site_id), "name": case.site.name},
            "visit_date": case.visit_date, "submitted_at": case.submitted_at,
            "waiting_seconds": _waiting_seconds(case, now),
            "lesion": {"label": case.lesion.label, "anatom_site_general": case.lesion.anatom_site_general,
                       "anatom_site": case.lesion.anatom_site},
            "quality": {"state": quality["state"], "verdict": quality["verdict"],
                        "verdict_is_final": quality["verdict_is_final"]},
            "assignment": {"id": str(assignment.id), "assigned_by": assignment.assigned_by.get_username(),
                           "assigned_at": assignment.created_at, "due_at": due, "claimed_at": assignment.claimed_at},
            "overdue": bool(due and due < now and case.status not in (CaseStatus.SIGNED, CaseStatus.AMENDED)),
        }
        if verdict is not None and row["quality"]["verdict"] != verdict:
            continue
        if overdue is not None and row["overdue"] != overdue:
            continue
        rows.append(row)
    descending = ordering.startswith("-")
    key = ordering.lstrip("-")
    sort_keys = {
        "waiting": lambda r: r["waiting_seconds"] if r["waiting_seconds"] is not None else -1,
        "due_at": lambda r: (r["assignment"]["due_at"] is None, r["assignment"]["due_at"] or now),
        "visit_date": lambda r: r["visit_date"],
        "status": lambda r: r["status"],
        "verdict": lambda r: VERDICT_ORDER[r["quality"]["verdict"]],
        "site": lambda r: r["site"]["name"],
    }
    rows.sort(key=lambda r: r["case"])  # a stable order among equals
    rows.sort(key=sort_keys[key], reverse=descending)
    return rows


# ------------------------------------------------------------------------------------ site administration


def site_readers_with_load(*, site: Site) -> QuerySet[User]:
    """The site's active readers, each annotated with `open_assignments`: their active assignments
    of this site's open cases, so the admin can spread the work. Counted in the same query, and
    only at this site (another tenant's volume is not this admin's to see)."""
    open_here = Q(assignments__ended_at__isnull=True, assignments__case__site=site,
                  assignments__case__status__in=OPEN_STATUSES)
    return (site_readers(site=site)
            .annotate(open_assignments=Count("assignments", filter=open_here, distinct=True))
            .order_by("last_name", "first_name", "username"))


def site_reading_queue(*, user: User, site: Site, assigned: bool) -> QuerySet[Case]:
    """The site's cases waiting on its administrator. assigned=False: submitted, processing or
    ready for reading with no active assignment, the longest waiting first. assigned=True: open
    cases (in reading included) with an active assignment, which the admin may reassign or take
    back. Built on case_list_summary, so each row carries its verdict in the same query; the
    active assignment (with its reader) comes in one more query for the whole page, as
    `active_assignments` (a list of at most one)."""
    active = Assignment.objects.filter(case=OuterRef("pk"), ended_at__isnull=True)
    cases = case_list_summary(user=user).filter(site=site)
    if assigned:
        cases = cases.filter(Exists(active), status__in=OPEN_STATUSES)
    else:
        cases = cases.filter(~Exists(active), status__in=UNASSIGNED_QUEUE_STATUSES)
    current = Assignment.objects.filter(ended_at__isnull=True).select_related("reader")
    return (cases.prefetch_related(Prefetch("assignments", queryset=current, to_attr="active_assignments"))
            .order_by("submitted_at", "created_at", "id"))


# ------------------------------------------------------------------------------------ the case header and the chart


def lesion_history(*, user: User, case: Case) -> list[dict]:
    """The visits of the case's lesion that the user may read (cases.selectors.case_list: the clinic
    sees them all; a reader, the case and its earlier visits), oldest first, the case itself marked:
    status, quality verdict, the signed diagnosis (of the latest signed version) and the current
    mosaics with their depths. Three queries, however many visits."""
    mosaics = Image.objects.current().filter(kind=ImageKind.RCM_MOSAIC).order_by("depth_um", "created_at")
    visits = list(case_list_summary(user=user).filter(lesion_id=case.lesion_id)
                  .prefetch_related(Prefetch("images", queryset=mosaics, to_attr="current_mosaics"))
                  .order_by("visit_date", "created_at"))
    latest: dict = {}
    for version in (ReportVersion.objects.filter(report__case_id__in=[v.id for v in visits])
                    .select_related("report").order_by("report_id", "-version")):
        latest.setdefault(version.report.case_id, version)
    rows = []
    for visit in visits:
        version = latest.get(visit.id)
        signed = None
        if version is not None:
            report = version.content.get("report", {})
            signed = {"version": version.version, "kind": version.kind, "signed_at": version.signed_at,
                      "diagnosis": report.get("diagnosis") or "", "diagnosis_label": report.get("diagnosis_label") or "",
                      "diagnosis_other": report.get("diagnosis_other") or ""}
        rows.append({
            "case": visit.id, "visit_date": visit.visit_date, "status": visit.status, "is_current": visit.id == case.id,
            "quality_verdict": visit.quality_verdict, "signed_report": signed,
            "mosaic_count": len(visit.current_mosaics),
            "mosaics": [{"image": m.id, "depth_level": m.depth_level, "depth_um": m.depth_um}
                        for m in visit.current_mosaics],
        })
    return rows


def report_policy(*, site_id) -> dict:
    """The site's report policy (the defaults while no site administrator has set one)."""
    policy = ReportPolicy.objects.filter(site_id=site_id).first()
    if policy is None:
        return {"patient_identifiers_for_readers": True, "is_default": True, "updated_at": None}
    return {"patient_identifiers_for_readers": policy.patient_identifiers_for_readers, "is_default": False,
            "updated_at": policy.updated_at}


def pdf_patient_identifiers(*, user: User, case: Case) -> dict | None:
    """The patient identifiers printed on the PDF this user downloads: always for the clinic (it is
    their chart), for readers unless the site's report policy leaves them out; None when left out."""
    if case.site_id not in clinical_site_ids(user=user) and \
            not report_policy(site_id=case.site_id)["patient_identifiers_for_readers"]:
        return None
    patient = case.lesion.patient
    return {"name": f"{patient.family_name}, {patient.given_name}", "mrn": patient.mrn,
            "birth_date": patient.birth_date, "sex": patient.get_sex_display()}


def patient_access_events(*, patient) -> QuerySet:
    """Every audit event about one patient's data, newest first: their record, lesions, cases,
    images, uploads and reports, read, changed, downloaded or refused, and the list pages that
    showed any of them (worklists, case lists, a lesion's history: their `detail.ids`). What a
    privacy officer answers "who saw this patient's images?" from."""
    from dermrelay.audit.models import AuditEvent
    from dermrelay.cases.models import Lesion, Upload

    lesions = list(Lesion.objects.filter(patient=patient).values_list("id", flat=True))
    cases = list(Case.objects.filter(lesion__patient=patient).values_list("id", flat=True))
    images = list(Image.objects.filter(case_id__in=cases).values_list("id", flat=True))
    ids_by_type = {
        "patient": [patient.id],
        "lesion": lesions,
        "case": cases,
        "image": images,
        # what is drawn on an image is recorded under the image's id (gate/annotations.py, imaging)
        "lesion_outline": images, "expert_annotation": images, "registration": images,
        "upload": list(Upload.objects.filter(case_id__in=cases).values_list("id", flat=True)),
        "report": list(Report.objects.filter(case_id__in=cases).values_list("id", flat=True)),
    }
    about = Q()
    for object_type, ids in ids_by_type.items():
        if ids:
            about |= Q(object_type=object_type, object_id__in=[str(i) for i in ids])
    # A list page names what it showed by id; the record's, lesions', cases' and images' ids are
    # UUIDs, so their text inside `detail.ids` finds exactly the pages that showed them.
    listed = Q()
    for named in {str(i) for key in ("patient", "lesion", "case", "image") for i in ids_by_type[key]}:
        listed |= Q(detail__ids__icontains=named)
    return AuditEvent.objects.filter(about | listed).order_by("-occurred_at", "-id")
