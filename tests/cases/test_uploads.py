"""Upload intake (POST /api/v1/cases/{id}/images/): every bad upload is answered with a clear 4xx and
leaves nothing behind (no Image row, no file under MEDIA_ROOT, no staging file); good uploads are
stored under a UUID key with the extension of the sniffed format, whatever the client called them.

All test files are generated here with Pillow/numpy, small enough that the whole module runs in seconds.
"""

from __future__ import annotations

import gc
import io
import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import PngImagePlugin
from rest_framework.test import APIClient

from dermrelay.accounts.models import Role
from dermrelay.audit.models import AuditEvent
from dermrelay.cases.active_content import EDGE_BYTES, has_active_content
from dermrelay.cases.image_files import ImageRejected, sniff_format
from dermrelay.cases.models import CaseStatus, Image, ImageFormat
from dermrelay.cases.services import case_submit
from dermrelay.cases.uploads import StagingWriter
from tests.conftest import stored_files
from tests.factories import api_client, make_case, make_site, make_user, png_bytes, tiff_declaring, upload

pytestmark = pytest.mark.django_db

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HTML_PAYLOAD = b"<html><script>alert(1)</script></html>"


# --------------------------------------------------------------------------- file builders


def encode(image: PILImage.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def noise(size: int = 256, *, seed: int = 0, mode: str = "RGB") -> PILImage.Image:
    rng = np.random.default_rng(seed)
    shape = (size, size, 3) if mode == "RGB" else (size, size)
    return PILImage.fromarray(rng.integers(0, 256, shape, dtype=np.uint8))


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def noise_jpeg(seed: int = 0) -> bytes:
    return encode(noise(seed=seed), "JPEG", quality=90)


def noise_png(size: int = 256, seed: int = 0) -> bytes:
    return encode(noise(size, seed=seed), "PNG")


def noise_tiff(seed: int = 0) -> bytes:
    return encode(noise(seed=seed), "TIFF")


def noise_bmp(seed: int = 0) -> bytes:
    return encode(noise(64, seed=seed), "BMP")


def tiff16(*, frames: int = 1, width: int = 300, height: int = 200, seed: int = 0) -> bytes:
    """Grayscale 16-bit TIFF (Pillow mode I;16), one page per frame, all of the same size."""
    rng = np.random.default_rng(seed)
    pages = [PILImage.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16)) for _ in range(frames)]
    assert pages[0].mode == "I;16"
    return encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A well-formed PNG header (IHDR with a correct CRC) declaring width x height 8-bit gray pixels,
    followed by a tiny IDAT that holds far fewer rows than declared, and IEND: under 100 bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 65)
    return PNG_MAGIC + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def png_with_text(text: str, seed: int = 0) -> bytes:
    """A valid PNG carrying `text` in an uncompressed tEXt chunk."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text)
    data = encode(noise(64, seed=seed), "PNG", pnginfo=info)
    assert b"tEXt" in data and text.encode() in data
    PILImage.open(io.BytesIO(data)).load()  # still a perfectly valid image
    return data


def bmp_declaring(width: int, height: int) -> bytes:
    """A 70-byte BMP: file and info headers declaring width x height 32-bit pixels, then 16 bytes of them."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 32, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + 16, 0, 0, 54) + info + bytes(16)


def jpeg_with_stray_bytes() -> bytes:
    """A valid JPEG with a 2 KB comment, then loose bytes (markup) before its next segment."""
    data = noise_jpeg()
    comment = b"\xff\xfe" + struct.pack(">H", 2 + 2048) + bytes(2048)
    return data[:2] + comment + b"<html><script>alert(1)</script></html>" + data[2:]


def flipped_idat_png() -> bytes:
    """A PNG with one byte of its compressed pixel data inverted (and so a wrong CRC)."""
    data = bytearray(noise_png(64, seed=7))
    data[data.index(b"IDAT") + 200] ^= 0xFF
    return bytes(data)


DICOM = b"\x00" * 128 + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00\xc8\x00\x00\x00" + b"\x00" * 200


# --------------------------------------------------------------------------- fixtures and helpers


@dataclass
class Setup:
    site: object
    tech: object
    case: object
    client: APIClient
    media: Path
    staging: Path


@pytest.fixture
def env(isolated_files) -> Setup:
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    case = make_case(site=site, actor=tech)
    return Setup(site, tech, case, api_client(tech), isolated_files / "media", isolated_files / "staging")


