"""Security headers on every response, not only on the app's page: the Content-Security-Policy
(django-csp), Permissions-Policy, Referrer-Policy, nosniff, no framing, a separate browsing context.
The browser tests (tests/e2e, whose `page` fixture fails on any console error) show that the policy
leaves every page of the app working."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import api_client, make_site, make_user

pytestmark = pytest.mark.django_db

TILE = "/tiles/1790000000/" + "A" * 22 + "/derived/" + "1" * 36 + "/" + "2" * 36 + "/pyramid-0123456789ab/f0000.dzi"


def _static_asset() -> str:
    assets = sorted((settings.FRONTEND_DIST / "assets").glob("*.js"))
    return f"/static/app/assets/{assets[0].name}" if assets else "/static/app/assets/missing.js"


def _directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part}


PAGES = {
    "the app's page": "/",
    "a deep link into the app": "/clinic/cases/123",
    "an API answer (not signed in)": "/api/v1/auth/me/",
    "an API address that does not exist": "/api/v1/no-such-thing/",
    "the health check": "/healthz",
    "the admin's sign-in page": "/admin/login/",
    "a tile with a wrong token": TILE,
    "a static script": _static_asset(),
}


@pytest.mark.parametrize("path", PAGES.values(), ids=PAGES.keys())
def test_every_response_carries_the_security_headers(path):
    response = Client().get(path)
    policy = _directives(response["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"] and policy["default-src"] == ["'self'"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


def test_a_signed_in_json_answer_carries_them_too():
    site = make_site()
    response = api_client(make_user(site=site)).get("/api/v1/sites/")
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_only_the_api_docs_widen_the_script_policy():
    """Swagger UI and Redoc start with an inline script of the library's own; nothing else may."""
    for path in ("/api/v1/docs/", "/api/v1/redoc/"):
        response = api_client(make_user(site=make_site())).get(path)
        assert response.status_code == 200, path
        assert "'unsafe-inline'" in _directives(response["Content-Security-Policy"])["script-src"], path
    app = _directives(Client().get("/")["Content-Security-Policy"])
    assert "'unsafe-inline'" not in app["script-src"]


def test_the_front_server_sends_the_same_headers_on_the_tiles_it_serves_itself():
    """nginx answers tile requests without Django (deploy/nginx.conf.template)."""
    template = (Path(settings.REPO_DIR) / "deploy" / "nginx.conf.template").read_text()
    tile_locations = re.findall(r'location ~ "\^/tiles/.+?\n        \}', template, flags=re.S)
    assert len(tile_locations) == 2
    for location in tile_locations:
        assert "add_header Content-Security-Policy \"default-src 'none'; frame-ancestors 'none'\" always;" in location
        assert "add_header X-Content-Type-Options nosniff always;" in location
        assert "add_header Referrer-Policy same-origin always;" in location
