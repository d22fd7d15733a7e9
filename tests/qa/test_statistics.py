"""qa.statistics against numbers computed by hand (in the comments), and Mann–Whitney against scipy's
mannwhitneyu and against U counted pair by pair with its tie-corrected variance counted tie group by tie group."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from dermrelay.qa import statistics
from dermrelay.qa.statistics import bin_counts, describe, effect_magnitude, holm, mann_whitney, outliers, recall_simulation


def test_describe_small_list_by_hand():
    # [2, 4, 4, 5, 10]: mean 25/5 = 5; median 4; deviations -3 -1 -1 0 5, squares 9+1+1+0+25 = 36,
    # sample variance 36/4 = 9, sd 3. Bins: 2, 4, 4 → 0–5; 5 → 5–10; 10 → 10–15.
    found = describe([2, 4, 4, 5, 10])
    assert found["n"] == 5
    assert found["mean"] == pytest.approx(5.0)
    assert found["median"] == pytest.approx(4.0)
    assert found["sd"] == pytest.approx(3.0)
    assert [b["count"] for b in found["bins"]] == [3, 1, 1, 0, 0]
    assert [b["percent"] for b in found["bins"]] == pytest.approx([60.0, 20.0, 20.0, 0.0, 0.0])
    assert [b["label"] for b in found["bins"]] == ["0–5", "5–10", "10–15", "15–25", "25–100"]


def test_describe_even_count_median_and_single_value():
    assert describe([1, 3, 8, 20])["median"] == pytest.approx(5.5)  # (3 + 8) / 2
    one = describe([7.5])
    assert one["n"] == 1 and one["mean"] == 7.5 and one["median"] == 7.5 and one["sd"] is None


def test_describe_empty_has_no_values_not_zeros():
    found = describe([])
    assert found["n"] == 0 and found["mean"] is None and found["median"] is None and found["sd"] is None
    assert [b["count"] for b in found["bins"]] == [0] * 5
    assert all(b["percent"] is None for b in found["bins"])


def test_bins_at_exact_edges():
    # Each bin holds its lower edge, not its upper one; the last holds 100.
    assert bin_counts([0.0]) == [1, 0, 0, 0, 0]
    assert bin_counts([4.999]) == [1, 0, 0, 0, 0]
    assert bin_counts([5.0]) == [0, 1, 0, 0, 0]
    assert bin_counts([9.999, 10.0]) == [0, 1, 1, 0, 0]
    assert bin_counts([15.0, 24.99]) == [0, 0, 0, 2, 0]
    assert bin_counts([25.0, 100.0]) == [0, 0, 0, 0, 2]
    assert bin_counts([]) == [0] * 5


def test_mann_whitney_by_hand_with_ties():
    # a = [1, 2, 2, 5], b = [2, 3, 4]. Pooled and sorted: 1(a) 2(a) 2(a) 2(b) 3(b) 4(b) 5(a).
    # Ranks: 1 → 1; the three 2s share ranks 2, 3, 4 → 3 each; 3 → 5; 4 → 6; 5 → 7.
    # R_a = 1 + 3 + 3 + 7 = 14; U_a = R_a − n_a(n_a + 1)/2 = 14 − 10 = 4
    # (pairs: 1 beats none; each 2 ties one b → 0.5 + 0.5; 5 beats three → 4).
    # mean U = n_a n_b / 2 = 6. Ties: one group of 3 → Σ(t³ − t) = 24.
    # var = n_a n_b / 12 · ((n + 1) − Σ(t³ − t) / (n (n − 1))) = 1 · (8 − 24/42) = 52/7 = 7.428571
    # sd = 2.725541; continuity: |4 − 6| − 0.5 = 1.5; z = −1.5 / 2.725541 = −0.550350 (a lower)
    # p = 2 · (1 − Φ(0.550350)) = 0.582080; r = 2 · 4 / 12 − 1 = −1/3.
    found = mann_whitney([1, 2, 2, 5], [2, 3, 4])
    assert found["u"] == pytest.approx(4.0)
    assert found["z"] == pytest.approx(-1.5 / math.sqrt(52 / 7))
    assert found["z"] == pytest.approx(-0.550350, abs=1e-6)
    assert found["p"] == pytest.approx(0.582080, abs=1e-6)
    assert found["effect_size"] == pytest.approx(-1 / 3)
    swapped = mann_whitney([2, 3, 4], [1, 2, 2, 5])
    assert swapped["u"] == pytest.approx(8.0) and swapped["z"] == pytest.approx(-found["z"])
    assert swapped["p"] == pytest.approx(found["p"]) and swapped["effect_size"] == pytest.approx(1 / 3)


def test_mann_whitney_equals_scipy_on_random_data_with_ties():
    rng = np.random.default_rng(20261124)
    for _ in range(200):
        a = rng.integers(0, 12, size=int(rng.integers(1, 40))).astype(float) / 2  # many ties
        b = rng.integers(0, 12, size=int(rng.integers(1, 40))).astype(float) / 2
        if np.unique(np.concatenate([a, b])).size == 1:
            continue  # scipy answers nan there; covered by the next test
        expected = mannwhitneyu(a, b, alternative="two-sided", method="asymptotic", use_continuity=True)
        found = mann_whitney(list(a), list(b))
        assert found["u"] == pytest.approx(float(expected.statistic), abs=1e-9)
        assert found["p"] == pytest.approx(float(expected.pvalue), abs=1e-12)
    for _ in range(50):  # continuous values, no ties
        a, b = rng.beta(2, 20, size=30) * 100, rng.beta(3, 12, size=25) * 100
        expected = mannwhitneyu(a, b, alternative="two-sided", method="asymptotic", use_continuity=True)
        assert mann_whitney(list(a), list(b))["p"] == pytest.approx(float(expected.pvalue), abs=1e-12)


def pairwise_mann_whitney(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """(U of a, signed z, two-sided p) from the definitions, with no ranks: U counts the pairs where
    a's value is higher (a tie counts one half); the variance is n_a n_b / 12 · ((n + 1) − Σ(t³ − t) /
    (n (n − 1))) over the tie groups t; z and p take the continuity correction of 0.5."""
    u = sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in a for y in b)
    n = len(a) + len(b)
    ties = sum(t ** 3 - t for t in Counter(a + b).values())
    sd = math.sqrt(len(a) * len(b) / 12 * ((n + 1) - ties / (n * (n - 1))))
    difference = u - len(a) * len(b) / 2
    z = math.copysign(max(abs(difference) - 0.5, 0.0) / sd, difference)
    return u, z, min(1.0, math.erfc(((abs(difference) - 0.5) / sd) / math.sqrt(2)))


def test_mann_whitney_equals_pairwise_counting():
    # Site-like samples of % uninformative with ties (values to 0.5 %), one group shifted upwards.
    rng = np.random.default_rng(42)
    for _ in range(100):
        a = list(np.round(rng.gamma(2.0, 4.0, size=int(rng.integers(5, 60))) * 2) / 2 + 3)
        b = list(np.round(rng.gamma(2.0, 3.0, size=int(rng.integers(5, 90))) * 2) / 2)
        u, z, p = pairwise_mann_whitney(a, b)
        found = mann_whitney(a, b)
        assert found["u"] == pytest.approx(u, abs=1e-9)
        assert found["z"] == pytest.approx(z, abs=1e-9)
        assert found["p"] == pytest.approx(p, rel=1e-9, abs=1e-300)
        assert found["effect_size"] == pytest.approx(2 * u / (len(a) * len(b)) - 1, abs=1e-12)


def test_mann_whitney_pinned_figures_of_a_clearly_worse_site():
    # a = 8 mosaics of a poor site, b = 10 of the others (ties: 6 in both, 12 twice in a).
    # Pairs a > b: 25, 18, 14, 12, 12 → 10 each; 9 → 9; 7 → 8; 6 → 7 and a tie → U = 74.5.
    # mean 40; tie groups {6: 2, 12: 2} → Σ(t³ − t) = 12; var = 80/12 · (19 − 12/306) = 126.405229;
    # sd 11.243008; z = (34.5 − 0.5)/11.243008 = 3.024102; p = erfc(3.024102/√2) = 0.0024937.
    a = [25.0, 18.0, 14.0, 12.0, 12.0, 9.0, 7.0, 6.0]
    b = [11.0, 8.5, 6.0, 5.0, 4.5, 4.0, 3.0, 2.5, 2.0, 1.0]
    found = mann_whitney(a, b)
    assert found["u"] == 74.5
    assert found["z"] == pytest.approx(3.024102, abs=1e-6)
    assert found["p"] == pytest.approx(0.0024937, abs=1e-7)
    assert found["effect_size"] == pytest.approx(2 * 74.5 / 80 - 1)  # 0.8625


def test_mann_whitney_all_identical_values():
    found = mann_whitney([3.0] * 6, [3.0] * 4)
    assert found["p"] == 1.0 and found["z"] == 0.0 and found["effect_size"] == 0.0
    assert found["u"] == pytest.approx(12.0)  # every pair ties: 6 · 4 / 2


def test_mann_whitney_needs_both_samples():
    with pytest.raises(ValueError):
        mann_whitney([], [1.0])


def test_holm_by_hand():
    # p = [0.01, 0.04, 0.03, 0.005], m = 4. Sorted: 0.005 ×4 = 0.02; 0.01 ×3 = 0.03; 0.03 ×2 = 0.06;
    # 0.04 ×1 = 0.04 → raised to 0.06 to stay monotone. Back in input order: 0.03, 0.06, 0.06, 0.02.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # 0.5 × 2 = 1.0 (capped), 0.6 → 1.0 (monotone)
    assert holm([0.02]) == pytest.approx([0.02])
    assert holm([]) == []


def test_effect_magnitude_edges():
    assert effect_magnitude(0.1469) == "negligible"
    assert effect_magnitude(-0.147) == "small"
    assert effect_magnitude(0.3299) == "small"
    assert effect_magnitude(0.33) == "medium"
    assert effect_magnitude(-0.4739) == "medium"
    assert effect_magnitude(0.474) == "large"


def test_recall_simulation_by_hand():
    # With a lesional %: (30, 4) (12, 12) (3, 8) (26, 27) (9, 2) → n = 5; (6, None) is counted apart.
    # t=5:  whole ≥ 5: 30 12 26 9 → 4; lesion ≥ 5: 12 8 27 → 3; saved 1 = 25%
    # t=10: whole 30 12 26 → 3; lesion 12 27 → 2; saved 1 = 33.3%
    # t=15: whole 30 26 → 2; lesion 27 → 1; saved 1 = 50%;  t=25: the same.
    found = recall_simulation([(30, 4), (12, 12), (6, None), (3, 8), (26, 27), (9, 2)])
    assert found["n_without_lesion"] == 1 and found["thresholds"] == [5, 10, 15, 25]
    rows = {row["threshold"]: row for row in found["rows"]}
    assert [(rows[t]["n"], rows[t]["whole_recalls"], rows[t]["lesion_recalls"], rows[t]["saved"]) for t in (5, 10, 15, 25)] == [
        (5, 4, 3, 1), (5, 3, 2, 1), (5, 2, 1, 1), (5, 2, 1, 1)]
    assert [rows[t]["saved_percent"] for t in (5, 10, 15, 25)] == pytest.approx([25.0, 100 / 3, 50.0, 50.0])


def test_recall_simulation_negative_saving_and_no_whole_recall():
    # (6, 7) (3, 8) at 5%: the whole rule recalls 1, the lesional 2 → saved −1 = −100%.
    row = recall_simulation([(6, 7), (3, 8)], thresholds=(5,))["rows"][0]
    assert (row["whole_recalls"], row["lesion_recalls"], row["saved"]) == (1, 2, -1)
    assert row["saved_percent"] == pytest.approx(-100.0)
    # (3, 8) (4, 6): the whole rule recalls none → saved −2, saved_percent undefined.
    row = recall_simulation([(3, 8), (4, 6)], thresholds=(5,))["rows"][0]
    assert (row["whole_recalls"], row["lesion_recalls"], row["saved"], row["saved_percent"]) == (0, 2, -2, None)
    empty = recall_simulation([])
    assert empty["n_without_lesion"] == 0 and all(r["n"] == 0 and r["saved_percent"] is None for r in empty["rows"])


def test_outliers_flag_worse_group_only_with_holm_and_evidence():
    bad = [18.0, 20.0, 22.0, 25.0, 30.0, 19.0]
    good = [3.0, 4.0, 5.0, 6.0, 4.5, 5.5]
    fine = [4.0, 6.0, 7.0, 5.0, 6.5, 3.5]
    few = [50.0, 60.0]
    found = outliers([("bad", "Bad", bad), ("good", "Good", good), ("fine", "Fine", fine), ("few", "Few", few)],
                     measure="whole", pool_label="at the other sites")
    assert found["bad"]["flagged"] and found["bad"]["direction"] == "worse" and found["bad"]["magnitude"] == "large"
    assert found["bad"]["n"] == 6 and found["bad"]["pool_n"] == 14
    # bad sorted: 18 19 20 22 25 30 → median (20 + 22)/2 = 21. Its pool (good + fine + few), sorted:
    # 3 3.5 4 4 4.5 5 | 5 5.5 | 6 6 6.5 7 50 60 → median (5 + 5.5)/2 = 5.25.
    assert found["bad"]["group_median"] == pytest.approx(21.0) and found["bad"]["pool_median"] == pytest.approx(5.25)
    assert found["bad"]["reason"].startswith("Bad: median 21.0% uninformative over the mosaic vs 5.")
    assert "% at the other sites; Mann–Whitney p" in found["bad"]["reason"]
    assert "Holm-adjusted" in found["bad"]["reason"] and "(large)" in found["bad"]["reason"]
    assert found["few"]["status"] == "insufficient_data" and not found["few"]["flagged"]
    assert found["few"]["p"] is None and found["few"]["n"] == 2 and found["few"]["pool_n"] == 18
    for key in ("good", "fine"):
        assert not found[key]["flagged"]
    # Holm over the three tested groups only.
    tested = ["bad", "good", "fine"]
    assert [found[k]["p_adjusted"] for k in tested] == pytest.approx(holm([found[k]["p"] for k in tested]))
    raw = mann_whitney(bad, good + fine + few)
    assert found["bad"]["u"] == raw["u"] and found["bad"]["effect_size"] == pytest.approx(raw["effect_size"])


def test_outliers_better_group_is_reported_not_flagged():
    good = [1.0, 1.5, 2.0, 1.2, 0.8, 1.1, 0.9]
    others = [10.0, 12.0, 9.0, 11.0, 13.0, 8.0, 10.5, 9.5]
    found = outliers([("g", "Good", good), ("o", "Others", others)], measure="lesion", pool_label="at the other sites")
    assert found["g"]["direction"] == "better" and found["g"]["p_adjusted"] < 0.05 and not found["g"]["flagged"]
    assert "better" in found["g"]["reason"] and "within the lesion" in found["g"]["reason"]
    assert found["o"]["flagged"]  # its mirror image is worse


def test_outliers_empty_and_identical_groups_do_not_crash():
    found = outliers([("a", "A", []), ("b", "B", [])], measure="whole", pool_label="elsewhere")
    assert all(e["status"] == "insufficient_data" and e["group_median"] is None for e in found.values())
    same = outliers([("a", "A", [5.0] * 6), ("b", "B", [5.0] * 6)], measure="whole", pool_label="elsewhere")
    assert all(e["p"] == 1.0 and e["effect_size"] == 0.0 and e["direction"] == "none" and not e["flagged"]
               for e in same.values())


def test_outlier_rule_is_documented():
    assert "Mann–Whitney" in statistics.OUTLIER_RULE and "Holm" in statistics.OUTLIER_RULE
    assert "Mann–Whitney" in statistics.__doc__ and "Holm" in statistics.__doc__