def multipart_post(client: APIClient, case, parts: list[tuple]):
    """POST a multipart body built by hand, so file names reach the server exactly as a client sent
    them (Django's test client would reduce them to their basename first).
    parts: (field, filename or None for a plain field, data, *extra part headers)."""
    boundary = "----dermrelay-test-boundary-7MA4YWxkTrZu0gW"
    body = b""
    for field, filename, data, *headers in parts:
        disposition = f'Content-Disposition: form-data; name="{field}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{boundary}\r\n{disposition}\r\n".encode()
        if filename is not None:
            body += b"Content-Type: application/octet-stream\r\n"
        body += b"".join(header.encode() + b"\r\n" for header in headers)
        body += b"\r\n" + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return client.post(
        f"/api/v1/cases/{case.id}/images/", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def assert_human_message(body: dict, code: str) -> None:
    detail = body["detail"]
    assert isinstance(detail, str), body
    assert detail != code and len(detail) >= 15 and " " in detail, body
    assert detail[0].isupper() and detail.rstrip()[-1] in ".!", body
    assert "Traceback" not in detail and "Error(" not in detail, body


def assert_nothing_stored(env: Setup, *, images: int = 0) -> None:
    assert Image.objects.count() == images
    assert len(stored_files(env.media)) == images, stored_files(env.media)
    assert stored_files(env.staging) == []
    assert AuditEvent.objects.filter(action="upload").count() == images


def assert_refused(response, env: Setup, *, status: int, code: str, images: int = 0) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code, body
    assert_human_message(body, code)
    assert_nothing_stored(env, images=images)
    return body


def assert_stored(response, env: Setup, data: bytes, *, ext: str, status: int = 201) -> Image:
    """The upload made exactly one row and one file, at originals/<site>/<uuid>.<ext>, with the sent bytes."""
    assert response.status_code == status, response.content
    image = Image.objects.get(pk=response.json()["id"])
    assert image.file.name == f"originals/{env.site.id}/{image.id}.{ext}"
    path = env.media / image.file.name
    assert stored_files(env.media) == [path]
    assert path.resolve().is_relative_to(env.media.resolve())
    assert path.read_bytes() == data
    assert path.stat().st_mode & 0o777 == 0o640  # FILE_UPLOAD_PERMISSIONS, also for a file moved into place
    assert stored_files(env.staging) == []
    return image


# --------------------------------------------------------------------------- refused uploads

DEJ = {"depth_level": "dej"}
CSRF_SECRET = "a" * 32  # a well-formed CSRF cookie value

REFUSED = [
    # id, make bytes, file name, form fields, status, code
    ("empty-file", lambda: b"", "empty.png", {}, 400, "empty_file"),
    ("truncated-jpeg", lambda: truncated(noise_jpeg()), "cut.jpg", {}, 400, "corrupt_image"),
    ("truncated-png", lambda: truncated(noise_png()), "cut.png", {}, 400, "corrupt_image"),
    ("truncated-tiff", lambda: truncated(noise_tiff()), "cut.tif", {}, 400, "corrupt_image"),
    ("truncated-16bit-tiff", lambda: truncated(tiff16()), "cut.tif", {"kind": "rcm_mosaic", **DEJ}, 400,
     "corrupt_image"),
    ("truncated-bmp", lambda: truncated(noise_bmp()), "cut.bmp", {}, 400, "corrupt_image"),
    ("png-declaring-100000x100000", lambda: png_declaring(100_000, 100_000), "bomb.png", {}, 400,
     "too_many_pixels"),
    ("png-declaring-100000x100000-as-rcm", lambda: png_declaring(100_000, 100_000), "bomb.png",
     {"kind": "rcm_mosaic", **DEJ}, 400, "too_many_pixels"),
    ("png-declaring-64MP-as-dermoscopy", lambda: png_declaring(8000, 8000), "big.png", {}, 400, "too_many_pixels"),
    ("png-declaring-64MP-as-clinical", lambda: png_declaring(8000, 8000), "big.png", {"kind": "clinical"}, 400,
     "too_many_pixels"),
    # 64 MP is within an RCM mosaic's 256 MP: past the pixel check, the missing pixel data is found.
    ("png-declaring-64MP-as-rcm-mosaic", lambda: png_declaring(8000, 8000), "big.png",
     {"kind": "rcm_mosaic", **DEJ}, 400, "corrupt_image"),
    # 49 MP is just within dermoscopy's 50 MP: the same, so the limit is 50 MP and not lower.
    ("png-declaring-49MP-as-dermoscopy", lambda: png_declaring(7000, 7000), "big.png", {}, 400, "corrupt_image"),
    ("text-renamed-jpg", lambda: b"Patient notes: lesion on the left shoulder, 4 mm.\n" * 20, "notes.jpg", {},
     415, "unsupported_type"),
    ("png-with-html-in-text-chunk", lambda: png_with_text(HTML_PAYLOAD.decode()), "poly.png", {}, 415,
     "active_content"),
    ("html-with-png-appended", lambda: b"<!DOCTYPE html>\n" + HTML_PAYLOAD + b"\n" + noise_png(64), "poly.png", {},
     415, "active_content"),
    ("png-with-link-in-text-chunk", lambda: png_with_text('<a href="javascript:alert(1)">open</a>'), "poly.png", {},
     415, "active_content"),
    ("jpeg-with-svg-in-comment", lambda: encode(noise(64), "JPEG", comment=b"<svg onload=alert(1)>"), "poly.jpg", {},
     415, "active_content"),
    ("dicom", lambda: DICOM, "scan.dcm", {}, 415, "dicom_not_supported"),
    ("dicom-renamed-png", lambda: DICOM, "scan.png", {}, 415, "dicom_not_supported"),
    ("png-magic-only", lambda: PNG_MAGIC, "head.png", {}, 400, "corrupt_header"),
    ("png-cut-inside-ihdr", lambda: noise_png()[:20], "head.png", {}, 400, "corrupt_header"),
    ("jpeg-cut-before-scan", lambda: noise_jpeg()[:300], "head.jpg", {}, 400, "corrupt_header"),
    ("tiff-ifd-beyond-end", lambda: b"II*\x00" + struct.pack("<I", 10**6) + bytes(100), "head.tif", {}, 400,
     "corrupt_header"),
    ("bmp-cut-inside-header", lambda: noise_bmp()[:30], "head.bmp", {}, 400, "corrupt_header"),
    ("png-with-corrupt-pixel-data", flipped_idat_png, "bad.png", {}, 400, "corrupt_image"),
    ("bmp-declaring-100000x100000", lambda: bmp_declaring(100_000, 100_000), "bomb.bmp", {}, 400,
     "too_many_pixels"),
    ("bmp-declaring-64MP-as-dermoscopy", lambda: bmp_declaring(8000, 8000), "big.bmp", {}, 400, "too_many_pixels"),
    ("bmp-declaring-64MP-as-rcm-mosaic", lambda: bmp_declaring(8000, 8000), "big.bmp", {"kind": "rcm_mosaic", **DEJ},
     400, "corrupt_image"),
    # Past Pillow's own bomb limit (2 x 256 MP) its TIFF reader refuses before ours: still our 400.
    ("tiff-declaring-30000x30000-as-rcm", lambda: tiff_declaring(30_000, 30_000), "bomb.tif",
     {"kind": "rcm_mosaic", **DEJ}, 400, "too_many_pixels"),
    ("tiff-declaring-20000x20000-as-rcm", lambda: tiff_declaring(20_000, 20_000), "big.tif",
     {"kind": "rcm_mosaic", **DEJ}, 400, "too_many_pixels"),
    ("tiff-declaring-30000x30000", lambda: tiff_declaring(30_000, 30_000), "bomb.tif", {}, 400, "too_many_pixels"),
    ("jpeg-with-html-after-its-end-and-4KiB-of-padding", lambda: noise_jpeg() + HTML_PAYLOAD + bytes(4096),
     "poly.jpg", {}, 415, "active_content"),
    ("png-with-html-after-iend-and-4KiB-of-padding", lambda: noise_png(64) + HTML_PAYLOAD + bytes(4096),
     "poly.png", {}, 415, "active_content"),
    ("bmp-with-html-after-its-pixels-and-4KiB-of-padding", lambda: noise_bmp() + HTML_PAYLOAD + bytes(4096),
     "poly.bmp", {}, 415, "active_content"),
    # libjpeg only warns about stray bytes between segments; they would hide content from the scan
    ("jpeg-with-stray-bytes-between-segments", lambda: jpeg_with_stray_bytes(), "poly.jpg", {}, 400, "corrupt_image"),
    ("multi-page-tiff-as-rcm-mosaic", lambda: tiff16(frames=4), "stack.tif", {"kind": "rcm_mosaic", **DEJ}, 400,
     "multi_frame_not_allowed"),
    ("multi-page-tiff-as-dermoscopy", lambda: tiff16(frames=4), "stack.tif", {}, 400, "multi_frame_not_allowed"),
]


@pytest.mark.parametrize(
    ("make_data", "name", "fields", "status", "code"),
    [pytest.param(*row[1:], id=row[0]) for row in REFUSED],
)
def test_bad_upload_is_refused_and_nothing_is_stored(env, make_data, name, fields, status, code):
    response = upload(env.client, env.case, make_data(), name=name, **fields)
    assert_refused(response, env, status=status, code=code)
    assert env.staging.is_dir()  # the body really was staged, and the staging file removed again


def test_pixel_limit_message_names_the_size_and_the_kinds_limit(env):
    data = png_declaring(8000, 8000)
    assert len(data) < 100  # refused on its header alone
    body = assert_refused(upload(env.client, env.case, data), env, status=400, code="too_many_pixels")
    assert "8000x8000" in body["detail"] and "64.0 megapixels" in body["detail"]
    assert "dermoscopy" in body["detail"] and "50 megapixels" in body["detail"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"kind": "rcm_mosaic"}, "depth_level", id="rcm-mosaic-without-depth-level"),
        pytest.param({"kind": "rcm_mosaic", "depth_level": ""}, "depth_level", id="rcm-mosaic-blank-depth-level"),
        pytest.param({"kind": "dermoscopy", "depth_level": "dej"}, "depth_level", id="dermoscopy-with-depth-level"),
        pytest.param({"kind": "clinical", "depth_um": "40"}, "depth_level", id="clinical-with-depth-um"),
        pytest.param({"kind": "rcm_mosaic", "depth_level": "deep"}, "depth_level", id="unknown-depth-level"),
        pytest.param({"kind": "ultrasound"}, "kind", id="unknown-kind"),
        pytest.param({"kind": "rcm_stack", "depth_um": "-5"}, "depth_um", id="negative-depth"),
    ],
)
def test_invalid_fields_are_refused_and_the_staged_file_removed(env, fields, field):
    response = upload(env.client, env.case, png_bytes(64, 48), **fields)
    body = assert_refused(response, env, status=400, code="invalid")
    assert field in body["fields"], body
    assert env.staging.is_dir()  # the file was staged before validation, then discarded


