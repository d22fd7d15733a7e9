"""A technician signs a capture device in from the browser, the device uses its key, and the
technician revokes it from the same page: the device is signed out at once."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from dermrelay.accounts.models import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_site, make_user

pytestmark = [pytest.mark.browser]


def test_sign_a_device_in_use_its_key_then_revoke_it(page, live_server, transactional_db):
    technician = make_user(role=Role.TECHNICIAN, site=make_site())
    sign_in(page, technician.username, PASSWORD)
    page.get_by_role("link", name="Devices").click()
    expect(page).to_have_url(re.compile("/account/devices$"))
    expect(page.get_by_text("No device is signed in with your account.")).to_be_visible()

    page.get_by_label("Device name").fill("VivaScope, room 2")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Get a key").click()
    key = page.get_by_test_id("issued-token").locator("code").inner_text()
    assert key.startswith("drt_")
    row = page.get_by_test_id("device-token")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("VivaScope, room 2")
    expect(row).to_have_attribute("data-state", "active")

    device = {"Authorization": f"Token {key}"}
    assert requests.get(f"{live_server.url}/api/v1/auth/me/", headers=device, timeout=30).status_code == 200

    page.get_by_role("button", name="Done").click()
    page.reload()
    expect(page.get_by_test_id("device-token")).to_contain_text(re.compile(r"\d"))  # last used: a time, not "never"
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_test_id("device-token")).to_have_attribute("data-state", "revoked")
    assert requests.get(f"{live_server.url}/api/v1/auth/me/", headers=device, timeout=30).status_code == 401
    page.screenshot(path="/tmp/devices.png", full_page=True)
