"""Phantom family "honeycomb": determinism, ground-truth consistency and dataset coverage (no Django)."""

from __future__ import annotations

import numpy as np
import pytest

from inference.phantoms.families import ARTIFACT_CODES, FAMILIES, FamilyPhantom
from inference.phantoms.families import honeycomb

SIZE = 384
SEEDS = range(30)


@pytest.fixture(scope="module")
def phantoms() -> list[FamilyPhantom]:
    """30 mosaics, made once for the whole module (each takes a fraction of a second)."""
    return [honeycomb.generate(seed=s, size_px=SIZE) for s in SEEDS]


def test_registered_with_name_and_description() -> None:
    assert honeycomb.NAME == "honeycomb"
    assert FAMILIES["honeycomb"] is honeycomb.generate
    sentences = [s for s in honeycomb.DESCRIPTION.split(". ") if s.strip()]
    assert 3 <= len(sentences) <= 6


def test_deterministic_for_a_seed() -> None:
    a, b = (honeycomb.generate(seed=7, size_px=256) for _ in range(2))
    for name in ("image", "uninformative", "artifact_labels", "valid"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    c = honeycomb.generate(seed=8, size_px=256)
    assert not np.array_equal(a.image, c.image)


def test_shapes_dtypes_and_metadata(phantoms: list[FamilyPhantom]) -> None:
    for p in phantoms:
        assert p.image.shape == p.uninformative.shape == p.artifact_labels.shape == p.valid.shape == (SIZE, SIZE)
        assert p.image.dtype == np.uint8 and p.artifact_labels.dtype == np.uint8
        assert p.uninformative.dtype == bool and p.valid.dtype == bool
        assert p.family == "honeycomb" and p.pixel_spacing_um == 2.0 and p.seed in SEEDS


def test_ground_truth_is_consistent(phantoms: list[FamilyPhantom]) -> None:
    codes = set(ARTIFACT_CODES.values())
    for p in phantoms:
        assert p.valid.mean() > 0.25, p.seed
        assert not (p.uninformative & ~p.valid).any(), p.seed  # uninformative is inside the imaged area
        assert np.array_equal(p.artifact_labels != 0, p.uninformative), p.seed
        assert set(np.unique(p.artifact_labels)) - {0} <= codes, p.seed
        assert not p.image[~p.valid].any(), p.seed  # 0 outside the tiles


def test_dataset_covers_classes_and_fractions(phantoms: list[FamilyPhantom]) -> None:
    seen = set().union(*(set(np.unique(p.artifact_labels)) for p in phantoms)) - {0}
    assert seen == set(ARTIFACT_CODES.values())
    fractions = np.array([p.uninformative_fraction for p in phantoms])
    assert fractions.min() < 0.02 and fractions.max() >= 0.30
    assert (fractions == 0).any()  # clean mosaics exist, labelled clean
    assert (fractions < 0.10).sum() >= 8  # many mosaics are mostly readable
    assert fractions.max() <= 0.6


def test_clean_tissue_has_plausible_contrast(phantoms: list[FamilyPhantom]) -> None:
    for p in phantoms:
        tissue = p.image[p.valid & ~p.uninformative].astype(float)
        assert tissue.size > 1000, p.seed
        lo, hi = np.percentile(tissue, [5, 95])
        assert 30 < tissue.mean() < 160, p.seed
        assert hi - lo > 60, p.seed  # bright membranes against dark nuclei
        assert np.mean(tissue >= 255) < 0.02, p.seed  # readable tissue is not washed out


def test_artifacts_look_like_their_class() -> None:
    """Dark classes are dark, saturation is clipped, where they are painted."""
    dark = {ARTIFACT_CODES[n] for n in ("air_bubble", "no_contact", "under_illumination")}
    found = set()
    for seed in range(40):
        p = honeycomb.generate(seed=seed, size_px=256)
        tissue = np.median(p.image[p.valid & ~p.uninformative])
        for code in np.unique(p.artifact_labels):
            region = p.image[p.artifact_labels == code].astype(float)
            if code in dark and region.size > 400:  # median: bubbles may have bright rims
                assert np.median(region) < 0.6 * tissue, (seed, code)
                found.add(code)
            if code == ARTIFACT_CODES["saturation"] and region.size > 400:
                assert np.mean(region >= 250) > 0.7, seed
                found.add(code)
    assert len(found) >= 3


def test_other_sizes_and_spacings() -> None:
    for size, um in ((64, 2.0), (200, 1.0), (300, 4.0)):
        p = honeycomb.generate(seed=3, size_px=size, pixel_spacing_um=um)
        assert p.image.shape == (size, size) and p.valid.any()
        assert np.array_equal(p.artifact_labels != 0, p.uninformative)
