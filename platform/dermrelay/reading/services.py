"""Writes for reading: assignments, claim and release, the draft report, signing and amendments.

Case status changes go through cases.services.case_transition only. Every change is audited; a
refused signature (wrong password) is audited as a denial, outside the refused transaction.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from dermrelay.accounts.models import Role, Site, User
from dermrelay.accounts.selectors import site_ids_for_user
from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record
from dermrelay.cases.models import Case, CaseStatus
from dermrelay.cases.services import case_transition

from .models import (Assignment, Diagnosis, Management, Report, ReportPolicy, ReportStatus, ReportVersion,
                     ReportVersionKind)
from .selectors import as_json_data, content_sha256, model_findings, quality_block, report_version

# A case may be given to a reader from submission until someone starts reading it.
ASSIGNABLE_STATUSES = frozenset({CaseStatus.SUBMITTED, CaseStatus.PROCESSING, CaseStatus.READY_FOR_READING})
REPORT_FIELDS = ("diagnosis", "diagnosis_other", "management", "follow_up_months", "findings", "comment")
# /2 added the case's clinical question and the patient's age at the visit and sex (never identifiers).
CONTENT_SCHEMA = "dermrelay.report/2"


class ReadingError(Exception):
    """A refused reading action; the API answers with its status and code."""

    status_code = 409
    code = "conflict"


class NotSiteAdmin(ReadingError):
    status_code, code = 403, "not_site_admin"


class NotAssignedReader(ReadingError):
    status_code, code = 403, "not_assigned_reader"


class AssignmentConflict(ReadingError):
    status_code, code = 409, "assignment_conflict"


class ReportLocked(ReadingError):
    status_code, code = 409, "report_signed"


class ReportNotSigned(ReadingError):
    status_code, code = 409, "report_not_signed"


class QualityPending(ReadingError):
    status_code, code = 409, "quality_pending"


class WrongPassword(ReadingError):
    status_code, code = 400, "wrong_password"


class NothingChanged(ReadingError):
    status_code, code = 400, "no_change"


# ------------------------------------------------------------------------------------ assignments


def _is_reader_at(user: User, site_id) -> bool:
    return user.is_active and site_id in site_ids_for_user(user=user, roles=[Role.READER])


@transaction.atomic
def assignment_create(*, case: Case, reader: User, assigned_by: User, due_at: datetime | None = None) -> Assignment:
    """A site administrator gives the case to a reader of the case's site. Reassigning ends the
    previous assignment (kept as history); a case someone is reading must be released first."""
    case = Case.objects.select_for_update().get(pk=case.pk)  # one assignment change of a case at a time
    if case.site_id not in site_ids_for_user(user=assigned_by, roles=[Role.SITE_ADMIN]):
        raise NotSiteAdmin("Only a site administrator of the case's site may assign readers.")
    if not _is_reader_at(reader, case.site_id):
        raise ValidationError({"reader": "The reader must be an active user with the reader role at the case's site."})
    if case.status not in ASSIGNABLE_STATUSES:
        hint = " Its reader must release it first." if case.status == CaseStatus.IN_READING else ""
        raise AssignmentConflict(f"A case in status '{case.status}' cannot be assigned.{hint}")
    if due_at is not None and due_at <= timezone.now():
        raise ValidationError({"due_at": "The due time must lie in the future."})
    current = Assignment.objects.select_for_update().filter(case=case, ended_at__isnull=True).first()
    if current is not None and current.reader_id == reader.id:
        current.due_at = due_at
        current.save(update_fields=["due_at"])
        audit_record(actor=assigned_by, action="assign", object_type="case", object_id=case.id, site_id=case.site_id,
                     detail={"assignment": str(current.id), "reader": reader.id, "due_at": as_json_data(due_at),
                             "due_changed": True})
        return current
    if current is not None:
        _assignment_end(current, actor=assigned_by, reason="reassigned")
    assignment = Assignment.objects.create(case=case, reader=reader, assigned_by=assigned_by, due_at=due_at)
    audit_record(actor=assigned_by, action="assign", object_type="case", object_id=case.id, site_id=case.site_id,
                 detail={"assignment": str(assignment.id), "reader": reader.id, "due_at": as_json_data(due_at)})
    return assignment


def _assignment_end(assignment: Assignment, *, actor: User, reason: str) -> None:
    assignment.ended_at = timezone.now()
    assignment.end_reason = reason
    assignment.save(update_fields=["ended_at", "end_reason"])
    audit_record(actor=actor, action="unassign", object_type="case", object_id=assignment.case_id,
                 site_id=assignment.case.site_id,
                 detail={"assignment": str(assignment.id), "reader": assignment.reader_id, "reason": reason})


@transaction.atomic
def assignment_end(*, case: Case, actor: User) -> None:
    """A site administrator takes the case back from its reader (not while it is being read)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.site_id not in site_ids_for_user(user=actor, roles=[Role.SITE_ADMIN]):
        raise NotSiteAdmin("Only a site administrator of the case's site may unassign readers.")
    current = Assignment.objects.filter(case=case, ended_at__isnull=True).first()
    if current is None:
        raise AssignmentConflict("The case is not assigned to anyone.")
    if current.claimed_at is not None:
        raise AssignmentConflict("The case is being read; its reader must release it first.")
    _assignment_end(current, actor=actor, reason="unassigned")


