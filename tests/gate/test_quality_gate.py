"""The quality gate in process (tasks run eagerly): phantom cases with known ground truth go
through upload → derivation → quality run → judgement, and the API answers with the verdict."""

from __future__ import annotations

import pytest

from dermrelay.accounts.models import Role
from dermrelay.analysis.models import AnalysisRun, Overlay
from dermrelay.gate.models import MosaicQuality

from inference.phantoms.generator import gate_phantom
from tests.gate.gate_cases import models_sync_quality_model_only, upload_phantom_case
from tests.factories import api_client, make_case, make_site, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clinic():
    models_sync_quality_model_only()
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    return site, tech, api_client(tech)


def test_no_contact_inside_the_lesion_is_recommended_for_reimaging(clinic):
    site, tech, client = clinic
    phantom = gate_phantom(seed=7, where="lesion")
    case = make_case(site=site, actor=tech)
    ids = upload_phantom_case(client, case, phantom)
    body = client.get(f"/api/v1/cases/{case.id}/quality/").json()
    assert body["state"] == "complete", body
    (mosaic,) = body["mosaics"]
    assert mosaic["basis"] == "lesion" and mosaic["lesion_source"] == "person"
    assert mosaic["percent_lesion"] == pytest.approx(100 * phantom.lesional_uninformative_fraction, abs=8)
    assert mosaic["percent_whole"] == pytest.approx(100 * phantom.uninformative_fraction, abs=5)
    assert mosaic["verdict"] == body["verdict"] == "reimage"
    assert mosaic["model"]["name"] == "rcm-quality-mednet"
    # the card's calibrated interval, around each figure, holding the phantom's true %
    assert mosaic["interval_coverage"] == 0.95
    for share, truth in (("whole", phantom.uninformative_fraction), ("lesion", phantom.lesional_uninformative_fraction)):
        interval = mosaic[f"interval_{share}"]
        assert interval["low"] <= mosaic[f"percent_{share}"] <= interval["high"]
        assert interval["low"] <= 100 * truth <= interval["high"]
        assert interval["high"] - interval["low"] < 100  # informative: never the whole range
    assert AnalysisRun.objects.filter(image_id=ids["mosaic"]).count() == 1
    kinds = sorted(Overlay.objects.values_list("kind", flat=True))
    assert kinds == ["projection", "quality"]
    notes = client.get("/api/v1/notifications/").json()["results"]
    assert [n["kind"] for n in notes] == ["reimage_recommended"]


def test_artifacts_only_outside_the_lesion_are_not_recalled(clinic):
    site, tech, client = clinic
    phantom = gate_phantom(seed=2, where="outside_lesion")
    assert phantom.uninformative_fraction > 0.2  # the whole-mosaic rule would recall it
    case = make_case(site=site, actor=tech)
    upload_phantom_case(client, case, phantom)
    body = client.get(f"/api/v1/cases/{case.id}/quality/").json()
    (mosaic,) = body["mosaics"]
    assert mosaic["basis"] == "lesion" and mosaic["percent_lesion"] < 5
    assert mosaic["percent_whole"] > 20
    assert body["verdict"] == "acceptable"
    assert client.get("/api/v1/notifications/").json()["results"] == []


def test_without_an_outline_the_whole_mosaic_is_judged_and_the_verdict_says_so(clinic):
    site, tech, client = clinic
    phantom = gate_phantom(seed=2, where="outside_lesion")
    case = make_case(site=site, actor=tech)
    upload_phantom_case(client, case, phantom, outline=False)
    body = client.get(f"/api/v1/cases/{case.id}/quality/").json()
    (mosaic,) = body["mosaics"]
    assert mosaic["basis"] == "whole_mosaic" and "No lesion outline" in mosaic["basis_note"]
    assert mosaic["verdict"] == "reimage" and body["basis"] == "whole_mosaic"
    judged = MosaicQuality.objects.get()
    assert (judged.review_at_percent, judged.reimage_at_percent) == (10.0, 20.0)


def test_deleting_a_draft_mosaic_removes_its_runs_overlays_and_files(clinic, settings):
    from pathlib import Path

    from tests.conftest import stored_files

    site, tech, client = clinic
    phantom = gate_phantom(seed=2, where="outside_lesion", size_px=512)
    case = make_case(site=site, actor=tech)
    ids = upload_phantom_case(client, case, phantom)
    media = Path(settings.MEDIA_ROOT)
    mosaic_files = [p for p in stored_files(media) if ids["mosaic"] in str(p)]
    assert any("/analysis/" in str(p) for p in mosaic_files) and any("/overlays/" in str(p) for p in mosaic_files)
    assert Overlay.objects.filter(source_image_id=ids["mosaic"]).count() == 2  # its quality overlay and projection

    assert client.delete(f"/api/v1/images/{ids['mosaic']}/").status_code == 204
    assert not AnalysisRun.objects.exists() and not Overlay.objects.exists() and not MosaicQuality.objects.exists()
    leftovers = [p for p in stored_files(media) if ids["mosaic"] in str(p)]
    projection_dirs = [p for p in stored_files(media / "overlays") if "projection-" in str(p)]
    assert leftovers == [] and projection_dirs == []
    assert client.get(f"/api/v1/cases/{case.id}/quality/").json()["state"] == "no_mosaics"


def test_a_mosaic_without_pixel_spacing_fails_visibly_and_runs_again_once_it_is_given(clinic):
    from tests.gate.gate_cases import png_of
    from tests.factories import upload

    site, tech, client = clinic
    phantom = gate_phantom(seed=2, where="outside_lesion", size_px=512)
    case = make_case(site=site, actor=tech)
    mosaic = upload(client, case, png_of(phantom.image), kind="rcm_mosaic", depth_level="dej").json()
    body = client.get(f"/api/v1/cases/{case.id}/quality/").json()
    assert body["mosaics"][0]["state"] == "failed" and "pixel spacing" in body["mosaics"][0]["error"]
    assert body["verdict"] is None and client.get(f"/api/v1/cases/{case.id}/").status_code == 200

    assert client.patch(f"/api/v1/images/{mosaic['id']}/", {"pixel_spacing_um": 2.0}, format="json").status_code == 200
    body = client.get(f"/api/v1/cases/{case.id}/quality/").json()
    assert body["mosaics"][0]["state"] == "done" and body["verdict"] == "reimage"  # whole mosaic: no dermoscopy
    run = AnalysisRun.objects.get()
    assert (run.state, run.attempts) == ("succeeded", 1)
