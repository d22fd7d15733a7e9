"""A clinic's own case, start to finish, in the browser, from an empty site: nothing seeded, no API
call doing what a person does in the page. The technician registers a patient, adds a lesion on
the body picker, uploads a dermoscopy image and two phantom mosaics made here, registers the DEJ
mosaic by landmarks and outlines the lesion, and sees a lesional verdict that matches the
phantom's ground truth; submits, and sees the status move without a reload. The site admin assigns
the reader; the reader opens the case, steps depth without losing the view, measures a known
distance in µm, and signs."""

from __future__ import annotations

import datetime
import re

import numpy as np
import pytest
from django.core.management import call_command
from playwright.sync_api import expect
from pypdf import PdfReader

from dermrelay.accounts.models import Membership, Role
from dermrelay.gate.selectors import case_quality
from dermrelay.cases.models import Case, ImageKind
from dermrelay.imaging.models import Registration
from inference.phantoms.encoding import jpeg_bytes, png_bytes
from inference.phantoms.generator import gate_phantom, generate_phantom
from inference.phantoms.outlines import lesion_polygon
from tests.conftest import wait_for
from tests.e2e.conftest import sign_in, sign_out
from tests.factories import PASSWORD, make_site, make_user

pytestmark = [pytest.mark.browser]


def settled_view(page, test_id: str) -> dict:
    """Wait until the viewer has stopped moving (its centre and zoom read the same twice running),
    then give its centre (image px), scale (screen px per image px) and box on the page."""
    page.wait_for_function("""(id) => {
        const el = document.querySelector(`[data-testid="${id}"]`);
        if (!el || !el.dataset.centre || !el.dataset.screenPxPerImagePx) return false;
        const now = el.dataset.centre + "|" + el.dataset.screenPxPerImagePx;
        window.__views = window.__views || {};
        const same = window.__views[id] === now;
        window.__views[id] = now;
        return same;
    }""", arg=test_id, polling=300)
    viewer = page.get_by_test_id(test_id)
    cx, cy = (float(v) for v in viewer.get_attribute("data-centre").split(","))
    return {"centre": (cx, cy), "scale": float(viewer.get_attribute("data-screen-px-per-image-px")),
            "box": viewer.bounding_box()}


def click_image(page, test_id: str, point, view: dict | None = None) -> None:
    """Click the viewer where the image pixel `point` is shown."""
    view = view or settled_view(page, test_id)
    box, scale, (cx, cy) = view["box"], view["scale"], view["centre"]
    x = box["width"] / 2 + (point[0] - cx) * scale
    y = box["height"] / 2 + (point[1] - cy) * scale
    assert 0 <= x <= box["width"] and 0 <= y <= box["height"], (point, view)
    page.get_by_test_id(test_id).click(position={"x": x, "y": y})


