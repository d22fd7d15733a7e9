"""Calibration of the quality model's probability map, on synthetic maps whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from inference.evaluation.calibration import (Prediction, Reliability, choose_min_region, conformal_quantiles,
                                              fit_calibration, fit_temperature, interval_covers)
from inference.serving.calibration import (Calibration, error_scale, percent_interval, temperature_scaled,
                                           without_small_regions)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _overconfident_maps(*, temperature: float, count: int, seed: int, size: int = 128) -> list[Prediction]:
    """Maps whose true pixel probability is sigmoid(z) but which report sigmoid(z * temperature):
    the fitted temperature must come back as `temperature`."""
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(count):
        z = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 3) * 25 - 3  # smooth, mostly informative
        truth = rng.random((size, size)) < _sigmoid(z)
        found.append(Prediction(raw=_sigmoid(z * temperature).astype(np.float32), truth=truth,
                                valid=np.ones((size, size), bool)))
    return found


@pytest.mark.parametrize("true_temperature", [0.5, 1.0, 2.5])
def test_the_fitted_temperature_is_the_one_the_maps_were_made_with(true_temperature):
    fitted = fit_temperature(_overconfident_maps(temperature=true_temperature, count=6, seed=1))
    assert fitted == pytest.approx(true_temperature, rel=0.06)


def test_temperature_scaling_makes_an_overconfident_map_reliable():
    maps = _overconfident_maps(temperature=3.0, count=6, seed=2)
    temperature = fit_temperature(maps)
    before, after = Reliability(), Reliability()
    for m in maps:
        before.add(m.raw, m.truth, m.valid)
        after.add(temperature_scaled(m.raw, temperature), m.truth, m.valid)
    assert before.ece > 0.03
    assert after.ece < 0.01
    for row in after.diagram():  # every bin's observed share is its predicted probability
        if row["pixels"] > 2000:
            assert row["observed"] == pytest.approx(row["mean_probability"], abs=0.04)


def test_ece_of_a_map_that_says_95_percent_of_a_half_positive_area_is_point_45():
    reliability = Reliability(bins=10)
    truth = np.zeros((10, 10), bool)
    truth[:5] = True
    reliability.add(np.full((10, 10), 0.95, np.float32), truth, np.ones((10, 10), bool))
    assert reliability.ece == pytest.approx(0.45, abs=1e-6)
    assert reliability.diagram() == [{"low": 0.9, "high": 1.0, "pixels": 100, "mean_probability": 0.95, "observed": 0.5}]


def test_pixels_outside_the_imaged_area_do_not_count():
    reliability = Reliability()
    valid = np.zeros((4, 4), bool)
    valid[0, 0] = True
    reliability.add(np.full((4, 4), 0.95, np.float32), np.zeros((4, 4), bool), valid)
    assert int(reliability.count.sum()) == 1


def test_temperature_one_leaves_the_map_as_it_is_and_two_softens_it():
    p = np.array([0.1, 0.5, 0.9], np.float32)
    assert temperature_scaled(p, 1.0) is p
    softer = temperature_scaled(p, 2.0)
    assert softer[1] == pytest.approx(0.5)
    assert 0.1 < softer[0] < 0.5 < softer[2] < 0.9
    assert softer[2] == pytest.approx(_sigmoid(np.log(9) / 2), abs=1e-6)


def test_small_regions_go_and_large_ones_stay():
    mask = np.zeros((50, 50), bool)
    mask[5:25, 5:25] = True  # 400 px
    mask[40, 40] = True  # a single speck
    mask[45:47, 45:47] = True  # 4 px
    kept = without_small_regions(mask, min_area_px=10)
    assert kept[5:25, 5:25].all() and kept.sum() == 400
    assert without_small_regions(mask, min_area_px=0).sum() == mask.sum()


def test_the_minimum_area_is_chosen_where_it_removes_false_specks_only():
    rng = np.random.default_rng(3)
    maps = []
    for _ in range(4):
        truth = np.zeros((100, 100), bool)
        truth[10:40, 10:60] = True
        raw = np.where(truth, 0.95, 0.02).astype(np.float32)
        for y, x in rng.integers(50, 99, size=(12, 2)):  # false specks of 1 px (16 µm² at 4 µm/px)
            raw[y, x] = 0.9
        maps.append(Prediction(raw=raw, truth=truth, valid=np.ones_like(truth)))
    area, dice = choose_min_region(maps, temperature=1.0, spacing_um=4.0, candidates_um2=(0.0, 100.0, 40000.0))
    assert area == 100.0
    assert dice["100.0"] == 1.0 > dice["0.0"] > dice["40000.0"]


def test_conformal_quantiles_are_the_finite_sample_order_statistics():
    residuals = list(np.arange(-19, 20, dtype=float))  # 39 values, -19 … 19
    assert conformal_quantiles(residuals, coverage=0.95) == (-19.0, 19.0)  # n = 39: the extremes
    many = list(np.linspace(-1, 1, 399))
    low, high = conformal_quantiles(many, coverage=0.9)
    assert low == pytest.approx(-0.9, abs=0.01) and high == pytest.approx(0.9, abs=0.01)


def _maps_with_known_percent_error(*, count: int, seed: int) -> list[Prediction]:
    """Maps whose estimate misses the true % by a random amount of known spread: the interval fitted
    on some must hold the truth on about its coverage of the others."""
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(count):
        raw = np.full((100, 100), 0.05, np.float32)
        called = int(rng.integers(5, 30))
        raw[:called] = 0.9  # the model calls `called` % of the rows
        truth = np.zeros((100, 100), bool)
        true_rows = int(np.clip(round(called + rng.normal(0, 3)), 0, 100))
        truth[:true_rows] = True
        found.append(Prediction(raw=raw, truth=truth, valid=np.ones((100, 100), bool)))
    return found


def test_the_interval_holds_the_true_percent_at_its_coverage_on_new_mosaics():
    fitted = fit_calibration(_maps_with_known_percent_error(count=200, seed=4), spacing_um=4.0, coverage=0.9)
    calibration = Calibration.from_card({"calibration": fitted})
    fresh = _maps_with_known_percent_error(count=400, seed=5)
    covered = [interval_covers(m, calibration, spacing_um=4.0) for m in fresh]
    assert 0.85 <= np.mean(covered) <= 0.95
    assert fitted["interval"]["q_low"] < 0 < fitted["interval"]["q_high"]


def test_an_unsure_map_gets_a_wider_interval_than_a_clear_one():
    calibration = Calibration(interval_low=-1.0, interval_high=1.0)
    region = np.ones((50, 50), bool)
    clear = np.where(np.arange(50)[:, None] < 5, 0.99, 0.01).astype(np.float32) * np.ones((1, 50), np.float32)
    unsure = np.where(np.arange(50)[:, None] < 5, 0.6, 0.4).astype(np.float32) * np.ones((1, 50), np.float32)
    narrow = percent_interval(clear, region, estimate_percent=10.0, calibration=calibration)
    wide = percent_interval(unsure, region, estimate_percent=10.0, calibration=calibration)
    assert narrow[0] < 10.0 < narrow[1]
    assert wide[1] - wide[0] > 10 * (narrow[1] - narrow[0])
    assert error_scale(clear, region, estimate_percent=10.0) < error_scale(unsure, region, estimate_percent=10.0)


def test_no_interval_without_a_fitted_one_or_an_empty_region():
    p = np.full((10, 10), 0.2, np.float32)
    assert percent_interval(p, np.ones((10, 10), bool), estimate_percent=5.0, calibration=Calibration()) is None
    assert percent_interval(p, np.zeros((10, 10), bool), estimate_percent=5.0,
                            calibration=Calibration(interval_low=-1, interval_high=1)) is None


def test_the_interval_stays_within_zero_and_a_hundred_and_around_the_estimate():
    calibration = Calibration(interval_low=-50.0, interval_high=50.0)
    p = np.full((10, 10), 0.5, np.float32)
    low, high = percent_interval(p, np.ones((10, 10), bool), estimate_percent=3.0, calibration=calibration)
    assert low == 0.0 and high == 100.0
    shifted = Calibration(interval_low=0.5, interval_high=2.0)  # a model known to under-call
    low, high = percent_interval(p, np.ones((10, 10), bool), estimate_percent=3.0, calibration=shifted)
    assert low == 3.0 < high