def test_missing_file_field_is_refused(env):
    response = env.client.post(f"/api/v1/cases/{env.case.id}/images/", {"kind": "dermoscopy"}, format="multipart")
    body = assert_refused(response, env, status=400, code="invalid")
    assert "file" in body["fields"]


# --------------------------------------------------------------------------- size limit


def test_upload_over_the_size_limit_is_refused_with_413(env, settings):
    settings.DERMRELAY_UPLOAD_MAX_BYTES = 10_000
    data = noise_png(128)
    assert 40_000 < len(data) < 60_000
    body = assert_refused(upload(env.client, env.case, data), env, status=413, code="too_large")
    assert "10000 bytes" in body["detail"]
    assert env.staging.is_dir()  # streaming had begun when the limit cut it off


def test_size_limit_is_exact(env, settings):
    data = noise_png(64, seed=3)
    settings.DERMRELAY_UPLOAD_MAX_BYTES = len(data) - 1
    assert_refused(upload(env.client, env.case, data), env, status=413, code="too_large")
    settings.DERMRELAY_UPLOAD_MAX_BYTES = len(data)
    assert_stored(upload(env.client, env.case, data), env, data, ext="png")


def test_body_far_over_the_limit_is_refused_before_it_is_parsed(env, settings):
    settings.DERMRELAY_UPLOAD_MAX_BYTES = 10_000
    data = PNG_MAGIC + bytes(1_100_000)  # Content-Length > limit + DATA_UPLOAD_MAX_MEMORY_SIZE
    assert_refused(upload(env.client, env.case, data), env, status=413, code="too_large")
    assert not env.staging.exists()  # refused on Content-Length alone: nothing was ever staged


