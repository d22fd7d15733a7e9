"""Automatic registration proposals: the pure search on phantom pairs, then the API that offers one
(never saved, audited, the same people as registering, a clear "no confident proposal").

The phantoms of inference.phantoms carry no shared signal between mosaic and dermoscopy (see
inference/phantoms/registration.py), so the positive cases use `shared_signal` pairs, whose mosaic
follows the dermoscopy's pigment. Seeds 104 and 106; the benchmark (experiments/auto_registration.py)
uses 2000-2023.
"""

from __future__ import annotations

import numpy as np
import pytest

from dermrelay.accounts.models import Role
from dermrelay.audit.models import AuditEvent, AuditOutcome
from dermrelay.cases.models import Image, ImageKind
from dermrelay.imaging.auto_registration import propose
from dermrelay.imaging.models import Registration
from inference.phantoms.encoding import jpeg_bytes as jpeg_of
from inference.phantoms.encoding import png_bytes as png_of
from inference.phantoms.generator import generate_phantom
from inference.phantoms.registration import shared_signal
from tests.factories import api_client, make_case, make_site, make_user, upload
from tests.reading.helpers import assign, make_clinic, submit

SIZE, SPACING = 512, 4.0  # a 2048 µm field, as the default phantoms, at half the pixels
TOLERANCE_UM = 150.0  # the largest corner error a proposal on these pairs may have


def _pair(seed: int):
    return shared_signal(generate_phantom(seed=seed, size_px=SIZE, pixel_spacing_um=SPACING, artifact_fraction=(0.0, 0.3)))


def _dermoscopy_spacing(phantom) -> float:
    return SPACING * float(np.hypot(phantom.registration[0, 0], phantom.registration[1, 0]))


def corner_error_um(matrix, truth) -> float:
    """The largest distance on the mosaic, in µm, between where the matrix and the truth put its corners."""
    corners = np.array([[0, 0, 1], [SIZE, 0, 1], [0, SIZE, 1], [SIZE, SIZE, 1]], dtype=float)
    mapped = (corners @ np.linalg.inv(truth).T) @ np.asarray(matrix, dtype=float).T
    return float(np.max(np.hypot(*(mapped[:, :2] / mapped[:, 2:3] - corners[:, :2]).T)) * SPACING)


def _propose(mosaic, dermoscopy, spacing=None):
    return propose(mosaic=mosaic, mosaic_spacing_um=SPACING, mosaic_size=(SIZE, SIZE), dermoscopy=dermoscopy,
                   dermoscopy_size=(dermoscopy.shape[1], dermoscopy.shape[0]), dermoscopy_spacing_um=spacing)


# --- the search --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [104, 106])
@pytest.mark.parametrize("spacing_known", [True, False])
def test_a_proposal_on_a_shared_signal_pair_lands_near_the_truth(seed, spacing_known):
    phantom = _pair(seed)
    result = _propose(phantom.image, phantom.dermoscopy, _dermoscopy_spacing(phantom) if spacing_known else None)
    assert result.confident, result.statement
    assert corner_error_um(result.matrix, phantom.registration) < TOLERANCE_UM
    assert result.statement.startswith("Proposed")


def test_a_reduced_copy_gives_the_same_matrix_in_full_resolution_pixels():
    phantom = _pair(104)
    result = propose(mosaic=phantom.image[::2, ::2], mosaic_spacing_um=SPACING, mosaic_size=(SIZE, SIZE),
                     dermoscopy=phantom.dermoscopy, dermoscopy_size=(600, 450),
                     dermoscopy_spacing_um=_dermoscopy_spacing(phantom))
    assert result.confident and corner_error_um(result.matrix, phantom.registration) < TOLERANCE_UM


def test_an_unrelated_dermoscopy_gets_no_confident_proposal():
    phantom = _pair(104)
    other = generate_phantom(seed=154, size_px=SIZE, pixel_spacing_um=SPACING)
    result = _propose(phantom.image, other.dermoscopy, _dermoscopy_spacing(phantom))
    assert not result.confident and result.matrix is None
    assert result.statement.startswith("No confident proposal")


def test_noise_for_a_mosaic_gets_no_confident_proposal():
    phantom = _pair(106)
    noise = (np.random.default_rng(3).random((SIZE, SIZE)) * 200 + 20).astype(np.uint8)
    result = _propose(noise, phantom.dermoscopy)
    assert not result.confident and result.matrix is None


def test_a_mosaic_with_nothing_imaged_gets_a_plain_statement():
    phantom = _pair(104)
    result = _propose(np.zeros((SIZE, SIZE), np.uint8), phantom.dermoscopy)
    assert not result.confident and result.matrix is None and result.score is None


# --- the API -----------------------------------------------------------------------------------


def _upload_pair(client, case, phantom, *, dermoscopy=None, dermoscopy_spacing=None) -> dict:
    fields = {"pixel_spacing_um": dermoscopy_spacing} if dermoscopy_spacing else {}
    d = upload(client, case, jpeg_of(phantom.dermoscopy if dermoscopy is None else dermoscopy), name="d.jpg",
               kind=ImageKind.DERMOSCOPY, **fields)
    m = upload(client, case, png_of(phantom.image), name="m.png", kind=ImageKind.RCM_MOSAIC, depth_level="dej",
               pixel_spacing_um=SPACING)
    assert d.status_code == 201 and m.status_code == 201, (d.content, m.content)
    return {"dermoscopy": d.json()["id"], "mosaic": m.json()["id"]}


