"""A second factor in the browser, as a clinic's staff meet it: a reader whose site requires one
sets an authenticator up at their first sign-in (QR code, secret, one code, recovery codes) and
signs in with its code afterwards; the site admin sees who has one, and gives a colleague without
one emergency access, which signs them in under a banner and is listed for the admins."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dermrelay.accounts.models import BreakGlassGrant, Role
from dermrelay.audit.models import AuditEvent
from tests.e2e.conftest import sign_in, sign_out
from tests.factories import PASSWORD, authenticator_code, make_site, make_user

pytestmark = [pytest.mark.browser]


def _password(page, username: str) -> None:
    page.goto("/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_enrol_at_first_sign_in_then_sign_in_with_the_code_and_emergency_access(page, live_server, transactional_db):
    site = make_site(mfa_required_roles=[Role.READER])
    reader = make_user(role=Role.READER, site=site)
    colleague = make_user(role=Role.READER, site=site)
    admin = make_user(role=Role.SITE_ADMIN, site=site)

    _password(page, reader.username)
    expect(page.get_by_text("Your role at your clinic requires a second factor")).to_be_visible()
    expect(page.get_by_alt_text("QR code for the authenticator app")).to_be_visible()
    secret = page.get_by_test_id("authenticator-secret").inner_text()
    page.screenshot(path="/tmp/mfa-enrol.png", full_page=True)
    page.get_by_label("Code from the app").fill(authenticator_code(reader, secret=secret))
    page.get_by_role("button", name="Confirm").click()
    codes = page.get_by_test_id("recovery-codes").locator("li")
    expect(codes).to_have_count(10)
    page.get_by_role("button", name="I have saved them").click()
    expect(page.get_by_test_id("who")).to_be_visible()
    page.get_by_role("link", name="Security").click()
    expect(page.get_by_test_id("mfa-state")).to_have_attribute("data-enrolled", "true")
    expect(page.get_by_role("button", name="Remove")).to_be_disabled()  # the site requires it
    sign_out(page)

    _password(page, reader.username)
    page.get_by_label("Code", exact=True).fill(authenticator_code(reader))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("who")).to_be_visible()
    sign_out(page)

    sign_in(page, admin.username, PASSWORD)  # administrators are not required at this site
    page.get_by_role("link", name="Site admin").click()
    expect(page.locator(f'[data-testid="staff-mfa"][data-username="{reader.username}"]')).to_contain_text("set up")
    expect(page.locator(f'[data-testid="staff-mfa"][data-username="{colleague.username}"]')).to_contain_text(
        "required, not set up")
    panel = page.get_by_test_id("break-glass")
    panel.get_by_label("Staff member").select_option(str(colleague.id))
    panel.get_by_label("For (minutes)").fill("30")
    panel.get_by_label("Reason").fill("Phone lost, on call for tonight's clinic")
    panel.get_by_role("button", name="Grant emergency access").click()
    code = page.get_by_test_id("break-glass-code").locator("code").inner_text()
    expect(page.get_by_test_id("break-glass-grant")).to_contain_text("not used yet")
    page.screenshot(path="/tmp/mfa-break-glass.png", full_page=True)
    sign_out(page)

    _password(page, colleague.username)
    page.get_by_role("button", name="I have an emergency code from my site administrator").click()
    page.get_by_label("Emergency code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("break-glass-banner")).to_contain_text("Emergency access without a second factor")
    page.screenshot(path="/tmp/mfa-emergency-session.png", full_page=True)
    grant = BreakGlassGrant.objects.get()
    assert grant.used_at is not None
    assert AuditEvent.objects.filter(actor=colleague, action="login", detail__break_glass=str(grant.id)).exists()
    expect(page).to_have_url(re.compile("/worklist$"))
