"""Dermoscopy → mosaic registration: a 3x3 matrix from dermoscopy pixels to mosaic pixels.

Either given directly (devices that export coregistered images) or fitted by least squares to
three or more landmark pairs (an affine transform). Transforms that collapse or send part of
the dermoscopy image to infinity are refused: they would put the lesion somewhere meaningless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_CONDITION = 1e6  # of the linear part: beyond it, one direction is squashed to nothing
MIN_SCALE = 1e-4  # |det| of the linear part, in mosaic px² per dermoscopy px²


class DegenerateTransform(ValueError):
    """The transform or the landmarks cannot define a usable mapping."""


@dataclass(frozen=True)
class Fit:
    matrix: list[list[float]]
    rms_error_px: float | None


def check_matrix(matrix, *, width: int, height: int) -> list[list[float]]:
    """Normalise (m[2][2] = 1) and check a transform against the dermoscopy image it maps."""
    m = _floats(matrix)
    if m.shape != (3, 3) or not np.all(np.isfinite(m)):
        raise DegenerateTransform("The matrix must be 3x3 with finite numbers.")
    if abs(m[2, 2]) < 1e-12:
        raise DegenerateTransform("The matrix's bottom-right element must not be zero.")
    m = m / m[2, 2]
    linear = m[:2, :2]
    if abs(np.linalg.det(linear)) < MIN_SCALE or np.linalg.cond(linear) > MAX_CONDITION:
        raise DegenerateTransform("The matrix collapses the image (its linear part is singular or nearly so).")
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], dtype=float)
    w = corners @ m[2]
    if np.any(w <= 1e-9):
        raise DegenerateTransform("The matrix sends part of the dermoscopy image to infinity.")
    # A projective map's local area scale is det(m) / w³: a singular m with a regular linear part
    # still collapses the whole image onto a line. |w| is extreme at the corners, so check them.
    local = [np.linalg.det(_local_jacobian(m, x, y)) for x, y, _ in corners]
    if min(abs(d) for d in local) < MIN_SCALE:
        raise DegenerateTransform("The matrix collapses the image (to a line or a point in perspective).")
    # No fold check is needed: det(m)/w³ keeps one sign wherever w > 0, checked above.
    return m.tolist()


def _floats(value) -> np.ndarray:
    """An array of floats; ragged or non-numeric input is degenerate too, not a bare ValueError."""
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise DegenerateTransform("Expected numbers in rows of equal length.") from None


def _local_jacobian(m: np.ndarray, x: float, y: float) -> np.ndarray:
    w = m[2, 0] * x + m[2, 1] * y + m[2, 2]
    u = m[0, 0] * x + m[0, 1] * y + m[0, 2]
    v = m[1, 0] * x + m[1, 1] * y + m[1, 2]
    return np.array([
        [(m[0, 0] * w - u * m[2, 0]) / w**2, (m[0, 1] * w - u * m[2, 1]) / w**2],
        [(m[1, 0] * w - v * m[2, 0]) / w**2, (m[1, 1] * w - v * m[2, 1]) / w**2],
    ])


def fit_affine(dermoscopy_points, mosaic_points, *, width: int, height: int) -> Fit:
    """Least-squares affine transform from ≥ 3 landmark pairs, with its RMS residual in mosaic pixels."""
    src, dst = _floats(dermoscopy_points), _floats(mosaic_points)
    if src.ndim != 2 or src.shape[1] != 2 or src.shape != dst.shape:
        raise DegenerateTransform("Landmarks must be pairs of [x, y] points.")
    if len(src) < 3:
        raise DegenerateTransform("At least three landmark pairs are needed.")
    if not (np.all(np.isfinite(src)) and np.all(np.isfinite(dst))):
        raise DegenerateTransform("Landmarks must be finite numbers.")
    spread = np.linalg.svd(src - src.mean(axis=0), compute_uv=False)
    if spread[1] < 1e-6 * max(spread[0], 1.0):
        raise DegenerateTransform("The dermoscopy landmarks lie on one line (or one point): they fix no transform.")
    design = np.hstack([src, np.ones((len(src), 1))])
    solution, *_ = np.linalg.lstsq(design, dst, rcond=None)  # 3x2: [a d; b e; c f]
    matrix = np.vstack([solution.T, [0.0, 0.0, 1.0]])
    checked = check_matrix(matrix, width=width, height=height)
    residual = design @ solution - dst
    return Fit(matrix=checked, rms_error_px=float(np.sqrt(np.mean(np.sum(residual**2, axis=1)))))


def apply(matrix, points) -> np.ndarray:
    """Map dermoscopy points to mosaic points."""
    pts = np.hstack([np.asarray(points, dtype=float), np.ones((len(points), 1))]) @ np.asarray(matrix, dtype=float).T
    return pts[:, :2] / pts[:, 2:3]


def invert(matrix) -> list[list[float]]:
    """The inverse mapping, mosaic pixels → dermoscopy pixels, normalised (m[2][2] = 1). A matrix
    that passed check_matrix is invertible."""
    inverse = np.linalg.inv(_floats(matrix))
    return (inverse / inverse[2, 2]).tolist()
