"""What the reader's case header needs: the clinic's clinical question (written by the clinic while
the case is open, read by everyone who may read the case), and the patient's age at the visit and
sex in place of any identifier."""

from __future__ import annotations

import datetime

import pytest

from dermrelay.accounts.models import Role
from dermrelay.cases import services
from dermrelay.cases.models import Case, Patient
from tests.factories import api_client, make_lesion, make_site, make_user, png_bytes, upload
from tests.reading.helpers import API, assign, make_clinic, submit

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "melanoma? please assess the junction"


def test_the_clinic_asks_its_question_on_create_and_may_change_it_until_submission():
    clinic = make_clinic()
    lesion = make_lesion(patient=services.patient_create(actor=clinic.tech, site=clinic.site, mrn="MRN-Q1",
                                                         given_name="Ada", family_name="Quest"), actor=clinic.tech)
    response = clinic.tech_client.post(f"{API}/cases/", {"lesion": str(lesion.id), "visit_date": "2026-11-02",
                                                        "clinical_question": QUESTION}, format="json")
    assert response.status_code == 201, response.content
    case_id = response.json()["id"]
    assert response.json()["clinical_question"] == QUESTION
    assert Case.objects.get(pk=case_id).clinical_question == QUESTION

    url = f"{API}/cases/{case_id}/"
    response = clinic.tech_client.patch(url, {"clinical_question": "BCC? superficial or nodular"}, format="json")
    assert response.status_code == 200 and response.json()["clinical_question"] == "BCC? superficial or nodular"
    response = clinic.tech_client.patch(url, {"clinical_question": "x" * 501}, format="json")
    assert response.status_code == 400 and "clinical_question" in response.json()["fields"]
    # a case without a question says so with an empty string, not an error
    other = clinic.tech_client.post(f"{API}/cases/", {"lesion": str(lesion.id), "visit_date": "2026-11-03"},
                                    format="json")
    assert other.status_code == 201 and other.json()["clinical_question"] == ""

    case = Case.objects.get(pk=case_id)
    assert upload(clinic.tech_client, case, png_bytes(40, 30)).status_code == 201
    submit(clinic, case)
    response = clinic.tech_client.patch(url, {"clinical_question": "changed after submission"}, format="json")
    assert response.status_code == 409
    assert Case.objects.get(pk=case_id).clinical_question == "BCC? superficial or nodular"


@pytest.mark.parametrize(("birth_date", "visit_date", "age"), [
    (datetime.date(1970, 6, 15), datetime.date(2026, 6, 14), 55),  # the day before the birthday
    (datetime.date(1970, 6, 15), datetime.date(2026, 6, 15), 56),  # on it
    (datetime.date(2000, 2, 29), datetime.date(2026, 2, 28), 25),  # born on 29 February
    (datetime.date(2000, 2, 29), datetime.date(2026, 3, 1), 26),
    (None, datetime.date(2026, 6, 15), None),  # not recorded
    (datetime.date(2027, 1, 1), datetime.date(2026, 6, 15), None),  # a birth date after the visit is no age
])
def test_the_age_at_the_visit_in_whole_years(birth_date, visit_date, age):
    assert Patient(birth_date=birth_date).age_on(visit_date) == age


def test_the_reader_gets_the_question_age_and_sex_but_no_identifier():
    clinic = make_clinic()
    patient = services.patient_create(actor=clinic.tech, site=clinic.site, mrn="MRN-77123", given_name="Grace",
                                      family_name="Hopperfield", birth_date=datetime.date(1961, 12, 9), sex="female")
    lesion = make_lesion(patient=patient, actor=clinic.tech)
    case = services.case_create(actor=clinic.tech, lesion=lesion, visit_date=datetime.date(2026, 11, 2),
                                clinical_question=QUESTION)
    assert upload(clinic.tech_client, case, png_bytes(40, 30)).status_code == 201
    submit(clinic, case)
    assert assign(clinic, case).status_code == 201

    body = clinic.reader_client.get(f"{API}/cases/{case.id}/").json()
    assert body["clinical_question"] == QUESTION
    assert (body["patient_age_years"], body["patient_sex"]) == (64, "female")
    assert body["patient_label"] is None
    text = str(body)
    for identifier in ("MRN-77123", "Grace", "Hopperfield", "1961"):
        assert identifier not in text, identifier
    listed = clinic.reader_client.get(f"{API}/cases/").json()["results"]
    assert listed[0]["patient_age_years"] == 64 and "MRN-77123" not in str(listed)

    # the clinic sees the same header and its own label
    body = clinic.tech_client.get(f"{API}/cases/{case.id}/").json()
    assert (body["patient_age_years"], body["patient_sex"], body["clinical_question"]) == (64, "female", QUESTION)
    assert body["patient_label"] == "Hopperfield, Grace · MRN-77123"
    # another site's reader sees nothing of it
    stranger = api_client(make_user(role=Role.READER, site=make_site()))
    assert stranger.get(f"{API}/cases/{case.id}/").status_code == 404
