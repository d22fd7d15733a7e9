"""Browser tests: the built app (frontend/dist) in Debian's Chromium, driven by Playwright, against
pytest-django's live server on this suite's database, with a real Celery worker for the analyses.
Playwright is never asked to download a browser: it launches the system's Chromium."""

from __future__ import annotations

import os

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


@pytest.fixture
def page(chromium, live_server, tmp_path):
    """A fresh browser context (no cookies) at the reader's smallest supported screen, 1366x768."""
    context = chromium.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True,
                                   base_url=live_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(30_000)
    yield page
    shots = os.environ.get("DERMRELAY_SCREENSHOT_DIR")
    if shots:
        page.screenshot(path=f"{shots}/last-{os.getpid()}.png")
    context.close()
    assert not errors, f"the page raised: {errors}"


def sign_in(page, username: str, password: str) -> None:
    page.goto("/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("who").wait_for()
