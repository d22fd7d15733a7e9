"""Tests for the synthetic demo image generators used by ``seed_demo`` (no Django needed)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dermrelay.cases import demo_images


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def test_rcm_mosaic_is_grayscale_png_of_requested_size() -> None:
    im = _open(demo_images.rcm_mosaic(seed=1))
    assert (im.format, im.mode, im.size) == ("PNG", "L", (1024, 1024))
    assert _open(demo_images.rcm_mosaic(seed=1, size=256)).size == (256, 256)


def test_rcm_stack_is_multipage_16bit_tiff() -> None:
    im = _open(demo_images.rcm_stack(seed=4, frames=3, size=128))
    assert im.format == "TIFF" and im.mode.startswith("I;16")
    assert im.n_frames == 3 and im.size == (128, 128)
    pages = []
    for k in range(im.n_frames):
        im.seek(k)
        assert im.size == (128, 128) and im.mode.startswith("I;16")
        pages.append(np.asarray(im, dtype=np.int64))
    stack = np.stack(pages)
    assert stack.min() >= 500 and stack.max() <= 50000
    assert stack.max() - stack.min() > 20000  # uses a good part of the 16-bit range
    assert not np.array_equal(pages[0], pages[-1])
    assert _open(demo_images.rcm_stack(seed=4)).n_frames == 5


@pytest.mark.parametrize(
    ("func", "size"),
    [(demo_images.dermoscopy, (600, 450)), (demo_images.clinical_photo, (800, 600))],
)
def test_colour_images_are_rgb_jpegs(func, size) -> None:
    im = _open(func(seed=2))
    assert (im.format, im.mode, im.size) == ("JPEG", "RGB", size)
    assert _open(func(seed=2, width=320, height=200)).size == (320, 200)


def test_lesion_mask_is_binary_png() -> None:
    im = _open(demo_images.lesion_mask(seed=2))
    assert (im.format, im.mode, im.size) == ("PNG", "L", (600, 450))
    assert set(np.unique(np.asarray(im)).tolist()) == {0, 255}


@pytest.mark.parametrize(
    ("func", "kwargs"),
    [
        (demo_images.rcm_mosaic, {"size": 256}),
        (demo_images.rcm_stack, {"frames": 2, "size": 96}),
        (demo_images.dermoscopy, {}),
        (demo_images.clinical_photo, {}),
        (demo_images.lesion_mask, {}),
    ],
)
def test_same_seed_same_bytes_different_seed_different_bytes(func, kwargs) -> None:
    first = func(seed=11, **kwargs)
    assert func(seed=11, **kwargs) == first
    assert func(seed=12, **kwargs) != first


@pytest.mark.parametrize("seed", [0, 1, 7, 123])
def test_lesion_mask_matches_dark_lesion_in_dermoscopy(seed: int) -> None:
    mask = np.asarray(_open(demo_images.lesion_mask(seed=seed))) > 127
    assert 0.02 < mask.mean() < 0.6  # non-empty and not the whole image
    gray = np.asarray(_open(demo_images.dermoscopy(seed=seed)).convert("L"), dtype=np.float64)
    h, w = gray.shape
    yy, xx = np.mgrid[0:h, 0:w]
    in_view = np.hypot(yy - h / 2, xx - w / 2) < 0.8 * np.hypot(h, w) / 2  # skip black scope corners
    assert gray[mask].mean() < gray[~mask & in_view].mean() - 40


@pytest.mark.parametrize("seed", [3, 5])
def test_rcm_mosaic_has_texture_and_vignetted_tiles(seed: int) -> None:
    size = 512
    img = np.asarray(_open(demo_images.rcm_mosaic(seed=seed, size=size)), dtype=np.float64)
    assert img.std() > 20
    tile = size // 8
    pos = np.arange(size) % tile
    edge_1d = (pos < tile // 10) | (pos >= tile - tile // 10)
    centre_1d = np.abs(pos - tile / 2) < tile / 8
    edge = edge_1d[:, None] | edge_1d[None, :]
    centre = centre_1d[:, None] & centre_1d[None, :]
    assert img[edge].mean() < 0.85 * img[centre].mean()
