"""Sessions started with emergency access (accounts/break_glass.py): each request checks the grant
still holds, ends the session the moment it is revoked or over, and marks the request's audit events."""

from __future__ import annotations

from django.contrib.auth import logout

from dermrelay.audit.middleware import break_glass_var

from .break_glass import SESSION_KEY, break_glass_session_grant


class BreakGlassSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        grant_id = request.session.get(SESSION_KEY) if request.COOKIES else None
        if not grant_id:
            return self.get_response(request)
        if break_glass_session_grant(grant_id=grant_id) is None:
            logout(request)
            return self.get_response(request)
        token = break_glass_var.set(str(grant_id))
        try:
            return self.get_response(request)
        finally:
            break_glass_var.reset(token)
