"""Dermoscopy → mosaic registration: the pure transform maths, then the API that records it."""

from __future__ import annotations

import math
import uuid

import numpy as np
import pytest

from dermrelay.accounts.models import Role
from dermrelay.audit.models import AuditEvent
from dermrelay.cases.models import Case, CaseStatus, Image, ImageKind
from dermrelay.imaging.models import Registration
from dermrelay.imaging.registration import MAX_CONDITION, DegenerateTransform, apply, check_matrix, fit_affine
from tests.factories import api_client, jpeg_bytes, make_case, make_site, make_user, png_bytes, upload

W, H = 640, 480  # the dermoscopy image the transforms map


def _affine(angle_deg=30.0, scale=1.7, tx=120.0, ty=-40.0) -> np.ndarray:
    a = math.radians(angle_deg)
    return np.array([
        [scale * math.cos(a), -scale * math.sin(a), tx],
        [scale * math.sin(a), scale * math.cos(a), ty],
        [0.0, 0.0, 1.0],
    ])


TRUTH = _affine()
IDENTITY = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]


# --- fit_affine, apply, check_matrix ------------------------------------------------------------------


def test_fit_recovers_an_exact_affine_from_three_pairs():
    src = np.array([[10.0, 20.0], [600.0, 40.0], [300.0, 450.0]])
    fit = fit_affine(src, apply(TRUTH, src), width=W, height=H)
    assert np.allclose(fit.matrix, TRUTH, atol=1e-9)
    assert fit.rms_error_px == pytest.approx(0, abs=1e-9)
    assert isinstance(fit.matrix, list) and len(fit.matrix) == 3 and fit.matrix[2] == [0.0, 0.0, 1.0]


def test_fit_to_noisy_pairs_has_the_noise_as_its_residual():
    rng = np.random.default_rng(7)
    src = rng.uniform([0, 0], [W, H], size=(12, 2))
    noise = rng.normal(0, 1.5, size=(12, 2))
    dst = apply(TRUTH, src) + noise
    fit = fit_affine(src.tolist(), dst.tolist(), width=W, height=H)
    noise_rms = float(np.sqrt(np.mean(np.sum(noise**2, axis=1))))
    # least squares can only do better than the truth on its own data, and with 12 pairs for 6
    # parameters not much better: sqrt((12 - 3) / 12) of the noise in expectation
    assert 0.6 * noise_rms < fit.rms_error_px <= noise_rms + 1e-9
    m = np.array(fit.matrix)
    assert np.allclose(m[:2, :2], TRUTH[:2, :2], atol=0.02)
    assert np.allclose(m[:2, 2], TRUTH[:2, 2], atol=3.0)
    # the fitted transform puts the image's corners within a few pixels of where the truth does
    corners = [[0, 0], [W, 0], [0, H], [W, H]]
    assert np.max(np.linalg.norm(apply(m, corners) - apply(TRUTH, corners), axis=1)) < 5


def test_fit_residual_is_the_root_mean_square_distance():
    src = [[0, 0], [100, 0], [0, 100], [100, 100]]
    dst = [[0, 0], [100, 0], [0, 100], [100 + 4, 100]]  # one point 4 px off
    fit = fit_affine(src, dst, width=W, height=H)
    # the best affine spreads the 4 px error over all four points: each is 1 px off
    assert fit.rms_error_px == pytest.approx(1.0, abs=1e-9)


def test_apply_maps_points_affine_and_projective():
    assert np.allclose(apply(TRUTH, [[0, 0], [1, 0]]), [[120, -40], [120 + 1.7 * math.cos(math.radians(30)),
                                                                      -40 + 1.7 * math.sin(math.radians(30))]])
    projective = [[2, 0, 10], [0, 2, 20], [0.001, 0, 1]]
    # (100, 50) → (2·100 + 10, 2·50 + 20) / (0.001·100 + 1)
    assert np.allclose(apply(projective, [[100, 50]]), [[210 / 1.1, 120 / 1.1]])
    assert apply(IDENTITY, [[3.5, 4.5]]).tolist() == [[3.5, 4.5]]


