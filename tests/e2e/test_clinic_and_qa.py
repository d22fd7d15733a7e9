"""The clinic and the quality admins in the browser: a technician creates a case, drops a phantom
mosaic and its dermoscopy (resumable tus uploads), watches them go to a verdict computed by a real
worker, sees where the problem is and replaces the mosaic; a QA admin sees the clearly worse site
flagged and drills down to its mosaics; a technician cannot reach the QA pages of any site."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect
from rest_framework.test import APIClient

from dermrelay.accounts.models import Membership, Role
from dermrelay.gate.selectors import case_quality
from dermrelay.cases.models import Case, Image, ImageKind
from inference.phantoms.encoding import jpeg_bytes, png_bytes
from inference.phantoms.generator import gate_phantom, generate_phantom
from inference.phantoms.outlines import lesion_polygon
from tests.conftest import wait_for
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_site, make_user

pytestmark = [pytest.mark.browser]
VERDICT_TEXT = {"acceptable": "Acceptable", "review": "Review", "reimage": "Re-image recommended"}


def _device_coregisters(*, user, case: Case, phantom) -> None:
    """What the capture device does after the upload: posts the dermoscopy → mosaic registration it
    measured, and the technician's lesion outline, through the same API."""
    client = APIClient()
    client.force_authenticate(user)
    mosaic = Image.objects.get(case=case, kind=ImageKind.RCM_MOSAIC, replaced_by__isnull=True)
    dermoscopy = Image.objects.get(case=case, kind=ImageKind.DERMOSCOPY)
    response = client.put(f"/api/v1/images/{mosaic.id}/registration/",
                          {"dermoscopy": str(dermoscopy.id), "matrix": phantom.registration.tolist()}, format="json")
    assert response.status_code == 200, response.content
    if not dermoscopy.lesion_outlines.filter(source="person").exists():
        response = client.put(f"/api/v1/images/{dermoscopy.id}/lesion-outline/", {"polygon": lesion_polygon(phantom)},
                              format="json")
        assert response.status_code == 200, response.content


def _verdict_shown(page, case: Case, *, timeout: float = 240) -> str:
    """Wait until the server has judged every mosaic, then for the page to show that very verdict."""
    wait_for(lambda: case_quality(case=case)["state"] == "complete", timeout=timeout, message="the case's verdict")
    verdict = case_quality(case=case)["verdict"]
    expect(page.get_by_test_id("case-verdict")).to_have_text(VERDICT_TEXT[verdict], timeout=30_000)
    return verdict


