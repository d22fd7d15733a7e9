"""Classifier metrics against hand-computed values (and scikit-learn-free AUC against brute force)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from inference.evaluation import classification_metrics as cm


def test_confusion_precision_sensitivity_and_balanced_accuracy_by_hand():
    truth = np.array([0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 0, 1, 1, 2, 2])
    matrix = cm.confusion(truth, predicted, 3)
    assert matrix.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    precision, sensitivity = cm.per_class(matrix)
    assert precision.tolist() == pytest.approx([1.0, 0.5, 0.5])
    assert sensitivity.tolist() == pytest.approx([2 / 3, 0.5, 1.0])
    assert cm.balanced_accuracy(matrix) == pytest.approx((2 / 3 + 0.5 + 1.0) / 3)


def test_a_class_never_predicted_has_no_precision_and_an_absent_class_is_left_out():
    matrix = cm.confusion(np.array([0, 0, 1]), np.array([0, 0, 0]), 3)
    precision, sensitivity = cm.per_class(matrix)
    assert np.isnan(precision[1]) and np.isnan(sensitivity[2])
    assert cm.balanced_accuracy(matrix) == pytest.approx(0.5)  # classes 0 (1.0) and 1 (0.0)


def _auc_brute_force(scores, positive):
    pairs = [(p, n) for p, n in itertools.product(np.flatnonzero(positive), np.flatnonzero(~positive))]
    return np.mean([1.0 if scores[p] > scores[n] else 0.5 if scores[p] == scores[n] else 0.0 for p, n in pairs])


def test_auc_equals_the_pairwise_definition_with_ties():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 5, 60).astype(float)  # many ties
    positive = rng.random(60) < 0.4
    assert cm.roc_auc(scores, positive) == pytest.approx(_auc_brute_force(scores, positive))
    assert cm.roc_auc(np.array([0.1, 0.9]), np.array([False, True])) == 1.0
    assert np.isnan(cm.roc_auc(np.array([0.1, 0.9]), np.array([True, True])))


def test_mcnemar_exact_p_value_by_hand():
    truth = np.zeros(12, dtype=int)
    a = np.array([0] * 2 + [1] * 10)  # A right on 2
    b = np.array([0] * 10 + [1] * 2)  # B right on 10: B only right on 8, A only right on 0
    found = cm.mcnemar(truth, a, b)
    assert (found["a_only_right"], found["b_only_right"]) == (0, 8)
    assert found["p_value"] == pytest.approx(2 / 2**8)  # 2 * C(8,0) / 2^8
    assert cm.mcnemar(truth, a, a)["p_value"] == 1.0


def test_report_has_intervals_around_the_point_estimates_and_is_seeded():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 300)
    probabilities = rng.random((300, 3))
    probabilities[np.arange(300), truth] += 0.6  # a decent classifier
    first = cm.report(truth, probabilities, ["a", "b", "c"], rounds=200, seed=1)
    assert first == cm.report(truth, probabilities, ["a", "b", "c"], rounds=200, seed=1)
    low, high = first["balanced_accuracy_ci95"]
    assert low <= first["balanced_accuracy"] <= high and high - low < 0.2
    for entry in first["per_class"].values():
        assert entry["sensitivity_ci95"][0] <= entry["sensitivity"] <= entry["sensitivity_ci95"][1]
    assert 0.5 < first["macro_auc"] <= 1.0
    assert sum(map(sum, first["confusion_matrix"]["rows_true_columns_predicted"])) == 300


def test_balanced_accuracy_difference_is_paired_and_its_interval_excludes_zero_only_for_a_real_gain():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 4, 400)
    a = np.where(rng.random(400) < 0.6, truth, (truth + 1) % 4)
    better = np.where(rng.random(400) < 0.5, truth, a)  # right wherever A is, and on half of the rest
    found = cm.balanced_accuracy_difference(truth, a, better, 4, rounds=300)
    expected = cm.balanced_accuracy(cm.confusion(truth, better, 4)) - cm.balanced_accuracy(cm.confusion(truth, a, 4))
    assert found["b_minus_a"] == pytest.approx(expected, abs=1e-4) and found["ci95"][0] > 0
    assert found["b_better_in_share_of_resamples"] == 1.0
    same = cm.balanced_accuracy_difference(truth, a, a, 4, rounds=50)
    assert same["b_minus_a"] == 0 and same["ci95"] == [0, 0]
    shuffled = cm.balanced_accuracy_difference(truth, a, np.where(rng.random(400) < 0.6, truth, (truth + 2) % 4), 4, rounds=300)
    assert shuffled["ci95"][0] < 0 < shuffled["ci95"][1]  # two models of equal skill: no difference claimed
    assert cm.balanced_accuracy_difference(truth, a, better, 4, rounds=100, seed=1) == \
        cm.balanced_accuracy_difference(truth, a, better, 4, rounds=100, seed=1)


def test_choosing_on_one_half_and_measuring_on_the_other_is_not_optimistic():
    rng = np.random.default_rng(3)
    truth = np.arange(200) % 4
    noise = [rng.integers(0, 4, 200) for _ in range(10)]  # ten candidates that guess: 0.25 in expectation
    best_on_all = max(cm.balanced_accuracy(cm.confusion(truth, answers, 4)) for answers in noise)
    honest = cm.chosen_on_other_half(truth, noise, 4, rounds=200)
    assert honest < 0.27 and honest < best_on_all - 0.03  # the best of ten guessers looks better than it is
    assert cm.chosen_on_other_half(truth, [*noise, truth.copy()], 4, rounds=50) == 1.0  # a right one is always found


def _bootstrap_by_hand(truth, predicted, classes, *, rounds, seed):
    """The percentile bootstrap as the shipped cards' figures were made before scipy drew it: one
    rng.integers(0, n, n) resample per round, NaN (a class never predicted, or absent) left out."""
    rng = np.random.default_rng(seed)
    found = {"precision": [], "sensitivity": [], "balanced_accuracy": [], "macro_precision": []}
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(rounds):
            sample = rng.integers(0, len(truth), len(truth))
            precision, sensitivity = cm.per_class(cm.confusion(truth[sample], predicted[sample], classes))
            found["precision"].append(precision)
            found["sensitivity"].append(sensitivity)
            found["balanced_accuracy"].append(np.nanmean(sensitivity) if np.isfinite(sensitivity).any() else np.nan)
            found["macro_precision"].append(np.nanmean(precision) if np.isfinite(precision).any() else np.nan)
    return {name: np.nanpercentile(np.asarray(values, dtype=np.float64), [2.5, 97.5], axis=0)
            for name, values in found.items()}


@pytest.mark.parametrize("seed", [0, 7])
def test_scipy_bootstrap_draws_the_same_resamples_as_one_resample_per_round(seed):
    # a small, unbalanced sample: class 2 has two images and is seldom predicted, so some resamples
    # leave its precision or sensitivity undefined, and those are left out of its interval
    truth = np.r_[np.zeros(20, int), np.ones(8, int), np.full(2, 2), np.ones(3, int)]
    predicted = truth.copy()
    predicted[[20, 21, 22, 28]] = 0
    predicted[29] = 2
    found = cm.bootstrap_intervals(truth, predicted, 3, rounds=400, seed=seed)
    expected = _bootstrap_by_hand(truth, predicted, 3, rounds=400, seed=seed)
    for name in expected:
        assert np.allclose(found[name], expected[name], rtol=0, atol=1e-12, equal_nan=True), name


def test_report_figures_on_a_fixed_seed_are_pinned():
    """Computed before the bootstrap and McNemar came from scipy.stats; the same after."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 300)
    probabilities = rng.random((300, 3))
    probabilities[np.arange(300), truth] += 0.6
    found = cm.report(truth, probabilities, ["a", "b", "c"], rounds=200, seed=1)
    assert found["balanced_accuracy"] == 0.8677 and found["balanced_accuracy_ci95"] == [0.8301, 0.8997]
    assert found["macro_precision_ci95"] == [0.8262, 0.8959]
    assert found["per_class"]["c"] == {"support": 115, "precision": 0.9, "precision_ci95": [0.8392, 0.9429],
                                       "sensitivity": 0.8609, "sensitivity_ci95": [0.7965, 0.9167]}
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 4, 400)
    a = np.where(rng.random(400) < 0.6, truth, (truth + 1) % 4)
    better = np.where(rng.random(400) < 0.5, truth, a)
    assert cm.balanced_accuracy_difference(truth, a, better, 4, rounds=300) == {
        "b_minus_a": 0.2051, "ci95": [0.1664, 0.246], "b_better_in_share_of_resamples": 1.0}


