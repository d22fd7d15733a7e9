"""What a reader downloads: the image's pixels without the metadata that names the patient.

Found by the hardening review: `/images/{id}/file/` handed readers the upload byte for byte, with
"Patient Jane Doe MRN 0042" and the camera's serial number in its EXIF. The clinic that uploaded it
still gets the byte-identical original."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageCms, PngImagePlugin, TiffImagePlugin

from dermrelay.audit.models import AuditEvent
from dermrelay.cases.deidentify import deidentified_copy
from dermrelay.cases.models import ImageFormat
from tests.factories import make_case, upload
from tests.reading.helpers import API, assign, make_clinic, submit

pytestmark = pytest.mark.django_db(transaction=True)

PHI = [b"Jane Doe", b"MRN 0042", b"SN-889911", b"Dr Example", b"2026:11:30"]


def _pixels(seed: int, mode: str = "RGB", size=(160, 120)) -> PILImage.Image:
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    return PILImage.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)


def _exif() -> bytes:
    exif = PILImage.Exif()
    exif[0x010E] = "Patient Jane Doe MRN 0042"  # ImageDescription
    exif[0x013B] = "Dr Example"  # Artist
    exif[0x0132] = "2026:11:30 10:00:00"  # DateTime
    exif[0x0110] = "DermaCam SN-889911"  # Model
    return exif.tobytes()


def jpeg_with_phi() -> bytes:
    buffer = io.BytesIO()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    _pixels(1).save(buffer, "JPEG", quality=92, exif=_exif(), icc_profile=icc, comment=b"Jane Doe, left shoulder",
                    dpi=(300, 300))
    data = buffer.getvalue()
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><dc:creator>Dr Example</dc:creator>MRN 0042</x:xmpmeta>"
    iptc = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x10\x1c\x02\x05\x00\x0cSN-889911   "
    segments = b"".join(marker + len(body + b"  ").to_bytes(2, "big") + body for marker, body in
                        ((b"\xff\xe1", xmp), (b"\xff\xed", iptc)))
    return data[:2] + segments + data[2:] + b"trailing Jane Doe"


def png_with_phi() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "Patient Jane Doe MRN 0042")
    info.add_itxt("Author", "Dr Example", zip=True)
    buffer = io.BytesIO()
    _pixels(2).save(buffer, "PNG", pnginfo=info, exif=_exif(), dpi=(400, 400))
    return buffer.getvalue()


def tiff_with_phi(image: PILImage.Image, *, pages: list[PILImage.Image] | None = None) -> bytes:
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[270] = "Patient Jane Doe MRN 0042"  # ImageDescription
    tags[315] = "Dr Example"  # Artist
    tags[306] = "2026:11:30 10:00:00"  # DateTime
    tags[272] = "DermaCam SN-889911"  # Model
    buffer = io.BytesIO()
    image.save(buffer, "TIFF", tiffinfo=tags, dpi=(500, 500), save_all=bool(pages), append_images=pages or [])
    return buffer.getvalue()


def _assert_no_phi(data: bytes) -> None:
    found = [marker for marker in PHI if marker in data]
    assert not found, found


def _decoded(data: bytes) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(data)))


@pytest.mark.parametrize("name,make", [("photo.jpg", jpeg_with_phi), ("photo.png", png_with_phi),
                                       ("photo.tif", lambda: tiff_with_phi(_pixels(3)))])
def test_a_reader_gets_the_pixels_without_the_metadata_and_the_clinic_gets_the_original(name, make):
    clinic = make_clinic()
    case = make_case(site=clinic.site, actor=clinic.tech)
    original = make()
    assert all(marker in original for marker in PHI[:4]), "the test file must carry the PHI it checks for"
    response = upload(clinic.tech_client, case, original, name=name, kind="dermoscopy")
    assert response.status_code == 201, response.content
    image_id = response.json()["id"]
    submit(clinic, case)
    assert assign(clinic, case).status_code == 201

    for client in (clinic.tech_client, clinic.admin_client):  # the uploading clinic: byte for byte
        own = client.get(f"{API}/images/{image_id}/file/")
        assert own.status_code == 200 and own["DermRelay-Metadata"] == "original"
        assert b"".join(own.streaming_content) == original

    read = clinic.reader_client.get(f"{API}/images/{image_id}/file/")
    assert read.status_code == 200 and read["DermRelay-Metadata"] == "removed"
    assert read["Content-Disposition"].startswith("attachment")
    copy = b"".join(read.streaming_content)
    _assert_no_phi(copy)
    assert np.array_equal(_decoded(copy), _decoded(original))  # not one pixel re-encoded
    with PILImage.open(io.BytesIO(copy)) as shown:
        assert round(shown.info["dpi"][0]) == round(PILImage.open(io.BytesIO(original)).info["dpi"][0])
        if name.endswith(".jpg"):
            assert shown.info.get("icc_profile")  # the colour profile stays: the colours stay right
            assert not shown.getexif()
    events = AuditEvent.objects.filter(action="download", object_id=str(image_id)).order_by("id")
    assert [e.detail["metadata"] for e in events] == ["original", "original", "removed"]


def test_a_sixteen_bit_stack_keeps_every_frame_and_drops_its_tags(tmp_path):
    rng = np.random.default_rng(4)
    frames = [PILImage.fromarray(rng.integers(0, 65536, (90, 120), dtype=np.uint16)) for _ in range(3)]
    source = tmp_path / "stack.tif"
    source.write_bytes(tiff_with_phi(frames[0], pages=frames[1:]))
    target = tmp_path / "copy.tif"
    deidentified_copy(source=source, file_format=ImageFormat.TIFF, frames=3, target=target)
    copy = target.read_bytes()
    _assert_no_phi(copy)
    with PILImage.open(target) as read:
        assert read.n_frames == 3
        for index, frame in enumerate(frames):
            read.seek(index)
            assert np.array_equal(np.asarray(read), np.asarray(frame)), index


def test_a_bmp_has_no_metadata_and_is_served_as_stored(tmp_path):
    buffer = io.BytesIO()
    _pixels(5).save(buffer, "BMP")
    source, target = tmp_path / "a.bmp", tmp_path / "copy.bmp"
    source.write_bytes(buffer.getvalue())
    deidentified_copy(source=source, file_format=ImageFormat.BMP, frames=1, target=target)
    assert target.read_bytes() == source.read_bytes()


def test_a_stored_file_whose_metadata_cannot_be_removed_is_a_clear_422_not_a_500(settings):
    """A JPEG stored before intake refused stray bytes between segments: readers get a reason."""
    from django.core.files.storage import default_storage

    from dermrelay.cases.models import Image as StoredImage

    clinic = make_clinic()
    case = make_case(site=clinic.site, actor=clinic.tech)
    image_id = upload(clinic.tech_client, case, jpeg_with_phi(), name="p.jpg", kind="dermoscopy").json()["id"]
    submit(clinic, case)
    assert assign(clinic, case).status_code == 201
    stored = StoredImage.objects.get(pk=image_id)
    data = open(default_storage.path(stored.file.name), "rb").read()
    with open(default_storage.path(stored.file.name), "wb") as handle:  # as an older intake let it in
        handle.write(data[:2] + b"\xff\xfe\x00\x04ab" + b"stray bytes" + data[2:])
    response = clinic.reader_client.get(f"{API}/images/{image_id}/file/")
    assert response.status_code == 422 and response.json()["code"] == "deidentification_failed"
    assert not AuditEvent.objects.filter(action="download", object_id=str(image_id), actor=clinic.reader).exists()