def _own_assignment(case: Case, reader: User) -> Assignment:
    """The case's active assignment, locked, if it is the reader's; refuses everyone else."""
    assignment = Assignment.objects.select_for_update().filter(case=case, ended_at__isnull=True).first()
    if assignment is None or assignment.reader_id != reader.id or not _is_reader_at(reader, case.site_id):
        raise NotAssignedReader("Only the reader assigned to this case may do this.")
    return assignment


@transaction.atomic
def assignment_claim(*, case: Case, reader: User) -> Assignment:
    """The assigned reader starts reading: the case goes in_reading and its draft report exists.
    Claiming again what one already holds changes nothing (a double click is harmless)."""
    assignment = _own_assignment(case, reader)
    case = Case.objects.get(pk=case.pk)
    if assignment.claimed_at is not None and case.status == CaseStatus.IN_READING:
        return assignment
    case_transition(case=case, to_status=CaseStatus.IN_READING, actor=reader)
    assignment.claimed_at = timezone.now()
    assignment.save(update_fields=["claimed_at"])
    Report.objects.get_or_create(case=case, defaults={"author": reader})
    audit_record(actor=reader, action="claim", object_type="case", object_id=case.id, site_id=case.site_id,
                 detail={"assignment": str(assignment.id)})
    return assignment


@transaction.atomic
def assignment_release(*, case: Case, reader: User) -> Assignment:
    """The reader stops reading for now: the case goes back to ready_for_reading, still assigned
    to them, and the draft report is kept."""
    assignment = _own_assignment(case, reader)
    if assignment.claimed_at is None:
        raise AssignmentConflict("You have not claimed this case.")
    case_transition(case=case, to_status=CaseStatus.READY_FOR_READING, actor=reader)
    assignment.claimed_at = None
    assignment.save(update_fields=["claimed_at"])
    audit_record(actor=reader, action="release", object_type="case", object_id=case.id, site_id=case.site_id,
                 detail={"assignment": str(assignment.id)})
    return assignment


# ------------------------------------------------------------------------------------ the report


def _check_consistent(values: dict) -> None:
    """Rules a draft must already follow: free text belongs to 'other', months to follow-up."""
    errors = {}
    if values.get("diagnosis_other") and values.get("diagnosis") != Diagnosis.OTHER:
        errors["diagnosis_other"] = "Free-text diagnosis is only for the diagnosis 'other'."
    if values.get("follow_up_months") is not None and values.get("management") != Management.FOLLOW_UP:
        errors["follow_up_months"] = "A follow-up interval is only for the management 'follow_up'."
    if errors:
        raise ValidationError(errors)


def _check_complete(values: dict) -> None:
    """What a report needs before it can be signed."""
    errors = {}
    if not values.get("diagnosis"):
        errors["diagnosis"] = "Choose a diagnosis before signing."
    elif values["diagnosis"] == Diagnosis.OTHER and not values.get("diagnosis_other", "").strip():
        errors["diagnosis_other"] = "Name the diagnosis when it is 'other'."
    if not values.get("management"):
        errors["management"] = "Choose a management recommendation before signing."
    elif values["management"] == Management.FOLLOW_UP and not values.get("follow_up_months"):
        errors["follow_up_months"] = "Give the follow-up interval in months."
    if errors:
        raise ValidationError(errors)


