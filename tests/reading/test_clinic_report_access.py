"""The clinic reads its cases' signed reports (the report, its versions, the PDF) and never writes
them; another site's clinic sees none of it."""

from __future__ import annotations

import pytest

from dermrelay.accounts.models import Role
from dermrelay.audit.models import AuditEvent
from dermrelay.reading.models import Report, ReportVersion
from tests.factories import PASSWORD, api_client, make_site, make_user
from tests.reading.helpers import API, COMPLETE_REPORT, claimed_case, make_clinic

pytestmark = pytest.mark.django_db(transaction=True)


def signed(clinic):
    case = claimed_case(clinic)
    url = f"{API}/cases/{case.id}/report/"
    assert clinic.reader_client.put(url, COMPLETE_REPORT, format="json").status_code == 200
    response = clinic.reader_client.post(f"{url}sign/", {"password": PASSWORD}, format="json")
    assert response.status_code == 201, response.content
    return case, response.json()


def test_technicians_and_site_admins_read_the_signed_report_its_versions_and_pdf():
    clinic = make_clinic()
    case, version = signed(clinic)
    base = f"{API}/cases/{case.id}/report/"
    for user, client in ((clinic.tech, clinic.tech_client), (clinic.admin, clinic.admin_client)):
        report = client.get(base)
        assert report.status_code == 200, report.content
        body = report.json()
        assert (body["status"], body["diagnosis"], body["quality_frozen"]) == ("signed", "nv", True)
        versions = client.get(f"{base}versions/")
        assert versions.status_code == 200
        assert [v["content_sha256"] for v in versions.json()] == [version["content_sha256"]]
        assert versions.json()[0]["verifies"] is True
        pdf = client.get(f"{base}pdf/")
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-")
        for action in ("view_report", "view_report_versions", "download_report"):
            assert AuditEvent.objects.filter(actor=user, action=action, object_type="report").exists(), action
        row = client.get(f"{API}/cases/").json()["results"][0]
        assert row["report_status"] == "signed"


def test_the_clinic_never_writes_the_report():
    clinic = make_clinic()
    case, _ = signed(clinic)
    base = f"{API}/cases/{case.id}/report/"
    amendment = {**COMPLETE_REPORT, "diagnosis": "mel", "reason": "second look", "password": PASSWORD}
    for client in (clinic.tech_client, clinic.admin_client):
        response = client.put(base, {**COMPLETE_REPORT, "diagnosis": "bcc"}, format="json")
        assert response.status_code in (403, 409), response.content
        assert client.post(f"{base}sign/", {"password": PASSWORD}, format="json").status_code in (403, 409)
        response = client.post(f"{base}amend/", amendment, format="json")
        assert response.status_code == 403 and response.json()["code"] == "not_assigned_reader"
    report = Report.objects.get(case=case)
    assert (report.diagnosis, report.status, ReportVersion.objects.count()) == ("nv", "signed", 1)


def test_another_sites_clinic_sees_no_report():
    clinic = make_clinic()
    case, _ = signed(clinic)
    stranger = api_client(make_user(role=Role.SITE_ADMIN, site=make_site()))
    for path in ("", "versions/", "pdf/"):
        assert stranger.get(f"{API}/cases/{case.id}/report/{path}").status_code == 404


def test_the_clinic_does_not_read_a_draft_its_reader_may_still_change():
    clinic = make_clinic()
    case = claimed_case(clinic)
    url = f"{API}/cases/{case.id}/report/"
    assert clinic.reader_client.put(url, COMPLETE_REPORT, format="json").status_code == 200
    for client in (clinic.tech_client, clinic.admin_client):
        response = client.get(url)
        assert response.status_code == 404 and response.json()["code"] == "not_signed"
        assert "diagnosis" not in response.json()
    assert clinic.reader_client.get(url).status_code == 200  # the reader works on it
    assert clinic.reader_client.post(f"{url}sign/", {"password": PASSWORD}, format="json").status_code == 201
    assert clinic.tech_client.get(url).status_code == 200
