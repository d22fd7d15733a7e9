"""Small builders for test data, written through the same services the API uses."""

from __future__ import annotations

import datetime
import io
import itertools

from PIL import Image as PILImage
from rest_framework.test import APIClient

from dermrelay.accounts.models import Membership, Role, Site, User
from dermrelay.analysis.models import AnalysisRun, ModelVersion
from dermrelay.cases import services
from dermrelay.cases.models import Case, Image, ImageKind, Lesion, Patient

_counter = itertools.count(1)
PASSWORD = "correct-horse-battery"


def make_site(code: str | None = None) -> Site:
    n = next(_counter)
    code = code or f"site{n}"
    return Site.objects.create(name=f"Clinic {code}", code=code)


def make_user(*, role: str | None = None, site: Site | None = None, username: str | None = None) -> User:
    user = User.objects.create_user(username=username or f"user{next(_counter)}", password=PASSWORD)
    if role and site:
        Membership.objects.create(user=user, site=site, role=role)
    return user


def make_patient(*, site: Site, actor: User | None = None) -> Patient:
    actor = actor or make_user(role=Role.TECHNICIAN, site=site)
    n = next(_counter)
    return services.patient_create(
        actor=actor, site=site, mrn=f"MRN{n}", given_name="Test", family_name=f"Patient{n}",
        birth_date=datetime.date(1970, 1, 1),
    )


def make_lesion(*, patient: Patient, actor: User | None = None) -> Lesion:
    actor = actor or make_user(role=Role.TECHNICIAN, site=patient.site)
    return services.lesion_create(actor=actor, patient=patient, label="L1", anatom_site_general="anterior torso")


def make_case(*, site: Site, actor: User | None = None) -> Case:
    actor = actor or make_user(role=Role.TECHNICIAN, site=site)
    lesion = make_lesion(patient=make_patient(site=site, actor=actor), actor=actor)
    return services.case_create(actor=actor, lesion=lesion, visit_date=datetime.date(2026, 11, 1), device="test")


def make_queued_analysis_run(*, image: Image, step: str = "quality",
                             model_version: ModelVersion | None = None) -> AnalysisRun:
    """A run the analysis plan requested that no worker has picked up yet: the queued row only, no
    message sent, so it stays queued (and a case with a queued quality run stays 'pending') until
    the test runs it with analysis.services.analysis_execute."""
    version = model_version or ModelVersion.objects.get(name="rcm-quality-mednet", is_active=True)
    return AnalysisRun.objects.create(image=image, model_version=version, input_sha256=image.sha256, step=step)


def png_bytes(width: int = 64, height: int = 48, mode: str = "L", color=128) -> bytes:
    buffer = io.BytesIO()
    PILImage.new(mode, (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(width: int = 64, height: int = 48, color=(180, 120, 100)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), color).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def upload(client: APIClient, case: Case, data: bytes, *, name: str = "image.png", **fields):
    """POST one file to the case's upload endpoint as a capture device or browser would."""
    fields.setdefault("kind", ImageKind.DERMOSCOPY)
    file = io.BytesIO(data)
    file.name = name
    return client.post(f"/api/v1/cases/{case.id}/images/", {"file": file, **fields}, format="multipart")


def api_client(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client