def _normalised(fields: dict) -> dict:
    """A full set of report fields (PUT semantics: what is left out is empty)."""
    return {
        "diagnosis": fields.get("diagnosis") or "", "diagnosis_other": (fields.get("diagnosis_other") or "").strip(),
        "management": fields.get("management") or "", "follow_up_months": fields.get("follow_up_months"),
        "findings": fields.get("findings") or "", "comment": fields.get("comment") or "",
    }


def _values(report: Report) -> dict:
    return {name: getattr(report, name) for name in REPORT_FIELDS}


@transaction.atomic
def report_update(*, report: Report, reader: User, **fields) -> Report:
    """Replace the draft's fields. Only the reader holding the case writes it, and only until it
    is signed (then: amendments). The quality block is not a field: the platform fills it."""
    report = Report.objects.select_for_update().select_related("case").get(pk=report.pk)
    if report.status != ReportStatus.DRAFT:
        raise ReportLocked("The report is signed and cannot be edited; amend it instead.")
    assignment = _own_assignment(report.case, reader)
    if assignment.claimed_at is None or report.case.status != CaseStatus.IN_READING:
        raise AssignmentConflict("Claim the case before writing its report.")
    values = _normalised(fields)
    _check_consistent(values)
    changed = [name for name, value in values.items() if getattr(report, name) != value]
    for name in changed:
        setattr(report, name, values[name])
    if changed:
        report.full_clean()
        report.save(update_fields=[*changed, "updated_at"])
    audit_record(actor=reader, action="update", object_type="report", object_id=report.id,
                 site_id=report.case.site_id, detail={"case": str(report.case_id), "fields": changed})
    return report


def _confirm_password(*, user: User, password: str, report: Report, action: str) -> None:
    """A signature is confirmed with the signer's password; a wrong one is audited and refused."""
    if not password or not user.check_password(password):
        audit_record(actor=user, action=action, object_type="report", object_id=report.id, site_id=report.case.site_id,
                     outcome=AuditOutcome.DENIED, detail={"case": str(report.case_id), "reason": "wrong_password"})
        raise WrongPassword("The password is not correct; nothing was signed.")


def _content(*, report: Report, signer: User, version: int, kind: str, reason: str, signed_at, previous) -> dict:
    """What a signed version holds: a patient-safe header (no names, MRN or birth date: the age at
    the visit and the sex, as the reader saw them), the clinical question that was answered, the
    structured report, and the platform's quality block and model findings as they are now."""
    case = report.case
    patient = case.lesion.patient
    quality = quality_block(case=case)
    if quality["state"] == "pending":
        raise QualityPending("The quality analysis of this case is still running; sign once it is complete.")
    return as_json_data({
        "schema": CONTENT_SCHEMA,
        "case": {"id": case.id, "site": {"id": case.site_id, "name": case.site.name}, "visit_date": case.visit_date,
                 "device": case.device, "clinical_question": case.clinical_question,
                 "patient": {"age_years": patient.age_on(case.visit_date), "sex": patient.sex},
                 "lesion": {"label": case.lesion.label, "anatom_site_general": case.lesion.anatom_site_general,
                            "anatom_site": case.lesion.anatom_site}},
        "version": version, "kind": kind, "reason": reason, "signed_at": signed_at,
        "signed_by": {"id": signer.id, "username": signer.get_username(), "name": signer.get_full_name()},
        "previous_sha256": previous.content_sha256 if previous else None,
        "report": {
            **_values(report),
            "diagnosis_label": Diagnosis(report.diagnosis).label,
            "management_label": Management(report.management).label,
        },
        "quality": quality,
        "model_findings": model_findings(case=case),
    })


def _freeze(*, report: Report, signer: User, kind: str, reason: str = "") -> ReportVersion:
    previous = report_version(report=report)
    number = (previous.version if previous else 0) + 1
    signed_at = timezone.now()
    content = _content(report=report, signer=signer, version=number, kind=kind, reason=reason,
                       signed_at=signed_at, previous=previous)
    return ReportVersion.objects.create(report=report, version=number, kind=kind, reason=reason, content=content,
                                        content_sha256=content_sha256(content), signed_by=signer, signed_at=signed_at)


