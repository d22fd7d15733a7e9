"""Reads of patient data, always scoped to what the requesting user may see.

Technicians and site admins see and change their sites' records. A reader sees the cases assigned
to them (and those cases' images) at the sites where they hold the reader role, and changes none of
the clinic's records: one rule, `case_scope`. To compare with the prior visit, a reader also reads
(never changes, never annotates) the earlier visits of the lesion of a case actively assigned to
them; that ends with the assignment. QA admins see aggregates only.

Drawing on a case's images (the lesion outline, an expert's uninformative areas) is neither a read
nor a change of the clinic's records: `annotation_scope` says who may, built from the same two
halves as `case_scope`, so a reader may annotate exactly the cases they may read as a reader.
"""

from __future__ import annotations

from django.apps import apps
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from dermrelay.accounts.models import Role, Site, User
from dermrelay.accounts.selectors import clinical_site_ids, site_ids_for_user

from .models import SYNTHETIC_QA_HISTORY_DEVICE, Case, CaseReadGrant, CaseStatus, Image, Lesion, Patient, Upload


def patient_list(*, user: User) -> QuerySet[Patient]:
    return Patient.objects.filter(site_id__in=clinical_site_ids(user=user)).select_related("site")


def lesion_list(*, user: User) -> QuerySet[Lesion]:
    return Lesion.objects.filter(patient__site_id__in=clinical_site_ids(user=user)).select_related("patient")


def assigned_case_ids(*, user: User) -> QuerySet:
    """Ids of the cases actively granted to the user as a reader (reading's assignments), at sites
    where they still hold the reader role (losing the role, or the site going inactive, ends their
    access at once)."""
    reader_sites = site_ids_for_user(user=user, roles=[Role.READER])
    grants = [model for model in apps.get_models() if issubclass(model, CaseReadGrant)]
    if not reader_sites or not grants:
        return Case.objects.none().values("id")
    granted = Q()
    for model in grants:
        granted |= Q(id__in=model.objects.filter(reader=user, ended_at__isnull=True).values("case_id"))
    return Case.objects.filter(granted, site_id__in=reader_sites).values("id")


def _assigned_scope(*, user: User) -> Q:
    """The cases actively assigned to the user as a reader (the reader half of every scope here)."""
    return Q(id__in=assigned_case_ids(user=user))


def _prior_visits_scope(*, user: User) -> Q:
    """The earlier visits of the lesion of each case actively assigned to the user as a reader (the
    same lesion, visited before it, or the same day but recorded before it), drafts excluded: what
    a reader compares with. Read-only: case_scope adds it only when not for_change, and
    annotation_scope never does."""
    later_assigned = Case.objects.filter(id__in=assigned_case_ids(user=user), lesion_id=OuterRef("lesion_id")).filter(
        Q(visit_date__gt=OuterRef("visit_date"))
        | Q(visit_date=OuterRef("visit_date"), created_at__gt=OuterRef("created_at")))
    return Q(Exists(later_assigned)) & ~Q(status=CaseStatus.DRAFT)


def case_scope(*, user: User, for_change: bool = False) -> Q:
    """The cases the user may read: their clinical sites' cases, plus the cases assigned to them as
    a reader and those cases' earlier visits of the same lesion. With for_change, only the clinical
    sites' cases: a reader reads, the clinic changes (case fields, submission, uploads, image
    fields, registrations)."""
    scope = Q(site_id__in=clinical_site_ids(user=user))
    if not for_change:
        scope |= _assigned_scope(user=user) | _prior_visits_scope(user=user)
    return scope


def annotation_scope(*, user: User, expert: bool = False) -> Q:
    """The cases on whose images the user may draw quality annotations: the lesion outline (the
    clinic's technicians and site admins, and the case's assigned reader) or, with expert, an
    expert's uninformative areas on a mosaic (site admins and the assigned reader, not technicians).
    Narrow on purpose: it grants no for_change on patients, lesions, cases or images. Whether the
    case is still open (not signed) is the service's check, not a question of who."""
    if expert:
        admin_sites = site_ids_for_user(user=user, roles=[Role.SITE_ADMIN])
        clinic_sites = clinical_site_ids(user=user) if user.is_staff else admin_sites
    else:
        clinic_sites = clinical_site_ids(user=user)
    return Q(site_id__in=clinic_sites) | _assigned_scope(user=user)


def case_annotatable(*, user: User, case: Case, expert: bool = False) -> bool:
    """Whether the user may annotate this case's images (annotation_scope for one case)."""
    return Case.objects.filter(annotation_scope(user=user, expert=expert), pk=case.pk).exists()


