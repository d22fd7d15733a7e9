"""The browser app's shell: every page of the single-page app (worklist, case viewer) answers with
frontend/dist/index.html, whose scripts and styles whitenoise serves under /static/app/. The app
then talks only to the REST API with the session cookie and Django's CSRF token."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

# Scripts, styles, images and API calls from this origin only; inline style attributes are React's.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


@require_safe
@ensure_csrf_cookie
def app_shell(request, **_route):
    index = settings.FRONTEND_DIST / "index.html"
    if not index.is_file():
        return HttpResponse(
            "The browser app is not built. Run `make frontend` (or `make run`, which builds it), then reload.",
            status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(index.read_bytes(), content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Cache-Control"] = "no-cache"  # the shell names the current hashed bundles
    return response
