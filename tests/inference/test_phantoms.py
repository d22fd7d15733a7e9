"""Synthetic RCM phantoms: determinism, shapes, mask rules, artifact visibility, registration, dataset files."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi

from inference.phantoms.artifacts import ARTIFACT_NAMES
from inference.phantoms.dataset import write_dataset
from inference.phantoms.generator import PHANTOM_VERSION, Phantom, generate_phantom

SEEDS = range(30)
SIZE = 512  # 1 mm at 2 µm: big enough for every artifact type, quick to make


@pytest.fixture(scope="module")
def phantoms() -> list[Phantom]:
    return [generate_phantom(seed=s, size_px=SIZE) for s in SEEDS]


def _arrays(p: Phantom) -> dict[str, np.ndarray]:
    names = ("image", "uninformative", "artifact_labels", "valid", "dermoscopy", "lesion_dermoscopy",
             "registration", "lesion_mosaic")
    return {name: getattr(p, name) for name in names}


def test_same_seed_gives_the_same_phantom_and_other_seeds_differ():
    a, b = generate_phantom(seed=7, size_px=384), generate_phantom(seed=7, size_px=384)
    for name, array in _arrays(a).items():
        assert np.array_equal(array, getattr(b, name)), name
    c = generate_phantom(seed=8, size_px=384)
    assert not np.array_equal(a.image, c.image)
    assert not np.array_equal(a.dermoscopy, c.dermoscopy)
    assert not np.allclose(a.registration, c.registration)


def test_shapes_dtypes_and_read_only():
    p = generate_phantom(seed=1)
    assert p.image.shape == (1024, 1024) and p.image.dtype == np.uint8
    for name in ("uninformative", "valid", "lesion_mosaic"):
        assert getattr(p, name).shape == (1024, 1024) and getattr(p, name).dtype == bool, name
    assert p.artifact_labels.shape == (1024, 1024) and p.artifact_labels.dtype == np.uint8
    assert p.dermoscopy.shape == (450, 600, 3) and p.dermoscopy.dtype == np.uint8
    assert p.lesion_dermoscopy.shape == (450, 600) and p.lesion_dermoscopy.dtype == bool
    assert p.registration.shape == (3, 3) and p.registration.dtype == np.float64
    assert np.allclose(p.registration[2], [0, 0, 1])
    assert p.pixel_spacing_um == 2.0 and p.seed == 1
    with pytest.raises(ValueError):
        p.image[0, 0] = 1  # arrays are frozen with the dataclass


def test_other_sizes_and_spacings():
    p = generate_phantom(seed=2, size_px=300, pixel_spacing_um=1.0)
    assert p.image.shape == (300, 300) and p.pixel_spacing_um == 1.0
    assert p.image[p.valid & ~p.uninformative].std() > 5  # tissue texture is there


def test_masks_lie_inside_the_imaged_area(phantoms):
    for p in phantoms:
        assert not (p.uninformative & ~p.valid).any()
        assert np.array_equal(p.uninformative, p.artifact_labels > 0)
        assert p.artifact_labels.max() <= max(ARTIFACT_NAMES)
        assert not p.image[~p.valid].any()  # padding is 0
        assert p.valid.mean() > 0.4
    assert any(not p.valid.all() for p in phantoms), "some mosaics should be irregular"
    assert any(p.valid.all() for p in phantoms), "some mosaics should be rectangular"


def test_uninformative_fraction_spans_the_range(phantoms):
    fractions = np.array([p.uninformative_fraction for p in phantoms])
    assert (fractions < 0.05).sum() >= 2, fractions
    assert (fractions > 0.25).sum() >= 5, fractions
    assert fractions.max() <= 0.45 + 0.05, fractions  # the target's high end plus the overshoot allowance
    assert np.histogram(fractions, bins=[0, 0.15, 0.3, 0.5])[0].min() >= 5  # spread, not bunched


def test_artifact_fraction_bounds_are_followed():
    clean = generate_phantom(seed=3, size_px=384, artifact_fraction=(0.0, 0.0))
    assert not clean.uninformative.any()
    for seed in range(4):
        p = generate_phantom(seed=seed, size_px=384, artifact_fraction=(0.3, 0.4))
        assert 0.2 <= p.uninformative_fraction <= 0.46, (seed, p.uninformative_fraction)


def test_bad_arguments_are_refused():
    for kwargs in ({"artifact_fraction": (0.5, 0.2)}, {"artifact_fraction": (0.0, 1.0)},
                   {"size_px": 16}, {"pixel_spacing_um": 0.0}):
        with pytest.raises(ValueError):
            generate_phantom(seed=0, **kwargs)


def test_every_artifact_type_visibly_changes_the_pixels(phantoms):
    """Under each label the image differs from clean tissue: lost fine texture or a different level."""
    seen = {code: 0 for code in ARTIFACT_NAMES}
    for p in phantoms:
        image = p.image.astype(np.float32)
        texture = np.abs(image - ndi.uniform_filter(image, 3))  # local fine-scale contrast
        clean = ndi.binary_erosion(p.valid & ~p.uninformative, iterations=3)
        clean_mean, clean_texture = image[clean].mean(), texture[clean].mean()
        for code, name in ARTIFACT_NAMES.items():
            region = ndi.binary_erosion(p.artifact_labels == code, iterations=2)
            if region.sum() < 50:
                continue
            seen[code] += 1
            level = image[region].mean() / clean_mean
            fine = texture[region].mean() / clean_texture
            assert fine < 0.6 or abs(level - 1) > 0.3, (p.seed, name, level, fine)
            if name == "under_illumination":
                assert level < 0.3, (p.seed, level)
            elif name == "no_contact":
                assert level < 0.4 and image[region].mean() < 20, (p.seed, level)
            elif name == "saturation":
                assert level > 2 and (p.image[region] == 255).mean() > 0.5, (p.seed, level)
            elif name == "motion":
                assert fine < 0.5, (p.seed, fine)
    assert all(seen.values()), {ARTIFACT_NAMES[c]: n for c, n in seen.items()}


def test_lesional_and_whole_fractions_differ_in_some_phantoms(phantoms):
    pairs = [(p.uninformative_fraction, p.lesional_uninformative_fraction) for p in phantoms]
    assert sum(lesion is not None for _, lesion in pairs) >= 20
    assert any(lesion is not None and abs(lesion - whole) > 0.1 for whole, lesion in pairs)


def _to_mosaic(matrix: np.ndarray, xy: np.ndarray) -> np.ndarray:
    h = np.c_[xy, np.ones(len(xy))] @ matrix.T
    return h[:, :2] / h[:, 2:]


def test_lesion_mosaic_is_the_dermoscopy_lesion_mapped_through_the_registration(phantoms):
    rng = np.random.default_rng(0)
    checked_in = checked_out = 0
    for p in phantoms[:8]:
        for inside in (True, False):
            region = p.lesion_dermoscopy if inside else ~p.lesion_dermoscopy
            region = ndi.binary_erosion(region, iterations=2)
            ys, xs = np.nonzero(region)
            pick = rng.choice(len(xs), size=min(300, len(xs)), replace=False)
            uv = np.rint(_to_mosaic(p.registration, np.c_[xs[pick], ys[pick]])).astype(int)
            keep = (uv >= 0).all(axis=1) & (uv < SIZE).all(axis=1)
            values = p.lesion_mosaic[uv[keep, 1], uv[keep, 0]]
            assert values.all() if inside else not values.any(), (p.seed, inside)
            checked_in += keep.sum() if inside else 0
            checked_out += 0 if inside else keep.sum()
        # And back: mosaic lesion pixels land in the dermoscopy lesion.
        ys, xs = np.nonzero(ndi.binary_erosion(p.lesion_mosaic, iterations=8))
        if len(xs):
            pick = rng.choice(len(xs), size=min(300, len(xs)), replace=False)
            xy = np.rint(_to_mosaic(np.linalg.inv(p.registration), np.c_[xs[pick], ys[pick]])).astype(int)
            assert p.lesion_dermoscopy[xy[:, 1], xy[:, 0]].all(), p.seed
    assert checked_in > 100 and checked_out > 100


def test_registration_is_a_small_rotation_onto_the_centre_of_the_dermoscopy(phantoms):
    for p in phantoms:
        (a, b, tx), (c, d, ty), _ = p.registration
        assert a == pytest.approx(d) and b == pytest.approx(-c)  # similarity
        assert abs(math.degrees(math.atan2(c, a))) <= 8.0 + 1e-9
        inverse = np.linalg.inv(p.registration)
        corners = _to_mosaic(inverse, np.array([[0, 0], [SIZE, 0], [0, SIZE], [SIZE, SIZE]], float))
        assert (corners[:, 0] > 0).all() and (corners[:, 0] < 600).all()
        assert (corners[:, 1] > 0).all() and (corners[:, 1] < 450).all()
        centre = _to_mosaic(inverse, np.array([[(SIZE - 1) / 2, (SIZE - 1) / 2]]))[0]
        assert abs(centre[0] - 300) < 40 and abs(centre[1] - 225) < 40


def test_write_dataset_files_and_manifest(tmp_path):
    seeds = [3, 4]
    manifest = write_dataset(out_dir=tmp_path, seeds=seeds, size_px=256, pixel_spacing_um=2.0)
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest
    assert manifest["generator_version"] == PHANTOM_VERSION and manifest["synthetic"] is True
    assert [entry["seed"] for entry in manifest["images"]] == seeds
    for entry in manifest["images"]:
        stem = f"phantom_{entry['seed']:05d}"
        expected = {f"{folder}/{stem}.png" for folder in
                    ("images", "masks", "valid", "labels", "lesion", "lesion_dermoscopy")}
        assert set(entry["sha256"]) == expected | {f"dermoscopy/{stem}.jpg"}
        for rel, digest in entry["sha256"].items():
            assert hashlib.sha256((tmp_path / rel).read_bytes()).hexdigest() == digest, rel
        p = generate_phantom(seed=entry["seed"], size_px=256, pixel_spacing_um=2.0)
        assert entry["name"] == f"{stem}.png" and entry["pixel_spacing_um"] == 2.0
        assert np.allclose(entry["registration"], p.registration)
        assert entry["uninformative_percent"] == pytest.approx(100 * p.uninformative_fraction, abs=1e-3)
        lesional = p.lesional_uninformative_fraction
        if lesional is None:
            assert entry["lesional_uninformative_percent"] is None
        else:
            assert entry["lesional_uninformative_percent"] == pytest.approx(100 * lesional, abs=1e-3)
        assert entry["artifact_types"] == p.artifact_types
        assert np.array_equal(np.asarray(Image.open(tmp_path / "images" / f"{stem}.png")), p.image)
        mask = np.asarray(Image.open(tmp_path / "masks" / f"{stem}.png"))
        assert set(np.unique(mask)) <= {0, 255} and np.array_equal(mask > 0, p.uninformative)
        assert np.array_equal(np.asarray(Image.open(tmp_path / "valid" / f"{stem}.png")) > 0, p.valid)
        assert np.array_equal(np.asarray(Image.open(tmp_path / "lesion" / f"{stem}.png")) > 0, p.lesion_mosaic)
        dermoscopy = Image.open(tmp_path / "dermoscopy" / f"{stem}.jpg")
        assert dermoscopy.mode == "RGB" and dermoscopy.size == (600, 450)
    names = sorted(path.name for path in (tmp_path / "images").iterdir())
    assert names == sorted(path.name for path in (tmp_path / "masks").iterdir())
