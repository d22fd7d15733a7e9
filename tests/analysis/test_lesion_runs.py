"""The lesion segmentation step: a dermoscopy image gets a model outline that the quality gate uses
when no person has outlined the lesion, and a person's outline still wins."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image as PILImage

from dermrelay.analysis.models import AnalysisRun
from dermrelay.gate.models import LesionOutline
from inference.datasets import ham10000
from inference.datasets.shared import shared_datasets
from inference.evaluation.lesion_segmentation import jaccard
from inference.phantoms.generator import gate_phantom
from tests.gate.gate_cases import clinic_with_shipped_models, upload_phantom_case
from tests.factories import make_case, upload

pytestmark = pytest.mark.django_db(transaction=True)
HAM10000 = (shared_datasets() or __import__("pathlib").Path("../shared/datasets")) / "ham10000"


@pytest.fixture
def clinic():
    return clinic_with_shipped_models()


def _val_images(count: int):
    if not HAM10000.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"HAM10000 missing at {HAM10000}: CI must have ../shared/datasets")
        pytest.skip("HAM10000 not present")
    records = [r for r in ham10000.read_metadata(HAM10000 / "metadata.csv") if r.split == "val"]
    return records[:count]


def test_a_dermoscopy_image_gets_a_model_outline_close_to_the_expert_mask(clinic, settings):
    site, tech, client = clinic
    case = make_case(site=site, actor=tech)
    scores = []
    for record in _val_images(8):
        data = ham10000.image_path(HAM10000, record.image_id).read_bytes()
        image = upload(client, case, data, name=f"{record.image_id}.jpg", kind="dermoscopy").json()
        run = AnalysisRun.objects.get(image_id=image["id"], step="lesion_segmentation")
        assert (run.state, run.attempts) == ("succeeded", 1), run.last_error
        outline = LesionOutline.objects.get(dermoscopy_id=image["id"], source="model")
        with open(os.path.join(settings.MEDIA_ROOT, outline.mask), "rb") as handle:
            predicted = np.array(PILImage.open(handle)) > 0
        expected = ham10000.load_mask(ham10000.mask_path(HAM10000, record.image_id))
        assert predicted.shape == expected.shape
        scores.append(jaccard(predicted, expected))
        assert run.outputs["found_lesion"] and 0 < run.outputs["lesion_percent_of_image"] < 100
        assert {"model_load_s", "read_s", "inference_s", "outputs_s", "total_s"} <= set(run.timings)
    assert np.mean(scores) > 0.7, scores  # the card's validation figure is measured on all 1021


def test_the_gate_uses_the_model_outline_until_a_person_outlines_the_lesion(clinic):
    site, tech, client = clinic
    phantom = gate_phantom(seed=7, where="lesion")  # no contact over half the lesion: 9 % whole, 50 % lesional
    case = make_case(site=site, actor=tech)
    ids = upload_phantom_case(client, case, phantom, outline=False)
    mosaic = client.get(f"/api/v1/cases/{case.id}/quality/").json()["mosaics"][0]
    assert LesionOutline.objects.filter(dermoscopy_id=ids["dermoscopy"], source="model").exists()
    assert (mosaic["basis"], mosaic["lesion_source"]) == ("lesion", "model")
    assert mosaic["verdict"] == "reimage"

    client.put(f"/api/v1/images/{ids['dermoscopy']}/lesion-outline/", {"polygon": [[0, 0], [40, 0], [40, 40], [0, 40]]},
               format="json")  # a person's outline away from the mosaic wins: the whole mosaic is judged
    mosaic = client.get(f"/api/v1/cases/{case.id}/quality/").json()["mosaics"][0]
    assert mosaic["basis"] == "whole_mosaic" and mosaic["lesion_source"] == "person"


def test_the_model_outline_comes_as_a_polygon_that_traces_its_mask(clinic, settings):
    """The browser draws the model's outline and a technician corrects it: the API gives it as a
    polygon in dermoscopy pixels that covers what the mask covers (the mask stays what is judged)."""
    from dermrelay.analysis import masks
    from dermrelay.gate import geometry

    site, tech, client = clinic
    phantom = gate_phantom(seed=7, where="lesion")
    case = make_case(site=site, actor=tech)
    ids = upload_phantom_case(client, case, phantom, outline=False)
    body = client.get(f"/api/v1/images/{ids['dermoscopy']}/lesion-outline/").json()
    assert body["source"] == "model" and 8 <= len(body["polygon"]) <= masks.MAX_OUTLINE_VERTICES
    outline = LesionOutline.objects.get(dermoscopy_id=ids["dermoscopy"], source="model")
    with open(os.path.join(settings.MEDIA_ROOT, outline.mask), "rb") as handle:
        mask = np.array(PILImage.open(handle)) > 0
    width, height = phantom.dermoscopy.shape[1], phantom.dermoscopy.shape[0]
    drawn = geometry.polygon_fill(np.asarray(body["polygon"]), shape=(height, width))
    on_image = np.asarray(PILImage.fromarray(mask).resize((width, height), PILImage.Resampling.NEAREST))
    assert jaccard(drawn, on_image) > 0.9
    # An outline recorded before outlines were traced (polygon empty) is traced when read.
    LesionOutline.objects.filter(pk=outline.pk).update(polygon=None)
    again = client.get(f"/api/v1/images/{ids['dermoscopy']}/lesion-outline/").json()["polygon"]
    assert again == body["polygon"]
