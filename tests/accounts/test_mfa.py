"""A second factor where a site asks for one: sign-in in two steps, enrolment before the first
session, recovery codes used once, device tokens only after the code, a policy change that signs
newly required staff out, and emergency access that is granted with a reason, single-use, ends
with its grant and marks every audit event of its session."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from dermrelay.accounts.models import BreakGlassGrant, DeviceToken, Role, Site
from dermrelay.audit.models import AuditEvent, AuditOutcome
from dermrelay.notifications.models import Notification
from tests.factories import PASSWORD, authenticator_code, make_site, make_user

pytestmark = pytest.mark.django_db

LOGIN, CODE, ME, TOKEN = "/api/v1/auth/login/", "/api/v1/auth/login/code/", "/api/v1/auth/me/", "/api/v1/auth/token/"
BEGIN, CONFIRM = "/api/v1/auth/mfa/authenticator/", "/api/v1/auth/mfa/authenticator/confirm/"


def password_step(user, client: APIClient | None = None) -> APIClient:
    client = client or APIClient()
    response = client.post(LOGIN, {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 202, response.content
    return client


def enrolled(user) -> list[str]:
    """The user sets an authenticator up while signed in; their recovery codes."""
    client = APIClient()
    client.force_login(user)
    assert client.post(BEGIN, {}, format="json").status_code == 200
    response = client.post(CONFIRM, {"code": authenticator_code(user)}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["recovery_codes"]


@pytest.fixture(autouse=True)
def _no_wait_between_codes(settings):
    """django-otp makes each wrong code double the wait for the next; the tests here type their
    codes faster than a person would, so only the test of that wait turns it on."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def site():
    return make_site(mfa_required_roles=[Role.READER, Role.SITE_ADMIN, Role.QA_ADMIN])


@pytest.fixture
def reader(site):
    return make_user(role=Role.READER, site=site)


@pytest.fixture
def admin(site):
    return make_user(role=Role.SITE_ADMIN, site=site)


def test_a_new_site_asks_readers_and_administrators_for_a_second_factor():
    site = Site.objects.create(name="New clinic", code="new-clinic")
    assert sorted(site.mfa_required_roles) == sorted([Role.READER, Role.SITE_ADMIN, Role.QA_ADMIN])


def test_a_required_role_sets_an_authenticator_up_before_its_first_session(reader):
    client = password_step(reader)
    assert client.get(ME).status_code in (401, 403)  # the password alone signed nothing in
    setup = client.post(BEGIN, {}, format="json").json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/DermRelay%3A") and setup["qr_code"].startswith("data:image/svg+xml")
    assert len(setup["secret"]) >= 16
    wrong = client.post(CONFIRM, {"code": "000000"}, format="json")
    assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_code"
    done = client.post(CONFIRM, {"code": authenticator_code(reader)}, format="json")
    assert done.status_code == 200, done.content
    codes = done.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    me = client.get(ME).json()
    assert me["username"] == reader.username and me["mfa"]["enrolled"] and me["mfa"]["recovery_codes_left"] == 10
    assert AuditEvent.objects.filter(action="mfa_enrol", actor=reader).exists()
    assert AuditEvent.objects.filter(action="login", actor=reader, detail__second_factor="totp").exists()


