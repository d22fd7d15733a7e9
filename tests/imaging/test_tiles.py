"""The tile API: an audited viewer descriptor with signed URLs, then tiles served with no database work."""

from __future__ import annotations

import base64
import hashlib
import io
import math
import time
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from django.conf import settings
from django.test import Client
from PIL import Image as PILImage

from dermrelay.accounts.models import Role
from dermrelay.audit.models import AuditEvent
from dermrelay.cases.models import Image, ImageKind
from dermrelay.imaging.models import Pyramid
from dermrelay.imaging.services import derivation_execute
from dermrelay.imaging.tiles import tile_token, tile_url_base
from tests.factories import api_client, make_case, make_site, make_user, upload

pytestmark = pytest.mark.django_db


def _encode(image: PILImage.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _stack_bytes(seed: int = 2, frames: int = 3) -> bytes:
    rng = np.random.default_rng(seed)
    images = [PILImage.fromarray((1000 + 200 * i + rng.integers(0, 3000, (300, 400))).astype(np.uint16))
              for i in range(frames)]
    return _encode(images[0], "TIFF", save_all=True, append_images=images[1:])


def _mosaic_bytes(seed: int = 1, size=(260, 300)) -> bytes:
    rng = np.random.default_rng(seed)
    return _encode(PILImage.fromarray(rng.integers(0, 255, size, dtype=np.uint8)), "PNG")


def _derived(client, case, data: bytes, **fields) -> Image:
    response = upload(client, case, data, **fields)
    assert response.status_code == 201, response.content
    image = Image.objects.get(pk=response.json()["id"])
    assert derivation_execute(image=image) == "succeeded"
    return image


def _path(url: str) -> str:
    """The path of an absolute URL from the descriptor, for the test client."""
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.netloc, url
    return parts.path


def _body(response) -> bytes:
    """The whole body; reading a streamed one to its end closes it (and its file) the test client's way."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def _status(response) -> int:
    _body(response)
    return response.status_code


def _tiles_of_frame(descriptor: dict, frame: int = 0):
    """Every (level, col, row) URL path of a frame, from the descriptor's sizes alone, with the tile's
    expected pixel size under Deep Zoom's layout (overlap on the sides that have a neighbour)."""
    size, overlap, template = descriptor["tile_size"], descriptor["overlap"], descriptor["frames"][frame]["tiles"]
    for level in range(descriptor["max_level"] + 1):
        scale = 2 ** (descriptor["max_level"] - level)
        lw, lh = math.ceil(descriptor["width"] / scale), math.ceil(descriptor["height"] / scale)
        for col in range(math.ceil(lw / size)):
            for row in range(math.ceil(lh / size)):
                w = min(size * (col + 1) + overlap, lw) - max(size * col - overlap, 0)
                h = min(size * (row + 1) + overlap, lh) - max(size * row - overlap, 0)
                yield _path(template.format(level=level, col=col, row=row)), (w, h)


@pytest.fixture
def clinic():
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    return site, make_case(site=site, actor=tech), tech, api_client(tech)


@pytest.fixture
def stack(clinic):
    """A derived 16-bit RCM stack of three 400x300 frames, at 20 µm with a 5 µm z step."""
    _, case, _, client = clinic
    return _derived(client, case, _stack_bytes(), kind=ImageKind.RCM_STACK, depth_um=20, z_step_um=5)


def _viewer(client, image) -> dict:
    response = client.get(f"/api/v1/images/{image.id}/viewer/")
    assert response.status_code == 200, response.content
    return response.json()


# --- the descriptor -------------------------------------------------------------------------------


def test_viewer_describes_a_derived_stack(clinic, stack):
    _, _, _, client = clinic
    pyramid = Pyramid.objects.get(image=stack)
    before = time.time()
    d = _viewer(client, stack)
    assert (d["width"], d["height"], d["tile_size"], d["overlap"], d["max_level"]) == (400, 300, 254, 1, 9)
    assert d["image"] == str(stack.id) and d["kind"] == ImageKind.RCM_STACK and d["format"] == "jpeg"
    assert d["crop"] is None
    window = d["display_window"]
    assert window is not None and window == {"low": pyramid.window_low, "high": pyramid.window_high}
    assert 1000 <= window["low"] < window["high"] <= 4600
    expires = datetime.fromisoformat(d["expires_at"]).timestamp()
    ttl = settings.DERMRELAY_TILE_URL_SECONDS
    assert before + ttl - 5 <= expires <= time.time() + ttl + 1

    assert [f["index"] for f in d["frames"]] == [0, 1, 2]
    for i, frame in enumerate(d["frames"]):
        assert frame["depth_um"] == pytest.approx(20 + 5 * i)
        assert frame["dzi"].endswith(f"/{pyramid.prefix}/f{i:04d}.dzi")
        assert frame["tiles"].endswith(f"/{pyramid.prefix}/f{i:04d}_files/{{level}}/{{col}}_{{row}}.jpeg")
        assert "{level}" in frame["tiles"] and "{col}_{row}" in frame["tiles"]
        # the signed part is /tiles/<expires>/<token>/<prefix>, with the descriptor's own expiry
        _, tiles, exp, token, *_ = _path(frame["dzi"]).split("/")
        assert tiles == "tiles" and int(exp) == int(expires) and token == tile_token(pyramid.prefix, int(exp))


def test_eight_bit_mosaic_has_no_display_window_and_one_frame_at_its_depth(clinic):
    _, case, _, client = clinic
    image = _derived(client, case, _mosaic_bytes(), kind=ImageKind.RCM_MOSAIC, depth_level="dej", depth_um=80)
    d = _viewer(client, image)
    assert d["display_window"] is None and (d["width"], d["height"]) == (300, 260)
    assert [f["depth_um"] for f in d["frames"]] == [80]


def test_viewer_before_derivation_is_not_ready(clinic):
    _, case, _, client = clinic
    response = upload(client, case, _mosaic_bytes(), kind=ImageKind.RCM_MOSAIC, depth_level="dej")
    assert response.status_code == 201
    before = AuditEvent.objects.filter(action="view_image").count()
    response = client.get(f"/api/v1/images/{response.json()['id']}/viewer/")
    assert response.status_code == 404 and response.json()["code"] == "not_ready"
    assert AuditEvent.objects.filter(action="view_image").count() == before


# --- following the descriptor's URLs --------------------------------------------------------------


def test_dzi_and_tiles_are_served_from_the_descriptor_urls(clinic, stack):
    _, _, _, client = clinic
    d = _viewer(client, stack)
    browser = Client()  # no login: the signed URL is the authorization

    response = browser.get(_path(d["frames"][1]["dzi"]))
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    root = ET.fromstring(_body(response))
    assert root.get("TileSize") == str(d["tile_size"]) and root.get("Overlap") == str(d["overlap"])
    assert (int(root[0].get("Width")), int(root[0].get("Height"))) == (d["width"], d["height"])

    tiles = list(_tiles_of_frame(d, frame=0))
    assert len(tiles) == 13  # levels 0..8 one tile each, level 9 two by two
    for path, expected_size in tiles:
        response = browser.get(path)
        assert response.status_code == 200, path
        assert response["Content-Type"] == "image/jpeg"
        assert "immutable" in response["Cache-Control"] and "private" in response["Cache-Control"]
        assert response["ETag"].startswith('"') and response["ETag"].endswith('"')
        with PILImage.open(io.BytesIO(_body(response))) as tile:
            assert tile.format == "JPEG"
            assert tile.size == expected_size
            assert max(tile.size) <= d["tile_size"] + 2 * d["overlap"]

    response = browser.get(_path(d["thumbnail"]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    _body(response)


def test_conditional_request_gets_304(clinic, stack):
    _, _, _, client = clinic
    d = _viewer(client, stack)
    path = _path(d["frames"][0]["tiles"].format(level=9, col=1, row=0))
    browser = Client()
    first = browser.get(path)
    assert first.status_code == 200
    etag = first["ETag"]
    _body(first)
    again = browser.get(path, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag and _body(again) == b""
    other = browser.get(path, HTTP_IF_NONE_MATCH='"not-this-one"')
    assert other.status_code == 200
    _body(other)
    # another tile has another ETag
    neighbour = browser.get(_path(d["frames"][0]["tiles"].format(level=9, col=0, row=0)))
    assert neighbour.status_code == 200 and neighbour["ETag"] != etag
    _body(neighbour)


def test_one_audit_event_per_view_and_none_per_tile(clinic, stack):
    site, _, tech, client = clinic
    start = AuditEvent.objects.count()
    d = _viewer(client, stack)
    events = list(AuditEvent.objects.order_by("id")[start:])
    assert [(e.action, e.object_type, e.object_id, e.actor_id, e.site_id) for e in events] == [
        ("view_image", "image", str(stack.id), tech.id, site.id)
    ]
    after_view = AuditEvent.objects.count()
    browser = Client()
    fetched = 0
    for path, _ in list(_tiles_of_frame(d, frame=2))[:10]:
        response = browser.get(path)
        assert response.status_code == 200
        _body(response)
        fetched += 1
    assert fetched == 10
    assert AuditEvent.objects.count() == after_view


def test_tile_requests_do_no_database_queries(clinic, stack, django_assert_num_queries):
    _, _, _, client = clinic
    d = _viewer(client, stack)
    browser = Client()
    tile = _path(d["frames"][0]["tiles"].format(level=9, col=1, row=1))
    with django_assert_num_queries(0):
        ok = browser.get(tile)
        body = _body(ok)
        missing = browser.get(_path(d["frames"][0]["tiles"].format(level=9, col=7, row=7)))
        forged = browser.get(tile.replace("/tiles/", "/tiles/1", 1))
    assert ok.status_code == 200 and body[:2] == b"\xff\xd8"
    assert missing.status_code == 404 and forged.status_code in (403, 404)


# --- refusals -------------------------------------------------------------------------------------


def _signed(prefix: str, rest: str, *, now: float | None = None) -> str:
    base, _ = tile_url_base(prefix, now=now)
    return f"{base}/{rest}"


def test_tampered_token_is_forbidden(clinic, stack):
    prefix = Pyramid.objects.get(image=stack).prefix
    good = _signed(prefix, "f0000_files/0/0_0.jpeg")
    browser = Client()
    assert _status(browser.get(good)) == 200
    _, tiles, expires, token, rest = good.split("/", 4)
    flipped = ("A" if token[0] != "A" else "B") + token[1:]
    for bad in (flipped, token[:-1], token + "A", token.upper() if token.upper() != token else token.lower(),
                "é" + token[1:]):  # a non-ASCII token must be refused, not crash the comparison
        assert _status(browser.get(f"/tiles/{expires}/{bad}/{rest}")) == 403, bad
    # the token covers the expiry: a later expiry with the same token is refused
    assert _status(browser.get(f"/tiles/{int(expires) + 3600}/{token}/{rest}")) == 403


def test_token_of_another_pyramid_does_not_open_this_one(clinic, stack):
    _, case, _, client = clinic
    other = _derived(client, case, _mosaic_bytes(seed=9), kind=ImageKind.RCM_MOSAIC, depth_level="dej")
    mine, theirs = Pyramid.objects.get(image=stack).prefix, Pyramid.objects.get(image=other).prefix
    their_base, _ = tile_url_base(theirs)
    _, _, expires, token, _ = their_base.split("/", 4)
    browser = Client()
    assert _status(browser.get(f"{their_base}/f0000_files/0/0_0.jpeg")) == 200
    assert _status(browser.get(f"/tiles/{expires}/{token}/{mine}/f0000_files/0/0_0.jpeg")) == 403
    assert _status(browser.get(f"/tiles/{expires}/{token}/{mine}/f0000.dzi")) == 403


def test_expired_link_is_gone_and_a_fresh_one_works(clinic, stack):
    prefix = Pyramid.objects.get(image=stack).prefix
    browser = Client()
    expired = _signed(prefix, "f0000_files/0/0_0.jpeg", now=time.time() - 10 * 24 * 3600)
    response = browser.get(expired)
    assert response.status_code == 410
    assert _status(browser.get(_signed(prefix, "f0000_files/0/0_0.jpeg"))) == 200


def test_path_traversal_never_leaves_the_pyramid(clinic, stack, isolated_files):
    prefix = Pyramid.objects.get(image=stack).prefix
    media = Path(settings.MEDIA_ROOT)
    stack.refresh_from_db()
    original = stack.file.name  # a file in the media root outside every pyramid
    assert (media / original).is_file()
    secret = b"outside the pyramid"
    (media / prefix / "secret.txt").write_bytes(secret)
    (media / prefix / "f0000_files" / "9" / "0_0.png").write_bytes(secret)
    (media / prefix / "f0000_files" / "vips-properties.xml").write_bytes(secret)
    outside = isolated_files / "outside.txt"
    outside.write_bytes(secret)
    up = "/".join([".."] * (len(Path(prefix).parts)))
    up_encoded = up.replace("..", "%2e%2e")

    # signed correctly for the prefix they claim, so only the path check can refuse them
    attempts = [
        _signed(prefix, f"../../../../../{original}"),
        _signed(prefix, f"{up}/{original}"),
        _signed(prefix, f"{up_encoded}/{original}"),
        _signed(prefix, f"f0000_files/..%2f..%2f{up}/{original}"),
        _signed(prefix, "secret.txt"),
        _signed(prefix, "f0000_files/vips-properties.xml"),
        _signed(prefix, "f0000_files/9/0_0.png"),
        _signed(prefix, "f0000_files/9/0_0.jpeg/"),
        _signed(prefix, "f0000_files/9/0_0.jpeg.bak"),
        _signed(prefix, "f0000_files/9/../9/0_0.jpeg"),
        _signed(prefix, "f0000_files/9/0-0.jpeg"),
        _signed(prefix, "f00000_files/9/0_0.jpeg"),
        _signed(prefix, "f0000_files/9/./0_0.jpeg"),
        _signed(prefix, "f0000.dzi/"),
        _signed(prefix, "./f0000.dzi"),
        _signed(prefix, ""),
    ]
    for bad_prefix in (
        str(Path(original).parent),  # the originals' folder
        str(outside.parent), str(outside),  # absolute file-system paths
        f"{prefix}/..", f"{prefix}/../{Path(prefix).name}", "derived", str(Path(prefix).parent),
        prefix.upper(), prefix.replace("pyramid-", "pyramid_"), f"/{prefix}", f"{prefix[:-1]}",
        f"{prefix}0",
    ):
        for rest in ("f0000.dzi", "f0000_files/9/0_0.jpeg", "secret.txt", Path(original).name, "outside.txt"):
            attempts.append(_signed(bad_prefix, rest))
    base, _ = tile_url_base(prefix)
    expires, token = base.split("/")[2:4]
    attempts += [
        f"/tiles/{expires}/{token}/{outside}",  # absolute path after the token
        f"/tiles/{expires}/{token}//{prefix}/f0000.dzi",
        f"/tiles/{expires}/{token}/%2e%2e/%2e%2e/{prefix}/f0000.dzi",
        f"/tiles/{expires}/{token}/{prefix}%2ff0000.dzi%00",
        f"/tiles/{expires}/{token}/{prefix}/f0000.dzi%00.jpeg",
        f"/tiles/{expires}/{token}/{prefix}/f0000.dzi%0a",
    ]

    browser = Client()
    for url in attempts:
        response = browser.get(url)
        body = _body(response)
        assert response.status_code in (403, 404), (url, response.status_code)
        assert secret not in body and not body.startswith(b"\xff\xd8"), url

    # the real thing still works with the same token
    assert _status(browser.get(f"{base}/f0000.dzi")) == 200


def test_valid_token_for_a_tile_that_does_not_exist_is_404(clinic, stack):
    prefix = Pyramid.objects.get(image=stack).prefix
    browser = Client()
    for rest in ("f0000_files/9/5_5.jpeg", "f0000_files/12/0_0.jpeg", "f0009.dzi", "f0009_files/0/0_0.jpeg"):
        assert _status(browser.get(_signed(prefix, rest))) == 404, rest
    # a well-formed prefix that was never derived (or whose pyramid was replaced)
    ghost = prefix[: -len("0123456789ab")] + "0123456789ab"
    assert _status(browser.get(_signed(ghost, "f0000.dzi"))) == 404


def test_tiles_accept_only_safe_methods(clinic, stack):
    prefix = Pyramid.objects.get(image=stack).prefix
    url = _signed(prefix, "f0000_files/0/0_0.jpeg")
    browser = Client()
    assert _status(browser.post(url)) == 405
    assert _status(browser.put(url)) == 405
    assert _status(browser.delete(url)) == 405
    # a browser's POST meets the CSRF check first (403); either way nothing is served
    assert Client(enforce_csrf_checks=True).post(url).status_code == 405  # csrf_exempt: the method is the answer
    head = browser.head(url)
    assert head.status_code == 200 and head["Content-Type"] == "image/jpeg"
    _body(head)


# --- who may ask for a descriptor -------------------------------------------------------------------


def test_viewer_is_scoped_to_the_image_site(clinic, stack):
    site, _, _, _ = clinic
    other_site = make_site()
    outsider = make_user(role=Role.TECHNICIAN, site=other_site)
    reader = make_user(role=Role.READER, site=site)
    qa = make_user(role=Role.QA_ADMIN, site=site)
    start = AuditEvent.objects.filter(action="view_image").count()
    for user in (outsider, reader, qa):
        response = api_client(user).get(f"/api/v1/images/{stack.id}/viewer/")
        assert response.status_code == 404, user
        assert "frames" not in response.json() and "/tiles/" not in response.content.decode()
    response = api_client().get(f"/api/v1/images/{stack.id}/viewer/")
    assert response.status_code in (401, 403) and "/tiles/" not in response.content.decode()
    assert AuditEvent.objects.filter(action="view_image").count() == start

    # a site admin of the image's site is clinical staff too
    admin = make_user(role=Role.SITE_ADMIN, site=site)
    assert api_client(admin).get(f"/api/v1/images/{stack.id}/viewer/").status_code == 200


# --- the token is nginx secure_link's --------------------------------------------------------------


@pytest.mark.parametrize("prefix,expires", [
    ("derived/1b4e28ba-2fa1-11d2-883f-0016d3cca427/6fa459ea-ee8a-3ca4-894e-db77e160355e/pyramid-0123456789ab",
     1_900_000_000),
    ("derived/00000000-0000-0000-0000-000000000000/ffffffff-ffff-ffff-ffff-ffffffffffff/pyramid-ffffffffffff", 1),
])
def test_token_is_nginx_secure_link_md5(settings, prefix, expires):
    settings.DERMRELAY_TILE_SECRET = "s3cr3t-for-the-test"
    # secure_link_md5 "$secure_link_expires$prefix $secret"; the link carries base64url without '='
    digest = hashlib.md5(f"{expires}{prefix} s3cr3t-for-the-test".encode()).digest()
    expected = base64.b64encode(digest).decode().replace("+", "-").replace("/", "_").rstrip("=")
    assert tile_token(prefix, expires) == expected
    assert len(expected) == 22 and "=" not in expected
    base, got_expires = tile_url_base(prefix, now=expires - settings.DERMRELAY_TILE_URL_SECONDS)
    assert (base, got_expires) == (f"/tiles/{expires}/{expected}/{prefix}", expires)
    settings.DERMRELAY_TILE_SECRET = "another-secret"
    assert tile_token(prefix, expires) != expected


def test_url_base_counts_the_lifetime_from_the_given_time(settings):
    prefix = "derived/00000000-0000-0000-0000-000000000000/ffffffff-ffff-ffff-ffff-ffffffffffff/pyramid-ffffffffffff"
    settings.DERMRELAY_TILE_URL_SECONDS = 600
    assert tile_url_base(prefix, now=1000.9)[1] == 1600
    assert tile_url_base(prefix, now=0)[1] == 600  # the epoch is a time too, not "now"
    before = int(time.time())
    assert before + 600 <= tile_url_base(prefix)[1] <= int(time.time()) + 600


def test_expiry_is_signed_as_written_like_nginx_does(settings):
    """nginx's secure_link hashes the expiry exactly as it appears in the URL; so does Django:
    a zero-padded expiry needs its own token."""
    from dermrelay.imaging.tiles import tile_token

    prefix = "derived/" + "1" * 36 + "/" + "2" * 36 + "/pyramid-0123456789ab"
    assert tile_token(prefix, "01790000000") != tile_token(prefix, 1790000000)
    padded = f"/tiles/01790000000/{tile_token(prefix, 1790000000)}/{prefix}/f0000.dzi"
    assert Client().get(padded).status_code == 403
