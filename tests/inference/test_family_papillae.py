"""Phantom family "papillae": determinism, ground-truth consistency and dataset coverage."""

from __future__ import annotations

import re

import numpy as np
import pytest

from inference.phantoms.families import ARTIFACT_CODES, FAMILIES, FamilyPhantom
from inference.phantoms.families import papillae
from inference.phantoms.families.papillae import DESCRIPTION, NAME, generate, generate_with_renderings, tile_px

SIZE = 384
SEEDS = range(30)


@pytest.fixture(scope="module")
def sweep() -> list[tuple[FamilyPhantom, list[str]]]:
    """30 small mosaics, made once for the coverage tests."""
    return [generate_with_renderings(seed=s, size_px=SIZE) for s in SEEDS]


def test_registered_with_name_and_description():
    assert NAME == "papillae"
    assert FAMILIES[NAME] is generate
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", DESCRIPTION.strip()) if s]
    assert 3 <= len(sentences) <= 6


def test_deterministic_for_a_seed():
    a, b = generate(seed=7, size_px=320), generate(seed=7, size_px=320)
    for field in ("image", "uninformative", "artifact_labels", "valid"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    c = generate(seed=8, size_px=320)
    assert not np.array_equal(a.image, c.image)


@pytest.mark.parametrize("seed", [0, 3, 11])
def test_shapes_dtypes_and_metadata(seed):
    p = generate(seed=seed, size_px=300, pixel_spacing_um=1.5)
    assert p.image.shape == p.uninformative.shape == p.artifact_labels.shape == p.valid.shape == (300, 300)
    assert p.image.dtype == np.uint8 and p.artifact_labels.dtype == np.uint8
    assert p.uninformative.dtype == bool and p.valid.dtype == bool
    assert p.family == NAME and p.seed == seed and p.pixel_spacing_um == 1.5


def test_ground_truth_is_consistent(sweep):
    codes = set(ARTIFACT_CODES.values())
    for p, _ in sweep:
        assert not (p.uninformative & ~p.valid).any(), p.seed
        assert np.array_equal(p.artifact_labels > 0, p.uninformative), p.seed
        assert set(np.unique(p.artifact_labels)) <= codes | {0}, p.seed
        assert not p.image[~p.valid].any(), p.seed
        assert p.valid.mean() >= 0.4, p.seed


def test_every_artifact_class_and_several_renderings_appear(sweep):
    seen = set()
    for p, _ in sweep:
        seen |= set(np.unique(p.artifact_labels).tolist()) - {0}
    assert seen == set(ARTIFACT_CODES.values())
    styles: dict[str, set[str]] = {}
    for _, renders in sweep:
        for r in renders:
            cls, style = r.split(":")
            styles.setdefault(cls, set()).add(style)
    assert set(styles) == set(ARTIFACT_CODES)
    assert all(len(v) >= 2 for v in styles.values()), styles


def test_fractions_span_clean_to_heavy(sweep):
    fractions = np.array([p.uninformative_fraction for p, _ in sweep])
    assert fractions.min() < 0.02
    assert (fractions < 0.02).sum() >= 1 and (fractions == 0).sum() >= 1  # clean mosaics exist
    assert fractions.max() >= 0.30
    assert (fractions < 0.10).sum() >= 8  # many light ones
    assert fractions.max() <= 0.6


def test_images_have_plausible_contrast(sweep):
    for p, _ in sweep:
        clean = p.image[p.valid & ~p.uninformative]
        if clean.size < 5000:
            continue
        assert clean.std() > 8, p.seed
        lo, hi = np.percentile(clean, [1, 99])
        assert hi - lo > 40, p.seed
        assert 12 < clean.mean() < 170, p.seed
        assert np.unique(clean).size > 50, p.seed


def test_masks_match_what_is_drawn(sweep):
    """Where the ground truth says no contact or under-illumination the image is dark; where it says
    saturation it is (mostly) clipped white."""
    checked = set()
    for p, _ in sweep:
        clean = p.image[p.valid & ~p.uninformative].astype(float)
        for name, check in (("no_contact", lambda v: v.mean() < 0.6 * clean.mean()),
                            ("under_illumination", lambda v: v.mean() < 0.7 * clean.mean()),
                            ("saturation", lambda v: np.median(v) >= 230)):
            v = p.image[p.artifact_labels == ARTIFACT_CODES[name]].astype(float)
            if v.size >= 200:
                assert check(v), (p.seed, name)
                checked.add(name)
    assert checked == {"no_contact", "under_illumination", "saturation"}


@pytest.mark.parametrize("spacing", [1.0, 2.0])
def test_valid_area_is_a_union_of_500um_tiles(spacing):
    """Edges of the imaged area fall only on one 500 um tile grid (whatever its phase)."""
    tile = tile_px(spacing)
    assert tile == round(500 / spacing)
    for seed in range(12):
        p = generate(seed=seed, size_px=560, pixel_spacing_um=spacing)
        for axis in (0, 1):
            edges = np.flatnonzero(np.diff(p.valid.astype(np.int8), axis=axis).any(axis=1 - axis)) + 1
            assert all((e - edges[0]) % tile == 0 for e in edges), (seed, axis, edges)


def test_module_stays_small():
    import inspect

    import inference.phantoms.families.papillae_parts as parts
    for mod in (papillae, parts):
        assert len(inspect.getsource(mod).splitlines()) <= 400
