"""The report: draft edits by the reader holding the case, the platform's quality block that the
reader cannot remove, signing with the password into an immutable version with a content hash,
amendments as new versions, and the PDF."""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
from PIL import Image as PILImage

from dermrelay.pipeline.steps import run_now
from dermrelay.audit.models import AuditEvent, AuditOutcome
from dermrelay.cases.models import Case, CaseStatus, Image
from dermrelay.reading.models import ImmutableError, Report, ReportVersion
from dermrelay.reading.pdf.key_images import for_paper, key_image
from inference.phantoms.generator import gate_phantom
from tests.gate.gate_cases import models_sync_quality_model_only, upload_phantom_case
from tests.factories import PASSWORD, make_case, make_queued_analysis_run
from tests.reading.helpers import (API, COMPLETE_REPORT, assign, claimed_case, make_clinic, pdf_page_count, pdf_text, pdf_words,
                                   ready_case, submit)

pytestmark = pytest.mark.django_db(transaction=True)


def canonical_sha256(content: dict) -> str:
    """The documented canonical form, computed here independently of the code under test."""
    raw = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()


def sign(client, case, password=PASSWORD):
    return client.post(f"{API}/cases/{case.id}/report/sign/", {"password": password}, format="json")


def signed_case(clinic):
    case = claimed_case(clinic)
    assert clinic.reader_client.put(f"{API}/cases/{case.id}/report/", COMPLETE_REPORT, format="json").status_code == 200
    response = sign(clinic.reader_client, case)
    assert response.status_code == 201, response.content
    return case, response.json()


# --------------------------------------------------------------------------- the draft