def _url(mosaic_id) -> str:
    return f"/api/v1/images/{mosaic_id}/registration/proposal/"


@pytest.fixture
def clinic():
    return make_clinic()


@pytest.fixture
def phantom_case(clinic):
    phantom = _pair(104)
    case = make_case(site=clinic.site, actor=clinic.tech)
    ids = _upload_pair(clinic.tech_client, case, phantom, dermoscopy_spacing=_dermoscopy_spacing(phantom))
    return phantom, case, ids


@pytest.mark.django_db(transaction=True)
def test_the_clinic_gets_a_proposal_that_is_not_saved_and_is_audited(clinic, phantom_case, django_assert_max_num_queries):
    phantom, case, ids = phantom_case
    with django_assert_max_num_queries(16):
        response = clinic.tech_client.post(_url(ids["mosaic"]), {"dermoscopy": ids["dermoscopy"]}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["confident"] is True and body["dermoscopy"] == ids["dermoscopy"]
    assert corner_error_um(body["matrix"], phantom.registration) < TOLERANCE_UM
    assert body["method"] and body["method_description"] and body["statement"].startswith("Proposed")
    assert 0.75 <= body["score"] <= 1 and body["margin"] >= 0.15
    assert not Registration.objects.filter(mosaic_id=ids["mosaic"]).exists()
    (event,) = AuditEvent.objects.filter(action="propose", object_type="registration")
    assert (event.actor_id, event.object_id, event.site_id, event.outcome) == (
        clinic.tech.id, ids["mosaic"], clinic.site.id, AuditOutcome.SUCCESS)
    assert event.detail == {"dermoscopy": ids["dermoscopy"], "confident": True, "method": body["method"]}
    # Accepting it is a PUT with source "automatic".
    accepted = clinic.tech_client.put(f"/api/v1/images/{ids['mosaic']}/registration/",
                                      {"dermoscopy": ids["dermoscopy"], "matrix": body["matrix"], "source": "automatic"},
                                      format="json")
    assert accepted.status_code == 200 and accepted.json()["source"] == "automatic"


@pytest.mark.django_db(transaction=True)
def test_an_unrelated_dermoscopy_gets_a_clear_no(clinic):
    phantom = _pair(104)
    case = make_case(site=clinic.site, actor=clinic.tech)
    other = generate_phantom(seed=154, size_px=SIZE, pixel_spacing_um=SPACING)
    ids = _upload_pair(clinic.tech_client, case, phantom, dermoscopy=other.dermoscopy,
                       dermoscopy_spacing=_dermoscopy_spacing(phantom))
    response = clinic.tech_client.post(_url(ids["mosaic"]), {"dermoscopy": ids["dermoscopy"]}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["confident"] is False and body["matrix"] is None
    assert body["statement"].startswith("No confident proposal")


@pytest.mark.django_db(transaction=True)
def test_who_may_ask_is_who_may_register(clinic, phantom_case):
    _, case, ids = phantom_case
    body = {"dermoscopy": ids["dermoscopy"]}
    outsider = api_client(make_user(role=Role.TECHNICIAN, site=make_site()))
    qa = api_client(make_user(role=Role.QA_ADMIN, site=clinic.site))
    for client in (outsider, qa, clinic.reader_client):  # the reader is not assigned yet
        response = client.post(_url(ids["mosaic"]), body, format="json")
        assert response.status_code == 404 and "matrix" not in response.json()
    assert api_client().post(_url(ids["mosaic"]), body, format="json").status_code in (401, 403)
    assert not AuditEvent.objects.filter(action="propose").exists()
    submit(clinic, case)
    assert assign(clinic, case).status_code == 201
    response = clinic.reader_client.post(_url(ids["mosaic"]), body, format="json")
    assert response.status_code == 200 and response.json()["confident"] is True


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("body, field", [
    ({}, "dermoscopy"),
    ({"dermoscopy": "not-a-uuid"}, "dermoscopy"),
    ({"dermoscopy": "00000000-0000-0000-0000-000000000000"}, "dermoscopy"),
    ("mosaic", "dermoscopy"),  # the mosaic given as its own dermoscopy
])
def test_bad_input_is_a_400(clinic, phantom_case, body, field):
    _, _, ids = phantom_case
    if body == "mosaic":
        body = {"dermoscopy": ids["mosaic"]}
    response = clinic.tech_client.post(_url(ids["mosaic"]), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_proposal_onto_a_dermoscopy_image_is_a_400(clinic, phantom_case):
    _, _, ids = phantom_case
    response = clinic.tech_client.post(_url(ids["dermoscopy"]), {"dermoscopy": ids["dermoscopy"]}, format="json")
    assert response.status_code == 400 and "mosaic" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_mosaic_without_pixel_spacing_gets_a_statement_not_a_guess(clinic, phantom_case):
    _, _, ids = phantom_case
    Image.objects.filter(pk=ids["mosaic"]).update(pixel_spacing_um=None)
    response = clinic.tech_client.post(_url(ids["mosaic"]), {"dermoscopy": ids["dermoscopy"]}, format="json")
    assert response.status_code == 200
    assert response.json()["confident"] is False and "pixel spacing" in response.json()["statement"]