def test_check_matrix_normalises_the_scale():
    checked = check_matrix((5 * TRUTH).tolist(), width=W, height=H)
    assert checked[2][2] == 1.0 and np.allclose(checked, TRUTH)
    assert np.allclose(check_matrix((-0.5 * TRUTH).tolist(), width=W, height=H), TRUTH)  # w < 0 everywhere: same map
    assert check_matrix(IDENTITY, width=W, height=H) == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


def test_check_matrix_accepts_a_mild_perspective_and_a_whole_image_mirror():
    check_matrix([[1, 0, 0], [0, 1, 0], [1e-4, 2e-4, 1]], width=W, height=H)
    # a mirror flips everything the same way: no fold, the lesion keeps its shape (mirrored)
    mirrored = check_matrix([[-1, 0, W], [0, 1, 0], [0, 0, 1]], width=W, height=H)
    assert np.allclose(apply(mirrored, [[0, 0], [W, H]]), [[W, 0], [0, H]])


@pytest.mark.parametrize("matrix", [
    [[1, 0, 0], [0, 1, 0]],  # 2x3
    [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]],  # 3x4
    [1, 0, 0, 0, 1, 0, 0, 0, 1],  # flat
    [[[1, 0, 0], [0, 1, 0], [0, 0, 1]]],  # 1x3x3
    [[1, 0, 0], [0, 1], [0, 0, 1]],  # ragged
    [],
])
def test_wrong_shape_is_degenerate(matrix):
    with pytest.raises(DegenerateTransform):
        check_matrix(matrix, width=W, height=H)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("where", [(0, 0), (1, 2), (2, 0), (2, 2)])
def test_non_finite_matrix_is_degenerate(bad, where):
    m = [list(map(float, row)) for row in IDENTITY]
    m[where[0]][where[1]] = bad
    with pytest.raises(DegenerateTransform):
        check_matrix(m, width=W, height=H)


@pytest.mark.parametrize("matrix,why", [
    pytest.param([[1, 0, 5], [0, 1, 5], [0, 0, 0]], "bottom-right", id="bottom-right-zero"),
    pytest.param([[1, 0, 5], [0, 1, 5], [0, 0, 1e-15]], "bottom-right", id="bottom-right-almost-zero"),
    pytest.param([[1, 2, 0], [2, 4, 0], [0, 0, 1]], "collapses", id="singular"),
    pytest.param([[0, 0, 7], [0, 0, 9], [0, 0, 1]], "collapses", id="all-to-one-point"),
    pytest.param([[1e-3, 0, 0], [0, 1e-3, 0], [0, 0, 1]], "collapses", id="shrunk-to-a-dot"),  # det 1e-6, cond 1
    pytest.param([[1e4, 0, 0], [0, 1e-3, 0], [0, 0, 1]], "collapses", id="condition-1e7"),  # det 10: a line in effect
    pytest.param([[1, 1, 0], [1, 1 + 1e-7, 0], [0, 0, 1]], "collapses", id="nearly-parallel-axes"),
    # the linear part is the identity, but m is singular (row 3 = (row 1 + row 2) / 1000): every
    # point lands on the line u + v = 1000
    pytest.param([[1, 0, 1], [0, 1, 1], [0.001, 0.001, 0.002]], "collapses", id="singular-perspective"),
    # regular, but the far corner shrinks 1e-6-fold in area: det(m) / w³ there is (1/100)³
    pytest.param([[1, 0, 0], [0, 1, 0], [99 / W, 0, 1]], "collapses", id="perspective-squashing-a-side"),
    pytest.param([[1, 0, 0], [0, 1, 0], [-1 / W, 0, 1]], "infinity", id="right-edge-at-infinity"),
    pytest.param([[1, 0, 0], [0, 1, 0], [0, -1 / H, 1]], "infinity", id="bottom-edge-at-infinity"),
    pytest.param([[1, 0, 0], [0, 1, 0], [-2 / W, 0, 1]], "infinity", id="right-half-behind"),
    pytest.param([[1, 0, 0], [0, 1, 0], [-1 / W, -1 / H, 1.5]], "infinity", id="one-corner-behind"),
])
def test_degenerate_matrices_are_refused(matrix, why):
    """A projective map folds only across its horizon (w = 0): its Jacobian's determinant is det(M)/w³,
    of one sign wherever w > 0. So a part-flip is exactly a corner behind the horizon, refused as such."""
    with pytest.raises(DegenerateTransform, match=why):
        check_matrix(matrix, width=W, height=H)


