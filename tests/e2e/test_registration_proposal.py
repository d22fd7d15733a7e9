"""Registering a mosaic without landmarks, in the browser: the technician asks for an automatic
proposal, sees it as the mosaic's field with its confidence and accepts it (saved as "automatic");
then places the field by hand, dragging its centre and its corner, and saves it ("placed"). The case
and its images are made through the API (not the feature); everything registered is done in the page."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from dermrelay.gate.selectors import case_quality
from dermrelay.cases.models import ImageKind
from dermrelay.imaging.models import Registration
from inference.phantoms.encoding import jpeg_bytes, png_bytes
from inference.phantoms.generator import generate_phantom
from inference.phantoms.registration import shared_signal
from tests.gate.gate_cases import models_sync_quality_model_only
from tests.conftest import wait_for
from tests.e2e.conftest import sign_in
from tests.e2e.test_clinic_case_start_to_finish import settled_view
from tests.factories import PASSWORD, api_client, make_case, make_site, make_user, upload
from tests.imaging.test_auto_registration import TOLERANCE_UM, corner_error_um

pytestmark = [pytest.mark.browser]


def _screen(view: dict, point) -> tuple[float, float]:
    box, scale, (cx, cy) = view["box"], view["scale"], view["centre"]
    return (box["x"] + box["width"] / 2 + (point[0] - cx) * scale, box["y"] + box["height"] / 2 + (point[1] - cy) * scale)


@pytest.mark.worker
def test_propose_accept_then_place_the_field_by_hand(page, live_worker):
    models_sync_quality_model_only()
    site = make_site("cove")
    from dermrelay.accounts.models import Role

    tech = make_user(role=Role.TECHNICIAN, site=site, username="tess")
    case = make_case(site=site, actor=tech)
    phantom = shared_signal(generate_phantom(seed=106, size_px=512, pixel_spacing_um=4.0, artifact_fraction=(0.0, 0.3)))
    scale = float(np.hypot(phantom.registration[0, 0], phantom.registration[1, 0]))
    client = api_client(tech)
    assert upload(client, case, jpeg_bytes(phantom.dermoscopy), name="d.jpg", kind=ImageKind.DERMOSCOPY,
                  pixel_spacing_um=4.0 * scale).status_code == 201
    assert upload(client, case, png_bytes(phantom.image), name="m.png", kind=ImageKind.RCM_MOSAIC, depth_level="dej",
                  pixel_spacing_um=4.0).status_code == 201
    mosaic = case.images.get(kind=ImageKind.RCM_MOSAIC)
    wait_for(lambda: case_quality(case=case)["state"] == "complete", timeout=240, message="the first verdict")

    sign_in(page, "tess", PASSWORD)
    page.goto(f"/clinic/cases/{case.id}")
    page.get_by_test_id("basis-help").get_by_role("button", name="Register the mosaic").click()
    editor = page.get_by_test_id("registration-editor")
    editor.get_by_role("button", name="Propose automatically").click()
    proposal = editor.get_by_test_id("registration-proposal")
    expect(proposal).to_have_attribute("data-confident", "true", timeout=60_000)
    expect(proposal).to_contain_text("Proposed")
    expect(editor.get_by_test_id("placement-source")).to_contain_text("automatic")
    page.screenshot(path="/tmp/h5-autoreg-proposal.png")
    editor.get_by_role("button", name="Save registration").click()
    expect(page.get_by_role("status").first).to_contain_text("Registration saved")
    saved = Registration.objects.get(mosaic=mosaic)
    assert saved.source == "automatic" and saved.created_by == tech
    assert corner_error_um(saved.matrix, phantom.registration) < TOLERANCE_UM

    # Place it by hand: it starts where the saved registration is; drag the centre, then the corner.
    page.get_by_test_id("basis-help").get_by_role("button", name="Register the mosaic again").click()
    editor.get_by_role("button", name="Place the field").click()
    expect(editor.get_by_test_id("placement-step")).to_be_visible()
    view = settled_view(page, "register-dermoscopy")
    centre, corner = editor.get_by_test_id("vertex-handle").all()
    start = np.asarray(saved.matrix)
    box = centre.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.down()
    page.mouse.move(box["x"] + 5 + 10 * view["scale"], box["y"] + 5, steps=4)  # 10 dermoscopy px to the right
    page.mouse.up()
    angle_before_turn = editor.get_by_label("Turn (degrees)").input_value()
    box = corner.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.down()
    page.mouse.move(box["x"] + 5, box["y"] + 5 + 15, steps=4)  # turn it a little clockwise
    page.mouse.up()
    expect(editor.get_by_test_id("placement-source")).to_contain_text("placed by you")
    angle_text = editor.get_by_label("Turn (degrees)").input_value()
    angle = float(angle_text)
    assert angle_text != angle_before_turn
    # One drag is one undo step; redo brings it back.
    editor.get_by_role("button", name="Undo").click()
    expect(editor.get_by_label("Turn (degrees)")).to_have_value(angle_before_turn)
    editor.get_by_role("button", name="Redo").click()
    expect(editor.get_by_label("Turn (degrees)")).to_have_value(angle_text)
    page.screenshot(path="/tmp/h5-autoreg-placed.png")
    editor.get_by_role("button", name="Save registration").click()
    expect(editor).to_have_count(0)  # saved and closed (the notice may still be the first save's)
    placed = wait_for(lambda: Registration.objects.filter(mosaic=mosaic, source="placed").first(), timeout=30,
                      message="the placed registration")
    moved = np.asarray(placed.matrix)
    # The mosaic's centre now lies about 10 dermoscopy px to the right of where the proposal put it.
    centre_before = np.linalg.solve(start, [256, 256, 1])
    centre_after = np.linalg.solve(moved, [256, 256, 1])
    assert abs((centre_after / centre_after[2])[0] - (centre_before / centre_before[2])[0] - 10) < 2
    assert abs((centre_after / centre_after[2])[1] - (centre_before / centre_before[2])[1]) < 2
    # Turned clockwise on screen by the corner drag: the angle the page shows is the stored one.
    stored = np.degrees(np.arctan2(moved[0, 1], moved[0, 0]))
    assert abs(stored - angle) < 0.2 and angle > np.degrees(np.arctan2(start[0, 1], start[0, 0])) + 0.5
