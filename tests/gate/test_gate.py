"""The quality gate's arithmetic (gate/geometry.py), free of the database: the lesion on a mosaic's
working grid, the uninformative shares, the verdict, the projection of a mosaic's labels onto the
dermoscopy image and the agreement with an expert. Checked against hand-computed values and the
phantoms' own ground truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dermrelay.analysis import masks

from dermrelay.gate import geometry
from inference.phantoms.generator import generate_phantom
from inference.phantoms.outlines import lesion_polygon

IDENTITY = np.eye(3)
N, I, U = masks.NOT_IMAGED, masks.INFORMATIVE, masks.UNINFORMATIVE


def _polygon_area(points) -> float:
    p = np.asarray(points, dtype=float)
    return 0.5 * abs(np.dot(p[:, 0], np.roll(p[:, 1], 1)) - np.dot(p[:, 1], np.roll(p[:, 0], 1)))


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


def _similarity(*, degrees: float, scale: float, tx: float, ty: float) -> np.ndarray:
    c, s = scale * math.cos(math.radians(degrees)), scale * math.sin(math.radians(degrees))
    return np.array([[c, -s, tx], [s, c, ty], [0.0, 0.0, 1.0]])


PENTAGON = [[20, 20], [120, 20], [120, 100], [60, 140], [20, 100]]  # dermoscopy pixels, area 10000
AFFINE = np.array([[1.3, 0.2, 15.0], [-0.1, 0.9, 40.0], [0.0, 0.0, 1.0]])
PROJECTIVE = np.array([[1.2, 0.1, 30.0], [-0.05, 1.1, 20.0], [0.0008, 0.0005, 1.0]])  # w > 0 on the image


# --------------------------------------------------------------------------- the lesion on the mosaic


def test_polygon_with_identity_at_scale_one_fills_exactly_the_square():
    lesion = geometry.lesion_from_polygon([[10, 10], [30, 10], [30, 30], [10, 30]], matrix=IDENTITY, shape=(50, 50), scale=1)
    expected = np.zeros((50, 50), bool)
    expected[10:30, 10:30] = True  # pixel centres inside, half-open: 20 x 20 pixels for an area of 400
    assert lesion.dtype == bool and np.array_equal(lesion, expected)


@pytest.mark.parametrize("scale", [2, 4])
def test_polygon_at_a_coarser_working_grid_shrinks_by_the_square_of_the_scale(scale):
    square = [[-0.5, -0.5], [79.5, -0.5], [79.5, 79.5], [-0.5, 79.5]]  # the edges of mosaic pixels 0..79: 6400 of them
    full = geometry.lesion_from_polygon(square, matrix=IDENTITY, shape=(100, 100), scale=1)
    coarse = geometry.lesion_from_polygon(square, matrix=IDENTITY, shape=(100 // scale, 100 // scale), scale=scale)
    assert np.count_nonzero(full) == 6400
    side = 80 // scale
    assert abs(np.count_nonzero(coarse) - 6400 / scale**2) <= 2 * side + 1  # ± one row and column of edge pixels
    assert coarse[: side - 1, : side - 1].all() and not coarse[side + 1:, :].any() and not coarse[:, side + 1:].any()


@pytest.mark.parametrize("scale", [1, 2])
@pytest.mark.parametrize("degrees, size, tx, ty", [(0, 1.0, 10, 14), (30, 1.5, 200, 100), (-75, 1.6, 240, 660)])
def test_polygon_under_a_similarity_fills_the_area_of_the_mapped_polygon(scale, degrees, size, tx, ty):
    polygon = (2 * np.asarray(PENTAGON, float)).tolist()  # area 40000 dermoscopy px²
    matrix = _similarity(degrees=degrees, scale=size, tx=tx, ty=ty)
    vertices = np.hstack([np.asarray(polygon), np.ones((5, 1))]) @ matrix.T
    assert vertices[:, :2].min() > 0 and vertices[:, :2].max() < 799  # wholly on the 800 x 800 mosaic
    lesion = geometry.lesion_from_polygon(polygon, matrix=matrix, shape=(800 // scale, 800 // scale), scale=scale)
    analytic = _polygon_area(polygon) * size**2 / scale**2
    assert np.count_nonzero(lesion) == pytest.approx(analytic, rel=0.03)
    # and where it should be: the centroid of the filled pixels is the mapped centroid
    ys, xs = np.nonzero(lesion)
    mapped = (vertices[:, :2] + 0.5) / scale - 0.5
    assert xs.mean() == pytest.approx(_centroid(mapped)[0], abs=1.5)
    assert ys.mean() == pytest.approx(_centroid(mapped)[1], abs=1.5)


def _centroid(points: np.ndarray) -> tuple[float, float]:
    x, y = points[:, 0], points[:, 1]
    cross = x * np.roll(y, -1) - np.roll(x, -1) * y
    area = cross.sum() / 2
    return (float(((x + np.roll(x, -1)) * cross).sum() / (6 * area)),
            float(((y + np.roll(y, -1)) * cross).sum() / (6 * area)))


def _densified(polygon, per_edge: int = 25) -> list[list[float]]:
    points = np.asarray(polygon, float)
    dense = []
    for a, b in zip(points, np.roll(points, -1, axis=0)):
        for t in np.linspace(0.0, 1.0, per_edge, endpoint=False):
            dense.append((a + t * (b - a)).tolist())
    return dense


def test_projective_registration_keeps_straight_edges():
    """Mapping only the vertices is exact: the dermoscopy edges are straight on the mosaic too."""
    assert np.all(np.array([[0, 0, 1], [200, 0, 1], [0, 200, 1], [200, 200, 1]]) @ PROJECTIVE[2] > 0)
    coarse = geometry.lesion_from_polygon(PENTAGON, matrix=PROJECTIVE, shape=(400, 400), scale=1)
    dense = geometry.lesion_from_polygon(_densified(PENTAGON), matrix=PROJECTIVE, shape=(400, 400), scale=1)
    assert _dice(coarse, dense) > 0.995
    # and per pixel: every mosaic pixel looking up the dermoscopy pixel it lies on gives the same shape
    per_pixel = geometry.lesion_from_mask(geometry.polygons_raster([PENTAGON], shape=(200, 200)), matrix=PROJECTIVE,
                                      shape=(400, 400), scale=1)
    assert _dice(coarse, per_pixel) > 0.98
    # the area is not that of an affine map: the perspective changed it
    assert np.count_nonzero(coarse) != pytest.approx(_polygon_area(PENTAGON) * np.linalg.det(PROJECTIVE[:2, :2]), rel=0.02)


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_mask_and_polygon_give_the_same_lesion_under_an_affine_registration(scale):
    dermoscopy_mask = geometry.polygons_raster([PENTAGON], shape=(200, 200))
    shape = (300 // scale, 300 // scale)
    from_polygon = geometry.lesion_from_polygon(PENTAGON, matrix=AFFINE, shape=shape, scale=scale)
    from_mask = geometry.lesion_from_mask(dermoscopy_mask, matrix=AFFINE, shape=shape, scale=scale)
    assert from_mask.any() and _dice(from_polygon, from_mask) > 0.95


def test_mask_outside_the_dermoscopy_image_is_not_lesion():
    mask = np.ones((20, 20), bool)
    lesion = geometry.lesion_from_mask(mask, matrix=IDENTITY, shape=(40, 40), scale=1)
    assert lesion[:20, :20].all() and np.count_nonzero(lesion) == 400


# --------------------------------------------------------------------------- shares and verdicts


LABELS = np.array([
    [N, N, I, I, U],
    [N, I, I, U, U],
    [I, I, I, I, U],
    [I, I, I, I, I],
], dtype=np.uint8)  # 17 imaged pixels, 4 uninformative


def test_shares_over_the_whole_mosaic_and_within_a_lesion_partly_outside_the_imaged_area():
    lesion = np.zeros(LABELS.shape, bool)
    lesion[0:2, 1:5] = True  # 8 pixels: (0,1) is not imaged; of the 7 imaged, 3 are uninformative
    found = geometry.shares(LABELS, lesion)
    assert found.percent_whole == pytest.approx(100 * 4 / 17)
    assert found.percent_lesion == pytest.approx(100 * 3 / 7)
    assert found.lesion_imaged_percent == pytest.approx(100 * 7 / 8)
    assert found.lesion_pixels == 7


def test_shares_without_a_lesion_or_with_an_empty_one():
    for lesion in (None, np.zeros(LABELS.shape, bool)):
        found = geometry.shares(LABELS, lesion)
        assert found.percent_whole == pytest.approx(100 * 4 / 17)
        assert (found.percent_lesion, found.lesion_imaged_percent, found.lesion_pixels) == (None, None, 0)


def test_shares_with_a_lesion_entirely_outside_the_imaged_area():
    lesion = LABELS == N
    found = geometry.shares(LABELS, lesion)
    assert found.percent_lesion is None and found.lesion_pixels == 0
    assert found.lesion_imaged_percent == 0.0
    assert found.percent_whole == pytest.approx(100 * 4 / 17)


def test_shares_of_nothing_imaged():
    found = geometry.shares(np.zeros((3, 3), np.uint8), np.ones((3, 3), bool))
    assert (found.percent_whole, found.percent_lesion, found.lesion_pixels) == (0.0, None, 0)


@pytest.mark.parametrize("percent, verdict", [
    (0.0, "acceptable"), (9.99, "acceptable"), (10.0, "review"), (10.01, "review"), (19.99, "review"),
    (20.0, "reimage"), (20.01, "reimage"), (100.0, "reimage"),
])
def test_verdict_at_and_around_the_thresholds(percent, verdict):
    assert geometry.verdict_for(percent, review_at=10.0, reimage_at=20.0) == verdict


def test_verdict_with_equal_thresholds_never_says_review():
    assert geometry.verdict_for(15.0, review_at=15.0, reimage_at=15.0) == "reimage"
    assert geometry.verdict_for(14.9, review_at=15.0, reimage_at=15.0) == "acceptable"


# --------------------------------------------------------------------------- projection onto the dermoscopy


def _blob_labels(shape=(100, 100)) -> np.ndarray:
    labels = np.full(shape, I, np.uint8)
    labels[40:50, 60:70] = U
    return labels


def test_projection_with_identity_returns_the_labels():
    labels = _blob_labels()
    labels[:5, :] = N
    projected = geometry.project_labels(labels, matrix=IDENTITY, scale=1, target_shape=labels.shape, target_step=1)
    assert projected.dtype == np.uint8 and np.array_equal(projected, labels)


def test_projection_puts_the_blob_where_the_inverse_mapping_says():
    """Mosaic = 2 x dermoscopy + (20, 10); working grid at scale 2. Dermoscopy pixel (x, y) lies on
    mosaic (2x + 20, 2y + 10), i.e. on working pixel (x + 9.75, y + 4.75) → (x + 10, y + 5)."""
    labels = _blob_labels()
    matrix = np.array([[2.0, 0.0, 20.0], [0.0, 2.0, 10.0], [0.0, 0.0, 1.0]])
    projected = geometry.project_labels(labels, matrix=matrix, scale=2, target_shape=(150, 150), target_step=1)
    expected = np.zeros((150, 150), np.uint8)
    expected[:95, :90] = I  # working x < 100 ⇔ x < 90; working y < 100 ⇔ y < 95
    expected[35:45, 50:60] = U  # working rows 40..49, columns 60..69
    assert np.array_equal(projected, expected)
    # on a coarser target grid (step 2: pixel j covers dermoscopy [2j, 2j + 2)) the blob halves
    coarse = geometry.project_labels(labels, matrix=matrix, scale=2, target_shape=(75, 75), target_step=2)
    ys, xs = np.nonzero(coarse == U)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (18, 22, 25, 29)
    assert not coarse[48:, :].any() and not coarse[:, 45:].any()


def test_projection_under_a_rotation_lands_on_the_inverse_mapped_blob():
    labels = _blob_labels((120, 120))
    scale = 2.0
    matrix = _similarity(degrees=25, scale=1.7, tx=60, ty=-20)
    projected = geometry.project_labels(labels, matrix=matrix, scale=scale, target_shape=(200, 200), target_step=1)
    ys, xs = np.nonzero(projected == U)
    # the blob's centre: working (64.5, 44.5) → mosaic → dermoscopy by the inverse matrix
    centre_mosaic = np.array([(64.5 + 0.5) * scale - 0.5, (44.5 + 0.5) * scale - 0.5, 1.0])
    centre = np.linalg.inv(matrix) @ centre_mosaic
    assert xs.mean() == pytest.approx(centre[0] / centre[2], abs=0.75)
    assert ys.mean() == pytest.approx(centre[1] / centre[2], abs=0.75)
    # the area scales by (working px per dermoscopy px)²
    assert len(xs) == pytest.approx(100 * (scale / 1.7) ** 2, rel=0.1)
    # pixels the mosaic does not reach are NOT_IMAGED: check against the forward mapping
    dy, dx = np.mgrid[0:200, 0:200].astype(float)
    w = np.stack([dx, dy, np.ones_like(dx)], axis=-1) @ matrix.T
    wx, wy = np.rint((w[..., 0] + 0.5) / scale - 0.5), np.rint((w[..., 1] + 0.5) / scale - 0.5)
    outside = (wx < 0) | (wy < 0) | (wx >= 120) | (wy >= 120)
    assert outside.any() and (~outside).any()
    assert np.all(projected[outside] == N) and np.all(projected[~outside] != N)


# --------------------------------------------------------------------------- agreement with an expert


def test_agreement_codes_and_figures_by_hand():
    labels = np.array([
        [U, U, I, I],
        [U, I, I, N],
        [I, I, U, N],
    ], dtype=np.uint8)
    expert = np.array([
        [1, 0, 1, 0],
        [1, 0, 0, 1],  # (1,3) is not imaged: it never counts
        [0, 0, 0, 1],
    ], dtype=bool)
    codes, figures = geometry.agreement_labels(labels, expert)
    expected = np.array([
        [geometry.AGREE, geometry.MODEL_ONLY, geometry.EXPERT_ONLY, 0],
        [geometry.AGREE, 0, 0, 0],
        [0, 0, geometry.MODEL_ONLY, 0],
    ], dtype=np.uint8)
    assert np.array_equal(codes, expected)
    # imaged: 10 pixels. TP 2, FP 2, FN 1, TN 5
    assert (figures.true_positive, figures.false_positive, figures.false_negative, figures.true_negative) == (2, 2, 1, 5)
    assert figures.sensitivity == pytest.approx(2 / 3)
    assert figures.specificity == pytest.approx(5 / 7)
    assert figures.dice == pytest.approx(4 / 7)


def test_agreement_ignores_an_expert_drawing_only_outside_the_imaged_area():
    labels = np.array([[N, N], [I, I]], dtype=np.uint8)
    codes, figures = geometry.agreement_labels(labels, np.array([[1, 1], [0, 0]], dtype=bool))
    assert not codes.any()
    assert (figures.true_positive + figures.false_negative, figures.true_negative) == (0, 2)
    assert (figures.sensitivity, figures.specificity, figures.dice) == (1.0, 1.0, 1.0)


# --------------------------------------------------------------------------- against the phantom's ground truth


@pytest.fixture(scope="module")
def phantom():
    return generate_phantom(seed=3, size_px=512)


def test_lesional_share_from_the_dermoscopy_mask_matches_the_phantom_ground_truth(phantom):
    labels = masks.labels_from(mask=phantom.uninformative, valid=phantom.valid)
    assert set(np.unique(labels)) <= {N, I, U}
    assert np.array_equal(labels == N, ~phantom.valid)
    lesion = geometry.lesion_from_mask(phantom.lesion_dermoscopy, matrix=phantom.registration, shape=labels.shape, scale=1)
    found = geometry.shares(labels, lesion)
    assert phantom.lesional_uninformative_fraction is not None and found.lesion_pixels >= geometry.MIN_LESION_PIXELS
    assert found.percent_whole == pytest.approx(100 * phantom.uninformative_fraction, abs=1e-9)
    assert found.percent_lesion == pytest.approx(100 * phantom.lesional_uninformative_fraction, abs=1.0)
    assert _dice(lesion, phantom.lesion_mosaic) > 0.97


def test_lesional_share_from_the_traced_polygon_matches_the_phantom_ground_truth(phantom):
    labels = masks.labels_from(mask=phantom.uninformative, valid=phantom.valid)
    lesion = geometry.lesion_from_polygon(lesion_polygon(phantom), matrix=phantom.registration, shape=labels.shape, scale=1)
    found = geometry.shares(labels, lesion)
    assert found.percent_lesion == pytest.approx(100 * phantom.lesional_uninformative_fraction, abs=2.0)


def test_lesional_share_at_the_working_spacing_stays_close_to_the_ground_truth(phantom):
    """The labels as a quality run stores them (every second pixel: scale 2) still give the lesional
    share within a few points."""
    labels = masks.labels_from(mask=phantom.uninformative, valid=phantom.valid)[::2, ::2]
    lesion = geometry.lesion_from_polygon(lesion_polygon(phantom), matrix=phantom.registration, shape=labels.shape, scale=2)
    found = geometry.shares(labels, lesion)
    assert found.percent_lesion == pytest.approx(100 * phantom.lesional_uninformative_fraction, abs=3.0)


@pytest.mark.parametrize("offset", [0.3, 0.7])
def test_fractional_vertices_do_not_shift_the_filled_area(offset):
    """Working-grid vertices are almost never integers ((p + 0.5) / scale - 0.5): a square whose
    vertices lie `offset` px right of and below pixel centres should be filled around its own centre."""
    square = [[10 + offset, 10 + offset], [30 + offset, 10 + offset], [30 + offset, 30 + offset], [10 + offset, 30 + offset]]
    lesion = geometry.lesion_from_polygon(square, matrix=IDENTITY, shape=(50, 50), scale=1)
    ys, xs = np.nonzero(lesion)
    assert xs.mean() == pytest.approx(20 + offset, abs=0.25)
    assert ys.mean() == pytest.approx(20 + offset, abs=0.25)