def test_a_singular_perspective_matrix_would_put_the_whole_image_on_one_line():
    """The case above is what its comment says: worth refusing, and not caught by the linear part alone."""
    m = [[1, 0, 1], [0, 1, 1], [0.001, 0.001, 0.002]]
    assert np.linalg.det(m) == pytest.approx(0, abs=1e-15) and np.linalg.det(np.array(m)[:2, :2]) == 1
    mapped = apply(m, [[0, 0], [W, 0], [0, H], [W, H], [W / 3, H / 7]])
    assert np.allclose(mapped.sum(axis=1), 1000)


def test_condition_threshold_sits_between_usable_and_squashed():
    check_matrix([[1e2, 0, 0], [0, 1e-2, 0], [0, 0, 1]], width=W, height=H)  # condition 1e4, det 1
    with pytest.raises(DegenerateTransform):
        check_matrix([[MAX_CONDITION * 10, 0, 0], [0, 1, 0], [0, 0, 1]], width=W, height=H)


def test_one_corner_behind_the_horizon_is_refused_even_when_the_others_are_fine():
    m = [[1, 0, 0], [0, 1, 0], [-1 / W, -1 / H, 1.5]]
    w = [np.dot(m[2], [x, y, 1]) for x, y in [(0, 0), (W, 0), (0, H), (W, H)]]
    assert [v > 0 for v in w] == [True, True, True, False]  # the test case is what its name says
    with pytest.raises(DegenerateTransform, match="infinity"):
        check_matrix(m, width=W, height=H)


@pytest.mark.parametrize("src,dst,why", [
    pytest.param([], [], "pairs", id="none"),
    pytest.param([[0, 0], [10, 0]], [[0, 0], [10, 0]], "three", id="two-pairs"),
    pytest.param([[0, 0], [10, 10], [20, 20], [35, 35]], [[0, 0], [5, 1], [9, 4], [3, 3]], "one line", id="collinear"),
    pytest.param([[0, 0], [10, 10], [20, 20 + 1e-9]], [[0, 0], [5, 1], [9, 4]], "one line", id="almost-collinear"),
    pytest.param([[5, 5]] * 4, [[0, 0], [5, 1], [9, 4], [1, 8]], "one line", id="coincident"),
    pytest.param([[0, 0], [0, 0], [10, 10]], [[0, 0], [5, 1], [9, 4]], "one line", id="two-coincident-one-apart"),
    pytest.param([[0, 0], [100, 0], [0, 100]], [[0, 0], [50, 50], [100, 100]], "collapses", id="mosaic-side-collinear"),
    pytest.param([[0, 0], [100, 0], [0, 100]], [[3, 3]] * 3, "collapses", id="mosaic-side-coincident"),
    pytest.param([[0, 0], [100, 0], [0, float("nan")]], [[0, 0], [50, 0], [0, 50]], "finite", id="nan-dermoscopy"),
    pytest.param([[0, 0], [100, 0], [0, 100]], [[0, 0], [float("inf"), 0], [0, 50]], "Landmarks must be finite",
                 id="inf-mosaic"),
    pytest.param([[0, 0, 1], [100, 0, 1], [0, 100, 1]], [[0, 0, 1], [50, 0, 1], [0, 50, 1]], "pairs",
                 id="three-coordinates"),
    pytest.param([[0, 0], [100, 0], [0, 100]], [[0, 0], [50, 0]], "pairs", id="unequal-counts"),
    pytest.param([0, 0, 100, 0, 0, 100], [0, 0, 50, 0, 0, 50], "pairs", id="flat-lists"),
    pytest.param([[0, 0], [100, 0], [0]], [[0, 0], [50, 0], [0, 50]], "numbers", id="ragged"),
])
def test_degenerate_landmarks_are_refused(src, dst, why):
    with pytest.raises(DegenerateTransform, match=why):
        fit_affine(src, dst, width=W, height=H)


