"""A reader's whole job in the browser, on the demo data analysed by a real worker: the worklist,
the viewer (depth, stack, overlay toggle and fade, dermoscopy click-to-pan), claiming, writing and
signing the report, its PDF; and the limits: no unassigned case, no edit after signing."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from dermrelay.analysis.selectors import case_findings
from dermrelay.gate.selectors import case_quality
from dermrelay.cases.models import Case, CaseStatus, ImageKind
from dermrelay.imaging.models import Registration
from inference.serving.registry import Registry
from tests.conftest import wait_for
from tests.e2e.conftest import expect_console_error, sign_in
from tests.factories import PASSWORD, make_case, make_site, make_user

pytestmark = [pytest.mark.browser]
DEMO_PASSWORD = "dermrelay-demo"


def _analysed_demo_case() -> Case:
    """Seed the demo (as `make run` does) and wait until the worker has judged and analysed the
    northside case the reader is assigned."""
    call_command("models_sync", verbosity=0)
    call_command("seed_demo", verbosity=0)
    case = Case.objects.get(site__code="northside", status__in=[CaseStatus.READY_FOR_READING, CaseStatus.PROCESSING,
                                                               CaseStatus.SUBMITTED])
    wait_for(lambda: case_quality(case=case)["state"] == "complete", timeout=240, message="the demo case's quality")
    wait_for(lambda: all(f["state"] == "succeeded" for f in case_findings(case=case)["findings"])
             and len(case_findings(case=case)["findings"]) >= 3, timeout=240, message="the demo case's model results")
    case.refresh_from_db()
    return case


def _centre(locator) -> tuple[float, float]:
    x, y = locator.get_attribute("data-centre").split(",")
    return float(x), float(y)


@pytest.mark.worker
def test_reader_reads_a_case_signs_the_report_and_downloads_its_pdf(page, live_worker, tmp_path):
    case = _analysed_demo_case()
    sign_in(page, "reader", DEMO_PASSWORD)

    # Worklist: both assigned demo cases, the re-image verdict visible, sorted by waiting time.
    rows = page.get_by_test_id("worklist-row")
    expect(rows).to_have_count(2)
    row = page.locator(f"[data-case='{case.id}']")
    expect(row).to_contain_text("Northside Dermatology")
    expect(row).to_contain_text("Re-image recommended")
    row.click()
    expect(page).to_have_url(re.compile(f"/cases/{case.id}$"))

    # The viewer opens on the dermal-epidermal junction with the quality overlay at 50%.
    viewer = page.get_by_test_id("main-viewer")
    expect(page.get_by_test_id("viewer-title")).to_have_text(re.compile("Dermal-epidermal junction"))
    expect(viewer).to_have_attribute("data-overlays", "1")
    expect(viewer).to_have_attribute("data-overlay-opacity", "0.5")
    expect(page.get_by_label("Overlay legend").first).to_contain_text("Uninformative (model)")

    # Switch depth with the keys and the image rail.
    page.keyboard.press("]")
    expect(page.get_by_test_id("viewer-title")).to_have_text(re.compile("Papillary dermis"))
    page.keyboard.press("[")
    page.keyboard.press("[")
    expect(page.get_by_test_id("viewer-title")).to_have_text(re.compile("Stratum granulosum"))
    expect(viewer).to_have_attribute("data-overlays", "0")  # not judged at this depth: no overlay
    page.locator("[data-testid=rail-item][data-depth=dej][data-kind=rcm_mosaic]").click()
    expect(page.get_by_test_id("viewer-title")).to_have_text(re.compile("Dermal-epidermal junction"))

    # Toggle and fade the overlay: what the viewer draws follows.
    expect(viewer).to_have_attribute("data-overlay-opacity", "0.5")
    page.keyboard.press("o")
    expect(viewer).to_have_attribute("data-overlay-opacity", "0")
    page.keyboard.press("o")
    expect(viewer).to_have_attribute("data-overlay-opacity", "0.5")
    page.get_by_label("Overlay opacity").fill("0.2")
    expect(viewer).to_have_attribute("data-overlay-opacity", "0.2")

    # Clicking the dermoscopy moves the mosaic to the same place, through the registration.
    mosaic = case.images.get(kind=ImageKind.RCM_MOSAIC, depth_level="dej")
    matrix = Registration.objects.get(mosaic=mosaic).matrix
    panel = page.get_by_test_id("dermoscopy-panel")
    expect(panel).to_have_attribute("data-overlays", "1")  # the projected quality overlay
    before = _centre(viewer)
    box = panel.bounding_box()
    panel.click(position={"x": box["width"] * 0.55, "y": box["height"] * 0.62})
    clicked = [float(v) for v in panel.get_attribute("data-last-click").split(",")]
    expected = (matrix[0][0] * clicked[0] + matrix[0][1] * clicked[1] + matrix[0][2],
                matrix[1][0] * clicked[0] + matrix[1][1] * clicked[1] + matrix[1][2])

    def centred() -> bool:
        x, y = _centre(viewer)
        return abs(x - expected[0]) < 8 and abs(y - expected[1]) < 8
    wait_for(centred, timeout=10, message=f"the mosaic centred on {expected} (was {before})")

    # The reader outlines an uninformative area on the mosaic: an expert annotation, saved through
    # the API; the agreement overlay and figures follow.
    page.get_by_role("button", name="Outline", exact=True).click()
    vbox = viewer.bounding_box()
    for fx, fy in ((0.35, 0.55), (0.5, 0.5), (0.55, 0.75), (0.38, 0.8)):
        viewer.click(position={"x": vbox["width"] * fx, "y": vbox["height"] * fy})
    page.keyboard.press("Enter")
    expect(page.get_by_role("toolbar", name="Outlining")).to_contain_text("1 shape(s)")
    page.get_by_role("toolbar", name="Outlining").get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Expert annotation saved")
    expect(page.get_by_label("Overlay", exact=True)).to_have_value("agreement")
    expect(page.get_by_label("Overlay legend").first).to_contain_text("model and expert agree")
    expect(page.get_by_test_id("quality-panel")).to_contain_text("Expert vs model")
    assert mosaic.expert_annotations.filter(created_by__username="reader").count() == 1

    # The stack: a z slider steps through its frames.
    page.locator("[data-testid=rail-item][data-kind=rcm_stack]").click()
    slider = page.get_by_label("Stack depth")
    slider.fill("3")
    expect(viewer).to_have_attribute("data-image", re.compile(r"f0003\.dzi$"))
    page.keyboard.press(",")
    expect(viewer).to_have_attribute("data-image", re.compile(r"f0002\.dzi$"))

    # Model results carry their model identity, with and without the body location.
    findings = page.get_by_test_id("findings-panel")
    expect(findings).to_contain_text("model B")
    expect(findings).to_contain_text("model A")
    expect(findings).to_contain_text(f"dermoscopy-diagnosis-location {Registry().card('dermoscopy-diagnosis-location').version}")

    # Claim, write, sign (a wrong password signs nothing), and the report freezes.
    page.get_by_role("button", name="Claim case").click()
    report = page.get_by_test_id("report")
    expect(report).to_have_attribute("data-status", "draft")
    report.get_by_label("Diagnosis").select_option("mel")
    report.get_by_label("Management").select_option("biopsy")
    report.get_by_label("Findings").fill("Atypical honeycomb at the DEJ; pagetoid cells in the granular layer.")
    page.keyboard.press("Control+s")
    expect(report).to_contain_text("Draft saved.")
    report.get_by_role("button", name="Sign…").click()
    dialog = page.get_by_role("dialog", name="Sign the report")
    expect_console_error(page, status=400, path=f"/api/v1/cases/{case.id}/report/sign/",
                         why="a wrong password, refused on purpose")
    dialog.get_by_label("Your password").fill("not-my-password")
    dialog.get_by_role("button", name="Sign", exact=True).click()
    expect(dialog).to_contain_text("The password is not correct")
    expect(report).to_have_attribute("data-status", "draft")
    dialog.get_by_label("Your password").fill(DEMO_PASSWORD)
    dialog.get_by_role("button", name="Sign", exact=True).click()
    expect(report).to_have_attribute("data-status", "signed")
    expect(page.get_by_test_id("case-status")).to_have_text("Signed")
    expect(page.get_by_test_id("report-version")).to_have_count(1)
    expect(page.get_by_test_id("report-version")).to_contain_text("SHA-256")

    # A signed report cannot be edited: the form is locked, and the API refuses a direct edit.
    expect(report.get_by_label("Diagnosis")).to_be_disabled()
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    refused = page.request.put(f"/api/v1/cases/{case.id}/report/", data={"diagnosis": "nv", "management": "no_action"},
                               headers={"X-CSRFToken": csrf, "Referer": page.url})
    assert refused.status == 409, refused.text()
    case.refresh_from_db()
    assert case.status == CaseStatus.SIGNED
    assert case.report.diagnosis == "mel"

    # The signed report's PDF downloads.
    with page.expect_download() as download:
        page.get_by_test_id("pdf-link").click()
    pdf = tmp_path / "report.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-") and pdf.stat().st_size > 5_000


def test_reader_cannot_open_a_case_not_assigned_to_them(page, transactional_db):
    """Another site's reader, and a reader of this site without the assignment, both get 'not
    assigned' in the app and a 404 from the API behind it."""
    from dermrelay.accounts.models import Role

    site = make_site()
    reader = make_user(role=Role.READER, site=site)
    case = make_case(site=site)
    sign_in(page, reader.username, PASSWORD)
    expect(page.get_by_test_id("worklist-row")).to_have_count(0)
    expect_console_error(page, status=404, path=f"/api/v1/cases/{case.id}/", why="a case not assigned to this reader")
    page.goto(f"/cases/{case.id}")
    expect(page.get_by_role("alert")).to_contain_text("not assigned to you")
    assert page.request.get(f"/api/v1/cases/{case.id}/").status == 404
    assert page.request.get(f"/api/v1/images/?case={case.id}").json()["count"] == 0
