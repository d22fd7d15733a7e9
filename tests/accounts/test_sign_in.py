"""Signing in as an attacker would try it: a forged X-Forwarded-For does not buy more guesses, the
guess counter is one for all web workers, an account locks after repeated wrong passwords (even
against the right one, until the cool-off), and another site's form cannot sign a browser in."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from dermrelay.accounts.api import LoginRateThrottle
from dermrelay.accounts.models import Role
from dermrelay.audit.models import AuditEvent, AuditOutcome
from tests.factories import PASSWORD, make_site, make_user

pytestmark = pytest.mark.django_db

LOGIN, TOKEN = "/api/v1/auth/login/", "/api/v1/auth/token/"


@pytest.fixture
def five_per_hour(settings):
    """A low login rate over a long window, so that no test depends on how fast the machine is."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": "5/hour"}}


@pytest.fixture
def technician():
    return make_user(role=Role.TECHNICIAN, site=make_site())


def _sign_in(username: str, password: str, *, endpoint: str = LOGIN, client: APIClient | None = None, **headers):
    return (client or APIClient()).post(endpoint, {"username": username, "password": password}, format="json", **headers)


def test_a_forged_forwarded_for_header_buys_no_more_guesses(five_per_hour, technician):
    """No proxy in front (embedded mode): the header is the client's own writing and is ignored."""
    for attempt in range(5):
        response = _sign_in(f"guess{attempt}", "wrong", HTTP_X_FORWARDED_FOR=f"10.0.{attempt}.1")
        assert response.status_code in (401, 403), response.content
    refused = _sign_in(technician.username, PASSWORD, HTTP_X_FORWARDED_FOR="10.99.99.99")
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    denied = AuditEvent.objects.filter(action="login", outcome=AuditOutcome.DENIED)
    assert denied.count() == 5 and set(denied.values_list("client_address", flat=True)) == {"127.0.0.1"}


def test_behind_a_proxy_the_client_is_the_address_the_proxy_appended(five_per_hour, settings, technician):
    settings.DERMRELAY_NUM_PROXIES = 1  # nginx appends what it saw; whatever comes before is the client's
    for attempt in range(5):
        forged_then_real = f"10.0.{attempt}.1, 203.0.113.7"
        assert _sign_in(f"guess{attempt}", "wrong", HTTP_X_FORWARDED_FOR=forged_then_real).status_code in (401, 403)
    assert _sign_in(technician.username, PASSWORD, HTTP_X_FORWARDED_FOR="10.1.1.1, 203.0.113.7").status_code == 429
    other_client = _sign_in(technician.username, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7, 198.51.100.4")
    assert other_client.status_code == 200, other_client.content
    assert AuditEvent.objects.filter(action="login", outcome=AuditOutcome.SUCCESS).get().client_address == "198.51.100.4"
    assert set(AuditEvent.objects.filter(outcome=AuditOutcome.DENIED).values_list("client_address", flat=True)) == {
        "203.0.113.7"}


@pytest.mark.parametrize("header", ["not-an-address", ""])
def test_an_unreadable_forwarded_address_falls_back_to_the_connection(settings, header):
    from dermrelay.network import client_address

    settings.DERMRELAY_NUM_PROXIES = 1
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=header, REMOTE_ADDR="192.0.2.9")
    assert client_address(request) == "192.0.2.9"


def test_the_guess_counter_is_shared_by_every_web_process(five_per_hour, settings):
    """Embedded mode runs several gunicorn workers: guesses counted in one must count in all
    (a per-process memory cache let 37 through at a limit of 20)."""
    script = (
        "import django; django.setup()\n"
        "from django.test import RequestFactory\n"
        "from dermrelay.accounts.api import LoginRateThrottle\n"
        "request = RequestFactory().post('/api/v1/auth/login/', REMOTE_ADDR='192.0.2.55')\n"
        "print([LoginRateThrottle().allow_request(request, None) for _ in range(5)])\n"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "dermrelay.settings", "DERMRELAY_VAR_DIR": str(settings.VAR_DIR),
                   "DERMRELAY_LOGIN_RATE": "5/hour", "PYTHONPATH": os.pathsep.join(["platform", "."])}
    other = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True,
                           cwd=django_settings.REPO_DIR, timeout=300)
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip().splitlines()[-1] == "[True, True, True, True, True]"
    request = RequestFactory().post(LOGIN, REMOTE_ADDR="192.0.2.55")
    assert LoginRateThrottle().allow_request(request, None) is False  # this process saw the other's five
    assert LoginRateThrottle().allow_request(RequestFactory().post(LOGIN, REMOTE_ADDR="192.0.2.56"), None) is True


def test_an_account_locks_after_ten_wrong_passwords_until_the_cool_off(technician):
    colleague = make_user(role=Role.TECHNICIAN, site=make_site())
    answers = [  # from ten addresses: the lock is the account's, not an address's
        _sign_in(technician.username, f"wrong{attempt}", client=APIClient(REMOTE_ADDR=f"192.0.2.{attempt + 1}"))
        for attempt in range(10)]
    assert [a.status_code for a in answers] == [401] * 9 + [429]  # the tenth wrong password locks
    assert answers[-1].json()["code"] == "account_locked"
    for endpoint in (LOGIN, TOKEN):  # the right password no longer opens it, by session or by token
        locked = _sign_in(technician.username, PASSWORD, endpoint=endpoint, client=APIClient(REMOTE_ADDR="198.51.100.1"))
        assert locked.status_code == 429 and locked.json()["code"] == "account_locked", locked.content
        assert int(locked["Retry-After"]) == 15 * 60 and "locked" in locked.json()["detail"]
    assert AuditEvent.objects.filter(action="login", detail__reason="locked_out").count() == 3
    assert _sign_in(colleague.username, PASSWORD).status_code == 200  # other accounts are not affected

    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=16))
    assert _sign_in(technician.username, PASSWORD).status_code == 200  # the cool-off has passed
    assert not AccessAttempt.objects.filter(username=technician.username, failures_since_start__gt=0).exists()


def test_another_sites_form_cannot_sign_a_browser_in(technician):
    """Login CSRF: without the token, no session is made, whatever the credentials."""
    browser = APIClient(enforce_csrf_checks=True)
    cross_site = browser.post(LOGIN, {"username": technician.username, "password": PASSWORD},
                              HTTP_ORIGIN="https://attacker.example", HTTP_REFERER="https://attacker.example/")
    assert cross_site.status_code == 403 and "csrf" in cross_site.json()["detail"].lower()
    assert "sessionid" not in browser.cookies and not Session.objects.exists()
    assert not AuditEvent.objects.filter(action="login", outcome=AuditOutcome.SUCCESS).exists()

    assert browser.get(LOGIN).status_code == 204  # the app's own page holds the cookie; so does GET
    signed_in = _sign_in(technician.username, PASSWORD, client=browser, HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)
    assert signed_in.status_code == 200 and Session.objects.count() == 1