def test_landmarks_that_fit_a_projective_too_steep_for_the_image_are_refused():
    """An affine fit cannot send a corner to infinity, but it can squash: a fit that collapses is refused."""
    src = [[0, 0], [W, 0], [0, H], [W, H]]
    dst = [[0, 0], [W * 1e-5, 0], [0, H * 1e-5], [W * 1e-5, H * 1e-5]]  # det 1e-10
    with pytest.raises(DegenerateTransform):
        fit_affine(src, dst, width=W, height=H)


def test_landmarks_of_a_mirror_are_fitted():
    src = [[0, 0], [W, 0], [0, H], [W / 2, H / 3]]
    dst = [[W - x, y] for x, y in src]
    fit = fit_affine(src, dst, width=W, height=H)
    assert np.allclose(fit.matrix, [[-1, 0, W], [0, 1, 0], [0, 0, 1]], atol=1e-9)


# --- the API -------------------------------------------------------------------------------------


@pytest.fixture
def clinic(db):
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    case = make_case(site=site, actor=tech)
    client = api_client(tech)
    mosaic = _upload(client, case, png_bytes(300, 260, color=90), kind=ImageKind.RCM_MOSAIC, depth_level="dej")
    dermoscopy = _upload(client, case, jpeg_bytes(W, H), name="d.jpg", kind=ImageKind.DERMOSCOPY)
    return {"site": site, "tech": tech, "case": case, "client": client, "mosaic": mosaic, "dermoscopy": dermoscopy}


def _upload(client, case, data, **fields) -> Image:
    response = upload(client, case, data, **fields)
    assert response.status_code == 201, response.content
    return Image.objects.get(pk=response.json()["id"])


def _url(image) -> str:
    return f"/api/v1/images/{image.id}/registration/"


def _put(client, mosaic, body):
    return client.put(_url(mosaic), body, format="json")


def _registration_events():
    return AuditEvent.objects.filter(object_type="registration")


def _landmarks(matrix=TRUTH, points=((10, 20), (600, 40), (300, 450), (50, 400))):
    return [{"dermoscopy": list(p), "mosaic": apply(matrix, [p])[0].tolist()} for p in points]


@pytest.mark.django_db
def test_put_a_device_matrix_then_read_it(clinic):
    client, mosaic, dermoscopy = clinic["client"], clinic["mosaic"], clinic["dermoscopy"]
    response = _put(client, mosaic, {"dermoscopy": str(dermoscopy.id), "matrix": IDENTITY})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["source"] == "device" and body["dermoscopy"] == str(dermoscopy.id)
    assert body["matrix"] == IDENTITY and body["rms_error_px"] is None and body["landmarks"] is None
    stored = Registration.objects.get(mosaic=mosaic)
    assert (stored.dermoscopy_id, stored.source, stored.created_by_id) == (dermoscopy.id, "device", clinic["tech"].id)

    got = client.get(_url(mosaic))
    assert got.status_code == 200 and got.json() == body


