"""Who is on the other end of a request: the client address that rate limits, account lockout and
the audit trail all use, so a header the client writes itself can never change it.

Behind N trusted proxies (nginx appends the address it saw to X-Forwarded-For), the client is the
Nth address from the right; everything to its left is whatever the client sent. With no proxy
(embedded mode, gunicorn answering directly) the header is ignored altogether.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address, as the nearest trusted proxy saw it (REMOTE_ADDR without proxies)."""
    direct = request.META.get("REMOTE_ADDR") or None
    proxies = settings.DERMRELAY_NUM_PROXIES
    if proxies <= 0:
        return direct
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:  # fewer hops than proxies: the request did not come through them
        return direct
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return direct
