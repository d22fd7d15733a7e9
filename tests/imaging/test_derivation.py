"""Derivation in-process: pyramids per frame, display window for 16 bits, caption crop, BMP, thumbnail."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from dermrelay.accounts.models import Role
from dermrelay.cases.models import Image, ImageKind, ImageStatus
from dermrelay.imaging.models import DerivationJob, Pyramid
from dermrelay.imaging.services import derivation_execute
from tests.factories import api_client, make_case, make_site, make_user, upload

pytestmark = pytest.mark.django_db


def _encode(image: PILImage.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture
def clinic():
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    return make_case(site=site, actor=tech), api_client(tech)


def _derive(client, case, data: bytes, **fields) -> tuple[Image, Pyramid, Path]:
    response = upload(client, case, data, **fields)
    assert response.status_code == 201, response.content
    image = Image.objects.get(pk=response.json()["id"])
    assert derivation_execute(image=image) == "succeeded"
    image.refresh_from_db()
    from django.conf import settings

    return image, Pyramid.objects.get(image=image), Path(settings.MEDIA_ROOT) / Image.objects.get(pk=image.pk).pyramid.prefix


def _dzi_size(path: Path) -> tuple[int, int]:
    size = ET.parse(path).getroot()[0]
    return int(size.get("Width")), int(size.get("Height"))


def test_mosaic_pyramid_and_thumbnail(clinic):
    case, client = clinic
    rng = np.random.default_rng(1)
    data = _encode(PILImage.fromarray(rng.integers(0, 255, (700, 900), dtype=np.uint8)), "PNG")
    image, pyramid, root = _derive(client, case, data, kind=ImageKind.RCM_MOSAIC, depth_level="dej")
    assert (pyramid.width, pyramid.height, pyramid.frames, pyramid.max_level) == (900, 700, 1, 10)
    assert _dzi_size(root / "f0000.dzi") == (900, 700)
    top = root / "f0000_files" / "10"
    assert len(list(top.glob("*.jpeg"))) == 4 * 3  # ceil(900/254) x ceil(700/254)
    assert not list(root.rglob("*.xml"))  # no libvips metadata file next to the tiles
    assert image.status == ImageStatus.READY and image.thumbnail.name == f"{pyramid.prefix}/thumbnail.jpg"
    with PILImage.open(root / "thumbnail.jpg") as thumb:
        assert max(thumb.size) <= 254


def test_sixteen_bit_stack_gets_a_recorded_window_and_a_pyramid_per_frame(clinic):
    case, client = clinic
    rng = np.random.default_rng(2)
    frames = [PILImage.fromarray((1000 + 200 * i + rng.integers(0, 3000, (300, 400))).astype(np.uint16)) for i in range(4)]
    data = _encode(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    image, pyramid, root = _derive(client, case, data, kind=ImageKind.RCM_STACK, z_step_um=5)
    assert pyramid.frames == 4 and sorted(p.name for p in root.glob("*.dzi")) == [f"f000{i}.dzi" for i in range(4)]
    assert 1000 <= pyramid.window_low < 1100 and 4300 < pyramid.window_high <= 4600
    with PILImage.open(next((root / "f0000_files" / str(pyramid.max_level)).glob("*.jpeg"))) as tile:
        values = np.asarray(tile.convert("L"))
    assert values.min() < 40 and values.max() > 100  # the window spreads 1000..4600 over 0..255


def test_caption_strip_is_cropped_by_the_device_profile(clinic):
    case, client = clinic
    field = np.full((1080, 1000), 60, dtype=np.uint8)
    field[1000:] = 255  # the burned-in caption strip: bright text area below the field of view
    data = _encode(PILImage.fromarray(field), "PNG")
    image, pyramid, root = _derive(client, case, data, kind=ImageKind.RCM_MOSAIC, depth_level="dej")
    assert (pyramid.width, pyramid.height, pyramid.crop) == (1000, 1000, [0, 0, 1000, 1000])
    assert pyramid.device_profile.code == "rcm-single-field-caption"
    assert _dzi_size(root / "f0000.dzi") == (1000, 1000)
    brightest = max(np.asarray(PILImage.open(t).convert("L")).max() for t in (root / "f0000_files" / "10").glob("*.jpeg"))
    assert brightest < 100  # not one caption pixel reached a tile


def test_caption_crop_does_not_apply_to_dermoscopy(clinic):
    case, client = clinic
    data = _encode(PILImage.new("RGB", (1000, 1080), (150, 100, 90)), "JPEG")
    _, pyramid, _ = _derive(client, case, data, kind=ImageKind.DERMOSCOPY)
    assert (pyramid.width, pyramid.height, pyramid.crop) == (1000, 1080, None)


def test_bmp_is_derived_through_pillow(clinic):
    case, client = clinic
    data = _encode(PILImage.new("RGB", (500, 300), (120, 80, 60)), "BMP")
    image, pyramid, root = _derive(client, case, data, kind=ImageKind.CLINICAL)
    assert (pyramid.width, pyramid.height) == (500, 300) and (root / "thumbnail.jpg").is_file()


def test_deriving_again_replaces_the_previous_pyramid(clinic, django_capture_on_commit_callbacks):
    case, client = clinic
    data = _encode(PILImage.new("L", (300, 300), 90), "PNG")
    image, first, first_root = _derive(client, case, data, kind=ImageKind.CLINICAL)
    with django_capture_on_commit_callbacks(execute=True):
        assert derivation_execute(image=image) == "succeeded"
    second = Pyramid.objects.get(image=image)
    assert second.prefix != first.prefix and not first_root.exists()
    assert DerivationJob.objects.get(image=image).attempts == 1


@pytest.mark.parametrize("mode,width", [("L", 201), ("L", 200), ("RGB", 200), ("RGB", 201), ("P", 199)])
def test_bmp_pixels_arrive_upright_and_in_colour_order(clinic, mode, width):
    """Raw-mapped BMPs (8-bit, 24-bit unpadded) and Pillow-decoded ones (padded 24-bit) alike:
    rows top-down (BMP stores them bottom-up), red stays red, padding never shows."""
    case, client = clinic
    height = 150  # the whole image fits one 254-pixel tile at full resolution
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    rgb[:40, :60] = (250, 20, 20)  # a red block at the top left
    rgb[-40:, -60:] = (20, 20, 250)  # a blue block at the bottom right
    picture = PILImage.fromarray(rgb)
    picture = picture.convert("L") if mode == "L" else picture.quantize(8) if mode == "P" else picture
    image, pyramid, root = _derive(client, case, _encode(picture, "BMP"), kind=ImageKind.CLINICAL)
    assert (pyramid.width, pyramid.height) == (width, height)
    tile = np.asarray(PILImage.open(root / "f0000_files" / str(pyramid.max_level) / "0_0.jpeg").convert("RGB")).astype(int)
    assert tile.shape[:2] == (height, width)
    top_left, bottom_right = tile[20, 30], tile[height - 20, width - 30]
    expected = np.asarray(picture.convert("RGB")).astype(int)
    assert np.abs(top_left - expected[20, 30]).max() < 30 and np.abs(bottom_right - expected[height - 20, width - 30]).max() < 30
    assert np.abs(tile - expected).mean() < 8  # no skew from row padding


def test_sweep_removes_only_old_work_folders(settings, tmp_path):
    import os
    import time

    from dermrelay.storage import work_dirs_sweep

    base = Path(settings.MEDIA_ROOT) / ".work"
    old, young = base / "tmp-old", base / "tmp-young"
    for folder in (old, young):
        (folder / "pyramid").mkdir(parents=True)
    os.utime(old, (time.time() - 7 * 3600,) * 2)
    assert work_dirs_sweep(older_than_seconds=6 * 3600) == 1
    assert not old.exists() and young.exists()
