"""Resumable uploads (tus 1.0.0: core, creation, termination, expiration) at /api/v1/uploads/.

With Django's test client for every protocol rule and bad input, and end to end with a real tus
client (tuspy) against the live server with token authentication: a phantom mosaic uploaded in
small chunks, interrupted, resumed by a new client from the stored URL, stored byte for byte.
"""

from __future__ import annotations

import base64
import datetime
import fcntl
import hashlib
import io
import socket
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from dermrelay.accounts.device_tokens import device_token_issue
from dermrelay.accounts.models import Role
from dermrelay.audit.models import AuditEvent, AuditOutcome
from dermrelay.cases import resumable_uploads, services
from dermrelay.cases.models import CaseStatus, Image, ImageKind, Upload, UploadState
from dermrelay.cases.uploads import sanitised_filename
from inference.phantoms.encoding import png_bytes as phantom_png
from inference.phantoms.generator import gate_phantom
from tests.conftest import stored_files
from tests.factories import api_client, make_case, make_site, make_user, png_bytes, tiff_declaring, upload

pytestmark = pytest.mark.django_db

URL = "/api/v1/uploads/"
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
OCTETS = "application/offset+octet-stream"
CSRF_SECRET = "b" * 32


def b64(value: str | bytes) -> str:
    raw = value if isinstance(value, bytes) else str(value).encode()
    return base64.b64encode(raw).decode()


def metadata(**fields) -> str:
    return ",".join(f"{key} {b64(value)}" for key, value in fields.items())


def create(client, for_case, length: int, *, headers: dict | None = None, **fields):
    fields = {"case": for_case.id, "kind": ImageKind.DERMOSCOPY, **fields}
    extra = {**TUS, "HTTP_UPLOAD_LENGTH": str(length), "HTTP_UPLOAD_METADATA": metadata(**fields), **(headers or {})}
    return client.generic("POST", URL, b"", content_type="", **extra)


def patch(client, location: str, body: bytes, offset: int, **extra):
    extra = {**TUS, "HTTP_UPLOAD_OFFSET": str(offset), **extra}
    return client.generic("PATCH", location, body, content_type=extra.pop("content_type", OCTETS), **extra)


def path_of(response) -> str:
    return urlsplit(response["Location"]).path


class Env:
    def __init__(self, tmp: Path):
        self.site = make_site()
        self.tech = make_user(role=Role.TECHNICIAN, site=self.site)
        self.case = make_case(site=self.site, actor=self.tech)
        self.client = api_client(self.tech)
        self.media = tmp / "media"
        self.staging = tmp / "staging"

    def staged(self) -> list[Path]:
        return stored_files(self.staging / "tus")

    def stored(self) -> list[Path]:
        return stored_files(self.media)


@pytest.fixture
def env(isolated_files) -> Env:
    return Env(isolated_files)


def send_whole(env: Env, data: bytes, *, chunk: int = 1000, **fields):
    response = create(env.client, env.case, len(data), **fields)
    assert response.status_code == 201, response.content
    location = path_of(response)
    last = None
    for start in range(0, len(data), chunk):
        last = patch(env.client, location, data[start:start + chunk], start)
        if last.status_code != 204:
            return location, last
    return location, last


# --------------------------------------------------------------------------- discovery and creation


def test_options_advertises_version_extensions_and_the_size_limit_without_authentication(settings):
    response = APIClient().options(URL)
    assert response.status_code == 204
    assert response["Tus-Resumable"] == response["Tus-Version"] == "1.0.0"
    assert response["Tus-Extension"] == "creation,termination,expiration"
    assert response["Tus-Max-Size"] == str(settings.DERMRELAY_UPLOAD_MAX_BYTES)


