"""Metric functions against cases computed by hand."""

import numpy as np
import pytest

from inference.serving import metrics


def test_percentages_count_only_the_imaged_area():
    valid = np.zeros((10, 10), bool)
    valid[:, :5] = True  # 50 imaged pixels
    mask = np.zeros((10, 10), bool)
    mask[:2, :] = True  # 20 flagged, 10 of them imaged
    assert metrics.percent_uninformative(mask, valid) == pytest.approx(20.0)
    lesion = np.zeros((10, 10), bool)
    lesion[:4, :4] = True  # 16 imaged lesion pixels, 8 flagged
    assert metrics.percent_uninformative_in_lesion(mask, valid, lesion) == pytest.approx(50.0)
    assert metrics.percent_uninformative_in_lesion(mask, valid, np.zeros_like(lesion)) is None
    assert metrics.percent_uninformative(mask, np.zeros_like(valid)) == 0.0


def test_pixel_agreement_by_hand():
    expected = np.array([[1, 1, 0, 0], [1, 0, 0, 0]], bool)
    predicted = np.array([[1, 0, 1, 0], [1, 0, 0, 0]], bool)
    found = metrics.pixel_agreement(predicted, expected)
    assert (found.true_positive, found.false_positive, found.false_negative, found.true_negative) == (2, 1, 1, 4)
    assert found.sensitivity == pytest.approx(2 / 3)
    assert found.specificity == pytest.approx(4 / 5)
    assert found.dice == pytest.approx(4 / 6)
    valid = np.array([[1, 1, 0, 1], [1, 1, 1, 1]], bool)  # the false positive is outside
    assert metrics.pixel_agreement(predicted, expected, valid).specificity == 1.0
    empty = metrics.pixel_agreement(np.zeros((2, 2), bool), np.zeros((2, 2), bool))
    assert (empty.sensitivity, empty.specificity, empty.dice) == (1.0, 1.0, 1.0)


def test_regions_in_full_resolution_coordinates():
    mask = np.zeros((20, 20), bool)
    mask[2:4, 3:7] = True  # 8 px
    mask[10:15, 10:15] = True  # 25 px
    found = metrics.regions(mask, scale=4.0, pixel_spacing_um=0.5)
    assert [r.area_px for r in found] == [25 * 16, 8 * 16]
    assert found[0].bbox == (40, 40, 20, 20) and found[0].centroid == (50.0, 50.0)
    assert found[1].area_mm2 == pytest.approx(8 * 16 * 0.0005**2)
    assert metrics.regions(mask, min_area_px=10)[0].area_px == 25


def test_confidence():
    valid = np.ones((2, 2), bool)
    assert metrics.confidence(np.array([[0, 1], [1, 0]], float), valid) == 1.0
    assert metrics.confidence(np.full((2, 2), 0.5), valid) == 0.0
    assert metrics.confidence(np.array([[0.75, 0.25], [1, 0]]), valid) == pytest.approx(0.75)


def test_the_mask_maps_back_to_full_resolution(tmp_path):
    from PIL import Image as PILImage

    from inference.serving.quality import QualityResult, write_full_resolution_mask

    mask = np.zeros((10, 12), bool)
    mask[2:4, 3:6] = True
    result = QualityResult(probability=mask.astype(np.float32), mask=mask, valid=np.ones_like(mask), scale=8.0,
                           working_spacing_um=4.0, percent_uninformative=5.0, percent_uninformative_lesion=None,
                           confidence=1.0)
    write_full_resolution_mask(result, str(tmp_path / "mask.png"), full_size=(96, 80))
    full = np.asarray(PILImage.open(tmp_path / "mask.png")) > 0
    assert full.shape == (80, 96)
    assert full[16:32, 24:48].all() and full.sum() == 16 * 24


@pytest.mark.parametrize("source_spacing_um", [4.0, 1.0])  # read as is, and downsampled 4x
def test_sixteen_bit_mosaics_reach_the_network_windowed_not_squashed(tmp_path, source_spacing_um):
    from PIL import Image as PILImage

    from inference.serving.preprocessing import read_at_spacing

    values = np.random.default_rng(0).integers(1000, 5000, (400, 400)).astype(np.uint16)
    PILImage.fromarray(values).save(tmp_path / "m16.tif")
    working = read_at_spacing(str(tmp_path / "m16.tif"), source_spacing_um=source_spacing_um, working_spacing_um=4.0)
    assert working.pixels.shape == (round(400 * source_spacing_um / 4),) * 2
    assert working.pixels.min() <= 10 and working.pixels.max() >= 245  # 1000..5000 spread over 0..255
