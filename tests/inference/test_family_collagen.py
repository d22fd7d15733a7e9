"""Phantom family "collagen": determinism, ground-truth rules, coverage of artifact classes and fractions."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import ndimage as ndi

from inference.phantoms.families import ARTIFACT_CODES, ARTIFACT_NAMES, FAMILIES, FamilyPhantom
from inference.phantoms.families import collagen

SEEDS = range(30)
SIZE = 384  # 768 um at 2 um/px: several 400-600 um tiles, quick to make


@pytest.fixture(scope="module")
def phantoms() -> list[FamilyPhantom]:
    return [collagen.generate(seed=s, size_px=SIZE) for s in SEEDS]


def test_registered_with_name_and_description() -> None:
    assert collagen.NAME == "collagen"
    assert FAMILIES["collagen"] is collagen.generate
    sentences = [s for s in re.split(r"(?<=[.;])\s+", collagen.DESCRIPTION.strip()) if s]
    assert 3 <= len([s for s in sentences if s.endswith(".")]) <= 6


def test_deterministic_per_seed() -> None:
    a, b = collagen.generate(seed=7, size_px=256), collagen.generate(seed=7, size_px=256)
    for name in ("image", "uninformative", "artifact_labels", "valid"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.image, collagen.generate(seed=8, size_px=256).image)


def test_shapes_and_dtypes(phantoms: list[FamilyPhantom]) -> None:
    p = phantoms[0]
    assert p.image.shape == p.uninformative.shape == p.artifact_labels.shape == p.valid.shape == (SIZE, SIZE)
    assert p.image.dtype == np.uint8 and p.artifact_labels.dtype == np.uint8
    assert p.uninformative.dtype == bool and p.valid.dtype == bool
    assert p.family == "collagen" and p.seed == 0 and p.pixel_spacing_um == 2.0


def test_other_size_and_spacing() -> None:
    p = collagen.generate(seed=3, size_px=300, pixel_spacing_um=1.0)
    assert p.image.shape == (300, 300) and p.pixel_spacing_um == 1.0
    assert p.valid.any() and not (p.uninformative & ~p.valid).any()


def test_ground_truth_rules(phantoms: list[FamilyPhantom]) -> None:
    codes = set(ARTIFACT_CODES.values())
    for p in phantoms:
        assert p.valid.mean() > 0.3, p.seed
        assert not (p.uninformative & ~p.valid).any(), p.seed
        np.testing.assert_array_equal(p.artifact_labels != 0, p.uninformative)
        assert set(np.unique(p.artifact_labels).tolist()) <= codes | {0}
        assert not p.image[~p.valid].any(), p.seed


def test_every_class_and_fraction_range(phantoms: list[FamilyPhantom]) -> None:
    seen = set()
    for p in phantoms:
        seen |= set(np.unique(p.artifact_labels).tolist()) - {0}
    assert {ARTIFACT_NAMES[c] for c in seen} == set(ARTIFACT_CODES)
    fractions = np.array([p.uninformative_fraction for p in phantoms])
    assert fractions.min() < 0.02 and fractions.max() >= 0.30
    assert fractions.max() <= 0.5
    assert (fractions < 0.10).sum() >= 10  # many mostly clean mosaics
    assert (fractions == 0).sum() >= 1


def test_plausible_contrast(phantoms: list[FamilyPhantom]) -> None:
    for p in phantoms:
        tissue = p.image[p.valid & ~p.uninformative]
        assert 20 < tissue.mean() < 180, p.seed
        assert tissue.std() > 15, p.seed
        assert np.percentile(tissue, 99) > 2.5 * np.percentile(tissue, 25), p.seed  # bright fibres on dark gaps


def test_clean_bright_dense_mosaics_without_plateaus(phantoms: list[FamilyPhantom]) -> None:
    bright = [p for p in phantoms if p.uninformative_fraction == 0 and p.image[p.valid].mean() > 80]
    assert bright, "no clean, very bright collagen mosaic"
    for p in bright:
        clipped = p.image == 255
        assert clipped[p.valid].mean() < 0.03
        # clipped pixels are scattered speckle peaks, not plateaus: few have four clipped neighbours
        inner = clipped[1:-1, 1:-1] & clipped[:-2, 1:-1] & clipped[2:, 1:-1] & clipped[1:-1, :-2] & clipped[1:-1, 2:]
        assert inner.sum() < 0.002 * p.valid.sum()


def _stats(phantoms: list[FamilyPhantom], name: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(pixels in the class's mask, readable tissue of the same mosaic) for each mosaic with the class."""
    code = ARTIFACT_CODES[name]
    out = []
    for p in phantoms:
        m = p.artifact_labels == code
        if m.sum() > 200:
            out.append((p.image[m].astype(float), p.image[p.valid & ~p.uninformative].astype(float)))
    assert out, name
    return out


def test_renderings_match_their_masks(phantoms: list[FamilyPhantom]) -> None:
    for inside, _ in _stats(phantoms, "saturation"):
        assert (inside == 255).mean() > 0.25 and inside.mean() > 170  # clipped plateau plus its bloom
    for inside, tissue in _stats(phantoms, "no_contact"):
        assert inside.mean() < 15 and inside.mean() < 0.4 * tissue.mean()
    for inside, tissue in _stats(phantoms, "under_illumination"):
        assert inside.mean() < 0.6 * tissue.mean() and inside.std() < tissue.std()
    for inside, tissue in _stats(phantoms, "motion"):
        assert inside.std() < 0.8 * tissue.std()  # smeared: speckle and fibres averaged out
    # bright specks over a darker ground (most mosaics: a later artifact may dim part of a region)
    specky = [np.percentile(inside, 99) > max(180, 2.5 * np.median(inside))
              for inside, _ in _stats(phantoms, "particulate")]
    assert np.mean(specky) >= 0.8


def test_bubbles_have_a_dark_void_and_bright_ring(phantoms: list[FamilyPhantom]) -> None:
    found = 0
    for p in phantoms:
        m = p.artifact_labels == ARTIFACT_CODES["air_bubble"]
        if m.sum() < 200:
            continue
        smooth = ndi.uniform_filter(p.image.astype(float), 5)
        tissue = np.median(smooth[p.valid & ~p.uninformative])
        assert smooth[m].min() < 0.35 * tissue and smooth[m].max() > 1.5 * tissue, p.seed
        found += 1
    assert found
