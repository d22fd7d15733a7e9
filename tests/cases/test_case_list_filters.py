"""The clinic's case list: synthetic QA history kept out unless asked for, and search by the start
of an MRN (or part of a name), scoped to the patients the user may see, served by the (site, mrn)
index, in the same number of queries however many cases match."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dermrelay.accounts.models import Role
from dermrelay.cases import selectors, services
from dermrelay.cases.models import SYNTHETIC_QA_HISTORY_DEVICE, Case, Patient
from dermrelay.qa.seeding import SiteHistory, qa_history_seed
from dermrelay.reading.models import Assignment
from tests.factories import api_client, make_judged_mosaic, make_lesion, make_site, make_user

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases/"


def _case(tech, *, mrn: str, family: str = "Smith", given: str = "Joanna", site=None):
    site = site or tech.memberships.first().site
    patient = services.patient_create(actor=tech, site=site, mrn=mrn, given_name=given, family_name=family)
    return services.case_create(actor=tech, lesion=make_lesion(patient=patient, actor=tech),
                                visit_date=datetime.date(2026, 11, 20), technician=tech, device="VivaScope 1500")


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def clinic():
    site = make_site("north")
    tech = make_user(role=Role.TECHNICIAN, site=site, username="tech-north")
    qa_history_seed(sites_spec=[SiteHistory(site=site, technicians=[tech], mosaics_per_week=5)], weeks=4, seed=3,
                    today=datetime.date(2026, 11, 24))
    return site, tech


def test_synthetic_qa_history_stays_out_of_the_list_unless_asked_for(clinic):
    site, tech = clinic
    client = api_client(tech)
    real = _case(tech, mrn="A100")
    synthetic = set(Case.objects.filter(device=SYNTHETIC_QA_HISTORY_DEVICE).values_list("id", flat=True))
    assert len(synthetic) >= 20  # the marker qa.seeding writes is the cases app's constant

    assert _ids(client.get(CASES)) == {str(real.id)}
    assert client.get(CASES).json()["count"] == 1
    assert _ids(client.get(CASES, {"include_synthetic": "false"})) == {str(real.id)}
    shown = _ids(client.get(CASES, {"include_synthetic": "true", "page_size": 200}))
    assert shown == {str(real.id)} | {str(c) for c in synthetic}
    # filters combine with it; a synthetic case opened by its id is still found (QA's drill-down opens them)
    assert _ids(client.get(CASES, {"status": "signed"})) == set()
    one = next(iter(synthetic))
    assert client.get(f"{CASES}{one}/").status_code == 200
    response = client.get(CASES, {"include_synthetic": "maybe"})
    assert response.status_code == 400 and "include_synthetic" in response.json()["fields"]


def test_search_finds_patients_by_the_start_of_their_mrn_or_part_of_a_name(clinic):
    site, tech = clinic
    client = api_client(tech)
    a100 = _case(tech, mrn="A100")
    a1000 = _case(tech, mrn="A1000", family="Jones", given="Peter")
    b7 = _case(tech, mrn="B7", family="Smithers", given="John")
    elsewhere = make_site("lake")
    _case(make_user(role=Role.TECHNICIAN, site=elsewhere), mrn="A100", site=elsewhere)

    def found(text, **params):
        return _ids(client.get(CASES, {"search": text, **params}))

    assert found("A10") == {str(a100.id), str(a1000.id)}  # the start of the MRN is enough
    assert found("a10") == {str(a100.id), str(a1000.id)}  # typed in small letters
    assert found("A1000") == {str(a1000.id)}
    assert found("100") == set()  # the middle of an MRN is not its start
    assert found("smith") == {str(a100.id), str(b7.id)}
    assert found("A1 smith") == {str(a100.id)}  # every word must match
    assert found("QAH") == set()  # synthetic patients stay out with their cases...
    assert len(found("QAH", include_synthetic="true")) >= 20  # ...unless asked for
    assert client.get(CASES, {"search": "x" * 201}).status_code == 400


def test_a_reader_cannot_probe_patients_of_assigned_cases_by_search(clinic):
    site, tech = clinic
    case = _case(tech, mrn="Z900")
    reader = make_user(role=Role.READER, site=site)
    Assignment.objects.create(case=case, reader=reader, assigned_by=tech)
    client = api_client(reader)
    assert _ids(client.get(CASES)) == {str(case.id)}
    assert _ids(client.get(CASES, {"search": "Z9"})) == set()
    assert _ids(client.get(CASES, {"search": "Smith"})) == set()


def test_patient_search_uses_the_site_mrn_index():
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    for n in range(30):
        services.patient_create(actor=tech, site=site, mrn=f"MRN{n:04d}", given_name="G", family_name=f"F{n}")
    patients = selectors.patient_list(user=tech).filter(selectors.mrn_prefix_q("MRN001"))
    assert sorted(patients.values_list("mrn", flat=True)) == [f"MRN{n:04d}" for n in range(10, 20)]
    if connection.vendor != "sqlite":
        pytest.skip("the query plan is checked on SQLite; PostgreSQL plans tiny tables as scans whatever the index")
    with connection.cursor() as cursor:
        sql, params = patients.query.sql_with_params()
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    # SEARCH cases_patient USING INDEX ... (site_id=? AND mrn>? AND mrn<?): the index narrows by the MRN too
    assert f"SEARCH {Patient._meta.db_table} USING INDEX" in plan and "mrn>?" in plan and "mrn<?" in plan, plan


def _list_queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CASES, {"page_size": 100, **params})
    assert response.status_code == 200
    return len(queries)


def test_filtered_and_searched_lists_take_the_same_number_of_queries_for_3_or_30_cases(
        clinic, django_assert_max_num_queries):
    site, tech = clinic
    client = api_client(tech)
    for n in range(3):
        make_judged_mosaic(site=site, percent_whole=5.0 * n, case=_case(tech, mrn=f"C{n:03d}"))
    few = {key: _list_queries(client, **params) for key, params in
           {"plain": {}, "search": {"search": "C0 smith"}, "all": {"include_synthetic": "true"}}.items()}
    for n in range(3, 30):
        make_judged_mosaic(site=site, percent_whole=n, case=_case(tech, mrn=f"C{n:03d}"))
    assert len(client.get(CASES, {"search": "C0", "page_size": 100}).json()["results"]) == 30
    many = {key: _list_queries(client, **params) for key, params in
            {"plain": {}, "search": {"search": "C0 smith"}, "all": {"include_synthetic": "true"}}.items()}
    assert many == few
    with django_assert_max_num_queries(9):  # session/auth, scope, clinical sites of the search, count, page, audit
        client.get(CASES, {"page_size": 100, "search": "C0"})
