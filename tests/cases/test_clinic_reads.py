"""Small reads the clinic's capture pages need: the anatomic-site vocabulary, the case list's
summary fields (patient label for the clinic only, quality verdict, report status) in a bounded
number of queries, and patient search."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from dermrelay.accounts.models import Role
from dermrelay.cases import services
from dermrelay.cases.vocabulary import ANATOM_SITE_GENERAL_CHOICES, ANATOM_SITE_TERMS, anatom_site_general_of
from dermrelay.reading.models import Report, ReportStatus
from tests.factories import api_client, make_case, make_judged_mosaic, make_site, make_user
from tests.reading.helpers import assign, make_clinic, ready_case

pytestmark = pytest.mark.django_db

VOCABULARY = "/api/v1/vocabulary/anatom-sites/"


# --------------------------------------------------------------------------- vocabulary


def test_the_anatomic_site_vocabulary_is_grouped_for_a_body_picker():
    assert APIClient().get(VOCABULARY).status_code == 401
    reader = make_user(role=Role.READER, site=make_site())
    groups = api_client(reader).get(VOCABULARY).json()
    assert [g["general"] for g in groups] == [value for value, _ in ANATOM_SITE_GENERAL_CHOICES] + [""]
    values = [site["value"] for group in groups for site in group["sites"]]
    assert len(values) == len(set(values)) and set(values) == ANATOM_SITE_TERMS  # every term exactly once
    by_general = {g["general"]: g for g in groups}
    posterior = by_general["posterior torso"]
    assert posterior["label"] == "Posterior torso"
    assert posterior["sites"][0] == {"value": "Trunk:Posterior trunk", "label": "Posterior trunk",
                                     "path": ["Trunk", "Posterior trunk"], "depth": 2}
    assert {"value": "Trunk:Posterior trunk:Upper back", "label": "Upper back",
            "path": ["Trunk", "Posterior trunk", "Upper back"], "depth": 3} in posterior["sites"]
    palms = [s["value"] for s in by_general["palms/soles"]["sites"]]
    assert "Upper extremity:Hand:Palm of hand" in palms and "Lower extremity:Foot:Sole of foot" in palms
    assert "Upper extremity:Hand:Palm of hand" not in [s["value"] for s in by_general["upper extremity"]["sites"]]
    assert [s["value"] for s in by_general[""]["sites"]] == ["Trunk"]
    for group in groups:  # depth first: every term comes after its parent (when the parent is in the group)
        seen = set()
        for site in group["sites"]:
            parent = ":".join(site["path"][:-1])
            assert parent not in {s["value"] for s in group["sites"]} or parent in seen, site
            seen.add(site["value"])


@pytest.mark.parametrize(("term", "general"), [
    ("Head and neck:Head:Face:Cheek", "head/neck"), ("Head and neck:Head:Face:Mouth", "oral/genital"),
    ("Trunk:Lateral trunk:Axilla", "lateral torso"), ("Anogenital region", "oral/genital"),
    ("Lower extremity:Foot:Sole of foot:Arch of foot", "palms/soles"), ("Lower extremity:Foot:Toes", "lower extremity"),
    ("Trunk", ""),
])
def test_general_site_of_a_term(term, general):
    assert anatom_site_general_of(term) == general


# --------------------------------------------------------------------------- the case list


@pytest.mark.django_db(transaction=True)
def test_the_case_list_labels_patients_for_the_clinic_only():
    clinic = make_clinic()
    case = ready_case(clinic)
    assert assign(clinic, case).status_code == 201
    patient = case.lesion.patient
    row = clinic.tech_client.get("/api/v1/cases/").json()["results"][0]
    assert row["patient_label"] == f"{patient.family_name}, {patient.given_name} · {patient.mrn}"
    assert clinic.admin_client.get(f"/api/v1/cases/{case.id}/").json()["patient_label"] == row["patient_label"]
    reader_rows = clinic.reader_client.get("/api/v1/cases/").json()["results"]
    assert [r["id"] for r in reader_rows] == [str(case.id)]
    assert reader_rows[0]["patient_label"] is None
    reader_view = clinic.reader_client.get(f"/api/v1/cases/{case.id}/").json()
    assert reader_view["patient_label"] is None
    assert patient.mrn not in str(reader_view) and patient.family_name not in str(reader_view)


def test_the_case_list_carries_the_worst_current_verdict_and_the_report_status():
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    client = api_client(tech)
    clean = make_case(site=site, actor=tech)
    make_judged_mosaic(site=site, percent_whole=2.0, case=clean)
    mixed = make_case(site=site, actor=tech)
    make_judged_mosaic(site=site, percent_whole=12.0, case=mixed)  # review
    make_judged_mosaic(site=site, percent_whole=3.0, case=mixed)
    replaced = make_judged_mosaic(site=site, percent_whole=50.0, case=mixed)  # reimage, but replaced: history
    newer = make_judged_mosaic(site=site, percent_whole=1.0, case=mixed)
    replaced.image.replaced_by = newer.image
    replaced.image.save()
    bare = make_case(site=site, actor=tech)
    Report.objects.create(case=bare, author=make_user(role=Role.READER, site=site), status=ReportStatus.SIGNED)
    rows = {r["id"]: r for r in client.get("/api/v1/cases/").json()["results"]}
    assert rows[str(clean.id)]["quality_verdict"] == "acceptable"
    assert rows[str(mixed.id)]["quality_verdict"] == "review"
    assert rows[str(bare.id)]["quality_verdict"] is None
    assert rows[str(mixed.id)]["image_count"] == 3
    assert {r["report_status"] for r in (rows[str(clean.id)], rows[str(mixed.id)])} == {"none"}
    assert rows[str(bare.id)]["report_status"] == "signed"
    assert client.get(f"/api/v1/cases/{mixed.id}/").json()["quality_verdict"] == "review"
    # the answer to an update carries them too
    response = client.patch(f"/api/v1/cases/{mixed.id}/", {"device": "VivaScope 3000"}, format="json")
    assert response.status_code == 200 and response.json()["quality_verdict"] == "review"
    assert response.json()["report_status"] == "none"


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/cases/?page_size=100")
    assert response.status_code == 200
    return len(queries)


def test_the_case_list_takes_the_same_number_of_queries_for_3_or_30_cases(django_assert_max_num_queries):
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    client = api_client(tech)
    for n in range(3):
        case = make_case(site=site, actor=tech)
        make_judged_mosaic(site=site, percent_whole=5.0 * n, case=case)
    few = _list_queries(client)
    for n in range(27):
        case = make_case(site=site, actor=tech)
        make_judged_mosaic(site=site, percent_whole=n, case=case)
    assert len(client.get("/api/v1/cases/?page_size=100").json()["results"]) == 30
    assert _list_queries(client) == few
    with django_assert_max_num_queries(8):  # session/auth, scope, count, page, audit: none per row
        client.get("/api/v1/cases/?page_size=100")


# --------------------------------------------------------------------------- patient search


def test_patient_search_matches_the_start_of_the_mrn_or_names_in_part_within_scope():
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    client = api_client(tech)
    smith = services.patient_create(actor=tech, site=site, mrn="A100", given_name="Joanna", family_name="Smith")
    services.patient_create(actor=tech, site=site, mrn="A1000", given_name="Peter", family_name="Jones")
    services.patient_create(actor=tech, site=site, mrn="B7", given_name="John", family_name="Smithers")
    elsewhere = make_site()
    services.patient_create(actor=make_user(role=Role.TECHNICIAN, site=elsewhere), site=elsewhere, mrn="A100",
                            given_name="Joanna", family_name="Smith")

    def found(text):
        response = client.get("/api/v1/patients/", {"search": text})
        assert response.status_code == 200
        return sorted(p["mrn"] for p in response.json()["results"])

    assert found("A100") == ["A100", "A1000"]  # the start of the MRN, not the other site's A100
    assert found("A1000") == ["A1000"]
    assert found("smith") == ["A100", "B7"]
    assert found("SMITH jo") == ["A100", "B7"]  # every word matches: Smith + Joanna, Smithers + John
    assert found("smith, joanna") == ["A100"]
    assert found("a10") == ["A100", "A1000"]  # typed in small letters
    assert found("100") == []  # the middle of an MRN is not its start
    assert found("nobody") == []
    assert [p["id"] for p in client.get("/api/v1/patients/", {"search": "Joanna"}).json()["results"]] == [str(smith.id)]
    reader = make_user(role=Role.READER, site=site)
    assert api_client(reader).get("/api/v1/patients/", {"search": "smith"}).json()["results"] == []
