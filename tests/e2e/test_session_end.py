"""A session that ends while a page is open (signed out in another tab, or expired) brings the
sign-in form, not a page of failed requests; signing in again returns to the same page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dermrelay.accounts.models import Role
from tests.e2e.conftest import expect_console_error, sign_in
from tests.factories import PASSWORD, make_site, make_user

pytestmark = [pytest.mark.browser]


def test_a_session_ended_elsewhere_brings_the_sign_in_form_and_back(page, transactional_db):
    site = make_site()
    technician = make_user(role=Role.TECHNICIAN, site=site)
    sign_in(page, technician.username, PASSWORD)
    expect(page).to_have_url(re.compile("/clinic$"))

    # Another tab of the same browser signs out (the shared cookie's session ends on the server).
    other = page.context.new_page()
    other.goto("/")
    other.get_by_role("button", name="Sign out").click()
    expect(other.get_by_label("User name")).to_be_visible()
    other.close()

    # The first tab's next request is refused: the app shows the sign-in form at once.
    expect_console_error(page, status=401, path=r"/api/v1/cases/", why="the session ended in another tab")
    page.get_by_label("Search by MRN or patient name").fill("MRN")
    expect(page.get_by_label("User name")).to_be_visible()

    page.get_by_label("User name").fill(technician.username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("who")).to_be_visible()
    expect(page).to_have_url(re.compile("/clinic$"))
