"""Every page of the app, opened by each demo role on the demo data (`seed_demo`, analysed by a real
worker), with the console watched: the `page` fixture fails the test on an uncaught error and on
any console error outside its short allow-list (React warnings, fetches the app did not expect to
fail). Each page is waited on until its main content shows, so what it loads has loaded. The tour
ends with the technician recalling the submitted case through the recall dialog."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from dermrelay.analysis.selectors import case_findings
from dermrelay.gate.selectors import case_quality
from dermrelay.cases.models import Case, CaseStatus
from tests.conftest import wait_for
from tests.e2e.conftest import sign_in, sign_out

pytestmark = [pytest.mark.browser]
DEMO_PASSWORD = "dermrelay-demo"


def _analysed_demo_cases() -> tuple[Case, Case]:
    """Seed the demo as `make run` does and wait until the worker has judged and analysed both
    northside cases: the submitted one (assigned to the reader) and the technician's draft."""
    call_command("models_sync", verbosity=0)
    call_command("seed_demo", verbosity=0)
    submitted = Case.objects.get(lesion__patient__mrn="N-1001")
    draft = Case.objects.get(lesion__patient__mrn="N-1002")
    for case in (submitted, draft):
        wait_for(lambda: case_quality(case=case)["state"] == "complete", timeout=300, message=f"{case}'s quality")
        wait_for(lambda: len(case_findings(case=case)["findings"]) >= 3
                 and all(f["state"] == "succeeded" for f in case_findings(case=case)["findings"]),
                 timeout=300, message=f"{case}'s model results")
    submitted.refresh_from_db()
    return submitted, draft


def _open_missing_route(page) -> None:
    page.goto("/clinic/no-such-page")
    expect(page.get_by_text("Nothing here (/clinic/no-such-page)")).to_be_visible()
    page.get_by_role("link", name="Back to the start").click()
    expect(page.get_by_text("Nothing here")).to_have_count(0)


def _open_models(page) -> None:
    page.get_by_role("link", name="Models").click()
    expect(page).to_have_url(re.compile("/models$"))
    expect(page.get_by_test_id("model-card").first).to_be_visible()
    expect(page.get_by_test_id("plan-step").first).to_be_visible()


def _open_reader_case(page, case: Case) -> None:
    """The reader's case page with everything it loads: viewer, overlay, dermoscopy, panels, report."""
    page.locator(f"[data-testid=worklist-row][data-case='{case.id}']").click()
    expect(page).to_have_url(re.compile(f"/cases/{case.id}$"))
    expect(page.get_by_test_id("case-header")).to_be_visible()
    expect(page.get_by_test_id("viewer-title")).to_have_text(re.compile("Dermal-epidermal junction"))
    expect(page.get_by_test_id("main-viewer")).to_have_attribute("data-overlays", "1")
    expect(page.get_by_test_id("dermoscopy-panel")).to_have_attribute("data-overlays", "1")
    expect(page.get_by_test_id("quality-panel")).to_contain_text("%")
    expect(page.get_by_test_id("findings-panel")).to_contain_text("model B")
    expect(page.get_by_test_id("scale-bar").first).to_be_visible()
    # Every depth and kind of image in the rail opens too.
    items = page.get_by_test_id("rail-item")
    expect(items).to_have_count(6)  # three depths, the stack, the dermoscopy, the clinical photo
    for item in items.all():
        item.click()
        expect(item).to_have_attribute("aria-pressed", "true")
        expect(page.get_by_test_id("main-viewer")).to_have_attribute("data-image", re.compile(r"\.dzi$"))