@pytest.mark.worker
def test_a_clinic_case_from_an_empty_site_to_a_signed_report(page, live_worker, tmp_path):
    call_command("models_sync", verbosity=0)
    site = make_site("harbour")
    people = {}
    for username, role, first, last in (("tom", Role.TECHNICIAN, "Tom", "Tech"), ("ada", Role.SITE_ADMIN, "Ada", "Admin"),
                                        ("rui", Role.READER, "Rui", "Reader")):
        people[username] = make_user(role=role, site=site, username=username)
        people[username].first_name, people[username].last_name = first, last
        people[username].save()
    reader = people["rui"]
    assert not Membership.objects.filter(site=site).exclude(user__username__in=["tom", "ada", "rui"]).exists()

    # The phantom: half of the lesion's centre without skin contact; the whole mosaic looks far better.
    phantom = gate_phantom(seed=7, where="lesion", fraction=0.35)
    truth_lesion = 100 * phantom.lesional_uninformative_fraction
    truth_whole = 100 * phantom.uninformative_fraction
    assert truth_lesion - truth_whole > 10
    first_visit = generate_phantom(seed=7, size_px=1024, pixel_spacing_um=phantom.pixel_spacing_um, artifact_fraction=(0.0, 0.0))
    (tmp_path / "first-visit").mkdir()
    (tmp_path / "first-visit" / "L1_DEJ_mosaic.png").write_bytes(png_bytes(first_visit.image))
    files = {"dermoscopy.jpg": jpeg_bytes(phantom.dermoscopy), "L1_DEJ_mosaic.png": png_bytes(phantom.image),
             "L1_spinosum_mosaic.png": png_bytes(generate_phantom(seed=11, size_px=1024, artifact_fraction=(0.0, 0.0)).image)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)

    # --- The technician's first visit, three months ago: patient, lesion, one mosaic, submitted.
    sign_in(page, "tom", PASSWORD)
    page.get_by_role("button", name="New case").click()
    page.get_by_role("button", name="Register a new patient").click()
    form = page.get_by_role("form", name="New patient")
    form.get_by_label("MRN").fill("H-7001")
    form.get_by_label("Family name").fill("Harbour")
    form.get_by_label("Given name").fill("Hana")
    form.get_by_label("Birth date").fill("1971-05-20")
    form.get_by_role("button", name="Register patient").click()
    page.locator("[data-region=front-forearm-left]").click()
    page.get_by_role("button", name="Add lesion").click()
    earlier = datetime.date.today() - datetime.timedelta(days=90)
    page.get_by_label("Visit date").fill(earlier.isoformat())
    page.get_by_role("button", name="Create case and add images").click()
    expect(page).to_have_url(re.compile(r"/clinic/cases/[0-9a-f-]{36}$"))
    page.get_by_test_id("file-input").set_input_files(str(tmp_path / "first-visit" / "L1_DEJ_mosaic.png"))
    page.get_by_label("Pixel spacing of L1_DEJ_mosaic.png").fill(str(phantom.pixel_spacing_um))
    page.get_by_role("button", name="Upload 1 file").click()
    submit = page.get_by_role("button", name="Submit for reading")
    expect(submit).to_be_enabled(timeout=240_000)  # stored, pyramid, analysed and judged
    submit.click()
    expect(page.get_by_test_id("case-status")).to_have_text("Ready for reading", timeout=60_000)

    # --- Today's visit of the same lesion, with the clinic's question.
    page.get_by_role("button", name="← Cases").click()
    page.get_by_role("button", name="New case").click()
    page.get_by_label("Patient search").fill("H-70")  # the start of the MRN is enough
    page.get_by_role("table", name="Matching patients").get_by_role("button", name="Select").click()
    page.get_by_role("table", name="Lesions of the patient").get_by_role("button", name="Select").click()
    page.get_by_label("Clinical question").fill("Changing naevus: melanoma? Please assess the junction.")
    page.get_by_role("button", name="Create case and add images").click()
    expect(page).to_have_url(re.compile(r"/clinic/cases/[0-9a-f-]{36}$"))
    case = Case.objects.get(lesion__patient__mrn="H-7001", visit_date=datetime.date.today())

    page.get_by_test_id("file-input").set_input_files([str(tmp_path / name) for name in files])
    expect(page.get_by_test_id("upload-item")).to_have_count(3)
    page.get_by_label("Depth of L1_spinosum_mosaic.png").select_option("spinosum")
    for mosaic in ("L1_DEJ_mosaic.png", "L1_spinosum_mosaic.png"):
        page.get_by_label(f"Pixel spacing of {mosaic}").fill(str(phantom.pixel_spacing_um))
    page.get_by_role("button", name="Upload 3 files").click()
    expect(page.locator("[data-testid=upload-item][data-state=stored]")).to_have_count(3, timeout=60_000)
    dej = case.images.get(kind=ImageKind.RCM_MOSAIC, depth_level="dej")

    # Judged, live; without a registration the page says why the verdict is the whole mosaic's.
    wait_for(lambda: case_quality(case=case)["state"] == "complete", timeout=240, message="the first verdict")
    help_box = page.get_by_test_id("basis-help")
    expect(help_box).to_contain_text("not registered", timeout=30_000)
    expect(page.get_by_test_id("mosaic-verdict").first).to_contain_text("—")  # no lesional % yet

    # Register the DEJ mosaic by four landmark pairs: a feature on the dermoscopy, then on the mosaic.
    help_box.get_by_role("button", name="Register the mosaic").click()
    editor = page.get_by_test_id("registration-editor")
    # Features near the mosaic's corners (its field covers the middle of the dermoscopy image).
    on_mosaic = [(140.0, 150.0), (880.0, 130.0), (150.0, 870.0), (860.0, 880.0)]
    to_dermoscopy = np.linalg.inv(phantom.registration)
    dermoscopy_view, mosaic_view = settled_view(page, "register-dermoscopy"), settled_view(page, "register-mosaic")
    for point in on_mosaic:
        seen = to_dermoscopy @ [*point, 1.0]
        click_image(page, "register-dermoscopy", seen[:2] / seen[2], dermoscopy_view)
        expect(editor.get_by_test_id("registration-step")).to_contain_text("on the mosaic")
        click_image(page, "register-mosaic", point, mosaic_view)
    expect(editor.get_by_test_id("landmark-pair")).to_have_count(4)
    rms = float(editor.get_by_test_id("registration-rms").get_attribute("data-rms-um"))
    # A click lands within about a screen pixel; on the dermoscopy one screen pixel is ~6 mosaic pixels.
    assert rms < 20, rms
    editor.get_by_role("button", name="Save registration").click()
    expect(page.get_by_role("status").first).to_contain_text("Registration saved")
    saved = Registration.objects.get(mosaic=dej)
    assert saved.source == "landmarks" and saved.created_by.username == "tom"
    field = np.array([[200, 150, 1], [400, 300, 1]], dtype=float)  # in the mosaic's field, mapped within ~20 µm
    assert np.abs(field @ np.asarray(saved.matrix).T - field @ phantom.registration.T).max() * phantom.pixel_spacing_um < 30

    # Outline the lesion point by point (the model's outline was the starting point on offer).
    page.get_by_test_id("basis-help").get_by_role("button", name=re.compile("outline", re.I)).click()
    outline_editor = page.get_by_test_id("outline-editor")
    outline_editor.get_by_role("button", name="Draw by points").click()
    view = settled_view(page, "outline-dermoscopy")
    for point in lesion_polygon(phantom, points=36):
        click_image(page, "outline-dermoscopy", point, view)
    page.keyboard.press("Enter")
    expect(outline_editor.get_by_test_id("outline-step")).to_contain_text("36 vertices")
    outline_editor.get_by_role("button", name="Save outline").click()
    expect(page.get_by_role("status").first).to_contain_text("Lesion outline saved")

    def lesional() -> float | None:
        (judged,) = [m for m in case_quality(case=case)["mosaics"] if m["image"] == str(dej.id)]
        return judged["percent_lesion"] if judged.get("lesion_source") == "person" else None
    wait_for(lambda: lesional() is not None, timeout=60, message="the lesional verdict")
    assert abs(lesional() - truth_lesion) < 3, (lesional(), truth_lesion)
    row = page.locator("[data-testid=mosaic-verdict]", has_text="Dermal-epidermal junction")
    expect(row).to_contain_text(f"{lesional():.1f}%")
    (judged,) = [m for m in case_quality(case=case)["mosaics"] if m["image"] == str(dej.id)]
    interval = judged["interval_lesion"]  # the calibrated interval beside the figure, holding the truth
    assert interval["low"] <= truth_lesion <= interval["high"], (interval, truth_lesion)
    expect(row).to_contain_text(f"{lesional():.1f}% ({interval['low']:.1f}–{interval['high']:.1f})")
    expect(page.get_by_test_id("basis-help")).to_contain_text("Judged within the lesion")

    # Submit: the status follows without a reload.
    page.once("dialog", lambda dialog: dialog.accept())  # re-imaging is recommended: submit anyway
    page.get_by_role("button", name="Submit for reading").click()
    expect(page.get_by_test_id("case-status")).to_have_text("Ready for reading", timeout=60_000)
    sign_out(page)

    # --- The site admin assigns the reader in the browser.
    sign_in(page, "ada", PASSWORD)
    page.get_by_role("link", name="Site admin").click()
    queued = page.locator(f"[data-testid=queue-row][data-case='{case.id}']")
    queued.get_by_label("Reader").select_option(str(reader.id))
    queued.get_by_role("button", name="Assign").click()
    expect(page.get_by_test_id("admin-notice")).to_contain_text("Rui Reader")
    sign_out(page)

    # --- The reader: the case opens on the DEJ; depth steps keep the view; a ruler in µm.
    sign_in(page, "rui", PASSWORD)
    page.locator(f"[data-testid=worklist-row][data-case='{case.id}']").click()
    expect(page.get_by_test_id("viewer-title")).to_have_text(re.compile("Dermal-epidermal junction"))
    expect(page.get_by_test_id("case-header")).to_contain_text("melanoma? Please assess the junction.")
    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("button", name="Zoom in").click()
    before = settled_view(page, "main-viewer")
    page.keyboard.press("[")
    expect(page.get_by_test_id("viewer-title")).to_have_text(re.compile("Stratum spinosum|Suprabasal"))
    after = settled_view(page, "main-viewer")
    assert abs(after["scale"] - before["scale"]) / before["scale"] < 0.01, (before, after)
    assert np.hypot(*np.subtract(after["centre"], before["centre"])) < 3, (before, after)
    expect(page.get_by_test_id("scale-bar")).to_be_visible()

    page.keyboard.press("]")
    expect(page.get_by_test_id("viewer-title")).to_have_text(re.compile("Dermal-epidermal junction"))
    page.get_by_role("button", name="Fit").click()
    page.get_by_role("button", name="Measure").click()
    view = settled_view(page, "main-viewer")
    start, end = (300.0, 400.0), (700.0, 700.0)  # 500 px apart
    click_image(page, "main-viewer", start, view)
    click_image(page, "main-viewer", end, view)
    measured = float(page.get_by_test_id("measurement").get_attribute("data-um"))
    known = 500 * phantom.pixel_spacing_um
    assert abs(measured - known) / known < 0.05, (measured, known)
    page.get_by_role("button", name="Measure").click()

    # The previous visit's mosaic at the same depth, side by side; pan and zoom move both.
    expect(page.get_by_test_id("lesion-history")).to_contain_text(earlier.isoformat())
    page.get_by_role("button", name=f"Compare with {earlier.isoformat()}").click()
    expect(page.get_by_test_id("prior-viewer")).to_be_visible()
    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("button", name="Zoom in").click()
    here, there = settled_view(page, "main-viewer"), settled_view(page, "prior-viewer")
    assert abs(here["scale"] - there["scale"]) / here["scale"] < 0.02, (here, there)
    assert np.hypot(*np.subtract(here["centre"], there["centre"])) < 4, (here, there)
    page.get_by_role("button", name=f"Compare with {earlier.isoformat()}").click()

    # Claim and sign.
    page.get_by_role("button", name="Claim case").click()
    report = page.get_by_test_id("report")
    report.get_by_label("Diagnosis").select_option("nv")
    report.get_by_label("Management").select_option("biopsy")
    report.get_by_label("Findings").fill("Regular junctional nests; no pagetoid cells.")
    report.get_by_role("button", name="Sign…").click()
    dialog = page.get_by_role("dialog", name="Sign the report")
    dialog.get_by_label("Your password").fill(PASSWORD)
    dialog.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_test_id("case-status")).to_have_text("Signed")

    # The PDF is fit for the chart: the MRN and the clinical question are on it.
    with page.expect_download() as download:
        page.get_by_test_id("pdf-link").click()
    pdf = tmp_path / "report.pdf"
    download.value.save_as(pdf)
    text = " ".join(page_.extract_text() for page_ in PdfReader(str(pdf)).pages)
    assert "H-7001" in text and "melanoma? Please assess the junction." in " ".join(text.split()), text[:2000]
