"""The statistics behind the QA dashboards, as pure functions (numpy and scipy.stats, no Django), so
that every number a QA admin sees can be checked by hand.

Bins are the paper's (Kose et al., J Invest Dermatol 2020): % uninformative in [0, 5), [5, 10),
[10, 15), [15, 25) and [25, 100]. Each bin holds its lower edge and not its upper one, except the
last, which holds 100: 5.0 is in 5–10, 25.0 in 25–100, 100.0 in 25–100.

Outlier rule (`outliers`): each group (a site, or a technician) is compared with the pool of all
OTHER mosaics of the same family in scope (a site with the other sites' mosaics; a technician with
every other technician's mosaics), on % uninformative over the whole mosaic and, separately, within
the lesion. The comparison is a two-sided Mann–Whitney U test (normal approximation with tie and
continuity correction), run only when the group has at least 5 mosaics and the pool at least 5
(else "insufficient_data"). Its p-values are Holm–Bonferroni adjusted within each family and
measure. The effect size is the rank-biserial correlation r = 2·U_group/(n_group·n_pool) − 1 (equal
to Cliff's delta; positive: the group's mosaics are more uninformative, i.e. worse), labelled by
Romano et al. (2006): |r| < 0.147 negligible, < 0.33 small, < 0.474 medium, else large. A group is
flagged when the adjusted p < 0.05 AND |r| ≥ 0.33 AND it is worse; a group that is better is
reported with its evidence but not flagged (it needs no remediation).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from scipy.stats import mannwhitneyu, rankdata, tiecorrect

# (key used in query strings, label shown, lower edge, upper edge); the last bin includes 100.
BINS: tuple[tuple[str, str, float, float], ...] = (
    ("0-5", "0–5", 0.0, 5.0),
    ("5-10", "5–10", 5.0, 10.0),
    ("10-15", "10–15", 10.0, 15.0),
    ("15-25", "15–25", 15.0, 25.0),
    ("25-100", "25–100", 25.0, 100.0),
)
BIN_KEYS = tuple(key for key, *_ in BINS)
RECALL_THRESHOLDS: tuple[float, ...] = (5, 10, 15, 25)

MIN_GROUP_N = 5
MIN_POOL_N = 5
ALPHA = 0.05
FLAG_MIN_EFFECT = 0.33  # at least a medium effect (Romano et al. 2006)
OUTLIER_RULE = (
    "Each site (or technician) is compared with the pool of all other sites' (or technicians') mosaics in "
    "scope, on % uninformative over the whole mosaic and, separately, within the lesion: two-sided "
    "Mann–Whitney U test (normal approximation, tie and continuity corrected) when the group has at least "
    f"{MIN_GROUP_N} mosaics and the pool at least {MIN_POOL_N}; p-values Holm-adjusted within each family "
    "and measure; effect size r = rank-biserial correlation (Cliff's delta), positive = more uninformative. "
    f"Flagged when the adjusted p < {ALPHA} and |r| ≥ {FLAG_MIN_EFFECT} (medium or large) and the group is worse."
)


def bin_index(value: float) -> int:
    """The bin of one percentage (edges as in the module docstring). Values outside [0, 100] are
    clamped into the first or last bin: a percentage cannot be outside, a rounding error can."""
    for index, (_, _, _, upper) in enumerate(BINS[:-1]):
        if value < upper:
            return index
    return len(BINS) - 1


def bin_range(key: str) -> tuple[float, float, bool]:
    """(lower, upper, upper_included) of the bin with this key; KeyError for an unknown key."""
    for index, (bin_key, _, lower, upper) in enumerate(BINS):
        if bin_key == key:
            return lower, upper, index == len(BINS) - 1
    raise KeyError(key)


def bin_counts(values: Iterable[float]) -> list[int]:
    """How many values fall in each of the paper's bins, in BINS order."""
    counts = [0] * len(BINS)
    for value in values:
        counts[bin_index(float(value))] += 1
    return counts


def describe(values: Iterable[float]) -> dict:
    """n, mean, median, sample standard deviation (ddof=1; None below 2 values) and the bins.
    None, not 0, for what an empty group has no value of: a dashboard must not show 0% for "no data"."""
    data = np.asarray([float(v) for v in values], dtype=float)
    n = int(data.size)
    counts = bin_counts(data)
    return {
        "n": n,
        "mean": float(data.mean()) if n else None,
        "median": float(np.median(data)) if n else None,
        "sd": float(data.std(ddof=1)) if n >= 2 else None,
        "bins": [
            {"key": key, "label": label, "lower": lower, "upper": upper, "count": count,
             "percent": count / n * 100 if n else None}
            for (key, label, lower, upper), count in zip(BINS, counts)
        ],
    }


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> dict:
    """Two-sided Mann–Whitney U test of a against b: scipy.stats.mannwhitneyu(a, b, alternative=
    "two-sided", method="asymptotic", use_continuity=True), the normal approximation with tie and
    continuity correction, plus the signed z and the effect size that scipy does not return.

    u: U of a (pairs where a's value is higher, ties counting one half); z: signed, positive when a
    is higher, shrunk by the continuity correction of 0.5 towards 0 (0 when |U − mean| ≤ 0.5);
    p: two-sided, capped at 1; effect_size: rank-biserial r = 2U/(n_a·n_b) − 1. With every value
    equal (no variance; scipy answers nan there) p = 1, z = 0 and r = 0.
    """
    n_a, n_b = len(a), len(b)
    if n_a == 0 or n_b == 0:
        raise ValueError("both samples need at least one value")
    sample_a, sample_b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    test = mannwhitneyu(sample_a, sample_b, alternative="two-sided", method="asymptotic", use_continuity=True)
    u_a = float(test.statistic)
    tie_factor = float(tiecorrect(rankdata(np.concatenate([sample_a, sample_b]))))  # 1 − Σ(t³ − t)/(n³ − n)
    variance = n_a * n_b * (n_a + n_b + 1) / 12 * tie_factor
    difference = u_a - n_a * n_b / 2
    if variance <= 0:
        z, p = 0.0, 1.0
    else:
        z = math.copysign(max(abs(difference) - 0.5, 0.0) / math.sqrt(variance), difference) if difference else 0.0
        p = float(test.pvalue)
    return {"u": u_a, "z": z, "p": p, "n_a": n_a, "n_b": n_b, "effect_size": 2 * u_a / (n_a * n_b) - 1}


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values in the input's order: the k-th smallest (k from 0) is
    multiplied by (m − k), then made non-decreasing along that order and capped at 1."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for k, index in enumerate(order):
        running = max(running, min(1.0, (m - k) * float(pvalues[index])))
        adjusted[index] = running
    return adjusted


