"""Browser tests: the built app (frontend/dist) in Debian's Chromium, driven by Playwright, against
pytest-django's live server on this suite's database, with a real Celery worker for the analyses.
Playwright is never asked to download a browser: it launches the system's Chromium."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import pytest

from tests.conftest import CHROMIUM

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
# browser steps are still plain synchronous calls, so Django's async-safety guard is lifted here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-background-networking"])
        yield browser
        browser.close()


@dataclass(frozen=True)
class ExpectedConsoleError:
    """A console error the app causes on purpose and handles: Chromium logs every 4xx answer to a
    fetch as "Failed to load resource: ... status of N", whatever the app then does with it."""

    status: int
    path: str  # a regular expression matched against the failed request's path
    why: str

    def matches(self, text: str, url: str) -> bool:
        path = re.sub(r"^[a-z]+://[^/]+", "", url).split("?")[0]
        return f"status of {self.status} " in text and re.fullmatch(self.path, path) is not None


# The whole allow-list for every browser test. Anything else the console reports as an error (a
# React warning, a fetch the app did not expect to fail, an uncaught exception) fails the test.
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
EXPECTED_CONSOLE_ERRORS = (
    ExpectedConsoleError(401, r"/api/v1/auth/me/", "the app asks who is signed in before showing the sign-in page"),
    # Nothing else says whether a mosaic is registered or annotated, so the capture page and the
    # reader ask for the mosaic on screen: "none yet" is a 404 (not_registered, no_annotation).
    ExpectedConsoleError(404, rf"/api/v1/images/{UUID}/registration/", "the mosaic on screen is not registered yet"),
    ExpectedConsoleError(404, rf"/api/v1/images/{UUID}/expert-annotation/", "no expert annotation on the mosaic yet"),
)
_allowed: dict[int, list[ExpectedConsoleError]] = {}


def expect_console_error(page, *, status: int, path: str, why: str) -> None:
    """Allow, for this test's page only, a failed request the test provokes on purpose (a user
    opening another tenant's case is answered 404, and Chromium logs that answer)."""
    _allowed.setdefault(id(page), []).append(ExpectedConsoleError(status, path, why))


@pytest.fixture
def page(chromium, live_server, tmp_path):
    """A fresh browser context (no cookies) at the reader's smallest supported screen, 1366x768.
    It fails the test on an uncaught page error and on any console error not expected above.
    Sign-in rate counts start at zero (they live in the cache, which outlives a test)."""
    from django.core.cache import cache

    cache.clear()
    context = chromium.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True,
                                   base_url=live_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))

    def console(message) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        expected = EXPECTED_CONSOLE_ERRORS + tuple(_allowed.get(id(page), ()))
        if not any(allowed.matches(message.text, url) for allowed in expected):
            errors.append(f"console error at {page.url}: {message.text} ({url})")

    page.on("console", console)
    page.set_default_timeout(30_000)
    yield page
    shots = os.environ.get("DERMRELAY_SCREENSHOT_DIR")
    if shots:
        page.screenshot(path=f"{shots}/last-{os.getpid()}.png")
    context.close()
    _allowed.pop(id(page), None)
    assert not errors, "the page logged errors:\n" + "\n".join(errors)


def sign_out(page) -> None:
    """Sign out and wait for the sign-in form: only then has the platform ended the session, so a
    next sign-in cannot race a logout still in flight (its pages would meet 401s)."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("User name")).to_be_visible()


def sign_in(page, username: str, password: str) -> None:
    page.goto("/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("who").wait_for()
