"""Proposing where the dermoscopy image lies on a mosaic from the two images alone (no Django).

What the images share: at the dermal-epidermal junction melanin is a strong reflector, so pigment
that is dark in dermoscopy is bright in RCM. The mosaic, at low resolution and with its tile
vignetting divided out (VivaBlock mosaics are 500 µm fields, each shaded towards its edges), is
compared with the dermoscopy's inverted grey channel (its slow shading removed) by normalised
cross-correlation over the valid (imaged) part of the mosaic: a grid search over scale ×
rotation × translation (translation by FFT for each scale and rotation), then a local refinement
of the best placement. The mosaic must lie inside the dermoscopy image.

Scale: known when the dermoscopy's pixel spacing is (the ratio of the two spacings, ± 5 %);
otherwise searched so that the mosaic's field covers MIN_COVER..MAX_COVER of the dermoscopy's
width (no field of view is assumed).

A proposal is offered only when it is clearly the best: its correlation at least MIN_SCORE and
at least MIN_MARGIN above the best placement whose centre lies a quarter of the field or more
away (any scale and rotation). Anything less is "no confident proposal", never a guess: a wrong
registration moves the lesion and silently changes the quality verdict. The thresholds were set
on phantom seeds apart from the benchmark's and the tests' (experiments/auto_registration.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy import optimize
from scipy.signal import fftconvolve

METHOD = "ncc-inverted-grey-v1"
METHOD_TEXT = ("Normalised cross-correlation of the mosaic's low-resolution image (tile shading removed) "
               "with the dermoscopy's inverted grey channel, searched over scale, rotation and position, then refined.")
WORK_SIDE = 256  # the dermoscopy's longer side at the working resolution, in pixels
TILE_UM = 500.0  # one RCM field of view (VivaScope)
MIN_COVER, MAX_COVER = 0.15, 0.9  # the mosaic's width as a share of the dermoscopy's, without its spacing
SCALE_STEP = 1.06
MAX_ROTATION_DEG = 12.0
ROTATION_STEP_DEG = 3.0
SMOOTH_UM = 60.0  # the mosaic is compared above this scale
MIN_VALID_PX = 64  # valid template pixels at the working resolution
MIN_SCORE = 0.75
MIN_MARGIN = 0.15


@dataclass(frozen=True)
class Proposal:
    """`matrix` (dermoscopy px → mosaic px, full resolution) only when confident."""

    matrix: list[list[float]] | None
    score: float | None  # normalised cross-correlation at the best placement, -1..1
    margin: float | None  # how far above the best placement elsewhere
    confident: bool
    statement: str
    candidate: list[list[float]] | None = None  # the best placement even when not confident: for measurement only
    method: str = METHOD


def _grey(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    return image.mean(axis=2) if image.ndim == 3 else image


def _resize(image: np.ndarray, factor: float) -> np.ndarray:
    """Down-sample by `factor` (< 1 shrinks) with an anti-aliasing blur first."""
    if factor < 1:
        image = ndi.gaussian_filter(image, 0.5 / factor)
    return ndi.zoom(image, factor, order=1, grid_mode=True, mode="nearest")


def _flatten_tiles(mosaic: np.ndarray, valid: np.ndarray, tile_px: float) -> np.ndarray:
    """Log intensity with the mean shading profile of a field (along x and along y) divided out."""
    log = np.log1p(mosaic)
    if tile_px < 8 or min(mosaic.shape) < 2 * tile_px:
        return log
    out = log.copy()
    for axis in (0, 1):
        pos = np.floor((np.arange(mosaic.shape[axis]) % tile_px) * 32 / tile_px).astype(int)  # 32 bins per field
        along = np.moveaxis(np.where(valid, log, np.nan), axis, 0)
        profile = np.array([np.nanmean(along[pos == b]) if np.any(valid.take(np.flatnonzero(pos == b), axis=axis))
                            else np.nan for b in range(32)])
        if np.all(np.isnan(profile)):
            continue
        profile = np.nan_to_num(profile - np.nanmean(profile))
        shape = [1, 1]
        shape[axis] = -1
        out -= profile[pos].reshape(shape)
    return out


def _readable(mosaic: np.ndarray, valid: np.ndarray, spacing_um: float) -> np.ndarray:
    """Leave out what carries no tissue signal: dark areas (no contact, under-illumination, bubbles,
    hair: below a third of the median over 40 µm) and saturated ones."""
    if not valid.any():
        return valid
    local = ndi.uniform_filter(mosaic, max(1, int(round(40.0 / spacing_um))))
    return (local > np.median(local[valid]) / 3) & (ndi.maximum_filter(mosaic, 3) < 250)


def _dermoscopy_feature(dermoscopy: np.ndarray, factor: float) -> np.ndarray:
    grey = _resize(255.0 - _grey(dermoscopy), factor)
    grey -= ndi.gaussian_filter(grey, 0.5 * max(grey.shape))  # vignetting and slow shading
    return ndi.gaussian_filter(grey, 1.5)


def _ncc_valid(image: np.ndarray, template: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Masked normalised cross-correlation at every placement of the template inside the image."""
    n = float(mask.sum())
    t = np.where(mask, template - template[mask].mean(), 0.0)
    t /= max(np.sqrt((t * t).sum()), 1e-12)
    flip = (slice(None, None, -1), slice(None, None, -1))
    m = mask.astype(np.float64)[flip]
    num = fftconvolve(image, t[flip], mode="valid")
    s1 = fftconvolve(image, m, mode="valid")
    s2 = fftconvolve(image * image, m, mode="valid")
    var = s2 - s1 * s1 / n
    floor = 1e-6 * max(float(np.max(var)), 1e-12)
    return np.where(var > floor, num / np.sqrt(np.maximum(var, floor)), 0.0)


