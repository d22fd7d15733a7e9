"""Overlay pyramids (imaging/overlays.py): aligned tile for tile with the image's own Deep Zoom
pyramid, colour-coded, and served through signed tile URLs by Django and by nginx alike."""

from __future__ import annotations

import math
import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import pyvips
from django.conf import settings
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image as PILImage

from dermrelay.imaging import overlays
from dermrelay.imaging import services as imaging_services
from dermrelay.imaging.tiles import TILE_PATH, tile_url_base

REPO_DIR = Path(__file__).resolve().parents[2]
DZ = "{http://schemas.microsoft.com/deepzoom/2008}"
IMAGE_SIZES = [(6000, 1500), (4001, 3001), (1000, 700)]
SCALES = [1, 2, 3.99, 4, 8]
EXPECTED_OFFSET = {1: 0, 2: 1, 3.99: 2, 4: 2, 8: 3}


def _max_level(width: int, height: int) -> int:
    """Deep Zoom: the top level is the first whose size is 1 x 1 after that many halvings, rounding up."""
    return math.ceil(math.log2(max(width, height)))


def _deep_zoom_level_size(width: int, height: int, level: int) -> tuple[int, int]:
    """Level `level` of a Deep Zoom pyramid: halve (rounding up) once per level below the top."""
    for _ in range(_max_level(width, height) - level):
        width, height = (width + 1) // 2, (height + 1) // 2
    return width, height


def _dzi(path: Path) -> dict:
    root = ET.parse(path).getroot()
    size = root.find(f"{DZ}Size")
    return {"width": int(size.get("Width")), "height": int(size.get("Height")), "tile_size": int(root.get("TileSize")),
            "overlap": int(root.get("Overlap")), "format": root.get("Format")}


def _tiles(files_dir: Path) -> dict[int, dict[str, tuple[int, int]]]:
    """Per level: tile name (col_row) → pixel size."""
    found = {}
    for level_dir in files_dir.iterdir():
        if level_dir.is_dir() and level_dir.name.isdigit():
            tiles = {}
            for tile in level_dir.iterdir():
                with PILImage.open(tile) as opened:
                    tiles[tile.stem] = opened.size
            found[int(level_dir.name)] = tiles
    return found


@pytest.fixture(scope="module")
def image_pyramids(tmp_path_factory) -> dict[tuple[int, int], Path]:
    """Mosaic-sized image pyramids written as derivation writes them (imaging.services)."""
    root = tmp_path_factory.mktemp("image-pyramids")
    written = {}
    for width, height in IMAGE_SIZES:
        base = root / f"{width}x{height}"
        base.mkdir()
        pyvips.Image.black(width, height).dzsave(
            str(base / "f0000"), tile_size=imaging_services.TILE_SIZE, overlap=imaging_services.TILE_OVERLAP,
            suffix=imaging_services.TILE_SUFFIX, layout="dz", keep="none")
        written[(width, height)] = base
    return written


def test_overlays_tile_like_the_image_pyramids():
    assert (overlays.TILE_SIZE, overlays.TILE_OVERLAP) == (imaging_services.TILE_SIZE, imaging_services.TILE_OVERLAP) == (254, 1)


# --------------------------------------------------------------------------- sizes and levels


@pytest.mark.parametrize("width, height", IMAGE_SIZES)
@pytest.mark.parametrize("scale", SCALES)
def test_overlay_level_is_a_level_of_the_image_pyramid(width, height, scale):
    labels_width = round(width / scale)
    offset = overlays.level_offset_for(image_width=width, labels_width=labels_width)
    assert offset == EXPECTED_OFFSET[scale]
    size = overlays.level_size(image_width=width, image_height=height, level_offset=offset)
    image_top = _max_level(width, height)
    assert size == _deep_zoom_level_size(width, height, image_top - offset)
    assert size == (math.ceil(width / 2**offset), math.ceil(height / 2**offset))
    assert _max_level(*size) == image_top - offset


def test_level_offset_never_makes_the_overlay_finer_than_the_image():
    assert overlays.level_offset_for(image_width=1000, labels_width=1000) == 0
    assert overlays.level_offset_for(image_width=1000, labels_width=2000) == 0
    assert overlays.level_offset_for(image_width=1000, labels_width=600) == 0  # 1.67x: the image's own level
    assert overlays.level_offset_for(image_width=1000, labels_width=10) == 6


