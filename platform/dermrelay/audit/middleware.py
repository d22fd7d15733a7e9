"""Makes the client address of the current request available to audit_record(), and the emergency
access grant its session was started with (accounts/break_glass.py), so every event names it."""

from __future__ import annotations

import contextvars

from dermrelay.network import client_address

client_address_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_address", default=None)
break_glass_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("break_glass", default=None)


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = client_address_var.set(client_address(request))
        try:
            return self.get_response(request)
        finally:
            client_address_var.reset(token)