def _linear(scale: float, angle_deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    return scale * np.array([[c, -s], [s, c]])


def _template(feature: np.ndarray, valid: np.ndarray, lin: np.ndarray):
    """The mosaic feature resampled onto the dermoscopy's working grid: `lin` maps working
    dermoscopy px → mosaic feature px. Returns template, mask and the template origin offset."""
    h, w = feature.shape
    inv = np.linalg.inv(lin)
    corners = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [-0.5, h - 0.5], [w - 0.5, h - 0.5]]) @ inv.T
    lo = np.floor(corners.min(axis=0))
    size = np.ceil(corners.max(axis=0)).astype(int) - lo.astype(int) + 1
    yy, xx = np.mgrid[0:size[1], 0:size[0]].astype(np.float64)
    pts = np.stack([xx.ravel() + lo[0], yy.ravel() + lo[1]])
    fx, fy = lin @ pts
    inside = (fx >= 0) & (fy >= 0) & (fx <= w - 1) & (fy <= h - 1)
    coords = np.stack([fy, fx])
    values = ndi.map_coordinates(feature, coords, order=1, mode="nearest").reshape(size[1], size[0])
    ok = ndi.map_coordinates(valid.astype(np.float64), coords, order=1, mode="constant").reshape(size[1], size[0])
    mask = inside.reshape(size[1], size[0]) & (ok > 0.99)
    return values, mask, lo


def _sampled_ncc(derm: np.ndarray, feature: np.ndarray, valid_pts, params) -> float:
    """NCC of the mosaic feature at its valid points with the dermoscopy sampled through the placement
    (log scale, angle, tx, ty): mosaic feature px → working dermoscopy px."""
    log_s, angle, tx, ty = params
    inv = np.linalg.inv(_linear(math.exp(log_s), angle))  # feature px → derm work px (linear)
    (ys, xs), values = valid_pts
    dx, dy = inv @ np.stack([xs, ys]) + np.array([[tx], [ty]])
    if dx.min() < 0 or dy.min() < 0 or dx.max() > derm.shape[1] - 1 or dy.max() > derm.shape[0] - 1:
        return -1.0
    d = ndi.map_coordinates(derm, np.stack([dy, dx]), order=1)
    d = d - d.mean()
    v = values - values.mean()
    return float((d * v).sum() / max(np.sqrt((d * d).sum() * (v * v).sum()), 1e-12))