def report_sign(*, report: Report, reader: User, password: str) -> ReportVersion:
    """The reader signs the draft: version 1, immutable, with its content hash; the case is signed."""
    with transaction.atomic():
        _own_assignment(report.case, reader)  # who may sign, before a password is even looked at
    _confirm_password(user=reader, password=password, report=report, action="sign_report")
    with transaction.atomic():
        report = Report.objects.select_for_update().select_related("case__site", "case__lesion").get(pk=report.pk)
        if report.status != ReportStatus.DRAFT:
            raise ReportLocked("The report is already signed; amend it instead.")
        assignment = _own_assignment(report.case, reader)
        if assignment.claimed_at is None or report.case.status != CaseStatus.IN_READING:
            raise AssignmentConflict("Claim the case before signing its report.")
        values = _values(report)
        _check_consistent(values)
        _check_complete(values)
        version = _freeze(report=report, signer=reader, kind=ReportVersionKind.SIGNATURE)
        case_transition(case=report.case, to_status=CaseStatus.SIGNED, actor=reader)
        report.status, report.signed_at, report.current_version = ReportStatus.SIGNED, version.signed_at, version.version
        report.save(update_fields=["status", "signed_at", "current_version", "updated_at"])
        audit_record(actor=reader, action="sign", object_type="report", object_id=report.id, site_id=report.case.site_id,
                     detail={"case": str(report.case_id), "version": version.version, "sha256": version.content_sha256})
    return version


def report_amend(*, report: Report, reader: User, password: str, reason: str, **fields) -> ReportVersion:
    """A change after signing: a new version with the reason, its own hash and the previous
    version's hash; earlier versions stay as they were. The case becomes amended."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "An amendment needs its reason."})
    with transaction.atomic():
        _own_assignment(report.case, reader)
    _confirm_password(user=reader, password=password, report=report, action="amend_report")
    with transaction.atomic():
        report = Report.objects.select_for_update().select_related("case__site", "case__lesion").get(pk=report.pk)
        if report.status == ReportStatus.DRAFT:
            raise ReportNotSigned("The report is not signed yet: edit the draft and sign it.")
        _own_assignment(report.case, reader)
        values = _normalised(fields)
        _check_consistent(values)
        _check_complete(values)
        changed = [name for name, value in values.items() if getattr(report, name) != value]
        if not changed:
            raise NothingChanged("The amendment changes nothing in the report.")
        for name in changed:
            setattr(report, name, values[name])
        report.full_clean()
        version = _freeze(report=report, signer=reader, kind=ReportVersionKind.AMENDMENT, reason=reason)
        case_transition(case=report.case, to_status=CaseStatus.AMENDED, actor=reader)  # the reason may be PHI: kept in the version only
        report.status, report.current_version = ReportStatus.AMENDED, version.version
        report.save(update_fields=[*changed, "status", "current_version", "updated_at"])
        audit_record(actor=reader, action="amend", object_type="report", object_id=report.id, site_id=report.case.site_id,
                     detail={"case": str(report.case_id), "version": version.version, "sha256": version.content_sha256,
                             "fields": changed})
    return version


# ------------------------------------------------------------------------------------ the site's report policy


@transaction.atomic
def report_policy_set(*, actor: User, site: Site, patient_identifiers_for_readers: bool) -> ReportPolicy:
    """A site administrator decides whether the PDFs its readers download name the patient."""
    if not (actor.is_staff or site.id in site_ids_for_user(user=actor, roles=[Role.SITE_ADMIN])):
        raise NotSiteAdmin("Only a site administrator of this site may change its report policy.")
    policy, _ = ReportPolicy.objects.update_or_create(
        site=site, defaults={"patient_identifiers_for_readers": patient_identifiers_for_readers, "updated_by": actor})
    audit_record(actor=actor, action="update_report_policy", object_type="site", object_id=site.id, site_id=site.id,
                 detail={"patient_identifiers_for_readers": patient_identifiers_for_readers})
    return policy
