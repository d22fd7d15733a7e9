"""The clinic asks its question in the new-case page: the patient and lesion exist already (made
here through the services, they are not what is tested), the technician picks them in the page and
types the clinical question for the reader with the visit."""

from __future__ import annotations

import datetime
import os
import re

import pytest
from playwright.sync_api import expect

from dermrelay.accounts.models import Role
from dermrelay.cases import services
from dermrelay.cases.models import Case
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_site, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUESTION = "melanoma? please assess the junction"


def test_the_technician_asks_the_clinical_question_with_the_visit(page):
    site = make_site("northq")
    technician = make_user(role=Role.TECHNICIAN, site=site, username="quinn")
    patient = services.patient_create(actor=technician, site=site, mrn="Q-2001", given_name="Ada", family_name="Quest",
                                      birth_date=datetime.date(1961, 12, 9), sex="female")
    services.lesion_create(actor=technician, patient=patient, label="L1", anatom_site_general="posterior torso")

    sign_in(page, "quinn", PASSWORD)
    page.get_by_role("button", name="New case").click()
    page.get_by_label("Patient search").fill("Q-2001")
    page.get_by_role("table", name="Matching patients").get_by_role("button", name="Select").click()
    page.get_by_role("table", name="Lesions of the patient").get_by_role("button", name="Select").click()
    form = page.get_by_role("form", name="New case")
    form.get_by_label("Clinical question").fill(QUESTION)
    shots = os.environ.get("DERMRELAY_SCREENSHOT_DIR")
    if shots:
        page.screenshot(path=f"{shots}/new-case-question.png", full_page=True)
    form.get_by_role("button", name="Create case and add images").click()
    expect(page).to_have_url(re.compile(r"/clinic/cases/[0-9a-f-]{36}$"))
    case = Case.objects.get(lesion__patient=patient)
    assert case.clinical_question == QUESTION