@pytest.mark.parametrize("width, height", IMAGE_SIZES)
@pytest.mark.parametrize("scale", SCALES)
def test_written_overlay_matches_the_image_pyramid_tile_for_tile(width, height, scale, image_pyramids):
    labels_w, labels_h = round(width / scale), round(height / scale)
    rgba = np.zeros((labels_h, labels_w, 4), np.uint8)
    rgba[:, : labels_w // 2] = (255, 64, 0, 255)
    site_id, image_id = uuid.uuid4(), uuid.uuid4()
    written = overlays.overlay_write(rgba=rgba, image_width=width, image_height=height, site_id=site_id,
                                     image_id=image_id, kind="quality")
    offset = EXPECTED_OFFSET[scale]
    assert written.level_offset == offset
    assert (written.width, written.height) == overlays.level_size(image_width=width, image_height=height, level_offset=offset)
    assert re.fullmatch(rf"overlays/{site_id}/{image_id}/quality-[0-9a-f]{{12}}", written.prefix)
    assert TILE_PATH.match(f"{written.prefix}/overlay.dzi")

    root = Path(default_storage.path(written.prefix))
    assert root.is_relative_to(Path(settings.MEDIA_ROOT))
    dzi = _dzi(root / "overlay.dzi")
    assert dzi == {"width": written.width, "height": written.height, "tile_size": 254, "overlap": 1, "format": "png"}
    assert not (root / "overlay_files" / "vips-properties.xml").exists()

    overlay_tiles = _tiles(root / "overlay_files")
    overlay_top = _max_level(written.width, written.height)
    assert overlay_top == _max_level(width, height) - offset
    assert sorted(overlay_tiles) == list(range(overlay_top + 1))  # every level up to its top, no more
    image_tiles = _tiles(image_pyramids[(width, height)] / "f0000_files")
    for level in range(overlay_top + 1):
        # same tile names and the same pixel size per tile: tile (k, col, row) covers the same area
        assert overlay_tiles[level] == image_tiles[level], f"level {level}"

    # the labels land where they lie: the left half of the top level is coloured, the right half clear
    with PILImage.open(root / "overlay_files" / str(overlay_top) / "0_0.png") as tile:
        assert tile.mode == "RGBA"
        pixels = np.asarray(tile)
    half = written.width / 2
    left, right = int(min(half, pixels.shape[1]) - 2), int(half + 2)
    assert np.all(pixels[:, :left, 3] == 255) and tuple(pixels[0, 0]) == (255, 64, 0, 255)
    if right < pixels.shape[1]:
        assert np.all(pixels[:, right:, 3] == 0)


def test_overlay_write_with_a_given_level_offset_and_an_unknown_kind():
    rgba = np.zeros((10, 12, 4), np.uint8)
    written = overlays.overlay_write(rgba=rgba, image_width=1200, image_height=1000, site_id=uuid.uuid4(),
                                     image_id=uuid.uuid4(), kind="projection", level_offset=1)
    assert (written.width, written.height, written.level_offset) == (600, 500, 1)
    assert "/projection-" in written.prefix
    with pytest.raises(ValueError):
        overlays.overlay_write(rgba=rgba, image_width=1200, image_height=1000, site_id=uuid.uuid4(),
                               image_id=uuid.uuid4(), kind="mask")


def test_overlay_delete_removes_the_pyramid():
    written = overlays.overlay_write(rgba=np.zeros((8, 8, 4), np.uint8), image_width=8, image_height=8,
                                     site_id=uuid.uuid4(), image_id=uuid.uuid4(), kind="agreement")
    assert default_storage.exists(f"{written.prefix}/overlay.dzi")
    overlays.overlay_delete(written.prefix)
    assert not default_storage.exists(f"{written.prefix}/overlay.dzi")


# --------------------------------------------------------------------------- colours


def test_colourise_maps_labels_to_the_palette_and_leaves_the_rest_transparent():
    labels = np.array([[0, 1, 2], [2, 3, 255]], np.uint8)
    rgba = overlays.colourise(labels, {2: (255, 64, 0, 255), 1: (0, 170, 255, 64)})
    assert rgba.shape == (2, 3, 4) and rgba.dtype == np.uint8
    assert tuple(rgba[0, 1]) == (0, 170, 255, 64)
    assert tuple(rgba[0, 2]) == tuple(rgba[1, 0]) == (255, 64, 0, 255)
    for y, x in [(0, 0), (1, 1), (1, 2)]:
        assert tuple(rgba[y, x]) == (0, 0, 0, 0)


def test_colourise_with_an_empty_palette_is_all_transparent():
    assert not overlays.colourise(np.arange(256, dtype=np.uint8).reshape(16, 16), {}).any()


# --------------------------------------------------------------------------- serving


@pytest.fixture
def served_overlay():
    rgba = np.zeros((300, 400, 4), np.uint8)
    rgba[100:200, 100:300] = (255, 64, 0, 255)
    written = overlays.overlay_write(rgba=rgba, image_width=800, image_height=600, site_id=uuid.uuid4(),
                                     image_id=uuid.uuid4(), kind="quality")
    base, _ = tile_url_base(written.prefix)
    return written, base


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_tile_view_serves_overlay_tiles_through_signed_urls(served_overlay):
    written, base = served_overlay
    browser = Client()
    top = _max_level(written.width, written.height)

    response = browser.get(f"{base}/overlay.dzi")
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    root = ET.fromstring(_body(response))
    assert (int(root.find(f"{DZ}Size").get("Width")), root.get("Format")) == (written.width, "png")

    for level, col, row in [(top, 0, 0), (top, 1, 1), (0, 0, 0)]:
        response = browser.get(f"{base}/overlay_files/{level}/{col}_{row}.png")
        assert response.status_code == 200, (level, col, row)
        assert response["Content-Type"] == "image/png"
        assert "immutable" in response["Cache-Control"]
        body = _body(response)
        assert body.startswith(b"\x89PNG")

    response = browser.get(f"{base}/overlay_files/{top}/9_9.png")  # in the pattern, not in the pyramid
    assert response.status_code == 404


def test_tile_view_refuses_a_wrong_token_and_paths_outside_the_pattern(served_overlay):
    written, base = served_overlay
    browser = Client()
    _, _, expires, token, *_ = base.split("/")
    wrong = ("B" if token[0] != "B" else "C") + token[1:]
    response = browser.get(f"/tiles/{expires}/{wrong}/{written.prefix}/overlay_files/0/0_0.png")
    assert response.status_code == 403
    other_prefix = written.prefix[:-12] + "0" * 12  # a token is for one prefix only
    response = browser.get(f"/tiles/{expires}/{token}/{other_prefix}/overlay_files/0/0_0.png")
    assert response.status_code == 403
    for path in ["overlays/../x", f"{written.prefix}/../overlay.dzi", f"{written.prefix}/overlay_files/0/0_0.jpeg",
                 f"{written.prefix}/overlay.png", f"{written.prefix.replace('quality-', 'mask-')}/overlay.dzi",
                 f"{written.prefix}/overlay_files/0/0_0.png/x"]:
        response = browser.get(f"/tiles/{expires}/{token}/{path}")
        assert response.status_code == 404, path


def _nginx_locations() -> list[re.Pattern]:
    template = (REPO_DIR / "deploy" / "nginx.conf.template").read_text()
    return [re.compile(location.replace("(?<", "(?P<")) for location in re.findall(r'location ~ "(.+?)" \{', template)]


def test_nginx_overlay_location_matches_the_same_paths_as_django():
    locations = _nginx_locations()
    assert len(locations) == 2
    pyramid_rule, overlay_rule = locations
    prefix = "overlays/" + "1" * 36 + "/" + "2" * 36 + "/quality-0123456789ab"
    good = [f"{prefix}/overlay.dzi", f"{prefix}/overlay_files/12/3_4.png", f"{prefix}/overlay_files/0/0_0.png",
            f"{prefix.replace('quality-', 'projection-')}/overlay_files/9/12345_1.png",
            f"{prefix.replace('quality-', 'agreement-')}/overlay.dzi",
            "overlays/" + "a-b-" * 9 + "/" + "f" * 36 + "/quality-abcdefabcdef/overlay.dzi"]
    bad = ["overlays/../x", f"{prefix}/../overlay.dzi", f"{prefix}/overlay_files/12/3_4.jpeg", f"{prefix}/overlay.png",
           f"{prefix}/overlay_files/123/3_4.png", f"{prefix}/overlay_files/1/123456_4.png",
           f"{prefix.replace('quality-', 'mask-')}/overlay.dzi", f"{prefix[:-1]}/overlay.dzi",
           f"{prefix}0/overlay.dzi", f"{prefix}/overlay.dzi/x", f"{prefix}/overlay_files/1/3_4.png.png",
           prefix.replace("1" * 36, "G" * 36) + "/overlay.dzi", f"{prefix}/f0000.dzi", f"{prefix}/thumbnail.jpg",
           "derived/" + "1" * 36 + "/" + "2" * 36 + "/quality-0123456789ab/overlay.dzi"]
    token = "A" * 22
    for path in good + bad:
        url = f"/tiles/1790000000/{token}/{path}"
        django = TILE_PATH.match(path)
        nginx = overlay_rule.match(url)
        assert bool(nginx) == bool(django) == (path in good), path
        assert not pyramid_rule.match(url), path  # overlay paths are the overlay location's alone
        if nginx:
            assert nginx.group("prefix") == django.group("overlay_prefix")
            assert f"{nginx.group('prefix')}/{nginx.group('file')}" == path
            assert nginx.group("file") == django.group("overlay_file")
    template = (REPO_DIR / "deploy" / "nginx.conf.template").read_text()
    overlay_block = template[template.index("overlays/"):template.index("location /tiles/ ")]
    assert 'secure_link_md5 "$secure_link_expires$prefix ${DERMRELAY_TILE_SECRET}";' in overlay_block
    assert "image/png png" in overlay_block and "try_files /$prefix/$file =404;" in overlay_block


def test_nginx_pyramid_location_does_not_serve_overlays_and_both_match_django():
    pyramid_rule, overlay_rule = _nginx_locations()
    samples = ["derived/" + "1" * 36 + "/" + "2" * 36 + "/pyramid-0123456789ab/f0000_files/12/3_4.jpeg",
               "derived/" + "1" * 36 + "/" + "2" * 36 + "/pyramid-0123456789ab/thumbnail.jpg",
               "overlays/" + "1" * 36 + "/" + "2" * 36 + "/agreement-0123456789ab/overlay_files/3/0_0.png"]
    for path in samples:
        url = f"/tiles/1790000000/{'A' * 22}/{path}"
        assert bool(pyramid_rule.match(url)) != bool(overlay_rule.match(url))
        match = pyramid_rule.match(url) or overlay_rule.match(url)
        assert TILE_PATH.match(f"{match.group('prefix')}/{match.group('file')}")
