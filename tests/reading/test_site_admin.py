"""What a site administrator needs to hand out the work: the site's readers with their open load,
and the queue of cases no reader holds (and those one does), only for the site's administrators."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dermrelay.accounts.models import Membership, Role
from dermrelay.audit.models import AuditEvent, AuditOutcome
from dermrelay.cases.models import Case, CaseStatus
from dermrelay.reading import services
from tests.factories import api_client, make_case, make_judged_mosaic, make_site, make_user

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _submitted(site, *, status=CaseStatus.READY_FOR_READING, tech=None, minutes_ago=0) -> Case:
    """A case as the pipeline leaves it after submission (the pipeline itself is not under test)."""
    case = make_case(site=site, actor=tech)
    Case.objects.filter(pk=case.pk).update(status=status,
                                           submitted_at=timezone.now() - datetime.timedelta(minutes=minutes_ago))
    case.refresh_from_db()
    return case


def _named(user, first: str, last: str):
    user.first_name, user.last_name = first, last
    user.save()
    return user


# --------------------------------------------------------------------------- readers


def test_readers_lists_the_sites_active_readers_with_their_open_load_here():
    site, other = make_site(), make_site()
    admin = make_user(role=Role.SITE_ADMIN, site=site)
    ann = _named(make_user(role=Role.READER, site=site, username="ann"), "Ann", "Adams")
    bob = make_user(role=Role.READER, site=site, username="bob")  # no name recorded: the username stands in
    Membership.objects.create(user=bob, site=other, role=Role.READER)
    gone = make_user(role=Role.READER, site=site, username="gone")
    gone.is_active = False
    gone.save()
    make_user(role=Role.TECHNICIAN, site=site)
    make_user(role=Role.READER, site=other)
    other_admin = make_user(role=Role.SITE_ADMIN, site=other)

    for _ in range(2):
        services.assignment_create(case=_submitted(site), reader=ann, assigned_by=admin)
    signed = _submitted(site)
    services.assignment_create(case=signed, reader=ann, assigned_by=admin)
    Case.objects.filter(pk=signed.pk).update(status=CaseStatus.SIGNED)  # done: no longer part of the load
    ended = _submitted(site)
    services.assignment_create(case=ended, reader=ann, assigned_by=admin)
    services.assignment_end(case=ended, actor=admin)  # taken back: not part of the load either
    services.assignment_create(case=_submitted(other), reader=bob, assigned_by=other_admin)  # another tenant's

    response = api_client(admin).get(f"{API}/sites/{site.id}/readers/")
    assert response.status_code == 200, response.content
    assert response.json() == [  # by family name, as the technicians list is (none recorded sorts first)
        {"id": bob.id, "full_name": "bob", "username": "bob", "open_assignments": 0},
        {"id": ann.id, "full_name": "Ann Adams", "username": "ann", "open_assignments": 2},
    ]


def test_readers_is_a_404_for_everyone_but_the_sites_admins():
    site, other = make_site(), make_site()
    make_user(role=Role.READER, site=site)
    admin = make_user(role=Role.SITE_ADMIN, site=site)
    url = f"{API}/sites/{site.id}/readers/"
    outsiders = [make_user(role=Role.SITE_ADMIN, site=other), make_user(role=Role.TECHNICIAN, site=site),
                 make_user(role=Role.READER, site=site), make_user(role=Role.QA_ADMIN, site=site)]
    for user in outsiders:
        assert api_client(user).get(url).status_code == 404, user
    assert AuditEvent.objects.filter(actor=outsiders[0], action="list_readers", object_id=str(site.id),
                                     outcome=AuditOutcome.DENIED).count() == 1
    assert api_client().get(url).status_code in (401, 403)
    assert api_client(admin).get(f"{API}/sites/not-a-uuid/readers/").status_code == 404


def test_readers_take_one_query_whatever_their_number(django_assert_max_num_queries):
    site = make_site()
    admin = make_user(role=Role.SITE_ADMIN, site=site)
    client = api_client(admin)
    for n in range(8):
        reader = make_user(role=Role.READER, site=site)
        for _ in range(n % 3):
            services.assignment_create(case=_submitted(site), reader=reader, assigned_by=admin)
    with django_assert_max_num_queries(3):  # the admin's sites, the site, the readers with their counts
        response = client.get(f"{API}/sites/{site.id}/readers/")
    assert len(response.json()) == 8
    assert sorted(r["open_assignments"] for r in response.json()) == [0, 0, 0, 1, 1, 1, 2, 2]


# --------------------------------------------------------------------------- the queue


def test_the_unassigned_queue_holds_submitted_cases_no_reader_holds_longest_waiting_first():
    site, other = make_site(), make_site()
    admin = make_user(role=Role.SITE_ADMIN, site=site)
    reader = make_user(role=Role.READER, site=site)
    oldest = _submitted(site, status=CaseStatus.SUBMITTED, minutes_ago=30)
    processing = _submitted(site, status=CaseStatus.PROCESSING, minutes_ago=20)
    ready = _submitted(site, minutes_ago=10)
    make_judged_mosaic(site=site, percent_whole=30.0, case=ready)  # re-image at the default thresholds
    held = _submitted(site, minutes_ago=40)
    services.assignment_create(case=held, reader=reader, assigned_by=admin)
    taken_back = _submitted(site, minutes_ago=5)
    services.assignment_create(case=taken_back, reader=reader, assigned_by=admin)
    services.assignment_end(case=taken_back, actor=admin)  # back in the queue
    make_case(site=site)  # a draft: the clinic has not submitted it
    _submitted(site, status=CaseStatus.SIGNED)
    _submitted(site, status=CaseStatus.RECALL_REQUESTED)
    _submitted(other)  # another site's

    client = api_client(admin)
    response = client.get(f"{API}/sites/{site.id}/reading-queue/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 4
    assert [row["id"] for row in body["results"]] == [str(c.id) for c in (oldest, processing, ready, taken_back)]
    row = body["results"][2]
    patient = ready.lesion.patient
    assert row["patient_label"] == f"{patient.family_name}, {patient.given_name} · {patient.mrn}"
    assert row["lesion"] == {"label": "L1", "anatom_site_general": "anterior torso", "anatom_site": ""}
    assert row["status"] == "ready_for_reading" and row["visit_date"] == "2026-11-01"
    assert row["quality_verdict"] == "reimage" and row["assignment"] is None and row["submitted_at"]
    # Every read of patient data is audited: which cases the admin saw.
    event = AuditEvent.objects.filter(actor=admin, action="list", object_type="case").latest("id")
    assert event.detail["ids"] == [r["id"] for r in body["results"]] and event.detail["queue"] == "unassigned"

    # assigned=true: the open cases a reader holds, with the assignment.
    response = client.get(f"{API}/sites/{site.id}/reading-queue/?assigned=true")
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["id"] == str(held.id)
    assert row["assignment"]["reader"] == {"id": reader.id, "username": reader.username, "name": ""}
    assert row["assignment"]["claimed_at"] is None and row["assignment"]["due_at"] is None


def test_the_queue_is_a_404_for_everyone_but_the_sites_admins_and_refuses_odd_parameters():
    site, other = make_site(), make_site()
    admin = make_user(role=Role.SITE_ADMIN, site=site)
    _submitted(site)
    url = f"{API}/sites/{site.id}/reading-queue/"
    for user in (make_user(role=Role.SITE_ADMIN, site=other), make_user(role=Role.TECHNICIAN, site=site),
                 make_user(role=Role.READER, site=site), make_user(role=Role.QA_ADMIN, site=site)):
        assert api_client(user).get(url).status_code == 404
        assert api_client(user).get(f"{url}?assigned=maybe").status_code == 404  # a 404 before any 400
    client = api_client(admin)
    response = client.get(f"{url}?assigned=maybe")
    assert response.status_code == 400 and "assigned" in response.json()["fields"]
    assert client.get(f"{url}?page=abc").status_code == 404  # DRF's "Invalid page."
    assert client.get(f"{url}?page_size=abc").status_code == 200  # falls back to the default size
    assert client.get(f"{API}/sites/{other.id}/reading-queue/").status_code == 404
    assert client.get(f"{API}/sites/12345/reading-queue/").status_code == 404


def _queue_queries(client, url) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries), response.json()


@pytest.mark.parametrize("assigned", [False, True])
def test_the_queue_takes_the_same_number_of_queries_for_3_or_30_cases_and_pages_in_the_database(
        assigned, django_assert_max_num_queries):
    site = make_site()
    admin = make_user(role=Role.SITE_ADMIN, site=site)
    reader = make_user(role=Role.READER, site=site)
    client = api_client(admin)
    url = f"{API}/sites/{site.id}/reading-queue/?assigned={'true' if assigned else 'false'}&page_size=100"

    def add(n: int) -> None:
        for i in range(n):
            case = _submitted(site, minutes_ago=100 - i)
            make_judged_mosaic(site=site, percent_whole=float(i), case=case)
            if assigned:
                services.assignment_create(case=case, reader=reader, assigned_by=admin,
                                           due_at=timezone.now() + datetime.timedelta(days=1))

    add(3)
    few, _ = _queue_queries(client, url)
    add(27)
    many, body = _queue_queries(client, url)
    assert body["count"] == 30 and len(body["results"]) == 30
    assert many == few
    # admin's sites, the site, case_list's two scope halves, count, page, assignments, audit: none per row
    with django_assert_max_num_queries(9):
        client.get(url)
    # A page is a slice taken by the database, not the whole queue.
    with CaptureQueriesContext(connection) as queries:
        body = client.get(url.replace("page_size=100", "page_size=10") + "&page=2").json()
    assert body["count"] == 30 and len(body["results"]) == 10
    assert any("LIMIT 10" in q["sql"] and "OFFSET 10" in q["sql"] for q in queries.captured_queries)