def effect_magnitude(r: float) -> str:
    """Romano et al. (2006) thresholds for Cliff's delta."""
    size = abs(r)
    if size < 0.147:
        return "negligible"
    if size < 0.33:
        return "small"
    if size < 0.474:
        return "medium"
    return "large"


def recall_simulation(pairs: Iterable[tuple[float, float | None]],
                      thresholds: Sequence[float] = RECALL_THRESHOLDS) -> dict:
    """Kose et al. 2020, Figure 2: over the mosaics that have a lesional %, how many would be
    recalled (percent ≥ threshold) deciding on the whole mosaic vs on the lesion.

    saved = whole − lesion recalls (negative when the lesional rule recalls more: reported as is);
    saved_percent = saved / whole recalls × 100, None when the whole rule recalls none. Mosaics
    without a lesional % are counted in n_without_lesion, not silently dropped.
    """
    with_lesion: list[tuple[float, float]] = []
    without = 0
    for whole, lesion in pairs:
        if lesion is None:
            without += 1
        else:
            with_lesion.append((float(whole), float(lesion)))
    rows = []
    for threshold in thresholds:
        whole_recalls = sum(1 for whole, _ in with_lesion if whole >= threshold)
        lesion_recalls = sum(1 for _, lesion in with_lesion if lesion >= threshold)
        saved = whole_recalls - lesion_recalls
        rows.append({"threshold": threshold, "n": len(with_lesion), "whole_recalls": whole_recalls,
                     "lesion_recalls": lesion_recalls, "saved": saved,
                     "saved_percent": saved / whole_recalls * 100 if whole_recalls else None})
    return {"thresholds": list(thresholds), "rows": rows, "n_without_lesion": without}


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def _p_text(p: float) -> str:
    return "p<0.0001" if p < 0.0001 else f"p={p:.4f}" if p < 0.01 else f"p={p:.3f}"


def outliers(groups: Sequence[tuple[str, str, Sequence[float]]], *, measure: str, pool_label: str) -> dict[str, dict]:
    """Evidence for each group of one family on one measure (see the module docstring).

    groups: (key, label, values) for every group of the family in scope, values being that measure's
    percentages. pool_label finishes the sentence "vs X% …", e.g. "at the other sites".
    Returns key → evidence: status ("tested" | "insufficient_data"), measure, n, pool_n, group_median,
    pool_median, u, z, p, p_adjusted, effect_size, magnitude, direction, flagged, reason.
    """
    where = "within the lesion" if measure == "lesion" else "over the mosaic"
    evidence: dict[str, dict] = {}
    tested: list[str] = []
    for index, (key, label, values) in enumerate(groups):
        pool = [v for j, (_, _, others) in enumerate(groups) if j != index for v in others]
        entry = {
            "measure": measure, "status": "insufficient_data", "n": len(values), "pool_n": len(pool),
            "group_median": float(np.median(values)) if len(values) else None,
            "pool_median": float(np.median(pool)) if pool else None,
            "u": None, "z": None, "p": None, "p_adjusted": None, "effect_size": None, "magnitude": None,
            "direction": None, "flagged": False,
        }
        if len(values) >= MIN_GROUP_N and len(pool) >= MIN_POOL_N:
            test = mann_whitney(values, pool)
            r = test["effect_size"]
            entry.update(status="tested", u=test["u"], z=test["z"], p=test["p"], effect_size=r,
                         magnitude=effect_magnitude(r), direction="worse" if r > 0 else "better" if r < 0 else "none")
            tested.append(key)
        else:
            entry["reason"] = (f"{label}: not tested, too few mosaics with a value {where} "
                               f"({len(values)} here, {len(pool)} {pool_label}; needs {MIN_GROUP_N} and {MIN_POOL_N}).")
        evidence[key] = entry
    for key, adjusted in zip(tested, holm([evidence[key]["p"] for key in tested])):
        entry = evidence[key]
        entry["p_adjusted"] = adjusted
        significant = adjusted < ALPHA and abs(entry["effect_size"]) >= FLAG_MIN_EFFECT
        entry["flagged"] = significant and entry["direction"] == "worse"
        label = next(lbl for k, lbl, _ in groups if k == key)
        sentence = (f"{label}: median {_percent(entry['group_median'])} uninformative {where} vs "
                    f"{_percent(entry['pool_median'])} {pool_label}; Mann–Whitney {_p_text(adjusted)} (Holm-adjusted), "
                    f"effect size r={entry['effect_size']:.2f} ({entry['magnitude']})")
        if entry["flagged"]:
            sentence += ": worse than the others."
        elif significant:
            sentence += ": better than the others (not flagged)."
        else:
            sentence += ": no clear difference (not flagged)."
        entry["reason"] = sentence
    return evidence
