"""Reads of patient data, always scoped to what the requesting user may see.

Technicians and site admins see their sites' records. Readers will see the cases assigned to them
once assignments exist (reading issue); until then they see none. QA admins see aggregates only.
"""

from __future__ import annotations

from django.db.models import Count, QuerySet

from dermrelay.accounts.models import Site, User
from dermrelay.accounts.selectors import clinical_site_ids

from .models import Case, Image, Lesion, Patient


def patient_list(*, user: User) -> QuerySet[Patient]:
    return Patient.objects.filter(site_id__in=clinical_site_ids(user=user)).select_related("site")


def lesion_list(*, user: User) -> QuerySet[Lesion]:
    return Lesion.objects.filter(patient__site_id__in=clinical_site_ids(user=user)).select_related("patient")


def case_list(*, user: User) -> QuerySet[Case]:
    return (
        Case.objects.filter(site_id__in=clinical_site_ids(user=user))
        .select_related("lesion", "lesion__patient", "technician")
        .annotate(image_count=Count("images"))
        .order_by("-visit_date", "-created_at")  # Meta.ordering is dropped once a query aggregates
    )


def image_list(*, user: User) -> QuerySet[Image]:
    return Image.objects.filter(case__site_id__in=clinical_site_ids(user=user)).select_related("case")


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