def test_files_of_one_body_count_together_against_the_limit(env, settings):
    """The limit is on the upload (the body), not on each file in it: two files of 6 kB exceed 10 kB."""
    settings.DERMRELAY_UPLOAD_MAX_BYTES = 10_000
    first, second = noise_png(45, seed=1), noise_png(45, seed=2)
    assert 5_000 < len(first) < 10_000 and 5_000 < len(second) < 10_000
    response = multipart_post(env.client, env.case, [
        ("extra", "a.png", first), ("file", "b.png", second), ("kind", None, b"dermoscopy"),
    ])
    assert_refused(response, env, status=413, code="too_large")


def test_session_upload_over_the_limit_is_refused(env, settings):
    """With session authentication the CSRF check parses the body before the view's Content-Length check:
    the streaming limit must still cut it off and leave nothing behind."""
    settings.DERMRELAY_UPLOAD_MAX_BYTES = 10_000
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(env.tech)  # a browser session (login() would bypass the sign-in API and its lockout)
    client.cookies["csrftoken"] = CSRF_SECRET
    client.credentials(HTTP_X_CSRFTOKEN=CSRF_SECRET)
    assert_refused(upload(client, env.case, PNG_MAGIC + bytes(1_100_000)), env, status=413, code="too_large")
    assert env.staging.is_dir()  # it was parsed (for the CSRF token), and cut off


# --------------------------------------------------------------------------- bodies that fail to parse


def _file_then_undecodable_part(env):
    response = multipart_post(env.client, env.case, [
        ("file", "a.png", png_bytes(30, 20)),
        ("kind", None, b"dermoscopy"),
        ("other", "b.png", b"a", "Content-Transfer-Encoding: base64"),
    ])
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "parse_error"
    assert_human_message(response.json(), "parse_error")
    return response


def test_file_then_undecodable_part_leaves_no_staged_file(env):
    """A complete file part followed by a part the multipart parser rejects (bad base64): a 400, and the
    complete file is not left in the staging folder (Django closes the files it parsed when it fails)."""
    _file_then_undecodable_part(env)
    assert Image.objects.count() == 0 and stored_files(env.media) == []
    assert [p.stat().st_size for p in stored_files(env.staging)] in ([], [0])  # at most the unfinished part


def test_file_then_undecodable_part_leaves_no_unfinished_staging_file(env):
    _file_then_undecodable_part(env)
    assert stored_files(env.staging) == []


def test_unfinished_staging_file_is_removed_with_its_writer(isolated_files):
    writer = StagingWriter()
    writer.write(b"half of an upload")
    assert len(stored_files(isolated_files / "staging")) == 1
    del writer
    gc.collect()
    assert stored_files(isolated_files / "staging") == []


def test_staging_files_of_a_killed_web_process_are_swept(env, settings):
    """A multipart upload cut by a SIGKILL leaves its upload-* file (no finalizer runs in a killed
    process): the hourly sweep removes what nothing has written for six hours, and only that."""
    import os
    import time

    from dermrelay.cases.tasks import STAGING_SWEEP_AGE_SECONDS, staging_sweep_task

    killed, arriving = StagingWriter(), StagingWriter()
    for writer in (killed, arriving):
        writer.write(b"part of an upload")
        writer._file.flush()
    killed._remove.detach()  # as in a killed process: nothing will remove it
    left = Path(killed._file.name)
    old = time.time() - STAGING_SWEEP_AGE_SECONDS - 60
    os.utime(left, (old, old))
    abandoned_copy = env.staging / "deidentify-abc123"
    abandoned_copy.mkdir()
    (abandoned_copy / "copy.jpeg").write_bytes(b"x")
    os.utime(abandoned_copy, (old, old))
    keep = env.staging / "tus"
    keep.mkdir(exist_ok=True)
    os.utime(keep, (old, old))  # tus staging has its own expiry: never swept here

    assert staging_sweep_task() == 2
    assert not left.exists() and not abandoned_copy.exists()
    assert Path(arriving._file.name).exists() and keep.exists()
    assert any(entry["task"] == "dermrelay.cases.tasks.staging_sweep" for entry in settings.CELERY_BEAT_SCHEDULE.values())


def test_file_then_oversized_form_field_leaves_no_staging_file(env):
    """Django refuses a form field over DATA_UPLOAD_MAX_MEMORY_SIZE after the file part was staged."""
    response = multipart_post(env.client, env.case, [
        ("file", "a.png", png_bytes(30, 20)), ("kind", None, b"dermoscopy"), ("note", None, b"x" * 1_100_000),
    ])
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert_nothing_stored(env)


