"""The QA drill-down beyond the numbers: thumbnails with the quality overlay for those who may open
the case (site admins), never for a QA admin (aggregates only), each one audited; re-captured
mosaics marked, in the listing and the CSV; the CSV's figures rounded as a person reads them."""

from __future__ import annotations

import csv
import io
import math
import uuid

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image as PILImage

from dermrelay.gate.models import MosaicQuality
from dermrelay.audit.models import AuditEvent, AuditOutcome
from dermrelay.qa.api.export import csv_figure
from tests.factories import api_client
from tests.qa.conftest import PERIOD

pytestmark = pytest.mark.django_db

QA = "/api/v1/qa"


def _drill(user, **params) -> list[dict]:
    response = api_client(user).get(f"{QA}/mosaics/", {**PERIOD, "page_size": 200, **params})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_site_admins_get_thumbnails_and_qa_admins_aggregates_only(world):
    rows = _drill(world.admin_north)
    assert rows and all(r["can_open"] and r["thumbnail_url"] for r in rows)
    assert all(r["thumbnail_url"].endswith(f"/api/v1/qa/mosaics/{r['image']}/thumbnail/") for r in rows)
    assert all(r["quality_overlay"] for r in rows)  # the synthetic history stores its label maps
    qa_rows = _drill(world.qa, site=str(world.north.id))
    assert {r["image"] for r in qa_rows} == {r["image"] for r in rows}
    assert not any(r["can_open"] or r["thumbnail_url"] for r in qa_rows)


def test_the_thumbnail_shows_the_uninformative_band_in_the_overlay_colour_and_is_audited(world):
    quality = (MosaicQuality.objects.filter(image__case__site=world.north, percent_whole__gte=10)
               .select_related("image").first())
    url = f"{QA}/mosaics/{quality.image_id}/thumbnail/"
    before = AuditEvent.objects.count()
    response = api_client(world.admin_north).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["X-Quality-Overlay"] == "drawn"
    pixels = np.asarray(PILImage.open(io.BytesIO(response.content)).convert("RGB"), dtype=float)
    assert pixels.shape[:2] == (quality.image.height, quality.image.width)
    band = int(round(pixels.shape[1] * quality.percent_whole / 100))  # mosaic_png's dark band, labelled uninformative
    left, right = pixels[:, : band - 1].mean(axis=(0, 1)), pixels[:, band + 1:].mean(axis=(0, 1))
    assert left[0] > 120 and left[0] > left[2] + 80  # dark band tinted orange-red
    assert abs(right[0] - right[2]) < 15  # informative tissue left grey
    event = AuditEvent.objects.order_by("id")[before]
    assert (event.action, event.object_id, event.site_id, event.outcome) == (
        "view_thumbnail", str(quality.image_id), world.north.id, AuditOutcome.SUCCESS)
    assert event.detail["overlay"] is True


def test_thumbnails_outside_what_the_user_may_open_are_404_and_audited(world):
    north = MosaicQuality.objects.filter(image__case__site=world.north).first()
    lake = MosaicQuality.objects.filter(image__case__site=world.lake).first()
    for user, quality in ((world.qa, north), (world.admin_north, lake)):
        response = api_client(user).get(f"{QA}/mosaics/{quality.image_id}/thumbnail/")
        assert response.status_code == 404
        assert AuditEvent.objects.filter(actor=user, action="view_thumbnail", object_id=str(quality.image_id),
                                         outcome=AuditOutcome.DENIED).exists()
    assert api_client(world.admin_north).get(f"{QA}/mosaics/{uuid.uuid4()}/thumbnail/").status_code == 404
    assert api_client(world.tech_north).get(f"{QA}/mosaics/{north.image_id}/thumbnail/").status_code == 403
    assert api_client(world.admin_north).get(f"{QA}/mosaics/not-a-uuid/thumbnail/").status_code == 404


def test_recaptured_mosaics_are_marked_in_the_listing_and_the_csv(world):
    replaced = MosaicQuality.objects.filter(image__case__site=world.river, image__replaced_by__isnull=False)
    assert replaced.exists()
    rows = _drill(world.qa, site=str(world.river.id))
    marked = {r["image"] for r in rows if r["replaced"]}
    assert marked == {str(q.image_id) for q in replaced}
    assert all(r["replaced_at"] for r in rows if r["replaced"]) and not any(r["replaced_at"] for r in rows if not r["replaced"])
    table = _csv(api_client(world.qa).get(f"{QA}/export/", {**PERIOD, "table": "mosaics", "site": str(world.river.id)}))
    assert {r["image"] for r in table if r["recaptured"] == "true"} == marked
    assert {r["recaptured"] for r in table} == {"true", "false"}


