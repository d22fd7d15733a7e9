"""A real Celery worker process on this suite's broker (file system or Redis) and database (SQLite
file or PostgreSQL): upload → derivation by the worker → submit → the case reaches the worklist."""

from __future__ import annotations

import pytest

from dermrelay.accounts.models import Role
from dermrelay.cases.models import Case, CaseStatus, Image, ImageKind, ImageStatus
from dermrelay.imaging.models import DerivationJob
from dermrelay.pipeline.tasks import derive_task
from tests.conftest import stored_files, wait_for
from tests.factories import api_client, jpeg_bytes, make_case, make_site, make_user, png_bytes, upload

pytestmark = pytest.mark.worker


def _ready(image_id) -> bool:
    return Image.objects.get(pk=image_id).status == ImageStatus.READY


def test_worker_derives_uploads_and_advances_a_submitted_case(live_worker, worker_media_root):
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    case = make_case(site=site, actor=tech)
    client = api_client(tech)
    first = upload(client, case, jpeg_bytes(900, 600), kind=ImageKind.DERMOSCOPY)
    second = upload(client, case, png_bytes(1200, 1000), kind=ImageKind.RCM_MOSAIC, depth_level="dej")
    assert first.status_code == second.status_code == 201

    for body in (first.json(), second.json()):
        wait_for(lambda: _ready(body["id"]), message=f"image {body['id']} derived by the worker")
        image = Image.objects.get(pk=body["id"])
        thumbnail = worker_media_root / image.thumbnail.name
        assert thumbnail.is_file() and thumbnail.stat().st_size > 0
        assert client.get(f"/api/v1/images/{image.id}/thumbnail/").status_code == 200

    submitted = client.post(f"/api/v1/cases/{case.id}/submit/")
    assert submitted.status_code == 200, submitted.content
    wait_for(
        lambda: Case.objects.get(pk=case.id).status == CaseStatus.READY_FOR_READING,
        message="the worker to move the case to ready_for_reading",
    )


def test_running_derivation_twice_changes_nothing_more(live_worker, worker_media_root):
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    case = make_case(site=site, actor=tech)
    body = upload(api_client(tech), case, png_bytes(800, 600), kind=ImageKind.CLINICAL).json()
    wait_for(lambda: _ready(body["id"]), message="first derivation")
    image = Image.objects.get(pk=body["id"])
    derived_dir = worker_media_root / "derived" / str(site.id) / str(image.id)
    before = stored_files(derived_dir)
    job = DerivationJob.objects.get(image=image)

    derive_task.delay(str(job.pk))
    derive_task.delay(str(job.pk))
    # A marker task queued behind them on the same queue tells us both have been handled.
    marker = make_case(site=site, actor=tech)
    marker_body = upload(api_client(tech), marker, png_bytes(32, 32), kind=ImageKind.CLINICAL).json()
    wait_for(lambda: _ready(marker_body["id"]), message="marker derivation")

    image.refresh_from_db()
    assert stored_files(derived_dir) == before
    assert image.status == ImageStatus.READY
    assert "thumbnail.jpg" in [p.name for p in before] and any(p.suffix == ".dzi" for p in before)
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("succeeded", 1)
