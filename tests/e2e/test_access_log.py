"""A site administrator, as the clinic's privacy officer, finds a patient and reads who saw their
images, in the browser, then downloads the log."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dermrelay.accounts.models import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, api_client, make_case, make_site, make_user, png_bytes, upload

pytestmark = [pytest.mark.browser]


def test_the_privacy_officer_reads_who_saw_a_patients_images(page, transactional_db, tmp_path):
    site = make_site()
    admin = make_user(role=Role.SITE_ADMIN, site=site)
    technician = make_user(role=Role.TECHNICIAN, site=site)
    case = make_case(site=site, actor=technician)
    client = api_client(technician)
    image = upload(client, case, png_bytes(64, 48, color=70)).json()["id"]
    assert client.get(f"/api/v1/images/{image}/file/").status_code == 200
    patient = case.lesion.patient

    sign_in(page, admin.username, PASSWORD)
    page.get_by_role("link", name="Site admin").click()
    panel = page.get_by_role("region", name="Patient access log")
    panel.get_by_label("Patient MRN or name").fill(patient.mrn)
    panel.get_by_role("button", name="Find").click()
    panel.get_by_role("button", name=re.compile(re.escape(patient.mrn))).click()
    log = page.get_by_test_id("access-log")
    expect(log).to_contain_text(f"about {patient.family_name}")
    download_row = page.get_by_test_id("access-event").filter(has_text="download")
    expect(download_row).to_have_count(1)
    expect(download_row).to_contain_text(technician.username)
    with page.expect_download() as event:
        log.get_by_role("link", name="download all as CSV").click()
    path = tmp_path / "log.csv"
    event.value.save_as(path)
    assert "download" in path.read_text() and technician.username in path.read_text()
    page.screenshot(path="/tmp/access-log.png", full_page=True)