def test_someone_not_required_signs_in_with_the_password_alone():
    technician = make_user(role=Role.TECHNICIAN, site=make_site(mfa_required_roles=[Role.READER]))
    response = APIClient().post(LOGIN, {"username": technician.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200 and response.json()["mfa"] == {
        "enrolled": False, "required": False, "recovery_codes_left": 0, "break_glass_until": None}


def test_an_enrolled_user_signs_in_with_the_code_and_a_code_works_once(reader):
    enrolled(reader)
    client = password_step(reader)
    refused = client.post(CODE, {"code": "123456" if authenticator_code(reader) != "123456" else "654321"}, format="json")
    assert refused.status_code == 401
    code = authenticator_code(reader)
    assert client.post(CODE, {"code": code}, format="json").status_code == 200
    assert client.get(ME).status_code == 200
    again = password_step(reader)
    assert again.post(CODE, {"code": code}, format="json").status_code == 401  # the same code, replayed


def test_a_recovery_code_signs_in_once(reader):
    recovery = enrolled(reader)[0]
    assert password_step(reader).post(CODE, {"code": recovery.upper()}, format="json").status_code == 200
    assert password_step(reader).post(CODE, {"code": recovery}, format="json").status_code == 401
    assert AuditEvent.objects.filter(action="login", actor=reader, detail__second_factor="recovery_code").count() == 1


def test_five_wrong_codes_end_the_pending_sign_in(reader):
    enrolled(reader)
    client = password_step(reader)
    for _ in range(5):
        assert client.post(CODE, {"code": "wrong-code"}, format="json").status_code == 401
    late = client.post(CODE, {"code": authenticator_code(reader)}, format="json")
    assert late.status_code == 400 and late.json()["code"] == "no_pending_sign_in"


def test_after_a_wrong_code_the_authenticator_makes_the_next_one_wait(reader, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 600  # ten minutes after one wrong code: no test machine is that slow
    enrolled(reader)
    client = password_step(reader)
    assert client.post(CODE, {"code": "000001"}, format="json").status_code == 401
    waiting = client.post(CODE, {"code": authenticator_code(reader)}, format="json")
    assert waiting.status_code == 429 and waiting.json()["code"] == "mfa_wait"
    assert AuditEvent.objects.filter(action="login", outcome=AuditOutcome.DENIED, detail__reason="wrong_code").count() == 2


def test_a_device_token_needs_the_code_of_an_enrolled_user_and_enrolment_first_where_required(reader):
    body = {"username": reader.username, "password": PASSWORD, "name": "VivaScope 2"}
    refused = APIClient().post(TOKEN, body, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "mfa_enrolment_required"
    enrolled(reader)
    missing = APIClient().post(TOKEN, body, format="json")
    assert missing.status_code in (401, 403) and missing.json()["code"] == "mfa_code_required"
    issued = APIClient().post(TOKEN, {**body, "code": authenticator_code(reader)}, format="json")
    assert issued.status_code == 201 and issued.json()["second_factor"] == "totp"


def test_turning_the_policy_on_signs_newly_required_staff_out_and_revokes_their_tokens(site, admin):
    technician = make_user(role=Role.TECHNICIAN, site=site)
    session = APIClient()
    assert session.post(LOGIN, {"username": technician.username, "password": PASSWORD}, format="json").status_code == 200
    token = APIClient().post(TOKEN, {"username": technician.username, "password": PASSWORD}, format="json").json()["token"]
    others = APIClient()
    others.force_login(make_user(role=Role.TECHNICIAN, site=make_site()))

    admin_client = APIClient()
    admin_client.force_login(admin)
    url = f"/api/v1/sites/{site.id}/security-policy/"
    assert others.put(url, {"mfa_required_roles": []}, format="json").status_code == 404  # another site's
    changed = admin_client.put(url, {"mfa_required_roles": [Role.TECHNICIAN, Role.READER, Role.SITE_ADMIN]}, format="json")
    assert changed.status_code == 200, changed.content
    staff = {person["username"]: person for person in changed.json()["staff"]}
    assert staff[technician.username]["mfa_required_here"] and not staff[technician.username]["mfa_enrolled"]

    assert session.get(ME).status_code in (401, 403)  # the session that started with the password alone ended
    assert APIClient(HTTP_AUTHORIZATION=f"Token {token}").get(ME).status_code == 401
    assert DeviceToken.objects.get(user=technician).revoked_at is not None
    event = AuditEvent.objects.get(action="update_security_policy")
    assert event.detail["signed_out_users"] == [technician.id] and event.detail["revoked_device_tokens"] == 1
    assert sorted(event.detail["mfa_required_roles"]["before"]) == sorted([Role.READER, Role.SITE_ADMIN, Role.QA_ADMIN])

    as_technician = APIClient()
    technician.refresh_from_db()  # its new security stamp
    as_technician.force_login(technician)
    assert as_technician.put(url, {"mfa_required_roles": []}, format="json").status_code == 403
    assert admin_client.put(url, {"mfa_required_roles": ["janitor"]}, format="json").status_code == 400


def test_removing_the_second_factor_is_refused_while_a_site_requires_it(reader):
    enrolled(reader)
    client = APIClient()
    client.force_login(reader)
    refused = client.post("/api/v1/auth/mfa/remove/", {"password": PASSWORD}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "mfa_required_by_policy"
    assert TOTPDevice.objects.filter(user=reader, confirmed=True).exists()


def test_replacing_an_authenticator_needs_the_password_and_new_recovery_codes_need_the_code(reader):
    old_codes = enrolled(reader)
    client = APIClient()
    client.force_login(reader)
    assert client.post(BEGIN, {"password": "not-mine"}, format="json").status_code == 401
    assert client.post(BEGIN, {"password": PASSWORD}, format="json").status_code == 200
    assert client.post("/api/v1/auth/mfa/recovery-codes/", {"code": old_codes[0]}, format="json").status_code == 400
    fresh = client.post("/api/v1/auth/mfa/recovery-codes/", {"code": authenticator_code(reader)}, format="json")
    assert fresh.status_code == 400  # the newest device is the unconfirmed replacement: its code is not the app's yet
    TOTPDevice.objects.filter(user=reader, confirmed=False).delete()
    fresh = client.post("/api/v1/auth/mfa/recovery-codes/", {"code": authenticator_code(reader)}, format="json")
    assert fresh.status_code == 200 and not set(fresh.json()["recovery_codes"]) & set(old_codes)
    assert password_step(reader).post(CODE, {"code": old_codes[1]}, format="json").status_code == 401


def test_emergency_access_is_granted_with_a_reason_used_once_loud_and_ends_with_its_grant(site, admin, reader):
    qa = make_user(role=Role.QA_ADMIN, site=site)
    admin_client = APIClient()
    admin_client.force_login(admin)
    url = f"/api/v1/sites/{site.id}/break-glass/"
    assert admin_client.post(url, {"user": reader.id, "reason": "urgent", "minutes": 60}, format="json").status_code == 400
    assert admin_client.post(url, {"user": admin.id, "reason": "I lost my phone today", "minutes": 60},
                             format="json").json()["code"] == "own_grant"
    assert admin_client.post(url, {"user": reader.id, "reason": "Phone lost, on call tonight", "minutes": 10_000},
                             format="json").status_code == 400
    granted = admin_client.post(url, {"user": reader.id, "reason": "Phone lost, on call tonight", "minutes": 60},
                                format="json")
    assert granted.status_code == 201, granted.content
    code = granted.json()["code"]
    assert Notification.objects.filter(user=qa, kind="emergency_access").count() == 1

    client = password_step(reader)  # not enrolled: the policy asks for enrolment, or an emergency code
    assert client.post(CODE, {"code": code.upper()}, format="json").status_code == 200
    me = client.get(ME).json()
    assert me["mfa"]["break_glass_until"] is not None
    assert Notification.objects.filter(user=qa, kind="emergency_access").count() == 2
    assert Notification.objects.filter(user=admin, kind="emergency_access").count() == 2
    client.get("/api/v1/notifications/")
    marked = AuditEvent.objects.filter(actor=reader, detail__break_glass=granted.json()["id"])
    assert marked.filter(action="login").exists() and marked.filter(action="list").exists()
    assert AuditEvent.objects.get(action="break_glass_use").detail["grant"] == granted.json()["id"]

    assert password_step(reader).post(CODE, {"code": code}, format="json").status_code == 401  # single use
    grant = BreakGlassGrant.objects.get()
    assert admin_client.post(f"{url}{grant.id}/revoke/").status_code == 200
    assert client.get(ME).status_code in (401, 403)  # the emergency session ended with its grant
    listed = admin_client.get(url).json()
    assert listed[0]["used_at"] and listed[0]["revoked_at"] and listed[0]["reason"] == "Phone lost, on call tonight"


def test_an_expired_emergency_code_signs_nobody_in(site, admin, reader):
    admin_client = APIClient()
    admin_client.force_login(admin)
    code = admin_client.post(f"/api/v1/sites/{site.id}/break-glass/",
                             {"user": reader.id, "reason": "Phone lost, on call tonight", "minutes": 5}, format="json").json()["code"]
    BreakGlassGrant.objects.update(expires_at=timezone.now())
    assert password_step(reader).post(CODE, {"code": code}, format="json").status_code == 401


def test_the_operator_grants_emergency_access_from_the_command_line(site, admin, reader, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("break_glass", reader.username, reason="short", minutes=30)
    call_command("break_glass", reader.username, reason="Site admin unreachable, reader on call", minutes=30)
    code = capsys.readouterr().out.rsplit(" ", 1)[-1].strip()
    assert password_step(reader).post(CODE, {"code": code}, format="json").status_code == 200
    grant = BreakGlassGrant.objects.get()
    assert grant.granted_by is None and grant.granted_by_username == "operator"
    assert Notification.objects.filter(user=admin, kind="emergency_access").count() == 2


def test_the_django_admin_asks_a_superuser_for_the_authenticators_code_too(client):
    from dermrelay.accounts.models import User

    ops = User.objects.create_superuser(username="ops-admin", password=PASSWORD)
    form = {"username": ops.username, "password": PASSWORD, "next": "/admin/"}
    refused = client.post("/admin/login/?next=/admin/", form)
    assert refused.status_code == 200 and client.get("/admin/").status_code == 302  # the password alone: no admin

    enrolled(ops)
    device = TOTPDevice.objects.get(user=ops, confirmed=True)
    chosen = client.post("/admin/login/?next=/admin/", form)  # the form comes back listing the user's devices
    assert device.persistent_id in chosen.content.decode() and client.get("/admin/").status_code == 302
    signed_in = client.post("/admin/login/?next=/admin/", {**form, "otp_device": device.persistent_id,
                                                             "otp_token": authenticator_code(ops)})
    assert signed_in.status_code == 302, signed_in.content[:500]
    assert client.get("/admin/").status_code == 200
