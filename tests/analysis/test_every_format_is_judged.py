"""Every format the intake accepts is one every model reads: BMP mosaics as VivaScope devices export
them (8-bit grey, top-down, RLE8, padded 24-bit rows, 32-bit) and 32-bit TIFFs (float and integer)
get the same quality judgement as a PNG of the same pixels, and a BMP dermoscopy image the same
diagnosis and lesion outline. Found by the hardening review: before, a BMP was stored and never
judged, and a float TIFF failed in the display window (read twice from a sequential image)."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image as PILImage

from dermrelay.analysis.models import AnalysisRun
from dermrelay.cases.models import Image, ImageStatus
from dermrelay.gate.models import MosaicQuality
from inference.phantoms.generator import generate_phantom, gate_phantom
from tests.factories import make_case, upload
from tests.gate.gate_cases import clinic_with_shipped_models, png_of

pytestmark = pytest.mark.django_db(transaction=True)


# --- BMP as devices write it, encoded here byte by byte (so each layout is the one named) ---------

def _bmp(width: int, height: int, bits: int, pixel_data: bytes, *, palette: bytes = b"", compression: int = 0) -> bytes:
    """A BITMAPINFOHEADER BMP; a negative height means rows top-down."""
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bits, compression, len(pixel_data), 2835, 2835,
                       len(palette) // 4, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(pixel_data), 0, 0, offset) + info + palette + pixel_data


GREY_PALETTE = b"".join(bytes((i, i, i, 0)) for i in range(256))


def _rows(pixels: np.ndarray, *, bottom_up: bool) -> list[bytes]:
    """Each row's bytes (BGR for colour), padded to four bytes as BMP requires."""
    rows = pixels[::-1] if bottom_up else pixels
    if rows.ndim == 3:
        rows = rows[..., ::-1]
    padding = -rows[0].nbytes % 4
    return [np.ascontiguousarray(row).tobytes() + b"\0" * padding for row in rows]


def bmp_grey_bottom_up(grey: np.ndarray) -> bytes:
    return _bmp(grey.shape[1], grey.shape[0], 8, b"".join(_rows(grey, bottom_up=True)), palette=GREY_PALETTE)


def bmp_colour_top_down(rgb: np.ndarray) -> bytes:
    return _bmp(rgb.shape[1], -rgb.shape[0], 24, b"".join(_rows(rgb, bottom_up=False)))


def bmp_colour_bottom_up(rgb: np.ndarray) -> bytes:
    return _bmp(rgb.shape[1], rgb.shape[0], 24, b"".join(_rows(rgb, bottom_up=True)))


def bmp_grey_rle8(grey: np.ndarray) -> bytes:
    """Run-length encoded 8-bit: (count, index) pairs, 00 00 at each row's end, 00 01 at the end."""
    encoded = bytearray()
    for row in grey[::-1]:
        start = 0
        while start < len(row):
            end = start + 1
            while end < len(row) and end - start < 255 and row[end] == row[start]:
                end += 1
            encoded += bytes((end - start, int(row[start])))
            start = end
        encoded += b"\0\0"
    encoded[-2:] = b"\0\1"
    return _bmp(grey.shape[1], grey.shape[0], 8, bytes(encoded), palette=GREY_PALETTE, compression=1)


def bmp_rgba(rgb: np.ndarray) -> bytes:
    """32 bits per pixel as Pillow writes an RGBA image."""
    alpha = np.full(rgb.shape[:2] + (1,), 255, np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(np.concatenate([rgb, alpha], axis=2), "RGBA").save(buffer, format="BMP")
    return buffer.getvalue()


def tiff_of(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(array).save(buffer, format="TIFF")
    return buffer.getvalue()


# --- the cases -------------------------------------------------------------------------------------

@pytest.fixture
def clinic():
    return clinic_with_shipped_models()


@pytest.fixture(scope="module")
def mosaic() -> tuple[np.ndarray, float]:
    phantom = generate_phantom(seed=5, size_px=320, artifact_fraction=(0.15, 0.3))
    return np.asarray(phantom.image), phantom.pixel_spacing_um


def _judged(client, case, data: bytes, name: str, spacing: float) -> float:
    """Upload a mosaic; every run on it must succeed. Returns the gate's % uninformative."""
    response = upload(client, case, data, name=name, kind="rcm_mosaic", depth_level="dej", pixel_spacing_um=spacing)
    assert response.status_code == 201, response.content
    image = Image.objects.get(pk=response.json()["id"])
    assert image.status == ImageStatus.READY, image.status
    runs = list(AnalysisRun.objects.filter(image=image))
    assert [run.step for run in runs] == ["quality"]
    assert all(run.state == "succeeded" for run in runs), [(run.step, run.state, run.last_error) for run in runs]
    return MosaicQuality.objects.get(image=image).percent_whole


MOSAIC_ENCODINGS = {
    "grey-bottom-up.bmp": lambda grey: bmp_grey_bottom_up(grey),
    "rle8.bmp": lambda grey: bmp_grey_rle8(grey),
    "colour-top-down.bmp": lambda grey: bmp_colour_top_down(np.repeat(grey[..., None], 3, axis=2)),
    "padded-rows.bmp": lambda grey: bmp_colour_bottom_up(np.repeat(grey[..., None], 3, axis=2)),
    "rgba.bmp": lambda grey: bmp_rgba(np.repeat(grey[..., None], 3, axis=2)),
    "float32.tif": lambda grey: tiff_of(grey.astype(np.float32) / 255),
    "int32.tif": lambda grey: tiff_of(grey.astype(np.int32) * 1000),
}


@pytest.mark.parametrize("name", MOSAIC_ENCODINGS)
def test_a_mosaic_in_every_accepted_encoding_is_judged_like_its_png(clinic, mosaic, name):
    site, tech, client = clinic
    grey, spacing = mosaic
    if name == "padded-rows.bmp":  # 318 × 3 bytes is not a multiple of four: each row carries padding
        grey = np.ascontiguousarray(grey[:, :318])
    case = make_case(site=site, actor=tech)
    as_png = _judged(client, case, png_of(grey), "mosaic.png", spacing)
    encoded = MOSAIC_ENCODINGS[name](grey)
    as_encoded = _judged(client, case, encoded, name, spacing)
    assert as_png > 1  # the phantom has artifacts: the figure compared is not a trivial zero
    assert as_encoded == pytest.approx(as_png, abs=0.5), (name, as_encoded, as_png)


@pytest.mark.parametrize("encode", [bmp_colour_bottom_up, bmp_rgba], ids=["24-bit", "32-bit"])
def test_a_bmp_dermoscopy_image_gets_the_diagnosis_and_outline_of_its_png(clinic, encode):
    site, tech, client = clinic
    rgb = np.asarray(gate_phantom(seed=3, where="lesion").dermoscopy)
    case = make_case(site=site, actor=tech)
    tops = {}
    for name, data in (("d.png", png_of(rgb)), ("d.bmp", encode(rgb))):
        response = upload(client, case, data, name=name, kind="dermoscopy")
        assert response.status_code == 201, response.content
        runs = {run.step: run for run in AnalysisRun.objects.filter(image_id=response.json()["id"])}
        assert {"diagnosis", "diagnosis_image_only", "lesion_segmentation"} <= set(runs), sorted(runs)
        assert all(run.state == "succeeded" for run in runs.values()), [(s, r.state, r.last_error) for s, r in runs.items()]
        tops[name] = (runs["diagnosis"].outputs["top"], round(runs["diagnosis"].confidence, 2))
    assert tops["d.bmp"] == tops["d.png"]
