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


def make_site(code: str | None = None, *, mfa_required_roles: list[str] | None = None) -> Site:
    """A site that asks nobody for a second factor unless told (the tests of MFA say which roles)."""
    n = next(_counter)
    code = code or f"site{n}"
    return Site.objects.create(name=f"Clinic {code}", code=code, mfa_required_roles=mfa_required_roles or [])


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


def tiff_declaring(width: int, height: int) -> bytes:
    """A 138-byte little-endian TIFF whose one page declares width x height 8-bit grey pixels in one
    uncompressed strip that holds 16 of them: a decompression bomb by its header alone."""
    import struct

    strip_offset = 8 + 2 + 9 * 12 + 4
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
               (273, 4, strip_offset), (277, 3, 1), (278, 4, height), (279, 4, 16)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHIHH", tag, kind, 1, value, 0) if kind == 3 else struct.pack("<HHII", tag, kind, 1, value)
        for tag, kind, value in entries) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + bytes(16)


def clinical_photo_bytes(width: int = 1200, height: int = 900) -> bytes:
    """A skin-coloured photo with a darker lesion, larger than one body-region patch (JPEG)."""
    import numpy as np

    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[:] = (205, 160, 135)
    yy, xx = np.mgrid[:height, :width]
    rgb[(yy - height / 2) ** 2 + (xx - width / 2) ** 2 < 60 ** 2] = (110, 70, 50)
    buffer = io.BytesIO()
    PILImage.fromarray(rgb).save(buffer, "JPEG", quality=90)
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


def make_judged_mosaic(*, site: Site, percent_whole: float, percent_lesion: float | None = None,
                       technician: User | None = None, visit_date: datetime.date = datetime.date(2026, 11, 2),
                       case: Case | None = None, verdict: str | None = None, depth_level: str = "dej"):
    """One RCM mosaic judged by the quality gate, written directly (a small real PNG in storage, a
    succeeded quality run, its MosaicQuality): for QA statistics tests that need exact numbers.
    The case (made through services with this technician and visit date) can be shared by passing
    `case`. The verdict is the gate's rule at the site's thresholds unless given."""
    import hashlib
    import uuid

    import numpy as np
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from dermrelay.gate.geometry import verdict_for
    from dermrelay.gate.models import MosaicQuality, VerdictBasis
    from dermrelay.gate.selectors import quality_thresholds
    from dermrelay.cases.models import ImageStatus
    from dermrelay.jobs.models import JobState
    from dermrelay.qa.seeding import mosaic_png, quality_model_version

    if case is None:
        actor = technician or make_user(role=Role.TECHNICIAN, site=site)
        lesion = make_lesion(patient=make_patient(site=site, actor=actor), actor=actor)
        case = services.case_create(actor=actor, lesion=lesion, visit_date=visit_date, technician=technician,
                                    device="test")
    image_id = uuid.uuid4()
    data = mosaic_png(percent_whole=percent_whole, rng=np.random.default_rng(image_id.int % 2**32))
    key = default_storage.save(f"originals/{site.id}/{image_id}.png", ContentFile(data))
    image = Image.objects.create(
        id=image_id, case=case, kind=ImageKind.RCM_MOSAIC, depth_level=depth_level, width=96, height=72,
        file_format="png", file=key, sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data),
        status=ImageStatus.READY, uploaded_by=case.created_by)
    run = AnalysisRun.objects.create(image=image, model_version=quality_model_version(), input_sha256=image.sha256,
                                     step="quality", state=JobState.SUCCEEDED, percent_uninformative=percent_whole)
    review_at, reimage_at = quality_thresholds(site_id=site.id)
    basis_value = percent_lesion if percent_lesion is not None else percent_whole
    return MosaicQuality.objects.create(
        image=image, run=run, percent_whole=percent_whole, percent_lesion=percent_lesion,
        basis=VerdictBasis.LESION if percent_lesion is not None else VerdictBasis.WHOLE_MOSAIC,
        verdict=verdict or verdict_for(basis_value, review_at=review_at, reimage_at=reimage_at),
        review_at_percent=review_at, reimage_at_percent=reimage_at)


def authenticator_code(user: User, *, secret: str | None = None) -> str:
    """What the person's authenticator app shows: the code of their newest authenticator (from the
    secret the page showed, when given) for a time step it has not accepted yet (a code is refused
    a second time), within the one-step tolerance."""
    import base64
    import time

    from django_otp.oath import hotp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user).order_by("-id").first()
    key = base64.b32decode(secret) if secret else device.bin_key
    now_t = (int(time.time()) - device.t0) // device.step + device.drift
    return f"{hotp(key, max(now_t, device.last_t + 1), device.digits):0{device.digits}d}"