def test_the_draft_is_written_by_the_reader_holding_the_case_and_checked():
    clinic = make_clinic()
    case = ready_case(clinic)
    url = f"{API}/cases/{case.id}/report/"
    assert assign(clinic, case).status_code == 201
    response = clinic.reader_client.get(url)
    assert response.status_code == 404 and response.json()["code"] == "no_report"  # claim first
    assert clinic.reader_client.post(f"{API}/cases/{case.id}/claim/").status_code == 200

    response = clinic.reader_client.put(url, {"diagnosis": "other", "diagnosis_other": "Lentigo maligna"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["diagnosis"], body["diagnosis_other"]) == ("draft", "other", "Lentigo maligna")
    assert body["quality"]["state"] == "no_mosaics" and body["quality_frozen"] is False

    bad_bodies = [
        {"diagnosis": "mel", "diagnosis_other": "free text for a listed class"},
        {"management": "biopsy", "follow_up_months": 6},
        {"management": "follow_up", "follow_up_months": 0},
        {"diagnosis": "psoriasis"},
        {"management": "wait_and_see"},
    ]
    for bad in bad_bodies:
        response = clinic.reader_client.put(url, bad, format="json")
        assert response.status_code == 400, (bad, response.content)
    # the clinic does not write the report, and reads it only once signed
    response = clinic.tech_client.put(url, COMPLETE_REPORT, format="json")
    assert response.status_code == 403 and response.json()["code"] == "not_assigned_reader"
    assert clinic.tech_client.get(url).json()["code"] == "not_signed"
    report = Report.objects.get(case=case)
    assert (report.diagnosis, report.diagnosis_other, report.management) == ("other", "Lentigo maligna", "")
    assert AuditEvent.objects.filter(actor=clinic.reader, action="update", object_type="report").count() == 1

    # after release the draft is kept but cannot be written until claimed again
    assert clinic.reader_client.post(f"{API}/cases/{case.id}/release/").status_code == 200
    assert clinic.reader_client.put(url, COMPLETE_REPORT, format="json").status_code == 409
    assert Report.objects.get(case=case).diagnosis_other == "Lentigo maligna"


def test_the_quality_block_cannot_be_written_or_removed():
    clinic = make_clinic()
    case = claimed_case(clinic)
    url = f"{API}/cases/{case.id}/report/"
    for body in ({**COMPLETE_REPORT, "quality": None}, {**COMPLETE_REPORT, "quality": {"verdict": "acceptable"}},
                 {"model_findings": {}}):
        response = clinic.reader_client.put(url, body, format="json")
        assert response.status_code == 400, response.content
        assert set(response.json()["fields"]) & {"quality", "model_findings"}
    assert Report.objects.get(case=case).diagnosis == ""  # the refused request changed nothing
    assert clinic.reader_client.get(url).json()["quality"]["state"] == "no_mosaics"


# --------------------------------------------------------------------------- signing


def test_signing_needs_a_complete_report_and_the_right_password():
    clinic = make_clinic()
    case = claimed_case(clinic)
    client, url = clinic.reader_client, f"{API}/cases/{case.id}/report/"

    response = sign(client, case)
    assert response.status_code == 400 and {"diagnosis", "management"} <= set(response.json()["fields"])
    assert client.put(url, {**COMPLETE_REPORT, "follow_up_months": None}, format="json").status_code == 200
    response = sign(client, case)
    assert response.status_code == 400 and "follow_up_months" in response.json()["fields"]
    assert client.put(url, COMPLETE_REPORT, format="json").status_code == 200

    response = sign(client, case, password="not-my-password")
    assert response.status_code == 400
    assert response.json()["code"] == "wrong_password" and "password" in response.json()["detail"]
    assert not ReportVersion.objects.exists()
    assert Case.objects.get(pk=case.pk).status == CaseStatus.IN_READING
    refusal = AuditEvent.objects.get(actor=clinic.reader, action="sign_report", outcome=AuditOutcome.DENIED)
    assert refusal.detail["reason"] == "wrong_password"
    assert sign(client, case, password="").status_code == 400
    # someone else's password does not help anyone else sign
    assert sign(clinic.admin_client, case).status_code == 403

    response = sign(client, case)
    assert response.status_code == 201, response.content
    version = response.json()
    assert version["version"] == 1 and version["kind"] == "signature" and version["verifies"] is True
    stored = ReportVersion.objects.get()
    assert stored.content_sha256 == version["content_sha256"] == canonical_sha256(stored.content)
    assert canonical_sha256(version["content"]) == version["content_sha256"]  # what the API shows verifies too
    content = stored.content
    assert content["report"]["diagnosis"] == "nv" and content["report"]["follow_up_months"] == 6
    assert content["signed_by"]["id"] == clinic.reader.id and content["case"]["id"] == str(case.id)
    assert content["quality"]["state"] == "no_mosaics" and content["previous_sha256"] is None
    assert "model_findings" in content
    assert "Patient" not in json.dumps(content) and "MRN" not in json.dumps(content)  # no PHI in the header
    assert Case.objects.get(pk=case.pk).status == CaseStatus.SIGNED
    report = Report.objects.get(case=case)
    assert (report.status, report.current_version) == ("signed", 1) and report.signed_at is not None
    assert AuditEvent.objects.filter(actor=clinic.reader, action="sign", detail__sha256=stored.content_sha256).exists()


def test_a_signed_report_is_immutable():
    clinic = make_clinic()
    case, _ = signed_case(clinic)
    client, url = clinic.reader_client, f"{API}/cases/{case.id}/report/"
    response = client.put(url, {**COMPLETE_REPORT, "diagnosis": "mel"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "report_signed"
    assert sign(client, case).status_code == 409
    assert client.post(f"{API}/cases/{case.id}/release/").status_code == 409
    assert Report.objects.get(case=case).diagnosis == "nv"
    body = client.get(url).json()
    assert body["status"] == "signed" and body["quality_frozen"] is True and len(body["versions"]) == 1
    version = ReportVersion.objects.get()
    version.reason = "tampered"
    with pytest.raises(ImmutableError):
        version.save()
    with pytest.raises(ImmutableError):
        version.delete()


def test_an_amendment_needs_a_reason_and_the_password_and_adds_a_version():
    clinic = make_clinic()
    case, first = signed_case(clinic)
    client, url = clinic.reader_client, f"{API}/cases/{case.id}/report/amend/"
    changed = {**COMPLETE_REPORT, "diagnosis": "mel", "management": "excision", "follow_up_months": None}

    assert client.post(url, {**changed, "password": PASSWORD}, format="json").status_code == 400  # no reason
    assert client.post(url, {**changed, "reason": "   ", "password": PASSWORD}, format="json").status_code == 400
    response = client.post(url, {**changed, "reason": "Histology came back", "password": "wrong"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "wrong_password"
    assert AuditEvent.objects.filter(action="amend_report", outcome=AuditOutcome.DENIED).count() == 1
    response = client.post(url, {**COMPLETE_REPORT, "reason": "nothing", "password": PASSWORD}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "no_change"
    assert ReportVersion.objects.count() == 1

    response = client.post(url, {**changed, "reason": "Histology came back", "password": PASSWORD}, format="json")
    assert response.status_code == 201, response.content
    second = response.json()
    assert (second["version"], second["kind"], second["reason"]) == (2, "amendment", "Histology came back")
    assert second["content_sha256"] != first["content_sha256"]
    assert second["content"]["previous_sha256"] == first["content_sha256"]
    assert second["content"]["report"]["diagnosis"] == "mel"
    assert Case.objects.get(pk=case.pk).status == CaseStatus.AMENDED

    versions = client.get(f"{API}/cases/{case.id}/report/versions/").json()
    assert [v["version"] for v in versions] == [1, 2] and all(v["verifies"] for v in versions)
    assert versions[0]["content_sha256"] == first["content_sha256"]
    assert versions[0]["content"]["report"]["diagnosis"] == "nv"  # version 1 is kept as it was signed
    for v in versions:
        assert canonical_sha256(v["content"]) == v["content_sha256"]
    report = clinic.tech_client.get(f"{API}/cases/{case.id}/report/").json()
    assert (report["status"], report["current_version"], report["diagnosis"]) == ("amended", 2, "mel")
    # the report's signing time is the amendment's own; the first signature is kept apart
    assert (report["signed_at"], report["first_signed_at"]) == (second["signed_at"], first["signed_at"])

    third = client.post(url, {**changed, "comment": "Margins clear.", "reason": "Addendum", "password": PASSWORD},
                        format="json")
    assert third.status_code == 201 and third.json()["version"] == 3
    assert AuditEvent.objects.filter(actor=clinic.reader, action="amend").count() == 2


def test_a_draft_cannot_be_amended_and_only_its_reader_amends():
    clinic = make_clinic()
    case = claimed_case(clinic)
    url = f"{API}/cases/{case.id}/report/amend/"
    body = {**COMPLETE_REPORT, "reason": "r", "password": PASSWORD}
    response = clinic.reader_client.post(url, body, format="json")
    assert response.status_code == 409 and response.json()["code"] == "report_not_signed"
    assert clinic.admin_client.post(url, body, format="json").status_code == 403


# --------------------------------------------------------------------------- quality and PDF


def test_a_phantom_case_signs_with_its_quality_block_and_gives_a_pdf_with_the_hash_and_images():
    models_sync_quality_model_only()
    clinic = make_clinic()
    case = make_case(site=clinic.site, actor=clinic.tech)
    upload_phantom_case(clinic.tech_client, case, gate_phantom(seed=7, where="lesion", size_px=512))
    submit(clinic, case)
    assert assign(clinic, case).status_code == 201
    client = clinic.reader_client
    assert client.post(f"{API}/cases/{case.id}/claim/").status_code == 200
    live = client.get(f"{API}/cases/{case.id}/quality/").json()

    draft = client.get(f"{API}/cases/{case.id}/report/").json()
    quality = draft["quality"]
    (mosaic,) = quality["mosaics"]
    assert quality["verdict"] == live["verdict"] == "reimage"
    assert mosaic["percent_whole"] == live["mosaics"][0]["percent_whole"]
    assert mosaic["percent_lesion"] == live["mosaics"][0]["percent_lesion"] and mosaic["percent_lesion"] > 20
    assert mosaic["model"]["name"] == "rcm-quality-mednet" and mosaic["model"]["version"]
    response = client.put(f"{API}/cases/{case.id}/report/", {**COMPLETE_REPORT, "quality": None}, format="json")
    assert response.status_code == 400

    assert client.put(f"{API}/cases/{case.id}/report/", COMPLETE_REPORT, format="json").status_code == 200
    version = sign(client, case).json()
    frozen = version["content"]["quality"]
    assert frozen["verdict"] == "reimage" and frozen["mosaics"][0]["percent_lesion"] == mosaic["percent_lesion"]
    assert frozen["mosaics"][0]["model"] == mosaic["model"]
    interval = frozen["mosaics"][0]["interval_lesion"]  # the calibrated interval travels with the figure
    assert interval == live["mosaics"][0]["interval_lesion"] and interval["low"] <= mosaic["percent_lesion"] <= interval["high"]
    assert frozen["mosaics"][0]["interval_coverage"] == 0.95

    response = client.get(f"{API}/cases/{case.id}/report/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    data = response.content
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert pdf_page_count(data) >= 1
    text = pdf_text(data)
    assert version["content_sha256"].encode() in text
    assert str(case.id).encode() in text
    words = pdf_words(data)
    assert f"{mosaic['percent_lesion']:.1f} % ({interval['low']:.1f}–{interval['high']:.1f})" in words, words
    assert "In brackets: where the true % lies for 95% of mosaics" in words
    assert data.count(b"/Subtype /Image") >= 2  # the dermoscopy and the mosaic thumbnails
    assert AuditEvent.objects.filter(actor=clinic.reader, action="download_report", object_type="report").exists()
    # the key images carry their overlays: uninformative areas on the mosaic, the projection on the dermoscopy
    for image in Image.objects.filter(case=case):
        picture, note = key_image(image)
        with image.thumbnail.open("rb") as handle:
            plain = PILImage.open(io.BytesIO(handle.read())).convert("RGB")
        assert "Uninformative (model)" in note, note
        assert picture.size == plain.size
        assert np.abs(np.asarray(picture, np.int16) - np.asarray(plain, np.int16)).max() > 50  # drawn, not blank
    assert clinic.tech_client.get(f"{API}/cases/{case.id}/report/pdf/?version=1").status_code == 200
    assert client.get(f"{API}/cases/{case.id}/report/pdf/?version=2").status_code == 404
    assert client.get(f"{API}/cases/{case.id}/report/pdf/?version=x").status_code == 400


def test_signing_is_refused_while_a_quality_run_is_pending_and_allowed_once_it_is_judged():
    """The quality block must be final before a signature freezes it. The case is held 'pending' the
    cheap, honest way: its mosaic is uploaded before any model is registered (so the plan queues
    nothing), then a queued quality run is created as the plan would, and no worker runs it."""
    clinic = make_clinic()
    case = make_case(site=clinic.site, actor=clinic.tech)
    ids = upload_phantom_case(clinic.tech_client, case, gate_phantom(seed=7, where="lesion", size_px=512))
    submit(clinic, case)
    assert assign(clinic, case).status_code == 201
    client = clinic.reader_client
    assert client.post(f"{API}/cases/{case.id}/claim/").status_code == 200
    assert client.put(f"{API}/cases/{case.id}/report/", COMPLETE_REPORT, format="json").status_code == 200
    models_sync_quality_model_only()
    run = make_queued_analysis_run(image=Image.objects.get(pk=ids["mosaic"]))

    live = client.get(f"{API}/cases/{case.id}/quality/").json()
    assert live["state"] == "pending" and live["mosaics"][0]["state"] == "analysing", live
    assert client.get(f"{API}/cases/{case.id}/report/").json()["quality"]["state"] == "pending"
    response = sign(client, case)
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "quality_pending" and "quality analysis" in body["detail"] and "still running" in body["detail"]
    assert not ReportVersion.objects.exists()
    assert Report.objects.get(case=case).status == "draft"
    assert Case.objects.get(pk=case.pk).status == CaseStatus.IN_READING
    assert not AuditEvent.objects.filter(action="sign", object_type="report").exists()

    run_now(run=run)  # the worker's turn, in this process: the run finishes and the mosaic is judged
    assert client.get(f"{API}/cases/{case.id}/quality/").json()["state"] == "complete"
    response = sign(client, case)
    assert response.status_code == 201, response.content
    frozen = response.json()["content"]["quality"]
    assert frozen["state"] == "complete" and frozen["verdict"] == "reimage" and frozen["verdict_is_final"] is True


def test_printed_overlays_let_the_tissue_show_through_inside_a_solid_outline():
    """On paper there is no opacity slider: a region is filled at half its alpha (the tissue stays
    readable) and its border is opaque (the region stays findable)."""
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[10:30, 10:30] = (255, 64, 0, 255)  # an uninformative area
    rgba[30:36, 10:30] = (0, 170, 255, 64)  # a faint neighbouring area, as in the projection overlay
    printed = np.asarray(for_paper(PILImage.fromarray(rgba, "RGBA")))
    assert (printed[..., :3] == rgba[..., :3]).all()  # the legend's colours are kept
    assert printed[20, 20, 3] == 127 and printed[33, 20, 3] == 32  # filled at half their alpha
    for y, x in ((10, 20), (11, 20), (29, 20), (28, 20), (20, 10), (20, 29), (30, 20), (35, 20)):
        assert printed[y, x, 3] == 255, (y, x)  # the outline: two pixels inside each change of colour
    assert printed[0, 0, 3] == 0 and printed[9, 20, 3] == 0  # nothing drawn outside


def test_an_unsigned_report_has_no_pdf():
    clinic = make_clinic()
    case = claimed_case(clinic)
    response = clinic.reader_client.get(f"{API}/cases/{case.id}/report/pdf/")
    assert response.status_code == 404 and response.json()["code"] == "not_signed"


def test_the_database_itself_refuses_to_change_or_delete_a_signed_version():
    """On PostgreSQL and on SQLite (the embedded default) alike: a trigger, not only the model."""
    from django.db import DatabaseError, transaction

    clinic = make_clinic()
    signed_case(clinic)
    version = ReportVersion.objects.get()
    for attempt in (lambda: ReportVersion.objects.filter(pk=version.pk).update(reason="tampered"),
                    lambda: ReportVersion.objects.filter(pk=version.pk).delete()):
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
            attempt()
    assert ReportVersion.objects.get().reason == "" and canonical_sha256(version.content) == version.content_sha256