def test_oversized_form_field_is_answered_in_the_api_error_format(env):
    response = multipart_post(env.client, env.case, [
        ("file", "a.png", png_bytes(30, 20)), ("kind", None, b"dermoscopy"), ("note", None, b"x" * 1_100_000),
    ])
    assert response["Content-Type"].startswith("application/json")
    assert_human_message(response.json(), response.json()["code"])


# --------------------------------------------------------------------------- active-content scan


def _scan(tmp_path: Path, data: bytes, file_format: str) -> bool:
    path = tmp_path / "scan.bin"
    path.write_bytes(data)
    return has_active_content(str(path), file_format)


def _png_chunk(chunk_type: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", zlib.crc32(chunk_type + data))


def _png_with_chunk_before_iend(chunk: bytes) -> bytes:
    png = noise_png(64, seed=3)
    return png[:-12] + chunk + png[-12:]


def _restart_progressive_jpeg() -> bytes:
    """libvips' progressive JPEG with a restart marker every row of blocks: many scans, RSTn inside."""
    import pyvips

    pixels = np.random.default_rng(8).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    data = pyvips.Image.new_from_array(pixels, interpretation="srgb").jpegsave_buffer(
        Q=90, interlace=True, restart_interval=1)
    assert data.count(b"\xff\xda") > 1 and b"\xff\xd0" in data
    return data


def _bmp_with_gap(gap: bytes) -> bytes:
    """A valid BMP whose pixel data starts `len(gap)` bytes after its header (the offset says so)."""
    data = noise_bmp()
    offset = struct.unpack_from("<I", data, 10)[0]
    moved = data[:offset] + gap + data[offset:]
    return moved[:2] + struct.pack("<I", len(moved)) + moved[6:10] + struct.pack("<I", offset + len(gap)) + moved[14:]


@pytest.mark.parametrize("where,data,file_format", [
    ("png tEXt", lambda: png_with_text("<script>alert(1)</script>"), ImageFormat.PNG),
    ("png zTXt (compressed)", lambda: _png_with_chunk_before_iend(
        _png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"<iframe src=x>"))), ImageFormat.PNG),
    ("png private chunk late in the file", lambda: _png_with_chunk_before_iend(
        _png_chunk(b"prVt", bytes(3000) + b"<svg onload=alert(1)>" + bytes(3000))), ImageFormat.PNG),
    ("jpeg comment", lambda: encode(noise(64), "JPEG", comment=b"<svg onload=alert(1)>"), ImageFormat.JPEG),
    ("jpeg private APP15 after 5 kB of EXIF-like padding", lambda: (lambda j: j[:2] + b"\xff\xe1" + struct.pack(">H", 5002)
        + bytes(5000) + b"\xff\xef" + struct.pack(">H", 2 + 40) + b"<a href=javascript:alert(1)>x</a>".ljust(40)
        + j[2:])(noise_jpeg()), ImageFormat.JPEG),
    ("tiff ImageDescription", lambda: encode(noise(64), "TIFF", description="<html><body>hi</body></html>"),
     ImageFormat.TIFF),
    ("html appended after the image", lambda: noise_jpeg() + b"<html><script>alert(1)</script></html>", ImageFormat.JPEG),
    ("jpeg: padding, html, padding after its end", lambda: noise_jpeg() + bytes(4096) + HTML_PAYLOAD + bytes(4096),
     ImageFormat.JPEG),
    ("progressive jpeg with restart markers: html after its end", lambda: _restart_progressive_jpeg()
     + bytes(2048) + HTML_PAYLOAD + bytes(2048), ImageFormat.JPEG),
    ("jpeg: html after a second, appended jpeg", lambda: noise_jpeg(seed=1) + noise_jpeg(seed=2) + HTML_PAYLOAD
     + bytes(4096), ImageFormat.JPEG),
    ("png: html after IEND, padded", lambda: noise_png(64) + bytes(2048) + HTML_PAYLOAD + bytes(2048), ImageFormat.PNG),
    ("png: html in a 5 MB private chunk", lambda: _png_with_chunk_before_iend(
        _png_chunk(b"prVt", bytes(5_000_000) + HTML_PAYLOAD + bytes(3000))), ImageFormat.PNG),
    ("jpeg: html after bytes that only look like a second jpeg", lambda: noise_jpeg() + b"\xff\xd8\xff" + HTML_PAYLOAD
     + bytes(1100), ImageFormat.JPEG),
    ("bmp: html after the pixels, padded", lambda: noise_bmp() + bytes(2048) + HTML_PAYLOAD + bytes(2048),
     ImageFormat.BMP),
    ("bmp: html between the header and the pixels", lambda: _bmp_with_gap(bytes(2048) + HTML_PAYLOAD + bytes(2048)),
     ImageFormat.BMP),
])
def test_markup_in_metadata_or_at_the_edges_is_found(tmp_path, where, data, file_format):
    assert _scan(tmp_path, data(), file_format), where


