"""The REST API as a clinic uses it: create, filter, paginate, validate, and its documentation."""

from __future__ import annotations

import pytest

from dermrelay.accounts.models import Role
from tests.factories import api_client, make_case, make_patient, make_site, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    return site, tech, api_client(tech)


def test_a_clinic_records_patient_lesion_and_case(clinic):
    site, tech, client = clinic
    patient = client.post("/api/v1/patients/", {
        "site": str(site.id), "mrn": "A-77", "given_name": "Eve", "family_name": "Lopez", "birth_date": "1970-02-03",
    }, format="json")
    assert patient.status_code == 201, patient.content
    lesion = client.post("/api/v1/lesions/", {
        "patient": patient.json()["id"], "label": "L2", "anatom_site_general": "upper extremity",
        "anatom_site": "Upper extremity:Upper arm", "location_note": "lateral, 4 cm above elbow",
    }, format="json")
    assert lesion.status_code == 201, lesion.content
    case = client.post("/api/v1/cases/", {
        "lesion": lesion.json()["id"], "visit_date": "2026-11-20", "technician": tech.id, "device": "VivaScope 3000",
    }, format="json")
    assert case.status_code == 201, case.content
    body = case.json()
    assert (body["status"], body["site"], body["patient"], body["image_count"]) == ("draft", str(site.id), patient.json()["id"], 0)


def test_validation_errors_name_the_fields(clinic):
    site, tech, client = clinic
    patient = make_patient(site=site, actor=tech)
    duplicate = client.post("/api/v1/patients/", {
        "site": str(site.id), "mrn": patient.mrn, "given_name": "X", "family_name": "Y"}, format="json")
    assert duplicate.status_code == 400 and duplicate.json()["code"] == "invalid"
    bad_site = client.post("/api/v1/lesions/", {
        "patient": str(patient.id), "anatom_site": "Elbow of the moon"}, format="json")
    assert bad_site.status_code == 400 and "anatom_site" in bad_site.json()["fields"]
    other_site_technician = make_user(role=Role.TECHNICIAN, site=make_site())
    lesion = client.post("/api/v1/lesions/", {"patient": str(patient.id)}, format="json").json()
    case = client.post("/api/v1/cases/", {
        "lesion": lesion["id"], "visit_date": "2026-11-20", "technician": other_site_technician.id}, format="json")
    assert case.status_code == 400 and "technician" in case.json()["fields"]


def test_filtering_ordering_and_pagination(clinic):
    site, tech, client = clinic
    cases = [make_case(site=site, actor=tech) for _ in range(3)]
    page = client.get("/api/v1/cases/", {"page_size": 2, "ordering": "created_at"}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert [r["id"] for r in page["results"]] == [str(c.id) for c in cases[:2]]
    by_patient = client.get("/api/v1/cases/", {"patient": str(cases[1].lesion.patient_id)}).json()
    assert [r["id"] for r in by_patient["results"]] == [str(cases[1].id)]
    assert client.get("/api/v1/cases/", {"status": "signed"}).json()["count"] == 0
    mrn = cases[2].lesion.patient.mrn
    assert [r["mrn"] for r in client.get("/api/v1/patients/", {"mrn": mrn}).json()["results"]] == [mrn]


def test_openapi_schema_and_docs_are_served(clinic):
    _, _, client = clinic
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    spec = schema.json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/cases/{id}/images/" in spec["paths"] and "/api/v1/images/{id}/file/" in spec["paths"]
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content


def test_health_check_needs_no_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