def propose(*, mosaic: np.ndarray, mosaic_spacing_um: float, mosaic_size: tuple[int, int],
            dermoscopy: np.ndarray, dermoscopy_size: tuple[int, int], valid: np.ndarray | None = None,
            dermoscopy_spacing_um: float | None = None) -> Proposal:
    """Propose the dermoscopy → mosaic matrix in full-resolution pixels.

    `mosaic` and `dermoscopy` may be reduced copies (pyramid levels) of images of `mosaic_size` and
    `dermoscopy_size` (width, height); `mosaic_spacing_um` is the full-resolution mosaic's. `valid`
    marks the mosaic's imaged pixels (default: non-black)."""
    mosaic = _grey(mosaic)
    mw, mh = mosaic_size
    dw, dh = dermoscopy_size
    m_red = mosaic.shape[1] / mw  # reduced mosaic px per full mosaic px
    if valid is None:
        valid = ndi.binary_erosion(ndi.binary_opening(mosaic > 2, iterations=2), iterations=2)
    valid = valid & _readable(mosaic, valid, mosaic_spacing_um / m_red)
    # Working grids: the dermoscopy at WORK_SIDE; the mosaic about as fine as the dermoscopy will be.
    d_factor = min(1.0, WORK_SIDE / max(dermoscopy.shape[:2]))
    derm = _dermoscopy_feature(dermoscopy, d_factor)
    work_per_full_d = derm.shape[1] / dw  # working dermoscopy px per full dermoscopy px
    if dermoscopy_spacing_um:
        covers = [mw * mosaic_spacing_um / (dw * dermoscopy_spacing_um)]
        spread = 1.05
    else:
        covers = [MIN_COVER, MAX_COVER]
        spread = 1.0
    # The mosaic's width on the working dermoscopy grid, for each cover; its feature grid as fine.
    width_work = [c * dw * work_per_full_d for c in covers]
    feature_side = int(np.clip(max(width_work) * 1.5, 32, mosaic.shape[1]))
    f_factor = feature_side / mosaic.shape[1]
    tile_px = TILE_UM / mosaic_spacing_um * m_red
    feature = _flatten_tiles(mosaic, valid, tile_px)
    feature = _resize(np.where(valid, feature, np.nan_to_num(np.median(feature[valid]))), f_factor) if valid.any() else None
    if feature is None:
        return Proposal(None, None, None, False, "The mosaic has no imaged area to compare.")
    fvalid = _resize(valid.astype(np.float64), f_factor) > 0.99
    fpx_per_full_m = feature.shape[1] / mw  # feature px per full mosaic px
    # Above the papillae's scale (80-140 µm) only pigment and shading remain; smooth within the valid area.
    sigma = SMOOTH_UM / (mosaic_spacing_um / fpx_per_full_m)
    weight = ndi.gaussian_filter(fvalid.astype(np.float64), sigma)
    feature = ndi.gaussian_filter(np.where(fvalid, feature, 0.0), sigma) / np.maximum(weight, 1e-6)
    if fvalid.any():
        low, high = np.percentile(feature[fvalid], [1, 99])
        feature = np.clip(feature, low, high)

    lo_w, hi_w = min(width_work) / spread, max(width_work) * spread
    n_scales = max(1, int(math.ceil(math.log(hi_w / lo_w) / math.log(SCALE_STEP))) + 1)
    widths = np.exp(np.linspace(math.log(lo_w), math.log(hi_w), n_scales))
    angles = np.arange(-MAX_ROTATION_DEG, MAX_ROTATION_DEG + 1e-9, ROTATION_STEP_DEG)
    results = []  # (score map, scale, angle, origin offset, template centre)
    for width in widths:
        scale = feature.shape[1] / width  # feature px per working dermoscopy px
        for angle in angles:
            template, mask, lo = _template(feature, fvalid, _linear(scale, angle))
            if mask.sum() < MIN_VALID_PX or template.shape[0] >= derm.shape[0] or template.shape[1] >= derm.shape[1]:
                continue
            scores = _ncc_valid(derm, template, mask)
            results.append((scores, scale, angle, lo, (np.array(template.shape[::-1]) - 1) / 2))
    if not results:
        return Proposal(None, None, None, False, "The mosaic's field does not fit inside the dermoscopy image at any "
                        "plausible scale, or too little of it is imaged.")
    best = max(results, key=lambda r: r[0].max())
    scores, scale, angle, lo, half = best
    iy, ix = np.unravel_index(int(np.argmax(scores)), scores.shape)
    centre = np.array([ix, iy]) + half
    # The best placement elsewhere: centre a quarter of the field or more away, any scale and angle.
    keep_out = 0.25 * feature.shape[1] / scale
    elsewhere = -1.0
    for other, _, _, _, other_half in results:
        yy, xx = np.mgrid[0:other.shape[0], 0:other.shape[1]]
        far = np.hypot(xx + other_half[0] - centre[0], yy + other_half[1] - centre[1]) >= keep_out
        if far.any():
            elsewhere = max(elsewhere, float(other[far].max()))
    # Refine: placement params map feature px → working derm px; start from the grid's best.
    ys, xs = np.nonzero(fvalid)
    step = max(1, int(len(xs) // 6000))
    pts = ((ys[::step].astype(np.float64), xs[::step].astype(np.float64)), feature[ys[::step], xs[::step]])
    t0 = np.array([ix, iy], dtype=np.float64) - lo  # derm work px of feature px (0, 0)
    start = np.array([math.log(scale), angle, t0[0], t0[1]])
    simplex = np.vstack([start, start + np.diag([0.03, 1.5, 1.0, 1.0])])
    bound = np.array([math.log(SCALE_STEP) * 1.5, ROTATION_STEP_DEG * 1.5, 4.0, 4.0])  # about one grid step

    def cost(p: np.ndarray) -> float:
        return 1.0 if np.any(np.abs(p - start) > bound) else -_sampled_ncc(derm, feature, pts, p)

    result = optimize.minimize(cost, start, method="Nelder-Mead",
                               options={"xatol": 1e-3, "fatol": 1e-5, "maxiter": 400, "initial_simplex": simplex})
    params = result.x if -result.fun >= scores.max() else start
    score = max(float(-result.fun), float(scores.max()))
    log_s, angle_r, tx, ty = params
    # full dermoscopy px → working px → mosaic feature px → full mosaic px. The reduced grids share
    # the images' corners, so index i of a grid reduced r times is full pixel (i + 0.5) r - 0.5.
    to_feature = np.eye(3)
    to_feature[:2, :2] = _linear(math.exp(log_s), angle_r)
    to_feature[:2, 2] = -to_feature[:2, :2] @ np.array([tx, ty])
    matrix = _centre_shift(1 / fpx_per_full_m) @ to_feature @ np.linalg.inv(_centre_shift(1 / work_per_full_d))
    matrix = (matrix / matrix[2, 2]).tolist()
    margin = score - elsewhere
    if score < MIN_SCORE:
        statement = (f"No confident proposal: the best placement matches poorly (correlation {score:.2f}, "
                     f"at least {MIN_SCORE:.2f} needed). Place the field by hand or click landmark pairs.")
    elif margin < MIN_MARGIN:
        statement = (f"No confident proposal: placements elsewhere match almost as well (margin {margin:.2f}, "
                     f"at least {MIN_MARGIN:.2f} needed). Place the field by hand or click landmark pairs.")
    else:
        return Proposal(matrix, score, margin, True, f"Proposed (correlation {score:.2f}, margin {margin:.2f}): "
                        "check that the field lies where the mosaic shows, then accept or correct it.", matrix)
    return Proposal(None, score, margin, False, statement, matrix)


def _centre_shift(ratio: float) -> np.ndarray:
    """Reduced-grid index → full-resolution pixel index, for a grid `ratio` times coarser."""
    return np.array([[ratio, 0, (ratio - 1) / 2], [0, ratio, (ratio - 1) / 2], [0, 0, 1.0]])