def test_creation_answers_201_with_an_absolute_location_and_expiry(env, settings):
    settings.DERMRELAY_UPLOAD_EXPIRY_SECONDS = 3600
    before = timezone.now()
    response = create(env.client, env.case, 1234, filename="lesion 1.jpg")
    assert response.status_code == 201, response.content
    assert response["Tus-Resumable"] == "1.0.0"
    upload = Upload.objects.get()
    assert response["Location"] == f"http://testserver/api/v1/uploads/{upload.id}/"
    expires = datetime.datetime.strptime(response["Upload-Expires"], "%a, %d %b %Y %H:%M:%S GMT").replace(
        tzinfo=datetime.timezone.utc)
    assert before + datetime.timedelta(seconds=3590) < expires <= upload.expires_at + datetime.timedelta(seconds=1)
    assert (upload.case_id, upload.created_by_id, upload.length, upload.offset) == (env.case.id, env.tech.id, 1234, 0)
    assert upload.metadata["kind"] == "dermoscopy" and upload.filename == "lesion 1.jpg"
    assert upload.staging_path.is_file() and upload.staging_path.stat().st_size == 0
    assert upload.staging_path.name == f"{upload.id.hex}.part"
    event = AuditEvent.objects.get(action="upload_start")
    assert event.object_id == str(upload.id) and event.detail["filename"] == "lesion 1.jpg"


def test_head_reports_offset_length_and_no_store(env):
    location = path_of(create(env.client, env.case, 300))
    assert patch(env.client, location, b"x" * 120, 0).status_code == 204
    response = env.client.head(location, **TUS)
    assert response.status_code == 200
    assert (response["Upload-Offset"], response["Upload-Length"]) == ("120", "300")
    assert response["Cache-Control"] == "no-store" and response["Tus-Resumable"] == "1.0.0"
    assert "Upload-Expires" in response and response.content == b""


@pytest.mark.parametrize(("fields", "status", "code", "field"), [
    ({"kind": "photo"}, 400, "invalid", "kind"),
    ({"kind": ImageKind.RCM_MOSAIC}, 400, "invalid", "depth_level"),  # a mosaic needs its depth
    ({"kind": ImageKind.DERMOSCOPY, "depth_um": "50"}, 400, "invalid", "depth_level"),
    ({"kind": ImageKind.RCM_MOSAIC, "depth_level": "dej", "pixel_spacing_um": "-1"}, 400, "invalid", "pixel_spacing_um"),
    ({"kind": ImageKind.DERMOSCOPY, "z_step_um": "2"}, 400, "invalid", "z_step_um"),
    ({"kind": ImageKind.RCM_MOSAIC, "depth_level": "dej", "device_profile": "no-such-device"}, 400, "invalid",
     "device_profile"),
    ({"case": "not-a-uuid"}, 400, "invalid", "case"),
    ({"replaces": "not-a-uuid"}, 400, "invalid", "replaces"),
])
def test_creation_validates_the_fields_like_the_multipart_upload(env, fields, status, code, field):
    response = create(env.client, env.case, 100, **fields)
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and field in body["fields"], body
    assert not Upload.objects.exists() and env.staged() == []


