"""Metrics of the dermoscopy classifiers, as Amruthalingam et al. (JEADV 2022) report them.

Per class precision and sensitivity with bootstrap 95 % confidence intervals (images resampled with
replacement, seeded), balanced accuracy (mean sensitivity), macro one-vs-rest ROC AUC, the confusion
matrix, and McNemar's test of two models on the same images (exact binomial on the discordant
pairs, the paper's comparison of image-only vs image + location).
"""

from __future__ import annotations

import math
import warnings

import numpy as np


def confusion(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """rows: true class, columns: predicted class."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(truth), np.asarray(predicted)), 1)
    return matrix


def per_class(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(precision, sensitivity) per class; NaN where a class was never predicted / never present."""
    true_positive = np.diag(matrix).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = true_positive / matrix.sum(axis=0)
        sensitivity = true_positive / matrix.sum(axis=1)
    return precision, sensitivity


def balanced_accuracy(matrix: np.ndarray) -> float:
    """Mean sensitivity over the classes present."""
    _, sensitivity = per_class(matrix)
    return float(np.nanmean(sensitivity))


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum (Mann–Whitney) formula, ties counted half."""
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = np.asarray(scores)[order]
    start = 0
    while start < len(sorted_scores):  # average ranks of ties
        stop = start
        while stop + 1 < len(sorted_scores) and sorted_scores[stop + 1] == sorted_scores[start]:
            stop += 1
        ranks[order[start:stop + 1]] = (start + stop) / 2 + 1
        start = stop + 1
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def macro_auc(probabilities: np.ndarray, truth: np.ndarray) -> float:
    """Mean one-vs-rest AUC over the classes present."""
    values = np.array([roc_auc(probabilities[:, k], truth == k) for k in range(probabilities.shape[1])])
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def bootstrap_intervals(truth: np.ndarray, predicted: np.ndarray, classes: int, *, rounds: int = 1000,
                        seed: int = 0, level: float = 0.95) -> dict:
    """Percentile intervals of per-class precision and sensitivity, of balanced accuracy (= macro
    sensitivity) and of macro precision."""
    rng = np.random.default_rng(seed)
    n = len(truth)
    precision, sensitivity, balanced, macro_precision = [], [], [], []
    for _ in range(rounds):
        sample = rng.integers(0, n, n)
        matrix = confusion(truth[sample], predicted[sample], classes)
        p, s = per_class(matrix)
        precision.append(p)
        sensitivity.append(s)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            balanced.append(np.nanmean(s))
            macro_precision.append(np.nanmean(p))
    low, high = (1 - level) / 2 * 100, (1 + level) / 2 * 100

    def interval(values):
        with warnings.catch_warnings():  # a class never predicted in any round has no precision: NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanpercentile(np.asarray(values, dtype=np.float64), [low, high], axis=0)

    return {"precision": interval(precision), "sensitivity": interval(sensitivity), "balanced_accuracy": interval(balanced),
            "macro_precision": interval(macro_precision)}


def balanced_accuracy_difference(truth: np.ndarray, predicted_a: np.ndarray, predicted_b: np.ndarray, classes: int, *,
                                 rounds: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """B's balanced accuracy minus A's with a paired bootstrap interval (the same resampled images for
    both): McNemar says whether B is right on more images, this says whether it is better on the
    measure the goal is set in, where the rare classes weigh as much as nv."""
    truth, predicted_a, predicted_b = (np.asarray(v) for v in (truth, predicted_a, predicted_b))
    rng = np.random.default_rng(seed)
    n = len(truth)

    def difference(sample) -> float:
        return balanced_accuracy(confusion(truth[sample], predicted_b[sample], classes)) - \
            balanced_accuracy(confusion(truth[sample], predicted_a[sample], classes))

    with warnings.catch_warnings():  # a resample without some class: it is left out of both means
        warnings.simplefilter("ignore", RuntimeWarning)
        rounds_found = np.array([difference(rng.integers(0, n, n)) for _ in range(rounds)])
    low, high = np.percentile(rounds_found, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return {"b_minus_a": round(difference(np.arange(n)), 4), "ci95": [round(float(low), 4), round(float(high), 4)],
            "b_better_in_share_of_resamples": round(float((rounds_found > 0).mean()), 3)}


def chosen_on_other_half(truth: np.ndarray, candidates: list[np.ndarray], classes: int, *, rounds: int = 500,
                         seed: int = 0) -> float:
    """Mean balanced accuracy, on the other half of the images, of the candidate (answers of one
    configuration each) that scored best on a random half, over `rounds` halvings. The best
    candidate's figure on all the images was chosen on them and is optimistic; this is not."""
    truth = np.asarray(truth)
    rng = np.random.default_rng(seed)
    found = []
    with warnings.catch_warnings():  # a half without some class: it is left out of that half's mean
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(rounds):
            order = rng.permutation(len(truth))
            choose, measure = order[:len(truth) // 2], order[len(truth) // 2:]
            best = max(candidates, key=lambda answers: balanced_accuracy(confusion(truth[choose], answers[choose], classes)))
            found.append(balanced_accuracy(confusion(truth[measure], best[measure], classes)))
    return round(float(np.nanmean(found)), 4)


def mcnemar(truth: np.ndarray, predicted_a: np.ndarray, predicted_b: np.ndarray) -> dict:
    """McNemar's exact test: b = A right and B wrong, c = A wrong and B right; two-sided binomial
    p-value of min(b, c) among b + c discordant images at p = 1/2."""
    right_a, right_b = predicted_a == truth, predicted_b == truth
    b, c = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
    n = b + c
    if n == 0:
        return {"a_only_right": b, "b_only_right": c, "p_value": 1.0}
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2 ** n
    return {"a_only_right": b, "b_only_right": c, "p_value": min(1.0, 2 * tail)}


def report(truth, probabilities, labels: list[str], *, rounds: int = 1000, seed: int = 0) -> dict:
    """Everything the model card and the evaluation JSON carry for one classifier."""
    truth = np.asarray(truth)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    predicted = probabilities.argmax(axis=1)
    matrix = confusion(truth, predicted, len(labels))
    precision, sensitivity = per_class(matrix)
    intervals = bootstrap_intervals(truth, predicted, len(labels), rounds=rounds, seed=seed)

    def rounded(value):
        return None if value is None or not np.isfinite(value) else round(float(value), 4)

    return {
        "images": int(len(truth)),
        "accuracy": rounded((predicted == truth).mean()),
        "balanced_accuracy": rounded(balanced_accuracy(matrix)),
        "balanced_accuracy_ci95": [rounded(v) for v in intervals["balanced_accuracy"]],
        "macro_auc": rounded(macro_auc(probabilities, truth)),
        "per_class": {
            label: {
                "support": int(matrix[k].sum()),
                "precision": rounded(precision[k]), "precision_ci95": [rounded(v) for v in intervals["precision"][:, k]],
                "sensitivity": rounded(sensitivity[k]),
                "sensitivity_ci95": [rounded(v) for v in intervals["sensitivity"][:, k]],
            }
            for k, label in enumerate(labels)
        },
        "macro_precision": rounded(np.nanmean(precision)),
        "macro_precision_ci95": [rounded(v) for v in intervals["macro_precision"]],
        "macro_sensitivity": rounded(np.nanmean(sensitivity)),
        "macro_sensitivity_ci95": [rounded(v) for v in intervals["balanced_accuracy"]],
        "confusion_matrix": {"labels": list(labels), "rows_true_columns_predicted": matrix.tolist()},
        "bootstrap": {"rounds": rounds, "seed": seed, "level": 0.95, "method": "percentile, images resampled"},
    }