@pytest.mark.django_db
def test_put_a_scaled_matrix_stores_it_normalised(clinic):
    client, mosaic, dermoscopy = clinic["client"], clinic["mosaic"], clinic["dermoscopy"]
    response = _put(client, mosaic, {"dermoscopy": str(dermoscopy.id), "matrix": (4 * TRUTH).tolist()})
    assert response.status_code == 200
    assert response.json()["matrix"][2][2] == 1.0 and np.allclose(response.json()["matrix"], TRUTH)
    assert np.allclose(Registration.objects.get(mosaic=mosaic).matrix, TRUTH)


@pytest.mark.django_db
def test_put_landmarks_fits_an_affine(clinic):
    client, mosaic, dermoscopy = clinic["client"], clinic["mosaic"], clinic["dermoscopy"]
    landmarks = _landmarks()
    response = _put(client, mosaic, {"dermoscopy": str(dermoscopy.id), "landmarks": landmarks})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["source"] == "landmarks" and body["rms_error_px"] == pytest.approx(0, abs=1e-6)
    assert np.allclose(body["matrix"], TRUTH, atol=1e-6)
    assert len(body["landmarks"]) == 4 and np.allclose(body["landmarks"][1]["mosaic"], landmarks[1]["mosaic"])
    assert client.get(_url(mosaic)).json() == body

    # a noisy landmark shows in the residual
    landmarks[0]["mosaic"][0] += 8
    body = _put(client, mosaic, {"dermoscopy": str(dermoscopy.id), "landmarks": landmarks}).json()
    assert 1 < body["rms_error_px"] < 8

    # a later device matrix replaces the fit, landmarks and residual included
    body = _put(client, mosaic, {"dermoscopy": str(dermoscopy.id), "matrix": IDENTITY}).json()
    assert (body["source"], body["landmarks"], body["rms_error_px"]) == ("device", None, None)
    assert Registration.objects.filter(mosaic=mosaic).count() == 1


@pytest.mark.django_db
def test_get_before_any_registration_is_not_registered(clinic):
    response = clinic["client"].get(_url(clinic["mosaic"]))
    assert response.status_code == 404 and response.json()["code"] == "not_registered"