def test_creation_refusals(env, settings):
    settings.DERMRELAY_UPLOAD_MAX_BYTES = 10_000
    other_site_case = make_case(site=make_site())
    cases = [
        (create(env.client, env.case, 10_001), 413, "too_large"),
        (create(env.client, env.case, 0), 400, "empty_file"),
        (create(env.client, other_site_case, 100), 404, "not_found"),
        (create(env.client, env.case, 100, case=uuid.uuid4()), 404, "not_found"),
        (env.client.generic("POST", URL, b"", content_type="", HTTP_UPLOAD_METADATA=metadata(case=env.case.id, kind="clinical"),
                            HTTP_TUS_RESUMABLE="1.0.0"), 400, "invalid_header"),  # no Upload-Length
        (create(env.client, env.case, 100, headers={"HTTP_UPLOAD_LENGTH": "-5"}), 400, "invalid_header"),
        (create(env.client, env.case, 100, headers={"HTTP_TUS_RESUMABLE": "0.2.2"}), 412, "tus_version"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, (status, response.content)
        assert response.json()["code"] == code
        assert response["Tus-Resumable"] == "1.0.0"
    assert AuditEvent.objects.filter(action="upload_start", outcome=AuditOutcome.DENIED,
                                     object_id=str(other_site_case.id)).exists()
    assert not Upload.objects.exists() and env.staged() == []
    response = env.client.generic("POST", URL, b"", content_type="", HTTP_UPLOAD_LENGTH="10",
                                  HTTP_UPLOAD_METADATA=metadata(case=env.case.id, kind="clinical"))
    assert response.status_code == 412 and response["Tus-Version"] == "1.0.0"


def test_creation_on_a_locked_case_is_409(env):
    assert upload(env.client, env.case, png_bytes()).status_code == 201
    services.case_submit(case=env.case, actor=env.tech)
    env.case.refresh_from_db()
    assert env.case.status != CaseStatus.DRAFT
    response = create(env.client, env.case, 100)
    assert response.status_code == 409 and response.json()["code"] == "case_locked"
    assert not Upload.objects.exists()


@pytest.mark.parametrize("header", [
    "case !!!notbase64", "case " + b64("x")[:-1], "kind " + b64(b"\xff\xfe"), "case a b", "kind,",
    f"kind {b64('clinical')},kind {b64('clinical')}", " " + b64("x"),
])
def test_malformed_metadata_is_400(env, header):
    response = env.client.generic("POST", URL, b"", content_type="", HTTP_UPLOAD_LENGTH="10",
                                  HTTP_UPLOAD_METADATA=header, **TUS)
    assert response.status_code == 400, (header, response.content)
    assert response.json()["code"] in ("invalid_metadata", "invalid")
    assert not Upload.objects.exists()


@pytest.mark.parametrize(("raw", "expected"), [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\system32\\config", "config"),
    ("mosaic\x00.png", "mosaic.png"),
    ("\x00\x00\x00", ""),
    ("..", ""),
    (".htaccess", "htaccess"),
    ("evil\u202egnp.exe", "evilgnp.exe"),
])
def test_hostile_filenames_are_recorded_sanitised_and_never_used_as_paths(env, raw, expected):
    data = png_bytes(64, 48)
    location, response = send_whole(env, data, filename=raw)
    assert response.status_code == 204, response.content
    upload = Upload.objects.get()
    assert upload.filename == expected == sanitised_filename(raw)
    image = Image.objects.get()
    assert image.file.name == f"originals/{env.site.id}/{image.id}.png"
    assert [p.name for p in env.stored() if "originals" in p.parts] == [f"{image.id}.png"]
    done = AuditEvent.objects.get(action="upload_complete")
    assert done.detail["filename"] == expected and done.detail["image"] == str(image.id)


def test_a_ten_kilobyte_filename_is_cut_to_a_readable_length(env):
    raw = "A" * 10_000 + ".tif"
    response = create(env.client, env.case, 10, filename=raw)
    assert response.status_code == 201, response.content
    name = Upload.objects.get().filename
    assert len(name) <= 200 and name.endswith("….tif") and name.startswith("AAAA")


# --------------------------------------------------------------------------- appending


def test_an_upload_in_chunks_stores_the_image_with_the_last_byte(env):
    data = png_bytes(200, 150, mode="RGB", color=(10, 200, 30))
    location, response = send_whole(env, data, chunk=97, filename="derm.png")
    assert response.status_code == 204, response.content
    image = Image.objects.get()
    assert response["DermRelay-Image"] == str(image.id)
    assert response["Upload-Offset"] == str(len(data))
    assert image.sha256 == hashlib.sha256(data).hexdigest() and image.kind == ImageKind.DERMOSCOPY
    with image.file.open("rb") as handle:
        assert handle.read() == data
    upload = Upload.objects.get()
    assert (upload.state, upload.image_id, upload.offset) == (UploadState.COMPLETE, image.id, len(data))
    assert env.staged() == []
    body = env.client.get(location).json()
    assert body == {**body, "state": "complete", "image": str(image.id), "offset": len(data), "length": len(data),
                    "kind": "dermoscopy", "filename": "derm.png", "error": "", "case": str(env.case.id)}
    # a client that repeats its last (empty) request hears the same answer
    again = patch(env.client, location, b"", len(data))
    assert again.status_code == 204 and again["DermRelay-Image"] == str(image.id)
    assert Image.objects.count() == 1


def test_the_same_bytes_as_an_existing_image_give_that_image(env):
    data = png_bytes(64, 48, color=77)
    first = upload(env.client, env.case, data).json()["id"]
    _, response = send_whole(env, data)
    assert response.status_code == 204 and response["DermRelay-Image"] == first
    assert Image.objects.count() == 1 and Upload.objects.get().image_id == uuid.UUID(first)


def test_rcm_fields_travel_in_the_metadata(env):
    data = png_bytes(96, 72)
    _, response = send_whole(env, data, kind=ImageKind.RCM_MOSAIC, depth_level="dej", depth_um="62.5",
                             pixel_spacing_um="1.5")
    assert response.status_code == 204, response.content
    image = Image.objects.get()
    assert (image.kind, image.depth_level, image.depth_um, image.pixel_spacing_um) == ("rcm_mosaic", "dej", 62.5, 1.5)


def test_offset_mismatch_is_409_and_changes_nothing(env):
    location = path_of(create(env.client, env.case, 100))
    assert patch(env.client, location, b"a" * 40, 0).status_code == 204
    for offset in (0, 39, 41, 100):
        response = patch(env.client, location, b"b" * 10, offset)
        assert response.status_code == 409, offset
        assert response.json()["code"] == "offset_mismatch" and response["Tus-Resumable"] == "1.0.0"
    assert Upload.objects.get().offset == 40
    assert Upload.objects.get().staging_path.read_bytes() == b"a" * 40


def test_bytes_past_the_upload_length_are_413_and_nothing_is_appended(env):
    location = path_of(create(env.client, env.case, 100))
    assert patch(env.client, location, b"a" * 60, 0).status_code == 204
    response = patch(env.client, location, b"b" * 41, 60)
    assert response.status_code == 413 and response.json()["code"] == "exceeds_length"
    upload = Upload.objects.get()
    assert upload.offset == 60 and upload.staging_path.read_bytes() == b"a" * 60
    assert not Image.objects.exists()


def test_patch_needs_the_offset_media_type_and_the_headers(env):
    location = path_of(create(env.client, env.case, 100))
    response = patch(env.client, location, b"a", 0, content_type="application/octet-stream")
    assert response.status_code == 415
    response = env.client.generic("PATCH", location, b"a", content_type=OCTETS, **TUS)  # no Upload-Offset
    assert response.status_code == 400 and response.json()["code"] == "invalid_header"
    response = env.client.generic("PATCH", location, b"a", content_type=OCTETS, HTTP_UPLOAD_OFFSET="0")
    assert response.status_code == 412 and response.json()["code"] == "tus_version"
    assert env.client.head(location).status_code == 412
    assert Upload.objects.get().offset == 0


def test_the_body_is_streamed_not_held_to_the_form_size_limit(env, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024  # the form limit: a tus body is not form data
    data = png_bytes(400, 300, mode="RGB", color=(1, 2, 3))
    _, response = send_whole(env, data, chunk=len(data))
    assert response.status_code == 204, response.content
    assert Image.objects.get().size_bytes == len(data)


def test_a_corrupt_file_is_refused_at_completion_and_nothing_is_left(env):
    good = png_bytes(300, 200, mode="RGB", color=(90, 80, 70))
    corrupt = good[: len(good) // 2] + bytes(len(good) - len(good) // 2)  # whole length, broken pixels
    location, response = send_whole(env, corrupt, chunk=500, filename="bad.png")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] in ("corrupt_image", "corrupt_header") and "corrupt" in body["detail"]
    assert response["Tus-Resumable"] == "1.0.0"
    assert not Image.objects.exists() and env.staged() == []
    assert [p for p in env.stored() if "originals" in p.parts] == []
    upload = Upload.objects.get()
    assert (upload.state, upload.error, upload.error_code) == (UploadState.FAILED, body["detail"], body["code"])
    status = env.client.get(location).json()
    assert status["state"] == "failed" and status["error"] == body["detail"] and status["image"] is None
    head = env.client.head(location, **TUS)
    assert head.status_code == 410
    again = patch(env.client, location, b"", len(corrupt))
    assert again.status_code == 410 and again.json()["code"] == "upload_failed"
    failed = AuditEvent.objects.get(action="upload_failed")
    assert failed.outcome == AuditOutcome.FAILED and failed.detail["filename"] == "bad.png"


def test_a_case_submitted_while_its_upload_was_on_the_way_refuses_the_last_byte(env):
    assert upload(env.client, env.case, png_bytes(64, 48, color=1)).status_code == 201
    data = png_bytes(64, 48, color=2)
    location = path_of(create(env.client, env.case, len(data)))
    assert patch(env.client, location, data[:50], 0).status_code == 204
    services.case_submit(case=env.case, actor=env.tech)
    response = patch(env.client, location, data[50:], 50)
    assert response.status_code == 409 and response.json()["code"] == "case_locked"
    assert Image.objects.count() == 1 and env.staged() == []
    assert Upload.objects.get().state == UploadState.FAILED


@pytest.mark.parametrize(("data", "status", "code"), [
    (b"<html><script>alert(1)</script></html>", 415, "active_content"),
    (b"just some text, no image at all" * 10, 415, "unsupported_type"),
    (tiff_declaring(30_000, 30_000), 400, "too_many_pixels"),  # past Pillow's own bomb limit
    (png_bytes(64, 48) + b"<html><script>alert(1)</script></html>" + bytes(4096), 415, "active_content"),
])
def test_other_refusals_at_completion_keep_their_status_and_code(env, data, status, code):
    _, response = send_whole(env, data, chunk=100)
    assert response.status_code == status and response.json()["code"] == code
    assert not Image.objects.exists() and env.staged() == []
    assert Upload.objects.get().state == UploadState.FAILED


def test_an_interrupted_body_keeps_what_was_written_and_the_offset_matches_the_disk(env):
    """A client that goes away mid-chunk: every byte read is kept, and the offset says so."""
    from django.http import UnreadablePostError

    location = path_of(create(env.client, env.case, 5000))
    upload = Upload.objects.get()

    class Dropping:
        def __init__(self, data: bytes, fail_after: int):
            self.data, self.fail_after, self.sent = data, fail_after, 0

        def read(self, n: int) -> bytes:
            if self.sent >= self.fail_after:
                raise UnreadablePostError("connection reset by peer")
            chunk = self.data[self.sent:self.sent + min(n, self.fail_after - self.sent)]
            self.sent += len(chunk)
            return chunk

    body = bytes(range(256)) * 12
    progress = resumable_uploads.upload_append(upload=upload, actor=env.tech, offset=0, stream=Dropping(body, 1700),
                                               declared=len(body), chunk_size=256)
    assert progress.image is None and progress.upload.offset == 1700
    upload.refresh_from_db()
    assert upload.offset == 1700 == upload.staging_path.stat().st_size
    assert upload.staging_path.read_bytes() == body[:1700]
    assert env.client.head(location, **TUS)["Upload-Offset"] == "1700"

    class Short:  # the connection closed: the stream simply ends early
        def __init__(self, data):
            self.buffer = io.BytesIO(data)

        def read(self, n):
            return self.buffer.read(n)

    resumable_uploads.upload_append(upload=upload, actor=env.tech, offset=1700, stream=Short(b"z" * 300), declared=1000)
    upload.refresh_from_db()
    assert upload.offset == 2000 == upload.staging_path.stat().st_size


def test_bytes_a_crashed_request_wrote_but_never_recorded_are_dropped(env):
    location = path_of(create(env.client, env.case, 100))
    assert patch(env.client, location, b"a" * 30, 0).status_code == 204
    upload = Upload.objects.get()
    with upload.staging_path.open("ab") as handle:  # written, but the offset was never saved
        handle.write(b"garbage")
    assert env.client.head(location, **TUS)["Upload-Offset"] == "30"
    assert patch(env.client, location, b"b" * 20, 30).status_code == 204
    assert upload.staging_path.read_bytes() == b"a" * 30 + b"b" * 20


def test_a_server_killed_while_storing_the_image_gets_the_last_chunk_again(env, monkeypatch):
    """The last offset is recorded with the outcome: after a crash the upload does not look finished."""
    data = png_bytes(64, 48, color=11)
    location = path_of(create(env.client, env.case, len(data)))
    assert patch(env.client, location, data[:60], 0).status_code == 204
    upload = Upload.objects.get()

    def killed(path):
        raise KeyboardInterrupt  # like SIGKILL: nothing after this point runs

    monkeypatch.setattr(resumable_uploads, "staged_from_path", killed)
    with pytest.raises(KeyboardInterrupt):
        resumable_uploads.upload_append(upload=upload, actor=env.tech, offset=60, stream=io.BytesIO(data[60:]),
                                        declared=len(data) - 60)
    monkeypatch.undo()
    assert not Image.objects.exists()
    head = env.client.head(location, **TUS)
    assert head.status_code == 200 and head["Upload-Offset"] == "60"  # the client resumes from here
    response = patch(env.client, location, data[60:], 60)
    assert response.status_code == 204 and response["DermRelay-Image"] == str(Image.objects.get().id)
    with Image.objects.get().file.open("rb") as handle:
        assert handle.read() == data


def test_a_lost_staging_file_fails_the_upload_with_410(env):
    location = path_of(create(env.client, env.case, 100))
    assert patch(env.client, location, b"a" * 30, 0).status_code == 204
    Upload.objects.get().staging_path.write_bytes(b"a" * 10)  # shorter than recorded: the data is not whole
    response = patch(env.client, location, b"b" * 10, 30)
    assert response.status_code == 410 and response.json()["code"] == "upload_gone"
    assert Upload.objects.get().state == UploadState.FAILED and env.staged() == []


def test_a_second_writer_is_refused_while_the_first_holds_the_upload(env):
    location = path_of(create(env.client, env.case, 100))
    upload = Upload.objects.get()
    with upload.staging_path.open("r+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # a PATCH in progress
        response = patch(env.client, location, b"a" * 10, 0)
        assert response.status_code == 423 and response.json()["code"] == "upload_busy"
        assert env.client.delete(location, **TUS).status_code == 423
    assert Upload.objects.get().offset == 0
    assert patch(env.client, location, b"a" * 10, 0).status_code == 204


# --------------------------------------------------------------------------- scope, termination, expiry


def test_another_users_upload_is_404_for_every_method(env):
    location = path_of(create(env.client, env.case, 100))
    colleague = api_client(make_user(role=Role.TECHNICIAN, site=env.site))  # same site, not the creator
    stranger = api_client(make_user(role=Role.TECHNICIAN, site=make_site()))
    for client in (colleague, stranger):
        assert client.head(location, **TUS).status_code == 404
        response = patch(client, location, b"a" * 10, 0)
        assert response.status_code == 404 and response["Tus-Resumable"] == "1.0.0"
        assert client.delete(location, **TUS).status_code == 404
        assert client.get(location).status_code == 404
    assert Upload.objects.get().offset == 0
    assert AuditEvent.objects.filter(object_type="upload", outcome=AuditOutcome.DENIED).count() == 8
    assert env.client.head(f"{URL}{uuid.uuid4()}/", **TUS).status_code == 404
    assert env.client.head(f"{URL}not-a-uuid/", **TUS).status_code == 404
    assert APIClient().head(location, **TUS).status_code == 401


def test_losing_the_clinical_role_ends_access_to_ones_own_upload(env):
    location = path_of(create(env.client, env.case, 100))
    env.tech.memberships.all().delete()
    assert env.client.head(location, **TUS).status_code == 404


def test_one_person_may_hold_only_so_many_unfinished_uploads(env, settings):
    """Each open upload reserves disk for a day: the 429 names the way out, leaves nothing behind,
    and finished, cancelled, expired and other people's uploads do not count."""
    settings.DERMRELAY_UPLOAD_OPEN_MAX = 3
    locations = [path_of(create(env.client, env.case, 100)) for _ in range(3)]
    refused = create(env.client, env.case, 100)
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_open_uploads"
    assert "cancel" in refused.json()["detail"] and refused["Tus-Resumable"] == "1.0.0"
    assert Upload.objects.count() == 3 and len(env.staged()) == 3
    assert AuditEvent.objects.filter(action="upload_start").count() == 3

    colleague = make_user(role=Role.TECHNICIAN, site=env.site)
    assert create(api_client(colleague), env.case, 100).status_code == 201  # the cap is one person's

    assert env.client.delete(locations[0], **TUS).status_code == 204  # cancelling frees a place
    finished, last = send_whole(env, png_bytes(64, 48, color=5))
    assert last.status_code == 204  # and a finished upload holds none
    Upload.objects.filter(pk=locations[1].rstrip("/").rsplit("/", 1)[-1]).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1))  # nor does an expired one
    assert [create(env.client, env.case, 100).status_code for _ in range(3)] == [201, 201, 429]


def test_unfinished_uploads_may_reserve_only_so_many_bytes_together(env, settings):
    settings.DERMRELAY_UPLOAD_OPEN_MAX_BYTES = 1000
    assert create(env.client, env.case, 600).status_code == 201
    refused = create(env.client, env.case, 500)
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_open_uploads"
    assert "600 bytes" in refused.json()["detail"]
    assert create(env.client, env.case, 400).status_code == 201
    assert Upload.objects.count() == 2 and len(env.staged()) == 2


def test_termination_removes_the_upload_and_its_file(env):
    location = path_of(create(env.client, env.case, 100))
    assert patch(env.client, location, b"a" * 10, 0).status_code == 204
    response = env.client.delete(location, **TUS)
    assert response.status_code == 204 and response["Tus-Resumable"] == "1.0.0"
    assert not Upload.objects.exists() and env.staged() == []
    assert env.client.head(location, **TUS).status_code == 404
    assert AuditEvent.objects.filter(action="upload_terminate").count() == 1
    assert env.client.delete(location, **TUS).status_code == 404


def test_termination_of_a_finished_upload_keeps_its_image(env):
    location, response = send_whole(env, png_bytes(64, 48, color=3))
    assert response.status_code == 204
    assert env.client.delete(location, **TUS).status_code == 204
    assert Image.objects.count() == 1 and not Upload.objects.exists()


def test_an_expired_upload_is_refused_and_purged(env):
    location = path_of(create(env.client, env.case, 100))
    assert patch(env.client, location, b"a" * 10, 0).status_code == 204
    finished, _ = send_whole(env, png_bytes(64, 48, color=9))
    past = timezone.now() - datetime.timedelta(seconds=1)
    Upload.objects.update(expires_at=past)
    assert env.client.head(location, **TUS).status_code == 410
    response = patch(env.client, location, b"a" * 10, 10)
    assert response.status_code == 410 and response.json()["code"] == "upload_expired"
    assert env.client.get(location).json()["state"] == "expired"
    assert env.client.get(finished).json()["state"] == "complete"  # a finished upload does not expire
    assert len(env.staged()) == 1

    assert resumable_uploads.upload_expired_purge() == 1
    assert env.staged() == [] and list(Upload.objects.values_list("state", flat=True)) == ["complete"]
    assert env.client.head(location, **TUS).status_code == 404
    assert AuditEvent.objects.filter(action="upload_expire").count() == 1
    # a week later the finished upload's row goes too; its image stays
    assert resumable_uploads.upload_expired_purge(now=timezone.now() + datetime.timedelta(days=8)) == 1
    assert not Upload.objects.exists() and Image.objects.count() == 1


def test_the_purge_is_a_task_on_the_beat_schedule(env, settings):
    from dermrelay.cases.tasks import upload_expired_purge_task
    from dermrelay.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["purge-expired-uploads"]
    assert entry["task"] == upload_expired_purge_task.name and entry["task"] in app.tasks
    create(env.client, env.case, 100)
    Upload.objects.update(expires_at=timezone.now() - datetime.timedelta(hours=1))
    assert upload_expired_purge_task.delay().get() == 1
    assert env.staged() == []


# --------------------------------------------------------------------------- sessions and CSRF


def test_browser_sessions_need_the_csrf_token_on_post_patch_and_delete(env):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(env.tech)  # a browser session (login() would bypass the sign-in API and its lockout)
    client.cookies["csrftoken"] = CSRF_SECRET
    response = create(client, env.case, 100)
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert not Upload.objects.exists()
    response = create(client, env.case, 100, headers={"HTTP_X_CSRFTOKEN": CSRF_SECRET})
    assert response.status_code == 201
    location = path_of(response)
    assert patch(client, location, b"a" * 10, 0).status_code == 403
    assert client.head(location, **TUS).status_code == 200  # a safe method
    assert patch(client, location, b"a" * 10, 0, HTTP_X_CSRFTOKEN=CSRF_SECRET).status_code == 204
    assert client.delete(location, **TUS).status_code == 403
    assert client.delete(location, HTTP_X_CSRFTOKEN=CSRF_SECRET, **TUS).status_code == 204


def test_the_schema_documents_the_tus_endpoints_with_their_headers(env):
    schema = env.client.get("/api/v1/schema/?format=json").json()
    upload_path = next(p for p in schema["paths"] if p.endswith("/uploads/{id}/"))
    item = schema["paths"][upload_path]
    assert {"head", "patch", "delete", "get"} <= set(item)
    assert {"options", "post"} <= set(schema["paths"]["/api/v1/uploads/"])
    patch_headers = {p["name"] for p in item["patch"]["parameters"] if p["in"] == "header"}
    assert {"Tus-Resumable", "Upload-Offset"} <= patch_headers
    assert "DermRelay-Image" in item["patch"]["responses"]["204"]["headers"]
    assert "Upload-Offset" in item["head"]["responses"]["200"]["headers"]
    post_headers = {p["name"] for p in schema["paths"]["/api/v1/uploads/"]["post"]["parameters"]}
    assert {"Upload-Length", "Upload-Metadata", "Tus-Resumable"} <= post_headers


# --------------------------------------------------------------------------- a real tus client


def phantom_mosaic_png() -> bytes:
    return phantom_png(gate_phantom(seed=7, where="lesion", size_px=512).image)


def _wait_for_offset(url: str, headers: dict, expected: int, timeout: float = 10.0) -> int:
    import requests

    deadline = time.monotonic() + timeout
    offset = -1
    while time.monotonic() < deadline:
        offset = int(requests.head(url, headers={**headers, "Tus-Resumable": "1.0.0"}).headers["Upload-Offset"])
        if offset == expected:
            return offset
        time.sleep(0.05)
    return offset


@pytest.mark.django_db(transaction=True)
def test_tuspy_uploads_a_phantom_mosaic_in_chunks_interrupted_and_resumed_by_a_new_client(live_server, isolated_files):
    from tusclient import client as tus

    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    case = make_case(site=site, actor=tech)
    _, token = device_token_issue(user=tech, name="VivaScope test")
    headers = {"Authorization": f"Token {token}"}
    data = phantom_mosaic_png()
    chunk = 16 * 1024
    assert len(data) > 5 * chunk
    fields = {"case": str(case.id), "kind": ImageKind.RCM_MOSAIC, "depth_level": "dej", "pixel_spacing_um": "2.0",
              "filename": "C:\\VivaScope\\export\\mosaic 3.png"}

    first = tus.TusClient(f"{live_server.url}{URL}", headers=headers)
    uploader = first.uploader(file_stream=io.BytesIO(data), chunk_size=chunk, metadata=fields)
    uploader.upload_chunk()
    uploader.upload_chunk()
    url = uploader.url
    assert url.startswith(live_server.url) and uploader.offset == 2 * chunk
    del uploader, first  # the capture device loses its connection and restarts

    # then a chunk is cut off mid-way: the server keeps what arrived
    parts = urlsplit(url)
    cut = 5000
    with socket.create_connection((parts.hostname, parts.port)) as raw:
        request = (f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Token {token}\r\n"
                   f"Tus-Resumable: 1.0.0\r\nUpload-Offset: {2 * chunk}\r\nContent-Type: {OCTETS}\r\n"
                   f"Content-Length: {chunk}\r\nConnection: close\r\n\r\n").encode()
        raw.sendall(request + data[2 * chunk:2 * chunk + cut])
    assert _wait_for_offset(url, headers, 2 * chunk + cut) == 2 * chunk + cut
    upload = Upload.objects.get()
    assert upload.staging_path.stat().st_size == 2 * chunk + cut

    second = tus.TusClient(f"{live_server.url}{URL}", headers=headers)
    resumed = second.uploader(file_stream=io.BytesIO(data), url=url, chunk_size=chunk)
    assert resumed.offset == 2 * chunk + cut  # asked the server where to go on
    resumed.upload()
    image_id = resumed.request.response_headers["dermrelay-image"]

    upload.refresh_from_db()
    image = Image.objects.get()
    assert (upload.state, str(upload.image_id), upload.offset) == (UploadState.COMPLETE, image_id, len(data))
    assert str(image.id) == image_id and image.sha256 == hashlib.sha256(data).hexdigest()
    with image.file.open("rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == hashlib.sha256(data).hexdigest()
    assert (image.kind, image.depth_level, image.pixel_spacing_um, image.uploaded_by_id) == ("rcm_mosaic", "dej", 2.0, tech.id)
    assert upload.filename == "mosaic 3.png"
    assert stored_files(isolated_files / "staging" / "tus") == []
    assert AuditEvent.objects.filter(action="upload_complete", object_id=str(upload.id)).count() == 1