@pytest.mark.worker
def test_technician_uploads_a_phantom_case_sees_its_verdict_and_replaces_the_mosaic(page, live_worker, tmp_path):
    call_command("models_sync", verbosity=0)
    site = make_site("eastside")
    technician = make_user(role=Role.TECHNICIAN, site=site, username="tina")
    technician.first_name, technician.last_name = "Tina", "Technician"
    technician.save()
    # A phantom whose lesion is half without skin contact (ground truth known), named as a
    # technician's export would be, so the page can guess kind and depth from the names.
    poor = gate_phantom(seed=7, where="lesion", fraction=0.5)
    mosaic_file = tmp_path / "L1_DEJ_mosaic.png"
    mosaic_file.write_bytes(png_bytes(poor.image))
    dermoscopy_file = tmp_path / "vivacam_dermoscopy.jpg"
    dermoscopy_file.write_bytes(jpeg_bytes(poor.dermoscopy))

    sign_in(page, "tina", PASSWORD)
    expect(page).to_have_url(re.compile("/clinic$"))
    expect(page.get_by_role("link", name="Quality")).to_have_count(0)
    page.get_by_role("button", name="New case").click()

    # Patient, lesion (on the body picker), visit.
    page.get_by_role("button", name="Register a new patient").click()
    form = page.get_by_role("form", name="New patient")
    form.get_by_label("MRN").fill("E-3001")
    form.get_by_label("Family name").fill("Phantom")
    form.get_by_label("Given name").fill("Pat")
    form.get_by_role("button", name="Register patient").click()
    page.locator("[data-region=front-forearm-left]").click()
    expect(page.get_by_test_id("site-picked")).to_contain_text("Upper extremity:Forearm:Volar forearm")
    expect(page.get_by_test_id("site-picked")).to_contain_text("Left side")
    page.get_by_role("button", name="Add lesion").click()
    expect(page.get_by_label("Technician")).to_have_value(str(technician.id))
    page.get_by_role("button", name="Create case and add images").click()
    expect(page).to_have_url(re.compile(r"/clinic/cases/[0-9a-f-]{36}$"))
    case = Case.objects.get(lesion__patient__mrn="E-3001")
    assert case.technician == technician and case.lesion.anatom_site == "Upper extremity:Forearm:Volar forearm"
    assert case.lesion.anatom_site_general == "upper extremity" and "Left" in case.lesion.location_note

    # Drop both files: kinds and depth are guessed from the names; the spacing is typed once.
    page.get_by_test_id("file-input").set_input_files([str(mosaic_file), str(dermoscopy_file)])
    expect(page.get_by_test_id("upload-item")).to_have_count(2)
    expect(page.get_by_label("Kind of L1_DEJ_mosaic.png")).to_have_value("rcm_mosaic")
    expect(page.get_by_label("Depth of L1_DEJ_mosaic.png")).to_have_value("dej")
    expect(page.get_by_label("Kind of vivacam_dermoscopy.jpg")).to_have_value("dermoscopy")
    page.get_by_label("Pixel spacing of L1_DEJ_mosaic.png").fill(str(poor.pixel_spacing_um))
    page.get_by_role("button", name="Upload 2 files").click()
    expect(page.locator("[data-testid=upload-item][data-state=stored]")).to_have_count(2, timeout=60_000)
    mosaic = Image.objects.get(case=case, kind=ImageKind.RCM_MOSAIC)
    assert mosaic.depth_level == "dej" and mosaic.pixel_spacing_um == poor.pixel_spacing_um

    # Stored → pyramid → analysed, live; then the verdict, judged within the lesion.
    _device_coregisters(user=technician, case=case, phantom=poor)
    expect(page.locator(f"[data-testid=case-image][data-image='{mosaic.id}']")).to_have_attribute(
        "data-stage", "analysed", timeout=240_000)
    assert _verdict_shown(page, case) == "reimage"
    judged = case_quality(case=case)["mosaics"][0]
    assert judged["basis"] == "lesion" and judged["percent_lesion"] > 30
    row = page.locator("[data-testid=mosaic-verdict]").first
    expect(row).to_contain_text(f"{judged['percent_lesion']:.1f}%")
    expect(page.get_by_test_id("problem-region")).to_contain_text("lesion")
    expect(page.get_by_test_id("capture-dermoscopy")).to_be_visible()

    # Re-image: replace the mosaic with a clean capture of the same field; the old one is kept.
    clean = generate_phantom(seed=7, size_px=1024, pixel_spacing_um=poor.pixel_spacing_um, artifact_fraction=(0.0, 0.0))
    retake = tmp_path / "L1_DEJ_mosaic_retake.png"
    retake.write_bytes(png_bytes(clean.image))
    with page.expect_file_chooser() as chooser:
        row.get_by_role("button", name="Replace image").click()
    chooser.value.set_files(str(retake))
    expect(page.locator("[data-testid=upload-item][data-state=stored]")).to_have_count(3, timeout=60_000)
    wait_for(lambda: Image.objects.filter(case=case, kind=ImageKind.RCM_MOSAIC).count() == 2, timeout=30,
             message="the replacement")
    _device_coregisters(user=technician, case=case, phantom=clean)
    wait_for(lambda: case_quality(case=case)["state"] == "complete"
             and case_quality(case=case)["mosaics"][0]["image"] != str(mosaic.id), timeout=240, message="the new verdict")
    assert _verdict_shown(page, case) == "acceptable"
    mosaic.refresh_from_db()
    assert mosaic.replaced_by is not None  # history kept
    page.get_by_role("button", name=re.compile("Show 1 replaced image")).click()
    expect(page.get_by_test_id("replaced-image")).to_have_count(1)

    # Submit for reading.
    page.get_by_role("button", name="Submit for reading").click()
    expect(page.get_by_test_id("case-status")).not_to_have_text("Draft")


def _seed_history():
    """Three sites' quality history, one of them clearly worse (synthetic, see qa.seeding)."""
    from dermrelay.qa.seeding import qa_history_seed

    return qa_history_seed(**_seed_spec())


def _seed_spec() -> dict:
    return {"sites_spec": [
        {"code": "north", "name": "North Clinic", "technicians": ["ann", "bob"], "median_percent": 5.0},
        {"code": "lake", "name": "Lake Clinic", "technicians": ["cat", "dan"], "median_percent": 6.0},
        {"code": "river", "name": "River Clinic", "technicians": ["eve", "fay"], "median_percent": 19.0},
    ], "weeks": 8, "seed": 3}