@pytest.mark.worker
def test_every_page_of_every_demo_role_opens_without_a_console_error(page, live_worker):
    submitted, draft = _analysed_demo_cases()

    # The reader: worklist (keyboard focus on it), a case with everything on it, a missing route.
    sign_in(page, "reader", DEMO_PASSWORD)
    expect(page).to_have_url(re.compile("/worklist$"))
    expect(page.get_by_test_id("worklist-row")).to_have_count(2)
    expect(page.get_by_role("table", name="Assigned cases")).to_be_focused()
    _open_reader_case(page, submitted)
    page.go_back()
    expect(page.get_by_test_id("worklist-row")).to_have_count(2)
    expect(page.get_by_role("link", name="Clinic")).to_have_count(0)
    _open_missing_route(page)
    sign_out(page)

    # The site admin: the clinic's list and capture page, the site admin page (queue, thresholds,
    # report policy), the (empty) worklist, the site's QA dashboard and its drill-down, the models.
    sign_in(page, "admin.north", DEMO_PASSWORD)
    expect(page).to_have_url(re.compile("/clinic$"))
    expect(page.get_by_test_id("clinic-case-row")).to_have_count(2)
    page.locator(f"[data-testid=clinic-case-row][data-case='{draft.id}']").click()
    expect(page.get_by_test_id("case-status")).to_have_text("Draft")
    expect(page.get_by_test_id("capture-mosaic")).to_be_visible()
    expect(page.get_by_test_id("capture-dermoscopy")).to_be_visible()
    expect(page.get_by_test_id("case-verdict")).not_to_be_empty()
    page.get_by_role("link", name="Site admin").click()
    expect(page.locator(f"[data-testid=held-row][data-case='{submitted.id}']")).to_contain_text("Rita Reader")
    expect(page.get_by_test_id("queue-empty")).to_be_visible()
    expect(page.get_by_test_id("thresholds").get_by_label("Review at (%)")).not_to_have_value("")
    expect(page.get_by_test_id("report-policy").get_by_label("Readers' PDFs name the patient")).to_be_checked()
    expect(page.get_by_label("Model version").locator("option")).not_to_have_count(1)
    page.get_by_role("link", name="Reading").click()
    expect(page.get_by_text("No cases match. New assignments appear here.")).to_be_visible()
    page.get_by_role("link", name="Quality").click()
    expect(page.get_by_test_id("qa-site-row")).to_have_count(1)
    page.get_by_role("button", name="Mosaics of Northside Dermatology").click()
    drill = page.get_by_test_id("qa-drill")
    expect(drill.get_by_test_id("qa-mosaic-row").first).to_be_visible()
    thumbnail = drill.get_by_test_id("qa-thumbnail").first
    expect(thumbnail).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    _open_models(page)
    sign_out(page)

    # The QA admin: every site's dashboard with the flagged site, a drill-down, the models page.
    sign_in(page, "qa", DEMO_PASSWORD)
    expect(page).to_have_url(re.compile("/qa"))
    expect(page.get_by_test_id("qa-site-row")).to_have_count(3)
    expect(page.locator("[data-testid=qa-site-row][data-label='Riverside Skin Centre']")).to_have_attribute(
        "data-flagged", "true")
    expect(page.get_by_test_id("qa-bins-chart")).to_be_visible()
    expect(page.get_by_test_id("qa-trend-chart")).to_be_visible()
    page.get_by_role("button", name="Riverside Skin Centre, 25–100%").click()
    drill = page.get_by_test_id("qa-drill")
    expect(drill.get_by_test_id("qa-mosaic-row").first).to_be_visible()
    expect(drill.get_by_test_id("qa-thumbnail")).to_have_count(0)  # aggregates only for a QA admin
    _open_models(page)
    page.goto("/clinic")
    expect(page.get_by_test_id("not-allowed")).to_be_visible()
    sign_out(page)

    # The technician: the case list, a new case, the draft's capture page, the submitted case's
    # capture page, and its recall through the dialog (cancel first, then with a reason).
    sign_in(page, "tech.north", DEMO_PASSWORD)
    expect(page).to_have_url(re.compile("/clinic$"))
    expect(page.get_by_test_id("clinic-case-row")).to_have_count(2)
    page.get_by_role("button", name="New case").click()
    expect(page).to_have_url(re.compile("/clinic/new$"))
    expect(page.get_by_role("button", name="Register a new patient")).to_be_visible()
    page.get_by_label("Patient search").fill("N-100")
    expect(page.get_by_role("table", name="Matching patients").get_by_role("button", name="Select")).to_have_count(2)
    page.goto(f"/clinic/cases/{draft.id}")
    expect(page.get_by_test_id("capture-mosaic")).to_be_visible()
    expect(page.get_by_test_id("mosaic-verdict").first).to_be_visible()
    expect(page.get_by_role("button", name="Submit for reading")).to_be_enabled()
    page.goto("/qa")
    expect(page.get_by_test_id("not-allowed")).to_be_visible()

    page.goto(f"/clinic/cases/{submitted.id}")
    status = page.get_by_test_id("case-status")
    expect(status).to_have_text(re.compile("Ready for reading|Processing|Submitted"))
    page.get_by_role("button", name="Recall from reading…").click()
    dialog = page.get_by_role("dialog", name="Recall from reading")
    expect(dialog.get_by_label("Reason for the recall")).to_be_focused()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    page.get_by_role("button", name="Recall from reading…").click()
    dialog.get_by_label("Reason for the recall").fill("The DEJ mosaic lost skin contact over the lesion; re-imaging.")
    dialog.get_by_role("button", name="Recall", exact=True).click()
    expect(dialog).to_have_count(0)
    expect(status).to_have_text("Recall requested")
    expect(page.get_by_role("button", name="Submit for reading")).to_be_visible()
    submitted.refresh_from_db()
    assert submitted.status == CaseStatus.RECALL_REQUESTED
    _open_missing_route(page)