@pytest.mark.parametrize(("a_only", "b_only"), [(26, 113), (17, 40), (3, 4), (10, 10), (250, 300), (1, 1000), (0, 1)])
def test_mcnemar_p_value_is_the_exact_two_sided_binomial_tail(a_only, b_only):
    truth = np.zeros(a_only + b_only, dtype=int)
    a = np.r_[np.zeros(a_only, int), np.ones(b_only, int)]  # right exactly where B is wrong
    found = cm.mcnemar(truth, a, 1 - a)
    n = a_only + b_only
    exact = min(1.0, 2 * sum(math.comb(n, k) for k in range(min(a_only, b_only) + 1)) / 2**n)
    assert (found["a_only_right"], found["b_only_right"]) == (a_only, b_only)
    assert found["p_value"] == pytest.approx(exact, rel=1e-12)


def test_mcnemar_gives_model_b_cards_figure():
    # HAM10000 val, A vs B with the recorded location: 26 images only A classifies right, 113 only B
    # (inference/cards/dermoscopy-diagnosis-location.json, ham10000_val_versus_model_a)
    truth = np.zeros(139, dtype=int)
    a = np.r_[np.zeros(26, int), np.ones(113, int)]
    assert cm.mcnemar(truth, a, 1 - a)["p_value"] == pytest.approx(3.95734820051663e-14, rel=1e-12)


def test_auc_of_float32_scores_is_computed_in_float64():
    rng = np.random.default_rng(4)
    scores = rng.random(500).astype(np.float32)
    positive = rng.random(500) < 0.3
    assert cm.roc_auc(scores, positive) == cm.roc_auc(scores.astype(np.float64), positive)
    assert cm.roc_auc(scores, positive) == pytest.approx(_auc_brute_force(scores, positive), rel=1e-12)