@pytest.mark.django_db
@pytest.mark.parametrize("body", [
    pytest.param({"matrix": [[1, 2, 0], [2, 4, 0], [0, 0, 1]]}, id="singular"),
    pytest.param({"matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 0]]}, id="bottom-right-zero"),
    pytest.param({"matrix": [[1, 0, 0], [0, 1, 0], [-2 / W, 0, 1]]}, id="behind"),
    pytest.param({"matrix": [[1e4, 0, 0], [0, 1e-3, 0], [0, 0, 1]]}, id="ill-conditioned"),
    pytest.param({"matrix": [[1, 0, 1], [0, 1, 1], [0.001, 0.001, 0.002]]}, id="singular-perspective"),
    pytest.param({"landmarks": [{"dermoscopy": [i * 10, i * 10], "mosaic": [i, 2 * i]} for i in range(4)]},
                 id="collinear-landmarks"),
    pytest.param({"landmarks": [{"dermoscopy": [5, 5], "mosaic": [i, 2 * i]} for i in range(4)]},
                 id="coincident-landmarks"),
    pytest.param({"landmarks": [{"dermoscopy": [0, 0], "mosaic": [0, 0]}, {"dermoscopy": [9, 0], "mosaic": [9, 0]}]},
                 id="two-landmarks"),
])
def test_degenerate_transform_is_refused_and_nothing_changes(clinic, body):
    client, mosaic, dermoscopy = clinic["client"], clinic["mosaic"], clinic["dermoscopy"]
    response = _put(client, mosaic, {"dermoscopy": str(dermoscopy.id), **body})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "degenerate_transform" and response.json()["detail"]
    assert not Registration.objects.exists() and not _registration_events().exists()

    # nor does a degenerate one replace a good one
    assert _put(client, mosaic, {"dermoscopy": str(dermoscopy.id), "matrix": TRUTH.tolist()}).status_code == 200
    events = _registration_events().count()
    assert _put(client, mosaic, {"dermoscopy": str(dermoscopy.id), **body}).status_code == 400
    stored = Registration.objects.get(mosaic=mosaic)
    assert np.allclose(stored.matrix, TRUTH) and stored.source == "device"
    assert _registration_events().count() == events


@pytest.mark.django_db
@pytest.mark.parametrize("extra", [
    pytest.param({"matrix": IDENTITY, "landmarks": _landmarks()}, id="both"),
    pytest.param({}, id="neither"),
    pytest.param({"matrix": [[1, 0, 0], [0, 1, 0]]}, id="matrix-2x3"),
    pytest.param({"matrix": [[1, 0], [0, 1], [0, 0]]}, id="matrix-3x2"),
    pytest.param({"matrix": "identity"}, id="matrix-text"),
    pytest.param({"landmarks": [{"dermoscopy": [0, 0, 0], "mosaic": [0, 0]}] * 3}, id="landmark-3d"),
    pytest.param({"landmarks": [{"dermoscopy": [0, 0]}] * 3}, id="landmark-half"),
])
def test_malformed_body_is_refused(clinic, extra):
    response = _put(clinic["client"], clinic["mosaic"], {"dermoscopy": str(clinic["dermoscopy"].id), **extra})
    assert response.status_code == 400 and response.json()["code"] in ("invalid", "degenerate_transform")
    assert not Registration.objects.exists() and not _registration_events().exists()


@pytest.mark.django_db
def test_dermoscopy_must_be_a_dermoscopy_image_of_the_same_case(clinic):
    client, case, mosaic = clinic["client"], clinic["case"], clinic["mosaic"]
    other_case = make_case(site=clinic["site"], actor=clinic["tech"])
    other_dermoscopy = _upload(client, other_case, jpeg_bytes(W, H, color=(10, 200, 10)), name="o.jpg",
                               kind=ImageKind.DERMOSCOPY)
    clinical = _upload(client, case, jpeg_bytes(W, H, color=(20, 20, 200)), name="c.jpg", kind=ImageKind.CLINICAL)
    second_mosaic = _upload(client, case, png_bytes(200, 200, color=40), kind=ImageKind.RCM_MOSAIC, depth_level="dej")
    foreign_site = make_site()
    foreign_tech = make_user(role=Role.TECHNICIAN, site=foreign_site)
    foreign = _upload(api_client(foreign_tech), make_case(site=foreign_site, actor=foreign_tech), jpeg_bytes(W, H),
                      name="f.jpg", kind=ImageKind.DERMOSCOPY)
    answers = {}
    for dermoscopy_id in (other_dermoscopy.id, clinical.id, second_mosaic.id, mosaic.id, foreign.id, uuid.uuid4()):
        response = _put(client, mosaic, {"dermoscopy": str(dermoscopy_id), "matrix": IDENTITY})
        assert response.status_code == 400, (dermoscopy_id, response.content)
        assert "dermoscopy" in response.json().get("fields", {}), response.json()
        answers[dermoscopy_id] = response.json()
    # another site's image is answered as one that does not exist: no probing of other sites' ids
    assert answers[foreign.id] == answers[list(answers)[-1]]
    response = _put(client, mosaic, {"dermoscopy": "not-a-uuid", "matrix": IDENTITY})
    assert response.status_code == 400
    assert not Registration.objects.exists() and not _registration_events().exists()


@pytest.mark.django_db
def test_only_rcm_images_take_a_registration(clinic):
    client, case, dermoscopy = clinic["client"], clinic["case"], clinic["dermoscopy"]
    clinical = _upload(client, case, jpeg_bytes(W, H, color=(20, 20, 200)), name="c.jpg", kind=ImageKind.CLINICAL)
    for target in (dermoscopy, clinical):
        response = _put(client, target, {"dermoscopy": str(dermoscopy.id), "matrix": IDENTITY})
        assert response.status_code == 400 and "mosaic" in response.json()["fields"], response.content
    stack = _upload(client, case, png_bytes(200, 100, color=77), kind=ImageKind.RCM_STACK)
    assert _put(client, stack, {"dermoscopy": str(dermoscopy.id), "matrix": IDENTITY}).status_code == 200
    assert list(Registration.objects.values_list("mosaic_id", flat=True)) == [stack.id]


@pytest.mark.django_db
@pytest.mark.parametrize("locked", [CaseStatus.SIGNED, CaseStatus.AMENDED])
def test_a_signed_case_is_locked(clinic, locked):
    client, mosaic, dermoscopy = clinic["client"], clinic["mosaic"], clinic["dermoscopy"]
    assert _put(client, mosaic, {"dermoscopy": str(dermoscopy.id), "matrix": TRUTH.tolist()}).status_code == 200
    events = _registration_events().count()
    Case.objects.filter(pk=clinic["case"].pk).update(status=locked)
    for body in ({"matrix": IDENTITY}, {"landmarks": _landmarks(_affine(10, 2, 0, 0))}):
        response = _put(client, mosaic, {"dermoscopy": str(dermoscopy.id), **body})
        assert response.status_code == 409 and response.json()["code"] == "case_locked", response.content
    assert np.allclose(Registration.objects.get(mosaic=mosaic).matrix, TRUTH)
    assert _registration_events().count() == events
    assert client.get(_url(mosaic)).status_code == 200  # still readable


@pytest.mark.django_db
def test_other_sites_and_non_clinical_roles_see_nothing(clinic):
    mosaic, dermoscopy = clinic["mosaic"], clinic["dermoscopy"]
    assert _put(clinic["client"], mosaic, {"dermoscopy": str(dermoscopy.id), "matrix": IDENTITY}).status_code == 200
    other_site = make_site()
    outsider = make_user(role=Role.TECHNICIAN, site=other_site)
    reader = make_user(role=Role.READER, site=clinic["site"])
    qa = make_user(role=Role.QA_ADMIN, site=clinic["site"])
    for user in (outsider, reader, qa):
        client = api_client(user)
        assert client.get(_url(mosaic)).status_code == 404
        response = _put(client, mosaic, {"dermoscopy": str(dermoscopy.id), "matrix": TRUTH.tolist()})
        assert response.status_code == 404 and "matrix" not in response.json()
    anonymous = api_client()
    assert anonymous.get(_url(mosaic)).status_code in (401, 403)
    response = _put(anonymous, mosaic, {"dermoscopy": str(dermoscopy.id), "matrix": TRUTH.tolist()})
    assert response.status_code in (401, 403)
    assert Registration.objects.get(mosaic=mosaic).matrix == IDENTITY
    assert _registration_events().count() == 1


@pytest.mark.django_db
def test_every_successful_put_is_audited(clinic):
    client, mosaic, dermoscopy, tech = clinic["client"], clinic["mosaic"], clinic["dermoscopy"], clinic["tech"]
    start = AuditEvent.objects.count()
    assert _put(client, mosaic, {"dermoscopy": str(dermoscopy.id), "matrix": IDENTITY}).status_code == 200
    assert _put(client, mosaic, {"dermoscopy": str(dermoscopy.id), "landmarks": _landmarks()}).status_code == 200
    assert _put(client, mosaic, {"dermoscopy": str(dermoscopy.id), "matrix": IDENTITY}).status_code == 200
    events = list(AuditEvent.objects.order_by("id")[start:])
    assert [(e.action, e.object_type, e.object_id, e.actor_id, e.site_id, e.outcome, e.detail["source"])
            for e in events] == [
        ("update", "registration", str(mosaic.id), tech.id, clinic["site"].id, "success", source)
        for source in ("device", "landmarks", "device")
    ]
    assert all(e.detail["dermoscopy"] == str(dermoscopy.id) for e in events)