def test_the_drill_down_takes_the_same_number_of_queries_for_5_or_50_rows(world):
    client = api_client(world.admin_north)

    def queries(size: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"{QA}/mosaics/", {**PERIOD, "page_size": size})
        assert response.status_code == 200 and len(response.json()["results"]) == size
        return len(captured)

    assert queries(5) == queries(40)


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def test_csv_figures_are_rounded_for_people(world):
    client = api_client(world.qa)
    mosaics = _csv(client.get(f"{QA}/export/", {**PERIOD, "table": "mosaics"}))
    groups = _csv(client.get(f"{QA}/export/", {**PERIOD, "table": "groups"}))
    trend = _csv(client.get(f"{QA}/export/", {**PERIOD, "table": "trend"}))
    recall = _csv(client.get(f"{QA}/export/", {**PERIOD, "table": "recall"}))
    for row in mosaics:
        assert all(_decimals(row[c]) <= 1 for c in ("percent_whole", "percent_lesion"))
    summary = client.get(f"{QA}/summary/", PERIOD).json()
    river = next(r for r in groups if r["label"] == "Clinic river")
    river_json = next(g for g in summary["sites"] if g["label"] == "Clinic river")
    assert float(river["whole_mean"]) == round(river_json["whole"]["mean"], 1)
    for row in groups:
        for measure in ("whole", "lesion"):
            assert all(_decimals(row[f"{measure}_{n}"]) <= 1 for n in ("mean", "median", "sd"))
            assert all(_decimals(row[f"outlier_{measure}_{n}"]) <= 1 for n in ("group_median", "pool_median", "u"))
            assert _decimals(row[f"outlier_{measure}_z"]) <= 2 and _decimals(row[f"outlier_{measure}_effect_size"]) <= 3
            for p in ("p", "p_adjusted"):
                if row[f"outlier_{measure}_{p}"]:
                    value = float(row[f"outlier_{measure}_{p}"])
                    assert value == float(f"{value:.3g}")  # 3 significant digits, and a tiny p is not 0
    assert float(river["outlier_whole_p"]) > 0
    for row in trend:
        assert all(_decimals(row[c]) <= 1 for c in ("mean_whole", "median_whole", "mean_lesion"))
    assert all(_decimals(row["saved_percent"]) <= 1 for row in recall)


def test_csv_figure_rules():
    assert csv_figure("percent_whole", 15.700000000000001) == 15.7
    assert csv_figure("whole_sd", 3.14159) == 3.1
    assert csv_figure("outlier_whole_p", 0.0000123456) == 1.23e-05
    assert csv_figure("outlier_lesion_p_adjusted", 0.123456) == 0.123
    assert csv_figure("outlier_whole_z", 2.34567) == 2.35
    assert csv_figure("outlier_whole_u", 1234.5) == 1234.5
    assert csv_figure("outlier_whole_effect_size", -0.45678) == -0.457
    assert str(csv_figure("outlier_whole_z", -0.001)) == "0.0"  # never "-0.0"
    assert csv_figure("n_mosaics", 12) == 12 and csv_figure("flagged", True) is True and csv_figure("label", "x") == "x"
    assert csv_figure("mean_whole", None) is None and math.isclose(csv_figure("threshold", 5.0), 5.0)


@pytest.mark.django_db(transaction=True)
def test_a_real_mosaics_thumbnail_carries_the_models_labels_where_they_lie(isolated_files):
    """Through upload, derivation and the quality model: the overlay on the derived thumbnail covers
    about the share of it the model judged uninformative, where the phantom put it."""
    from dermrelay.accounts.models import Role
    from inference.phantoms.generator import gate_phantom
    from tests.gate.gate_cases import models_sync_quality_model_only, upload_phantom_case
    from tests.factories import make_case, make_site, make_user

    models_sync_quality_model_only()
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    admin = make_user(role=Role.SITE_ADMIN, site=site)
    phantom = gate_phantom(seed=7, where="lesion", size_px=512)
    case = make_case(site=site, actor=tech)
    ids = upload_phantom_case(api_client(tech), case, phantom)
    quality = MosaicQuality.objects.select_related("image").get(image_id=ids["mosaic"])
    (row,) = _drill(admin, date_from=str(case.visit_date), date_to=str(case.visit_date))
    assert row["image"] == ids["mosaic"]
    assert row["thumbnail_url"] and row["quality_overlay"]
    response = api_client(admin).get(f"{QA}/mosaics/{ids['mosaic']}/thumbnail/")
    assert response.status_code == 200 and response["X-Quality-Overlay"] == "drawn"
    pixels = np.asarray(PILImage.open(io.BytesIO(response.content)).convert("RGB"), dtype=int)
    tinted = (pixels[..., 0] - pixels[..., 2]) > 60  # the orange-red overlay (grey tissue has R ≈ B)
    assert abs(100 * tinted.mean() - quality.percent_whole) < 5, (100 * tinted.mean(), quality.percent_whole)
    truth = np.asarray(PILImage.fromarray((phantom.uninformative & phantom.valid).astype(np.uint8) * 255)
                       .resize((pixels.shape[1], pixels.shape[0]), PILImage.NEAREST)) > 0
    assert (tinted & truth).sum() > 0.6 * tinted.sum()  # drawn where the phantom's problem is
