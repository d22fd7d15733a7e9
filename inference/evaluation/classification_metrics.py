"""Metrics of the dermoscopy classifiers, as Amruthalingam et al. (JEADV 2022) report them.

Per class precision and sensitivity with bootstrap 95 % confidence intervals, balanced accuracy
(mean sensitivity), macro one-vs-rest ROC AUC (the Mann–Whitney U of the class's scores, from
scipy.stats.mannwhitneyu), the confusion matrix, and McNemar's test of two models on the same
images (the exact binomial test on the discordant pairs, scipy.stats.binomtest: the paper's
comparison of image-only vs image + location).

The bootstrap is scipy.stats.bootstrap over the images (resampled with replacement, `rounds`
resamples drawn from numpy.random.default_rng(seed)), with percentile intervals. These are the
resamples the hand-written loop that made the shipped cards' figures drew (rng.integers(0, n, n)
per round, in order: scipy draws them as one rounds x n array from the same generator, which numpy
fills in the same order), so the intervals are the cards' figures. A statistic a resample leaves
undefined (the precision of a class never predicted in it, the sensitivity of a class absent from
it) is left out of that statistic's interval: the interval is scipy.stats.quantile of the
bootstrap distribution with NaN omitted, which for a statistic defined in every resample is
exactly the interval scipy.stats.bootstrap returns.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from scipy import stats

_BATCH = 100  # resamples drawn and measured at a time (a 100 x images array of indices), whatever `rounds` is


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
    """Area under the ROC curve: the Mann–Whitney U of the positives' scores over the pairs, ties
    counted half; NaN without positives or negatives."""
    scores, positive = np.asarray(scores, dtype=np.float64), np.asarray(positive, dtype=bool)  # U in float64 whatever the input
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # the U statistic is the same by any method; "asymptotic" spares the exact p-value, unused here
    u = stats.mannwhitneyu(scores[positive], scores[~positive], method="asymptotic").statistic
    return float(u / (n_pos * n_neg))


def macro_auc(probabilities: np.ndarray, truth: np.ndarray) -> float:
    """Mean one-vs-rest AUC over the classes present."""
    values = np.array([roc_auc(probabilities[:, k], truth == k) for k in range(probabilities.shape[1])])
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def resampled_per_class(*, truth: np.ndarray, predicted: np.ndarray, classes: int,
                        samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(precision, sensitivity), each R x classes, of the resamples `samples` (R x n indices of the
    images): per_class of each resample's confusion matrix, all resamples at once."""
    rounds = len(samples)
    codes = (truth[samples] * classes + predicted[samples]) + (np.arange(rounds) * classes * classes)[:, None]
    matrices = np.bincount(codes.ravel(), minlength=rounds * classes * classes).reshape(rounds, classes, classes)
    true_positive = np.diagonal(matrices, axis1=1, axis2=2).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return true_positive / matrices.sum(axis=1), true_positive / matrices.sum(axis=2)


def mean_over_classes(values: np.ndarray) -> np.ndarray:
    """The mean over the last axis of the classes that have a value (NaN where none has)."""
    with warnings.catch_warnings():  # a resample where no class has a value: NaN, left out of the interval
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=-1)


def image_bootstrap(statistic: Callable[[np.ndarray], np.ndarray], *, images: int, rounds: int, seed: int,
                    level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scipy.stats.bootstrap of `statistic` (R x n resampled image indices → K x R values, or R) over
    n = `images` images, percentile method, the resamples drawn from default_rng(seed): the bootstrap
    distribution (K x R) and scipy's interval (low, high; NaN where a resample left the statistic
    undefined)."""
    with warnings.catch_warnings():  # an undefined statistic in some resample: see percentile_interval
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        found = stats.bootstrap((np.arange(images),), lambda samples, axis: statistic(samples), n_resamples=rounds,
                                batch=_BATCH, vectorized=True, method="percentile", confidence_level=level,
                                rng=np.random.default_rng(seed))
    return found.bootstrap_distribution, found.confidence_interval.low, found.confidence_interval.high


def percentile_interval(distribution: np.ndarray, *, level: float) -> np.ndarray:
    """K x 2 (low, high) percentile intervals of a K x R bootstrap distribution, each statistic's
    undefined (NaN) resamples left out; NaN where it is undefined in every resample."""
    alpha = (1 - level) / 2
    return stats.quantile(distribution, np.array([alpha, 1 - alpha]), axis=-1, nan_policy="omit")


def bootstrap_intervals(truth: np.ndarray, predicted: np.ndarray, classes: int, *, rounds: int = 1000,
                        seed: int = 0, level: float = 0.95) -> dict:
    """Percentile intervals of per-class precision and sensitivity, of balanced accuracy (= macro
    sensitivity) and of macro precision (see the module docstring)."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)

    def statistic(samples: np.ndarray) -> np.ndarray:
        precision, sensitivity = resampled_per_class(truth=truth, predicted=predicted, classes=classes, samples=samples)
        return np.concatenate([precision.T, sensitivity.T, mean_over_classes(sensitivity)[None],
                               mean_over_classes(precision)[None]])

    distribution, _, _ = image_bootstrap(statistic, images=len(truth), rounds=rounds, seed=seed, level=level)
    interval = percentile_interval(distribution, level=level)
    return {"precision": interval[:classes].T, "sensitivity": interval[classes:2 * classes].T,
            "balanced_accuracy": interval[2 * classes], "macro_precision": interval[2 * classes + 1]}


def balanced_accuracy_difference(truth: np.ndarray, predicted_a: np.ndarray, predicted_b: np.ndarray, classes: int, *,
                                 rounds: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """B's balanced accuracy minus A's with a paired bootstrap interval (the same resampled images for
    both): McNemar says whether B is right on more images, this says whether it is better on the
    measure the goal is set in, where the rare classes weigh as much as nv. A class a resample lacks
    is left out of both means."""
    truth, predicted_a, predicted_b = (np.asarray(v) for v in (truth, predicted_a, predicted_b))

    def statistic(samples: np.ndarray) -> np.ndarray:
        _, sensitivity_a = resampled_per_class(truth=truth, predicted=predicted_a, classes=classes, samples=samples)
        _, sensitivity_b = resampled_per_class(truth=truth, predicted=predicted_b, classes=classes, samples=samples)
        return mean_over_classes(sensitivity_b) - mean_over_classes(sensitivity_a)

    distribution, low, high = image_bootstrap(statistic, images=len(truth), rounds=rounds, seed=seed, level=level)
    whole = balanced_accuracy(confusion(truth, predicted_b, classes)) - balanced_accuracy(confusion(truth, predicted_a, classes))
    return {"b_minus_a": round(whole, 4), "ci95": [round(float(low), 4), round(float(high), 4)],
            "b_better_in_share_of_resamples": round(float((distribution > 0).mean()), 3)}


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
    """McNemar's exact test: b = A right and B wrong, c = A wrong and B right; the two-sided exact
    binomial p-value of b among b + c discordant images at p = 1/2 (1 when there are none)."""
    right_a, right_b = predicted_a == truth, predicted_b == truth
    b, c = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
    p_value = float(stats.binomtest(b, b + c, 0.5).pvalue) if b + c else 1.0
    return {"a_only_right": b, "b_only_right": c, "p_value": p_value}


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
