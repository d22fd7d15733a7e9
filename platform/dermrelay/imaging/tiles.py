"""Signed tile URLs: authorize once per image view, then serve tiles with no database work.

The viewer descriptor (an authorized, audited API call) returns a URL prefix carrying an expiry and
a token over the pyramid's storage prefix. Any server that knows the tile secret can check it: this
module in Django (embedded default, tests), or nginx's secure_link module in production, whose
`secure_link_md5 "$secure_link_expires$prefix $secret"` computes the same token (deploy/nginx.conf).
A pyramid's prefix is unique per derivation, so its tiles never change: they are cached as immutable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotModified, HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

TILE_PATH = re.compile(
    r"^(?:(?P<prefix>derived/[0-9a-f-]{36}/[0-9a-f-]{36}/pyramid-[0-9a-f]{12})/"
    r"(?P<file>f\d{4}(?:\.dzi|_files/\d{1,2}/\d{1,5}_\d{1,5}\.jpeg)|thumbnail\.jpg)"
    r"|(?P<overlay_prefix>overlays/[0-9a-f-]{36}/[0-9a-f-]{36}/(?:quality|projection|agreement|body_region)-[0-9a-f]{12})/"
    r"(?P<overlay_file>overlay(?:\.dzi|_files/\d{1,2}/\d{1,5}_\d{1,5}\.png)))$"
)
CONTENT_TYPES = {".jpeg": "image/jpeg", ".jpg": "image/jpeg", ".png": "image/png", ".dzi": "application/xml"}


def tile_token(prefix: str, expires: int | str) -> str:
    """base64url(md5(expires + prefix + ' ' + secret)): nginx secure_link's own format."""
    digest = hashlib.md5(f"{expires}{prefix} {settings.DERMRELAY_TILE_SECRET}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def tile_url_base(prefix: str, *, now: float | None = None) -> tuple[str, int]:
    """'/tiles/<expires>/<token>/<prefix>' and its expiry (unix seconds)."""
    expires = int((time.time() if now is None else now) + settings.DERMRELAY_TILE_URL_SECONDS)
    return f"/tiles/{expires}/{tile_token(prefix, expires)}/{prefix}", expires


@csrf_exempt  # GET and HEAD only; no session is involved
@require_safe
def tile_view(request, expires: str, token: str, path: str):
    """`expires` is checked as the text in the URL, as nginx's secure_link does."""
    match = TILE_PATH.match(path)
    if not match:
        raise Http404("no such tile")
    prefix = match.group("prefix") or match.group("overlay_prefix")
    file = match.group("file") or match.group("overlay_file")
    if not hmac.compare_digest(token.encode(), tile_token(prefix, expires).encode()):  # str: ASCII only
        return HttpResponse("invalid tile token", status=403, content_type="text/plain")
    if int(expires) < time.time():
        return HttpResponse("tile link expired: ask the viewer endpoint for a new one", status=410,
                            content_type="text/plain")
    key = f"{prefix}/{file}"
    if not isinstance(default_storage, FileSystemStorage):
        return HttpResponseRedirect(default_storage.url(key))  # a pre-signed object-storage URL
    try:
        handle = open(Path(default_storage.path(key)), "rb")
    except (FileNotFoundError, NotADirectoryError):
        raise Http404("no such tile") from None
    etag = '"' + hashlib.sha1(path.encode()).hexdigest() + '"'
    if request.headers.get("If-None-Match") == etag:
        handle.close()
        return HttpResponseNotModified(headers={"ETag": etag})
    response = FileResponse(handle, content_type=CONTENT_TYPES[Path(file).suffix])
    response["ETag"] = etag
    response["Cache-Control"] = f"private, max-age={settings.DERMRELAY_TILE_URL_SECONDS}, immutable"
    return response
