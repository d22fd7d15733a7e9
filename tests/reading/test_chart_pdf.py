"""The report PDF as it is filed in a chart: the patient's identifiers (unless the site's report
policy leaves them out of its readers' copies), the clinical question, the quality block with each
mosaic's depth, the model findings with their confidence, and each version's own signing time,
read back with a PDF parser. And the report's signing times in the API."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest

from dermrelay.accounts.models import Role
from dermrelay.audit.models import AuditEvent
from dermrelay.cases import services as case_services
from dermrelay.cases.models import Case, ImageKind
from dermrelay.reading.models import ReportPolicy, ReportVersion
from dermrelay.reading.pdf.tables import finding_row
from tests.factories import PASSWORD, api_client, make_lesion, make_site, make_user, png_bytes, upload
from tests.reading.helpers import API, COMPLETE_REPORT, Clinic, assign, make_clinic, pdf_words, submit

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "melanoma? please assess the junction"
FIRST_SIGNED = datetime.datetime(2026, 11, 2, 9, 15, 7, tzinfo=datetime.UTC)
AMENDED = datetime.datetime(2026, 11, 5, 14, 2, 33, tzinfo=datetime.UTC)


def signed_and_amended(clinic: Clinic) -> Case:
    """A case of a named patient with a clinical question and two mosaics at recorded depths, signed
    at FIRST_SIGNED and amended at AMENDED by its reader."""
    patient = case_services.patient_create(actor=clinic.tech, site=clinic.site, mrn="MRN-PDF-4411",
                                           given_name="Grace", family_name="Hopperfield",
                                           birth_date=datetime.date(1961, 12, 9), sex="female")
    case = case_services.case_create(actor=clinic.tech, lesion=make_lesion(patient=patient, actor=clinic.tech),
                                     visit_date=datetime.date(2026, 11, 2), clinical_question=QUESTION, device="test")
    assert upload(clinic.tech_client, case, png_bytes(64, 48, mode="RGB", color=(170, 110, 90))).status_code == 201
    for depth_um, level, shade in ((60.0, "dej", 90), (95.5, "papillary_dermis", 120)):
        response = upload(clinic.tech_client, case, png_bytes(96, 72, color=shade), name="mosaic.png",
                          kind=ImageKind.RCM_MOSAIC, depth_level=level, depth_um=depth_um)
        assert response.status_code == 201, response.content
    submit(clinic, case)
    assert assign(clinic, case).status_code == 201
    client = clinic.reader_client
    assert client.post(f"{API}/cases/{case.id}/claim/").status_code == 200
    assert client.put(f"{API}/cases/{case.id}/report/", COMPLETE_REPORT, format="json").status_code == 200
    with mock.patch("dermrelay.reading.services.timezone.now", return_value=FIRST_SIGNED):
        response = client.post(f"{API}/cases/{case.id}/report/sign/", {"password": PASSWORD}, format="json")
    assert response.status_code == 201, response.content
    with mock.patch("dermrelay.reading.services.timezone.now", return_value=AMENDED):
        response = client.post(f"{API}/cases/{case.id}/report/amend/",
                               {**COMPLETE_REPORT, "diagnosis": "mel", "management": "excision", "follow_up_months": None,
                                "reason": "Atypical network on review", "password": PASSWORD}, format="json")
    assert response.status_code == 201, response.content
    return case


def test_the_chart_pdf_names_the_patient_asks_the_question_gives_depths_and_each_versions_time():
    clinic = make_clinic()
    case = signed_and_amended(clinic)

    # the API: the report's signing time is the current (amended) version's, the first one is kept apart
    report = clinic.reader_client.get(f"{API}/cases/{case.id}/report/").json()
    parse = lambda value: datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))  # noqa: E731
    assert parse(report["signed_at"]) == AMENDED and parse(report["first_signed_at"]) == FIRST_SIGNED
    assert [parse(v["signed_at"]) for v in report["versions"]] == [FIRST_SIGNED, AMENDED]
    versions = clinic.reader_client.get(f"{API}/cases/{case.id}/report/versions/").json()
    assert [parse(v["signed_at"]) for v in versions] == [FIRST_SIGNED, AMENDED]
    assert [v["content"]["signed_at"] for v in versions] == [FIRST_SIGNED.isoformat().replace("+00:00", "Z"),
                                                            AMENDED.isoformat().replace("+00:00", "Z")]
    assert versions[1]["content"]["case"]["clinical_question"] == QUESTION
    assert versions[1]["content"]["case"]["patient"] == {"age_years": 64, "sex": "female"}
    assert "MRN-PDF-4411" not in str(versions)  # the signed content never holds an identifier

    for client in (clinic.reader_client, clinic.tech_client):  # identifiers by default, for readers too
        response = client.get(f"{API}/cases/{case.id}/report/pdf/")
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        text = pdf_words(response.content)
        for expected in ("Hopperfield, Grace", "MRN-PDF-4411", "1961-12-09", "Female", "64 years", QUESTION,
                         "Dermal-epidermal junction", "60 µm", "Papillary dermis", "95.5 µm",
                         "2026-11-02 09:15:07 UTC", "2026-11-05 14:02:33 UTC", "Atypical network on review",
                         "Melanoma (mel)"):
            assert expected in text, (expected, text)
        assert "Superseded" not in text  # this is the latest version
    first = pdf_words(clinic.tech_client.get(f"{API}/cases/{case.id}/report/pdf/?version=1").content)
    assert "Melanocytic nevus (nv)" in first and "Superseded by version 2, signed 2026-11-05 14:02:33 UTC" in first
    assert "Signed at 2026-11-02 09:15:07 UTC" in first
    assert AuditEvent.objects.filter(actor=clinic.reader, action="download_report",
                                     detail__patient_identifiers=True).exists()


def test_the_site_policy_leaves_the_identifiers_out_of_its_readers_pdfs_only():
    clinic = make_clinic()
    case = signed_and_amended(clinic)
    url = f"{API}/sites/{clinic.site.id}/report-policy/"
    assert clinic.reader_client.get(url).json() == {"patient_identifiers_for_readers": True, "is_default": True,
                                                   "updated_at": None}
    response = clinic.admin_client.put(url, {"patient_identifiers_for_readers": False}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["patient_identifiers_for_readers"] is False and response.json()["is_default"] is False
    assert AuditEvent.objects.filter(actor=clinic.admin, action="update_report_policy",
                                     object_id=str(clinic.site.id)).count() == 1

    reader_copy = pdf_words(clinic.reader_client.get(f"{API}/cases/{case.id}/report/pdf/").content)
    for identifier in ("MRN-PDF-4411", "Hopperfield", "Grace", "1961-12-09"):
        assert identifier not in reader_copy, identifier
    for kept in ("Left out of this copy by the site's report policy", QUESTION, "64 years", "Female", "95.5 µm",
                 "2026-11-05 14:02:33 UTC"):
        assert kept in reader_copy, kept
    assert AuditEvent.objects.filter(actor=clinic.reader, action="download_report",
                                     detail__patient_identifiers=False).exists()
    clinic_copy = pdf_words(clinic.admin_client.get(f"{API}/cases/{case.id}/report/pdf/").content)
    assert "MRN-PDF-4411" in clinic_copy and "Hopperfield, Grace" in clinic_copy  # the clinic's own chart

    assert clinic.admin_client.put(url, {"patient_identifiers_for_readers": True}, format="json").status_code == 200
    assert "MRN-PDF-4411" in pdf_words(clinic.reader_client.get(f"{API}/cases/{case.id}/report/pdf/").content)


def test_only_the_sites_administrators_set_the_report_policy():
    clinic = make_clinic()
    url = f"{API}/sites/{clinic.site.id}/report-policy/"
    for client in (clinic.tech_client, clinic.reader_client):
        response = client.put(url, {"patient_identifiers_for_readers": False}, format="json")
        assert response.status_code == 403 and response.json()["code"] == "not_site_admin"
    stranger = api_client(make_user(role=Role.SITE_ADMIN, site=make_site()))
    assert stranger.get(url).status_code == 404
    assert stranger.put(url, {"patient_identifiers_for_readers": False}, format="json").status_code == 404
    for bad in ({}, {"patient_identifiers_for_readers": "perhaps"}, {"patient_identifiers_for_readers": None}):
        response = clinic.admin_client.put(url, bad, format="json")
        assert response.status_code == 400 and "patient_identifiers_for_readers" in response.json()["fields"], bad
    assert clinic.admin_client.get(f"{API}/sites/not-a-site/report-policy/").status_code == 404
    assert not ReportPolicy.objects.exists()


def test_a_model_finding_is_printed_with_its_confidence():
    entry = {"image_kind": "dermoscopy", "step": "diagnosis", "state": "succeeded", "confidence": 0.8123,
             "model": {"name": "dermoscopy-diagnosis-location", "version": "0.2.1"},
             "result": {"ranked": [{"label": "mel", "name": "Melanoma", "probability": 0.8123},
                                   {"label": "nv", "name": "Nevus", "probability": 0.15},
                                   {"label": "bkl", "name": "Benign keratosis", "probability": 0.02}],
                        "location": {"location": "back"}}}
    image, finding, result, confidence, model = finding_row(entry)
    assert (image, confidence, model) == ("Dermoscopy", "81 %", "dermoscopy-diagnosis-location 0.2.1")
    assert finding == "Diagnosis, image and body location"
    assert result == "Melanoma (then Nevus 15 %, Benign keratosis 2 %); body location given: back"
    failed = finding_row({"image_kind": "clinical", "step": "body_region", "state": "failed", "error": "no weights",
                          "model": {"name": "body-region", "version": "0.2.1"}})
    assert failed[2] == "failed (no weights)" and failed[3] == "—"
    assert ReportVersion.objects.count() == 0