def test_markup_bytes_inside_pixel_data_are_not_active_content(tmp_path):
    """Pixels are never rendered as a document, and compressed pixels hold any byte run by chance:
    an uncompressed TIFF whose middle rows spell out tags is a valid image, not a polyglot."""
    pixels = np.zeros((200, 200), dtype=np.uint8)
    pixels[20:180] = np.frombuffer((b"<script> <svg/ <html> " * 2000)[:160 * 200], dtype=np.uint8).reshape(160, 200)
    data = encode(PILImage.fromarray(pixels), "TIFF")
    assert data.find(b"<script>") > EDGE_BYTES and len(data) - data.rfind(b"<script>") > EDGE_BYTES
    assert not _scan(tmp_path, data, ImageFormat.TIFF)


@pytest.mark.parametrize("where,data,file_format", [
    ("baseline jpeg", lambda: noise_jpeg(seed=5), ImageFormat.JPEG),
    ("progressive jpeg with restart markers", _restart_progressive_jpeg, ImageFormat.JPEG),
    ("jpeg with an EXIF thumbnail", lambda: encode(noise(256, seed=6), "JPEG", exif=_exif_with_thumbnail()),
     ImageFormat.JPEG),
    ("png", lambda: noise_png(64, seed=9), ImageFormat.PNG),
    ("bmp", lambda: noise_bmp(seed=2), ImageFormat.BMP),
    ("grey bmp", lambda: encode(noise(61, seed=3, mode="L"), "BMP"), ImageFormat.BMP),
])
def test_a_clean_file_has_nothing_outside_its_structure(tmp_path, where, data, file_format):
    """The walk over each structure ends exactly at the file's end, so no byte of compressed pixels
    is taken for a trailer (where a chance run of bytes would look like markup)."""
    import mmap

    from dermrelay.cases.active_content import _unstructured_regions

    path = tmp_path / "clean.bin"
    path.write_bytes(data())
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        png_end = len(mapped) if file_format == ImageFormat.PNG else None
        regions = _unstructured_regions(mapped, file_format, png_end)
        assert regions and all(start == end for start, end in regions), (where, regions, len(mapped))


def test_many_random_jpegs_are_not_taken_for_polyglots(tmp_path):
    """Noise compresses to bytes that are close to random: 300 of them, each with a second JPEG
    appended as multi-picture files carry, all pass."""
    for seed in range(300):
        assert not _scan(tmp_path, encode(noise(96, seed=seed), "JPEG", quality=95) + noise_jpeg(seed=seed),
                         ImageFormat.JPEG), seed


def _exif_with_thumbnail() -> bytes:
    exif = PILImage.Exif()
    exif[0x010F] = "DermRelay test camera"
    return exif.tobytes()


def test_image_with_harmless_text_passes_the_scan(tmp_path):
    data = png_with_text("A <b>bold</b> claim, a < b > c, <htm, <scripted, html>")
    assert not _scan(tmp_path, data, ImageFormat.PNG)
    assert not _scan(tmp_path, noise_jpeg(seed=4), ImageFormat.JPEG)


# --------------------------------------------------------------------------- file names


NAMES = [
    # id, name as the client sends it, fragments that must not appear anywhere, bytes, sniffed extension
    ("traversal-posix", "../../etc/passwd.png", ["passwd", "../"], lambda: png_bytes(40, 30), "png"),
    ("traversal-windows", "..\\..\\boot.ini", ["boot", ".ini", "..\\"], lambda: png_bytes(40, 30), "png"),
    ("absolute-path", "/etc/x.png", ["/etc", "x.png"], lambda: encode(noise(48, seed=5), "JPEG"), "jpg"),
    ("unicode", "ñandú 🐢.png", ["ñandú", "🐢", "\\u00f1and", "\\ud83d\\udc22"], lambda: png_bytes(40, 30), "png"),
    ("newline", "scan\nzqx.png", ["zqx", "scan\n"], lambda: png_bytes(40, 30), "png"),
    ("rtl-override", "photo\u202egnp.exe", ["\u202e", "\\u202e", "gnp", ".exe", "photo"],
     lambda: png_bytes(40, 30), "png"),
    ("bmp-named-png", "lesion.png", ["lesion.png"], lambda: noise_bmp(), "bmp"),
]


@pytest.mark.parametrize(
    ("name", "fragments", "make_data", "ext"),
    [pytest.param(*row[1:], id=row[0]) for row in NAMES],
)
def test_client_file_name_is_never_used(env, name, fragments, make_data, ext):
    data = make_data()
    response = multipart_post(env.client, env.case, [("file", name, data), ("kind", None, b"dermoscopy")])
    image = assert_stored(response, env, data, ext=ext)
    assert image.file_format == {"jpg": ImageFormat.JPEG, "png": ImageFormat.PNG, "bmp": ImageFormat.BMP}[ext]
    texts = [response.content.decode(), json.dumps(response.json()), image.file.name,
             str(list(AuditEvent.objects.values_list("detail", flat=True)))]
    for fragment in fragments:
        for text in texts:
            assert fragment not in text, (fragment, text)
    assert stored_files(env.media.parent) == [env.media / image.file.name]  # nothing written anywhere else


# --------------------------------------------------------------------------- accepted uploads