def case_list(*, user: User, for_change: bool = False) -> QuerySet[Case]:
    """The cases in case_scope, each with its count of current images (reading.selectors.case_list_summary
    adds what a case list shows beside them)."""
    return (
        Case.objects.filter(case_scope(user=user, for_change=for_change))
        .select_related("lesion", "lesion__patient", "technician", "site")
        .annotate(image_count=Count("images", filter=Q(images__replaced_by__isnull=True)))
        .order_by("-visit_date", "-created_at")  # Meta.ordering is dropped once a query aggregates
    )


def image_list(*, user: User, for_change: bool = False) -> QuerySet[Image]:
    """The images of the cases in case_scope (the same rule, so an image is never visible without its case)."""
    cases = Case.objects.filter(case_scope(user=user, for_change=for_change)).values("id")
    return Image.objects.filter(case_id__in=cases).select_related("case")


def upload_list(*, user: User) -> QuerySet[Upload]:
    """Resumable uploads are their creator's alone, and only while they may still change the case's
    site's records (a technician who lost the role cannot go on writing)."""
    cases = Case.objects.filter(case_scope(user=user, for_change=True)).values("id")
    return Upload.objects.filter(created_by=user, case_id__in=cases).select_related("case", "image")


def mrn_prefix_q(prefix: str, *, field: str = "mrn") -> Q:
    """The MRN starts with `prefix` (as typed, or in capitals: MRNs are mostly written in capitals).

    Written as a range, prefix <= mrn < the prefix with its last character bumped, so that the
    (site, mrn) index of the unique constraint serves it on SQLite (whose LIKE ignores case and so
    no index) and on PostgreSQL whatever the collation; the startswith beside it keeps the answer
    exact under a linguistic collation, where the range alone could let a neighbour in."""
    found = Q()
    for variant in dict.fromkeys((prefix, prefix.upper())):
        bound = Q(**{f"{field}__gte": variant, f"{field}__startswith": variant})
        if ord(variant[-1]) < 0x10FFFF:
            bound &= Q(**{f"{field}__lt": variant[:-1] + chr(ord(variant[-1]) + 1)})
        found |= bound
    return found


def _search_words(text: str) -> list[str]:
    return text.replace(",", " ").split()


def patient_search(patients: QuerySet[Patient], *, text: str) -> QuerySet[Patient]:
    """Each word of `text` must begin the MRN or be part of the family or given name."""
    for word in _search_words(text):
        patients = patients.filter(mrn_prefix_q(word) | Q(family_name__icontains=word) | Q(given_name__icontains=word))
    return patients


def case_search(cases: QuerySet[Case], *, user: User, text: str) -> QuerySet[Case]:
    """The cases whose patient matches every word (patient_search's rule), among the patients the
    user may see: a reader's assigned cases of another clinic never match, so searching cannot
    probe names or MRNs the reader is not shown."""
    clinic = Q(lesion__patient__site_id__in=clinical_site_ids(user=user))
    for word in _search_words(text):
        cases = cases.filter(clinic & (mrn_prefix_q(word, field="lesion__patient__mrn")
                                       | Q(lesion__patient__family_name__icontains=word)
                                       | Q(lesion__patient__given_name__icontains=word)))
    return cases


def case_without_synthetic(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Leave out the synthetic QA-history cases (qa.seeding): they feed the QA dashboards and would
    bury the clinic's own visits in its case list."""
    return cases.exclude(device=SYNTHETIC_QA_HISTORY_DEVICE)


def site_statistics(*, site: Site) -> dict:
    """Counts only, no patient-level rows: what a QA admin may see of a site's activity."""
    cases = Case.objects.filter(site=site)
    images = Image.objects.filter(case__site=site)
    return {
        "patients": Patient.objects.filter(site=site).count(),
        "lesions": Lesion.objects.filter(patient__site=site).count(),
        "cases": cases.count(),
        "cases_by_status": dict(cases.values_list("status").annotate(n=Count("id")).order_by()),
        "images": images.count(),
        "images_by_kind": dict(images.values_list("kind").annotate(n=Count("id")).order_by()),
        "images_by_status": dict(images.values_list("status").annotate(n=Count("id")).order_by()),
    }


def cases_stalled(*, limit: int, older_than_seconds: float) -> list[Case]:
    """Submitted cases that should have moved on and did not: still `submitted`, or `processing`
    with every current image ready. The case's own status is the record of the work (no message
    has to survive a broker flush); young ones are left to the message sent on submission."""
    import datetime

    from django.utils import timezone

    from .models import ImageStatus

    cutoff = timezone.now() - datetime.timedelta(seconds=older_than_seconds)
    unready = Image.objects.current().filter(case=OuterRef("pk")).exclude(status=ImageStatus.READY)
    return list(Case.objects.filter(updated_at__lt=cutoff)
                .filter(Q(status=CaseStatus.SUBMITTED) | Q(status=CaseStatus.PROCESSING) & ~Exists(unready))
                .order_by("updated_at")[:limit])
