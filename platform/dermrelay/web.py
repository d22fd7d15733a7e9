"""The browser app's shell: every page of the single-page app (worklist, case viewer) answers with
frontend/dist/index.html, whose scripts and styles whitenoise serves under /static/app/. The app
then talks only to the REST API with the session cookie and Django's CSRF token."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

@require_safe
@ensure_csrf_cookie
def app_shell(request, **_route):
    index = settings.FRONTEND_DIST / "index.html"
    if not index.is_file():
        return HttpResponse(
            "The browser app is not built. Run `make frontend` (or `make run`, which builds it), then reload.",
            status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(index.read_bytes(), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-cache"  # the shell names the current hashed bundles
    return response


# Errors Django answers itself (no DRF view was reached, or a view crashed): JSON in the API's one
# error format under /api/, Django's plain pages elsewhere. Never a debug page: DEBUG is off by default.

def _api_error(request, *, status: int, detail: str, code: str) -> JsonResponse | None:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": detail, "code": code}, status=status)
    return None


def bad_request(request, exception=None):
    return (_api_error(request, status=400, detail="The request is malformed.", code="bad_request")
            or defaults.bad_request(request, exception))


def permission_denied(request, exception=None):
    return (_api_error(request, status=403, detail="You do not have permission to perform this action.",
                       code="permission_denied")
            or defaults.permission_denied(request, exception))


def page_not_found(request, exception=None):
    return (_api_error(request, status=404, detail="No API operation has this address.", code="not_found")
            or defaults.page_not_found(request, exception))


def server_error(request):
    """The error is logged with its traceback (django.request); the answer says only that it happened."""
    return (_api_error(request, status=500, detail="The server could not answer this request; the error is logged.",
                       code="server_error")
            or defaults.server_error(request))
