"""A site administrator's work in the browser: a submitted case waits in the queue, is given to a
reader with a due date through the page, and that reader then finds it in their worklist; the
site's quality thresholds are set through the page, the server's validation message shown first;
the report policy (do readers' PDFs name the patient?) is changed through the page."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from dermrelay.accounts.models import Role
from dermrelay.gate.models import QualityPolicy
from dermrelay.cases.models import Case, CaseStatus
from dermrelay.reading.models import Assignment, ReportPolicy
from tests.e2e.conftest import expect_console_error, sign_in, sign_out
from tests.factories import PASSWORD, make_case, make_site, make_user

pytestmark = [pytest.mark.browser]


def test_site_admin_assigns_a_submitted_case_and_sets_the_thresholds(page, transactional_db):
    # Setup (not under test): a site with its admin and a reader, and a case the clinic submitted.
    site = make_site()
    admin = make_user(role=Role.SITE_ADMIN, site=site)
    reader = make_user(role=Role.READER, site=site)
    reader.first_name, reader.last_name = "Rita", "Reader"
    reader.save()
    case = make_case(site=site)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.READY_FOR_READING, submitted_at=timezone.now())
    patient = case.lesion.patient

    sign_in(page, admin.username, PASSWORD)
    page.get_by_role("link", name="Site admin").click()
    expect(page).to_have_url(re.compile("/site-admin$"))
    page.reload()  # the app shell serves /site-admin itself
    row = page.locator(f"[data-testid=queue-row][data-case='{case.id}']")
    expect(row).to_contain_text(f"{patient.family_name}, {patient.given_name} · {patient.mrn}")
    expect(row).to_contain_text("Ready for reading")
    expect(page.get_by_test_id("held-empty")).to_be_visible()

    # Assign it to the reader (the picker shows their open load) with a due date.
    picker = row.get_by_label("Reader")
    expect(picker.locator("option", has_text="Rita Reader")).to_contain_text("0 open cases")
    picker.select_option(str(reader.id))
    due = datetime.date.today() + datetime.timedelta(days=3)
    row.get_by_label("Due date").fill(due.isoformat())
    row.get_by_role("button", name="Assign").click()
    expect(page.get_by_test_id("admin-notice")).to_contain_text("is now with Rita Reader")
    held = page.locator(f"[data-testid=held-row][data-case='{case.id}']")
    expect(held).to_contain_text("Rita Reader")
    expect(page.get_by_test_id("queue-empty")).to_be_visible()
    expect(held.get_by_label("Reader").locator("option", has_text="Rita Reader")).to_contain_text("1 open case")
    assignment = Assignment.objects.get(case=case, ended_at__isnull=True)
    assert assignment.reader_id == reader.id and assignment.assigned_by_id == admin.id
    assert datetime.timedelta(days=2) < assignment.due_at - timezone.now() < datetime.timedelta(days=4, hours=1)

    # The thresholds: a refused pair shows the server's reason and stores nothing; a good pair saves.
    expect_console_error(page, status=400, path=f"/api/v1/sites/{site.id}/quality-policy/",
                         why="the refused pair of thresholds, answered 400 on purpose")
    thresholds = page.get_by_test_id("thresholds")
    thresholds.get_by_label("Review at (%)").fill("12")
    thresholds.get_by_label("Re-image at (%)").fill("8")
    thresholds.get_by_role("button", name="Save thresholds").click()
    expect(thresholds.get_by_role("alert")).to_contain_text("review ≤ re-image")
    assert not QualityPolicy.objects.filter(site=site).exists()
    thresholds.get_by_label("Re-image at (%)").fill("30")
    thresholds.get_by_role("button", name="Save thresholds").click()
    expect(thresholds.get_by_role("status")).to_contain_text("Thresholds saved")
    policy = QualityPolicy.objects.get(site=site)
    assert (policy.review_at_percent, policy.reimage_at_percent) == (12, 30)

    # The report policy: readers' PDFs name the patient (the platform default) until an admin says
    # otherwise through the page; the choice is stored and shown again after a reload.
    panel = page.get_by_test_id("report-policy")
    expect(panel).to_contain_text("platform default")
    expect(panel.get_by_label("Readers' PDFs name the patient")).to_be_checked()
    panel.get_by_label("Readers' PDFs name the patient").uncheck()
    panel.get_by_role("button", name="Save report policy").click()
    expect(panel.get_by_role("status")).to_contain_text("leave out the patient's name, MRN, birth date and sex")
    expect(panel).not_to_contain_text("platform default")
    report_policy = ReportPolicy.objects.get(site=site)
    assert report_policy.patient_identifiers_for_readers is False and report_policy.updated_by_id == admin.id
    page.reload()
    panel = page.get_by_test_id("report-policy")
    expect(panel.get_by_label("Readers' PDFs name the patient")).not_to_be_checked()
    expect(panel).not_to_contain_text("platform default")

    # The reader now finds the case in their worklist.
    sign_out(page)
    sign_in(page, reader.username, PASSWORD)
    expect(page).to_have_url(re.compile("/worklist$"))  # a reader's start page
    expect(page.locator(f"[data-testid=worklist-row][data-case='{case.id}']")).to_be_visible()