@pytest.mark.parametrize(
    ("make_data", "fields", "ext", "expected"),
    [
        pytest.param(lambda: tiff16(), {"kind": "rcm_mosaic", "depth_level": "dej", "depth_um": "42.5"}, "tif",
                     {"file_format": "tiff", "width": 300, "height": 200, "frames": 1, "channels": 1,
                      "bit_depth": 16, "kind": "rcm_mosaic", "depth_level": "dej", "depth_um": 42.5},
                     id="16-bit-tiff-rcm-mosaic"),
        pytest.param(lambda: tiff16(frames=4, width=96, height=64), {"kind": "rcm_stack", "pixel_spacing_um": "0.5"},
                     "tif", {"file_format": "tiff", "width": 96, "height": 64, "frames": 4, "channels": 1,
                             "bit_depth": 16, "kind": "rcm_stack", "pixel_spacing_um": 0.5},
                     id="multi-page-16-bit-tiff-rcm-stack"),
        pytest.param(lambda: noise_bmp(), {}, "bmp",
                     {"file_format": "bmp", "width": 64, "height": 64, "frames": 1, "channels": 3, "bit_depth": 8},
                     id="bmp"),
        pytest.param(lambda: noise_jpeg(), {"kind": "clinical"}, "jpg",
                     {"file_format": "jpeg", "width": 256, "height": 256, "frames": 1, "channels": 3,
                      "bit_depth": 8, "kind": "clinical", "depth_level": ""},
                     id="jpeg"),
        pytest.param(lambda: png_bytes(640, 480), {}, "png",
                     {"file_format": "png", "width": 640, "height": 480, "frames": 1, "channels": 1, "bit_depth": 8,
                      "kind": "dermoscopy", "depth_level": "", "depth_um": None}, id="png"),
        pytest.param(lambda: png_with_text("Captured with a VivaScope 1500 at 20x"), {}, "png",
                     {"file_format": "png", "width": 64, "height": 64, "channels": 3}, id="png-with-harmless-text"),
    ],
)
def test_valid_image_is_stored_and_described(env, make_data, fields, ext, expected):
    data = make_data()
    response = upload(env.client, env.case, data, name="upload.bin", **fields)
    image = assert_stored(response, env, data, ext=ext)
    body = response.json()
    assert {key: body[key] for key in expected} == expected
    assert body["size_bytes"] == len(data) == image.size_bytes
    assert body["status"] == "stored" and body["case"] == str(env.case.id)
    assert body["file_url"].endswith(f"/api/v1/images/{image.id}/file/")


def test_duplicate_bytes_give_the_first_image(env):
    data = png_bytes(80, 60)
    first = upload(env.client, env.case, data)
    image = assert_stored(first, env, data, ext="png")

    second = upload(env.client, env.case, data, name="again.png")
    assert second.status_code == 200, second.content
    assert second.json()["id"] == str(image.id)
    assert Image.objects.count() == 1
    assert stored_files(env.media) == [env.media / image.file.name]
    assert stored_files(env.staging) == []

    other_case = make_case(site=env.site, actor=env.tech)
    third = upload(env.client, other_case, data)
    assert third.status_code == 201, third.content
    assert third.json()["id"] != str(image.id)
    assert Image.objects.count() == 2
    assert Image.objects.filter(case=other_case).count() == 1
    assert len(stored_files(env.media)) == 2
    assert stored_files(env.staging) == []


def test_several_files_in_one_request_leave_no_staging_file(env):
    data = png_bytes(30, 20)
    response = multipart_post(env.client, env.case, [
        ("extra", "a.png", png_bytes(31, 20)),
        ("file", "c.png", data),
        ("kind", None, b"dermoscopy"),
    ])
    assert_stored(response, env, data, ext="png")  # the `file` part is stored; the other is discarded
    assert Image.objects.count() == 1


# --------------------------------------------------------------------------- case state and CSRF


def test_upload_to_a_locked_case_is_refused(env):
    first = png_bytes(50, 40)
    assert_stored(upload(env.client, env.case, first), env, first, ext="png")
    case_submit(case=env.case, actor=env.tech)
    env.case.refresh_from_db()
    assert env.case.status == CaseStatus.SUBMITTED

    body = assert_refused(upload(env.client, env.case, png_bytes(51, 40)), env, status=409, code="case_locked",
                          images=1)
    assert "submitted" in body["detail"]
    # Even the bytes it already holds get the lock, not a 200: a locked case answers nothing but 409.
    assert_refused(upload(env.client, env.case, first), env, status=409, code="case_locked", images=1)


@pytest.mark.parametrize("with_cookie", [False, True], ids=["no-csrf-cookie", "csrf-cookie-but-no-token"])
def test_session_upload_without_csrf_token_is_refused(env, with_cookie):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(env.tech)  # a browser session (login() would bypass the sign-in API and its lockout)
    if with_cookie:
        client.cookies["csrftoken"] = CSRF_SECRET
    body = assert_refused(upload(client, env.case, png_bytes(64, 48)), env, status=403, code="permission_denied")
    assert "CSRF" in body["detail"]
    if with_cookie:  # the CSRF check parsed the body to look for the token: the file was staged, then removed
        assert env.staging.is_dir()


def test_session_upload_with_csrf_token_is_accepted(env):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(env.tech)  # a browser session (login() would bypass the sign-in API and its lockout)
    client.cookies["csrftoken"] = CSRF_SECRET
    client.credentials(HTTP_X_CSRFTOKEN=CSRF_SECRET)
    data = png_bytes(64, 48)
    assert_stored(upload(client, env.case, data), env, data, ext="png")


# --------------------------------------------------------------------------- sniffing


def bigtiff_header(order: bytes) -> bytes:
    if order == b"II":
        return b"II+\x00\x08\x00\x00\x00" + struct.pack("<Q", 16)
    return b"MM\x00+\x00\x08\x00\x00" + struct.pack(">Q", 16)