def test_qa_admin_sees_the_worse_site_flagged_and_drills_down(page):
    _seed_history()
    from dermrelay.accounts.models import Site

    qa = make_user(username="quinn")
    for site in Site.objects.filter(code__in=["north", "lake", "river"]):
        Membership.objects.create(user=qa, site=site, role=Role.QA_ADMIN)
    sign_in(page, "quinn", PASSWORD)
    expect(page).to_have_url(re.compile("/qa"))
    rows = page.get_by_test_id("qa-site-row")
    expect(rows).to_have_count(3)
    expect(page.locator("[data-testid=qa-site-row][data-label='River Clinic']")).to_have_attribute("data-flagged", "true")
    for name in ("North Clinic", "Lake Clinic"):
        expect(page.locator(f"[data-testid=qa-site-row][data-label='{name}']")).to_have_attribute("data-flagged", "false")
    expect(page.get_by_test_id("qa-flag-reason").first).to_contain_text("River Clinic")
    expect(page.get_by_test_id("qa-flag-reason").first).to_contain_text("Mann")
    expect(page.get_by_test_id("qa-bins-chart")).to_be_visible()
    expect(page.get_by_test_id("qa-trend-chart")).to_be_visible()
    expect(page.get_by_test_id("qa-recall-row")).to_have_count(4)

    # Drill down from the river site's worst bin: exactly the mosaics behind that number.
    river = page.locator("[data-testid=qa-site-row][data-label='River Clinic']")
    count_button = river.get_by_role("button", name="River Clinic, 25–100%")
    expected = int(count_button.inner_text())
    count_button.click()
    drill = page.get_by_test_id("qa-drill")
    expect(drill).to_contain_text(f"{expected} mosaic")
    expect(drill.get_by_test_id("qa-mosaic-row")).to_have_count(min(expected, 50))
    with page.expect_download() as download:
        drill.get_by_role("link", name="CSV").click()
    text = open(download.value.path(), encoding="utf-8").read()
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == expected and {row["site_name"] for row in table} == {"River Clinic"}
    # Mosaics later replaced are marked re-captured; a QA admin sees aggregates only: no thumbnails.
    if expected <= 50:
        recaptured = sum(row["recaptured"] == "true" for row in table)
        expect(drill.get_by_test_id("qa-recaptured")).to_have_count(recaptured)
    expect(drill.get_by_test_id("qa-thumbnail")).to_have_count(0)


def test_technician_cannot_see_qa_pages_of_another_site(page):
    _seed_history()
    from dermrelay.accounts.models import Site

    north, river = Site.objects.get(code="north"), Site.objects.get(code="river")
    make_user(role=Role.TECHNICIAN, site=north, username="tom")
    sign_in(page, "tom", PASSWORD)
    expect(page.get_by_role("link", name="Quality")).to_have_count(0)
    page.goto(f"/qa?site={river.id}")
    expect(page.get_by_test_id("not-allowed")).to_be_visible()
    for path in (f"/api/v1/qa/summary/?site={river.id}", f"/api/v1/qa/mosaics/?site={river.id}",
                 f"/api/v1/qa/export/?table=mosaics&site={river.id}", "/api/v1/qa/scope/"):
        response = page.request.get(path)
        assert response.status in (403, 404), (path, response.status)
        assert "River" not in response.text()

    # A site admin of north sees north's dashboard, never river's.
    admin = make_user(role=Role.SITE_ADMIN, site=north, username="sally")
    assert admin.memberships.count() == 1
    page.context.clear_cookies()
    sign_in(page, "sally", PASSWORD)
    page.goto("/qa")
    expect(page.get_by_test_id("qa-site-row")).to_have_count(1)
    expect(page.get_by_test_id("qa-site-row")).to_have_attribute("data-label", "North Clinic")
    assert page.request.get(f"/api/v1/qa/summary/?site={river.id}").status == 404
    # She may open north's cases, so her drill-down shows each mosaic's thumbnail with its overlay.
    page.get_by_role("button", name="Mosaics of North Clinic").click()
    thumbnail = page.get_by_test_id("qa-drill").get_by_test_id("qa-thumbnail").first
    expect(thumbnail).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())

    # The clinic's list leaves the synthetic QA history out until asked for.
    page.goto("/clinic")
    expect(page.get_by_text("No cases yet")).to_be_visible()
    page.get_by_label("Show synthetic QA history").check()
    expect(page.get_by_test_id("clinic-case-row").first).to_contain_text("synthetic")
    page.get_by_label("Search by MRN or patient name").fill("QAH-north-00")
    rows = page.get_by_test_id("clinic-case-row")
    expect(rows.filter(has_not_text="QAH-north-00")).to_have_count(0)  # the start of the MRN is enough
    expect(rows.first).to_contain_text("QAH-north-00")
