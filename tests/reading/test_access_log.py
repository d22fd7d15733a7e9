"""A site's privacy officer (its site administrator) asks who saw one patient's data: every audit
event about the patient's record, lesions, cases, images, uploads and reports, in the browser's
site admin page and as a CSV; nobody else may ask, and another patient's events never show."""

from __future__ import annotations

import csv
import io

import pytest

from dermrelay.accounts.models import Role
from dermrelay.audit.models import AuditEvent
from tests.factories import api_client, make_case, make_site, make_user, png_bytes, upload
from tests.reading.helpers import API, assign, make_clinic, submit

pytestmark = pytest.mark.django_db(transaction=True)


def _seen_case(clinic, color: int):
    """A case uploaded by the clinic, assigned, and its image downloaded by the reader."""
    case = make_case(site=clinic.site, actor=clinic.tech)
    image = upload(clinic.tech_client, case, png_bytes(64, 48, color=color)).json()["id"]
    submit(clinic, case)
    assert assign(clinic, case).status_code == 201
    assert clinic.reader_client.get(f"{API}/images/{image}/file/").status_code == 200
    assert clinic.reader_client.get(f"{API}/cases/{case.id}/").status_code == 200
    outline = clinic.reader_client.put(f"{API}/images/{image}/lesion-outline/",
                                       {"polygon": [[5, 5], [40, 5], [40, 30], [5, 30]]}, format="json")
    assert outline.status_code == 200, outline.content
    return case, image


def test_the_site_admin_sees_who_saw_one_patients_data_and_nothing_else():
    clinic = make_clinic()
    case, image = _seen_case(clinic, color=40)
    other_case, other_image = _seen_case(clinic, color=90)  # another patient of the same site
    patient = case.lesion.patient_id
    url = f"{API}/sites/{clinic.site.id}/patients/{patient}/access-log/"

    page = clinic.admin_client.get(url)
    assert page.status_code == 200, page.content
    rows = page.json()["results"]
    seen = {(row["actor"], row["action"], row["object_type"], row["object_id"]) for row in rows}
    assert (clinic.reader.username, "download", "image", image) in seen
    assert (clinic.reader.username, "view", "case", str(case.id)) in seen
    assert (clinic.tech.username, "upload", "image", image) in seen
    assert any(who == clinic.reader.username and kind == "lesion_outline" for who, _, kind, _ in seen)
    assert not {row["object_id"] for row in rows} & {other_image, str(other_case.id)}
    assert [row["occurred_at"] for row in rows] == sorted((row["occurred_at"] for row in rows), reverse=True)
    assert AuditEvent.objects.filter(actor=clinic.admin, action="view_access_log", object_id=str(patient)).exists()

    download = clinic.admin_client.get(url, {"download": "csv"})
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    assert download["Content-Disposition"].startswith("attachment")
    table = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert {"occurred_at", "actor", "action", "object_type", "object_id", "outcome", "client_address"} <= set(table[0])
    assert any(r["actor"] == clinic.reader.username and r["action"] == "download" for r in table)


def test_only_the_patients_site_admins_may_ask():
    clinic = make_clinic()
    case, _ = _seen_case(clinic, color=60)
    url = f"{API}/sites/{clinic.site.id}/patients/{case.lesion.patient_id}/access-log/"
    for client in (clinic.reader_client, clinic.tech_client,
                   api_client(make_user(role=Role.SITE_ADMIN, site=make_site()))):
        assert client.get(url).status_code == 404
    other_site_admin = make_user(role=Role.SITE_ADMIN, site=make_site())
    own_site_url = f"{API}/sites/{other_site_admin.memberships.get().site_id}/patients/{case.lesion.patient_id}/access-log/"
    assert api_client(other_site_admin).get(own_site_url).status_code == 404  # not a patient of their site
    assert clinic.admin_client.get(url, {"download": "pdf"}).status_code == 400


def test_list_pages_that_showed_the_patients_cases_are_in_the_log_and_others_are_not():
    """The worklist, the case list and a site's reading queue record the ids they showed: the
    patient's log has the pages that showed one of theirs, not those that showed only others."""
    clinic = make_clinic()
    case, _ = _seen_case(clinic, color=40)
    other_case, _ = _seen_case(clinic, color=90)
    assert clinic.reader_client.get(f"{API}/worklist/").status_code == 200  # shows both cases
    assert clinic.tech_client.get(f"{API}/cases/", {"patient": str(other_case.lesion.patient_id)}).status_code == 200
    rows = clinic.admin_client.get(f"{API}/sites/{clinic.site.id}/patients/{case.lesion.patient_id}/access-log/").json()["results"]
    lists = [row for row in rows if row["list_page"]]
    assert any(row["actor"] == clinic.reader.username and row["action"] == "worklist" for row in lists)
    other_only = AuditEvent.objects.filter(actor=clinic.tech, action="list", object_type="case").latest("id")
    assert str(other_case.id) in str(other_only.detail) and str(case.id) not in str(other_only.detail)
    assert not [row for row in lists if row["actor"] == clinic.tech.username and row["action"] == "list"]