@pytest.mark.parametrize(
    ("make_head", "expected"),
    [
        pytest.param(lambda: encode(noise(16), "JPEG"), ImageFormat.JPEG, id="jpeg"),
        pytest.param(lambda: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", ImageFormat.JPEG, id="jpeg-magic"),
        pytest.param(lambda: png_bytes(8, 8), ImageFormat.PNG, id="png"),
        pytest.param(lambda: encode(PILImage.new("I;16", (8, 8)), "TIFF"), ImageFormat.TIFF, id="tiff-II"),
        pytest.param(lambda: encode(PILImage.new("I;16B", (8, 8)), "TIFF"), ImageFormat.TIFF, id="tiff-MM"),
        pytest.param(lambda: bigtiff_header(b"II"), ImageFormat.TIFF, id="bigtiff-II"),
        pytest.param(lambda: bigtiff_header(b"MM"), ImageFormat.TIFF, id="bigtiff-MM"),
        pytest.param(lambda: encode(noise(8), "BMP"), ImageFormat.BMP, id="bmp"),
    ],
)
def test_sniff_format_recognises_each_magic(make_head, expected):
    head = make_head()[:512]
    assert sniff_format(head) == expected


@pytest.mark.parametrize(
    ("head", "code", "status"),
    [
        pytest.param(DICOM[:512], "dicom_not_supported", 415, id="dicom"),
        pytest.param(b"Hello, this is plain text, not an image.\n" * 5, "unsupported_type", 415, id="text"),
        pytest.param(b"BMW 320d service record, 2019\n" * 3, "unsupported_type", 415, id="text-starting-BM"),
        pytest.param(b"<html><body>hi</body></html>", "unsupported_type", 415, id="html"),
        pytest.param(b"GIF89a\x01\x00\x01\x00", "unsupported_type", 415, id="gif"),
        pytest.param(b"%PDF-1.7\n", "unsupported_type", 415, id="pdf"),
        pytest.param(b"\x89PNG\r\n", "unsupported_type", 415, id="png-magic-cut-short"),
        pytest.param(b"II*", "unsupported_type", 415, id="tiff-magic-cut-short"),
        pytest.param(b"MM\x00*"[::-1], "unsupported_type", 415, id="tiff-magic-reversed"),
        pytest.param(b"", "unsupported_type", 415, id="nothing"),
        pytest.param(b"\x00" * 127 + b"DICM", "unsupported_type", 415, id="DICM-at-wrong-offset"),
    ],
)
def test_sniff_format_refuses_other_content(head, code, status):
    with pytest.raises(ImageRejected) as caught:
        sniff_format(head)
    assert (caught.value.code, caught.value.status) == (code, status)
    assert_human_message({"detail": caught.value.message}, code)


def test_sniff_format_needs_only_the_magic_bytes():
    assert sniff_format(png_bytes(4, 4)[:8]) == ImageFormat.PNG
    assert sniff_format(b"\xff\xd8\xff") == ImageFormat.JPEG
    with pytest.raises(ImageRejected):
        sniff_format(b"\xff\xd8")  # two bytes of a JPEG's magic are not enough



# --------------------------------------------------------------------------- stacks from separate frames


def _frame_png(value: int, size=(120, 90), mode="L") -> bytes:
    return encode(PILImage.new(mode, size, value), "PNG")


def _post_frames(env, frames: list[bytes], **fields):
    parts = [("file", f"frame_{i:03d}.png", data) for i, data in enumerate(frames)]
    parts += [(name, None, str(value).encode()) for name, value in {"kind": "rcm_stack", **fields}.items()]
    return multipart_post(env.client, env.case, parts)


def test_frames_uploaded_as_separate_files_become_one_ordered_stack(env):
    response = _post_frames(env, [_frame_png(v) for v in (10, 60, 110, 160)], depth_um=20, z_step_um=5)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["frames"], body["file_format"], body["width"], body["height"]) == (4, "tiff", 120, 90)
    image = Image.objects.get(pk=body["id"])
    with PILImage.open(image.file.path) as stack:
        means = []
        for index in range(stack.n_frames):
            stack.seek(index)
            means.append(int(np.asarray(stack).mean()))
    assert means == [10, 60, 110, 160]  # the order of the parts is the order of the frames
    assert stored_files(env.staging) == []


@pytest.mark.parametrize("frames,code", [
    (lambda: [_frame_png(10), _frame_png(20, size=(120, 80))], "inconsistent_frames"),
    (lambda: [_frame_png(10), _frame_png(20, mode="RGB")], "inconsistent_frames"),
    (lambda: [_frame_png(10), truncated(noise_png(120))], "corrupt_image"),
    (lambda: [_frame_png(10), b"not an image at all"], "unsupported_type"),
])
def test_a_bad_frame_refuses_the_whole_stack_and_stores_nothing(env, frames, code):
    response = _post_frames(env, frames())
    assert response.json()["code"] == code and response.status_code in (400, 415)
    assert "Frame 2" in response.json()["detail"] or code == "inconsistent_frames"
    assert_nothing_stored(env)


def test_several_files_are_only_accepted_for_stacks(env):
    parts = [("file", "a.png", _frame_png(10)), ("file", "b.png", _frame_png(20)), ("kind", None, b"dermoscopy")]
    response = multipart_post(env.client, env.case, parts)
    assert response.status_code == 400 and "file" in response.json()["fields"]
    assert_nothing_stored(env)
