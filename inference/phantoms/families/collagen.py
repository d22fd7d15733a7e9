"""Phantom family "collagen": papillary and upper reticular dermis mosaics (RCM), exact artifact masks.

Written independently of the other families: its own tissue (warped fibre noise, granular-layer
Voronoi cells), its own acquisition model (gamma speckle of varying shape, dark current, depth loss,
misregistered tiles with elliptical or one-sided vignetting) and two or three renderings per
artifact class, so a quality model trained elsewhere is tested on textures it has not seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from inference.phantoms.families import ARTIFACT_CODES, FamilyPhantom
from inference.phantoms.families import collagen_parts as cp

NAME = "collagen"
DESCRIPTION = (
    "Papillary and upper reticular dermis: bright collagen fibres (2-8 um) and bundles (up to 30 um) "
    "following smoothly varying directions at sparse to dense packing, dark interstitium, bright "
    "inflammatory cells and dark vessel lumina; some mosaics show a granular layer of large grainy "
    "polygonal cells instead. Acquisition: gamma speckle with a spatially varying shape, dark-current "
    "noise, depth-like contrast loss toward one side, an irregular union of 400-600 um tiles with "
    "misregistered seams and elliptical or one-sided vignetting. Artifacts (each in two or three "
    "renderings, exact masks): air bubbles, clustered particulates over darkened tissue, hair shafts or "
    "bright strands, under-illumination, blown-out saturation with bloom, no contact, motion smear; "
    "about a tenth are clean, very bright dense collagen with no artifact."
)

_SALT = 0xC0_11A6E
_MARGIN = 8  # canvas border (px) so misregistered tiles can be cut from real tissue
F32 = np.float32
Renderer = Callable[[np.ndarray], None]


@dataclass
class _Art:
    """One planned artifact: where it is unreadable (mask on a window) and how it is drawn there."""

    code: int
    late: bool  # drawn after speckle (motion, under-illumination, saturation, no contact)
    sl: tuple[slice, slice]
    mask: np.ndarray
    render: Renderer


@dataclass
class _Ctx:
    rng: np.random.Generator
    size: int
    sp: float
    valid: np.ndarray
    lay: cp.Layout

    def um(self, v: float) -> float:
        return v / self.sp

    def centre(self) -> tuple[int, int]:
        """A random pixel inside the imaged area (rejection sampling; valid covers most of the image)."""
        for _ in range(200):
            y, x = (int(v) for v in self.rng.integers(0, self.size, 2))
            if self.valid[y, x]:
                return y, x
        ys, xs = np.nonzero(self.valid)
        i = int(self.rng.integers(0, ys.size))
        return int(ys[i]), int(xs[i])

    def tile(self) -> tuple[int, int, int, int]:
        return self.lay.tiles[int(self.rng.integers(0, len(self.lay.tiles)))]

    def art(self, code: str, late: bool, sl: tuple[slice, slice], mask: np.ndarray, render: Renderer) -> _Art:
        return _Art(ARTIFACT_CODES[code], late, sl, mask & self.valid[sl], render)


def _bubble(c: _Ctx, budget: float) -> list[_Art]:
    """Air bubble: dark void with interference rings, with a bright halo, or a foam of small ones."""
    rng, variant = c.rng, str(c.rng.choice(["rings", "halo", "foam"]))
    cy, cx = c.centre()
    if variant == "foam":
        spread = cp.radius_for(c.rng, c.sp, budget / 2, 40, 160)
        n = int(rng.integers(3, 10))
        parts = [(rng.normal(0, spread / 2), rng.normal(0, spread / 2), c.um(rng.uniform(15, 45))) for _ in range(n)]
    else:
        parts = [(0.0, 0.0, cp.radius_for(c.rng, c.sp, budget, 15, 200))]
    rim_w = max(c.um(rng.uniform(1.5, 4)), 0.8)
    halo_l = c.um(rng.uniform(6, 25)) if variant == "halo" else 0.0
    halo_b = rng.uniform(0.6, 1.1)
    reach = 2.5 * rim_w + (halo_l * np.log(halo_b / 0.25) if halo_l else 0.0)
    half = max(abs(py) + r for py, px, r in parts) + max(abs(px) for _, px, _ in parts) + 3 * reach + 4
    sl, yy, xx = cp.local_window(c.size, cy, cx, half)
    sds = [cp.blob_sd(rng, yy - py, xx - px, r, 0.06, rng.uniform(0.8, 1.0)) for py, px, r in parts]
    mask = np.min(sds, axis=0) < reach
    void, ghost = rng.uniform(0.02, 0.07), rng.uniform(0.0, 0.15)
    ring_p, ring_a = c.um(rng.uniform(5, 14)), rng.uniform(0.2, 0.6)
    ring_l = min(c.um(rng.uniform(8, 40)), 0.3 * min(r for _, _, r in parts))  # rings hug the rim
    rim_b = rng.uniform(0.5, 1.0)

    def render(win: np.ndarray) -> None:
        for sd in sds:
            depth = np.maximum(-sd, 0)
            rings = ring_a * np.exp(-depth / ring_l) * 0.5 * (1 + np.cos(2 * np.pi * depth / ring_p))
            inner = void + ghost * win + (rings if variant != "halo" else 0.0)
            win[:] = np.where(sd < 0, inner, win) + rim_b * np.exp(-0.5 * (sd / rim_w) ** 2)
            if variant == "halo":
                win += np.where(sd >= 0, halo_b * np.exp(-np.maximum(sd, 0) / max(halo_l, 1e-3)), 0.0)

    return [c.art("air_bubble", False, sl, mask, render)]


def _particulate(c: _Ctx, budget: float) -> list[_Art]:
    """Dense particulates: bright specks, clumps with shadows, or specks in a milky haze, clustered over
    darkened, flattened tissue (isotropic grains, unlike fibres)."""
    rng, variant = c.rng, str(c.rng.choice(["specks", "aggregates", "hazy"]))
    cy, cx = c.centre()
    r = cp.radius_for(c.rng, c.sp, budget, 30, 450)
    sl, yy, xx = cp.local_window(c.size, cy, cx, r * 1.6 + 6)
    mask = cp.blob_sd(rng, yy, xx, r, 0.4) < 0
    sub = np.random.default_rng(rng.integers(2**62))
    dark, cover = rng.uniform(0.2, 0.45), rng.uniform(0.06, 0.2)  # cover: share of the area lit by specks
    cluster, sigma = c.um(rng.uniform(8, 30)), max(c.um(rng.uniform(0.7, 1.4)), 0.5)
    amp, big_um = rng.uniform(0.7, 1.2), rng.uniform(4, 9)
    glow = rng.uniform(0.5, 1.2) if variant == "hazy" else rng.uniform(0.02, 0.08)

    def render(win: np.ndarray) -> None:
        soft = ndi.gaussian_filter(mask.astype(F32), 2.0)
        mean = ndi.uniform_filter(win, 9)
        flat = 0.1 if variant == "hazy" else 0.35
        win[:] = (1 - soft) * win + soft * dark * (flat * win + (1 - flat) * mean)
        n = int(mask.sum() * cover / (2 * np.pi * sigma**2) * (0.4 if variant == "aggregates" else 1.0))
        specks = np.zeros(win.shape, F32)
        for share, sig in ((0.75, sigma), (0.25, sigma * 1.8)):  # fine grains and a few coarser ones
            py, px = cp.cluster_points(sub, mask, int(n * share), cluster)
            pts = np.zeros(win.shape, F32)
            np.add.at(pts, (py, px), sub.lognormal(0, 0.35, py.size).astype(F32) * amp)
            specks += ndi.gaussian_filter(pts, sig) * (2 * np.pi * sig**2)
        if variant == "aggregates":
            s2 = max(c.um(big_um), 1.5)
            qy, qx = cp.cluster_points(sub, mask, max(int(n * sigma**2 / s2**2 * 0.15), 1), cluster * 0.5)
            big = np.zeros(win.shape, F32)
            np.add.at(big, (qy, qx), 1.0)
            specks += 1.1 * ndi.gaussian_filter(big, s2) * (2 * np.pi * s2**2)
            specks -= 0.45 * ndi.gaussian_filter(big, s2 * 2.2) * (2 * np.pi * (s2 * 2.2) ** 2)
        haze = ndi.gaussian_filter(specks, max(cluster / 2, 2)) * soft
        win += specks + glow * haze / (1.0 if variant != "hazy" else max(float(haze.max()), 1e-3) * 3)
        np.maximum(win, 0, out=win)

    return [c.art("particulate", False, sl, mask, render)]


def _hair(c: _Ctx, budget: float) -> list[_Art]:
    """Hair: a thick dark shaft with bright specular edges and a shadow, or one to three thin bright strands."""
    rng, arts = c.rng, []
    shaft = rng.uniform() < 0.55
    n = 1 if shaft else int(rng.integers(1, 4))
    cy, cx = c.centre()
    for _ in range(n):
        w = c.um(rng.uniform(40, 100) if shaft else rng.uniform(5, 16))
        edge, shadow, s0 = max(c.um(rng.uniform(2, 5)), 0.8), c.um(rng.uniform(8, 25)), rng.uniform(0.5, 0.85)
        hw = w / 2 + (max(1.5 * edge, shadow * np.log(s0 / 0.4)) if shaft else 1.5)
        length = np.clip(min(c.um(rng.uniform(300, 2500)), budget / n / (2 * hw) * rng.uniform(0.5, 1.2)),
                         c.um(120), 3 * c.size)
        sl, dist = cp.curve_distance(rng, c.size, cy + rng.normal(0, c.um(30)), cx + rng.normal(0, c.um(30)),
                                     length, hw + 3 * shadow + 4, rng.uniform(0.002, 0.01))
        bright, med = rng.uniform(0.6, 1.1), rng.uniform(0.0, 0.12)

        def render(win: np.ndarray, d=dist, w=w, edge=edge, shadow=shadow, s0=s0, b=bright, med=med) -> None:
            if shaft:
                out = np.maximum(d - w / 2, 0)
                core = 0.03 + med * np.exp(-0.5 * (d / (0.12 * w)) ** 2)
                win[:] = np.where(d < w / 2, core, win * (1 - s0 * np.exp(-out / shadow)))
                win += b * np.exp(-0.5 * ((d - w / 2) / edge) ** 2)
            else:
                win *= 1 - 0.5 * np.exp(-0.5 * (d / (w * 0.9)) ** 2)
                win += b * np.exp(-0.5 * (d / (w / 2.4)) ** 2)

        arts.append(c.art("hair", False, sl, dist <= hw, render))
    return arts


def _under_illumination(c: _Ctx, budget: float) -> list[_Art]:
    """Dim irregular patch, or one side of a tile, where light and contrast collapse."""
    rng = c.rng
    g0, soft = rng.uniform(0.1, 0.28), max(c.um(rng.uniform(5, 20)), 1.5)
    tile = c.tile()
    if rng.uniform() < 0.5 and (tile[1] - tile[0]) * (tile[3] - tile[2]) * 0.3 < budget * 1.3:
        sl = (slice(tile[0], tile[1]), slice(tile[2], tile[3]))
        h, w = tile[1] - tile[0], tile[3] - tile[2]
        side = int(rng.integers(0, 4))
        yy, xx = np.mgrid[0:h, 0:w].astype(F32)
        pos, along = [(yy, xx), (h - 1 - yy, xx), (xx, yy), (w - 1 - xx, yy)][side]
        span = h if side < 2 else w
        frac = min(budget * rng.uniform(0.5, 1.1) / (h * w), 1.2 if rng.uniform() < 0.25 else 0.7)
        wave = c.um(rng.uniform(5, 40)) * np.sin(along / c.um(rng.uniform(60, 200)) + rng.uniform(0, 6.3))
        s = np.clip(0.5 + (frac * span + wave - pos) / soft, 0, 1).astype(F32)
    else:
        cy, cx = c.centre()
        r = cp.radius_for(c.rng, c.sp, budget, 60, 900)
        sl, yy, xx = cp.local_window(c.size, cy, cx, r * 1.7 + 3 * soft)
        s = ndi.gaussian_filter((cp.blob_sd(rng, yy, xx, r, 0.45) < 0).astype(F32), soft)

    def render(win: np.ndarray) -> None:
        mean = ndi.uniform_filter(win, 11)
        win[:] = (1 - (1 - g0) * s) * (mean + (win - mean) * (1 - 0.7 * s))

    return [c.art("under_illumination", True, sl, s >= 0.45, render)]


def _saturation(c: _Ctx, budget: float) -> list[_Art]:
    """Blown-out plateau (clipped to 255) with bloom: a blob, a scan-line streak, or a whole tile."""
    rng = c.rng
    lam, b = max(c.um(rng.uniform(4, 30)), 1.0), rng.uniform(0.6, 1.3)
    reach = lam * np.log(b / 0.35)
    tile = c.tile()
    area = (tile[1] - tile[0]) * (tile[3] - tile[2])
    u = rng.uniform()
    if u < 0.15 and area < budget * 1.3:
        sl = (slice(tile[0], tile[1]), slice(tile[2], tile[3]))
        gain, lift = rng.uniform(5, 9), rng.uniform(0.5, 0.8)

        def blow(win: np.ndarray) -> None:
            win[:] = win * gain + lift

        return [c.art("saturation", True, sl, np.ones((tile[1] - tile[0], tile[3] - tile[2]), bool), blow)]
    if u < 0.5:
        cy = int(rng.integers(tile[0], tile[1]))
        hh = c.um(rng.uniform(6, 40)) / 2
        ww = (tile[3] - tile[2]) * rng.uniform(0.3, 1.0) / 2
        cx = int(rng.integers(tile[2], tile[3]))
        sl, yy, xx = cp.local_window(c.size, cy, cx, max(ww, hh) + 4 * lam + 2)
        sd = np.maximum(np.abs(yy) - hh, np.abs(xx) - ww).astype(F32)
    else:
        cy, cx = c.centre()
        r = cp.radius_for(c.rng, c.sp, budget / 2, 10, 250)
        sl, yy, xx = cp.local_window(c.size, cy, cx, r * 1.6 + 5 * lam + 2)
        sd = cp.blob_sd(rng, yy, xx, r, 0.35)

    def render(win: np.ndarray) -> None:
        bloom = np.minimum(b * np.exp(-np.maximum(sd, 0) / lam), 1.0)  # veil: lifts and flattens tissue
        win[:] = np.where(sd < 0, 1.6, win * (1 - 0.6 * bloom) + bloom)

    return [c.art("saturation", True, sl, sd < reach, render)]


def _no_contact(c: _Ctx, budget: float) -> list[_Art]:
    """No skin contact: near-black with faint noise, along the mosaic's edge, as a patch, or a whole tile."""
    rng = c.rng
    level = rng.uniform(0.0, 0.02)
    tile = c.tile()
    area = (tile[1] - tile[0]) * (tile[3] - tile[2])
    u = rng.uniform()
    if u < 0.25 and area < budget * 1.3:
        sl = (slice(tile[0], tile[1]), slice(tile[2], tile[3]))
        mask = np.ones((tile[1] - tile[0], tile[3] - tile[2]), bool)
    elif u < 0.65:
        sl = (slice(0, c.size), slice(0, c.size))
        ang = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:c.size, 0:c.size].astype(F32)
        proj = xx * np.cos(ang) + yy * np.sin(ang)
        perp = yy * np.cos(ang) - xx * np.sin(ang)
        proj += c.um(rng.uniform(10, 80)) * np.sin(perp / c.um(rng.uniform(80, 400)) + rng.uniform(0, 6.3))
        frac = min(budget * rng.uniform(0.4, 1.0), 0.45 * c.valid.sum()) / max(c.valid.sum(), 1)
        thr = np.quantile(proj[::4, ::4][c.valid[::4, ::4]], 1 - frac)
        mask = proj > thr
    else:
        cy, cx = c.centre()
        r = cp.radius_for(c.rng, c.sp, budget, 40, 600)
        sl, yy, xx = cp.local_window(c.size, cy, cx, r * 1.7 + 4)
        mask = cp.blob_sd(rng, yy, xx, r, 0.45) < 0
    sub = np.random.default_rng(rng.integers(2**62))

    def render(win: np.ndarray) -> None:
        b = ndi.gaussian_filter(mask.astype(F32), 1.0)
        dark = level + np.abs(sub.normal(0, 0.006, win.shape)).astype(F32)
        win[:] = win * (1 - b) + dark * b

    return [c.art("no_contact", True, sl, mask, render)]


def _motion(c: _Ctx, budget: float) -> list[_Art]:
    """Motion: a band of scan lines (or a whole tile) smeared along a direction, with jittered, striped rows."""
    rng = c.rng
    y0, y1, x0, x1 = c.tile()
    whole = rng.uniform() < 0.3 and (y1 - y0) * (x1 - x0) < budget * 1.3
    if not whole:
        hh = int(np.clip(budget * rng.uniform(0.4, 1.0) / max(x1 - x0, 1), c.um(20), (y1 - y0) * 0.7))
        y0 = int(rng.integers(y0, max(y1 - hh, y0 + 1)))
        y1 = min(y0 + hh, y1)
    length = max(c.um(rng.uniform(25, 80)), 6)
    angle = rng.uniform(0, np.pi) if whole else rng.normal(0, 0.35)
    jitter, stripe = c.um(rng.uniform(2, 12)), rng.uniform(0.08, 0.3)
    rows = y1 - y0
    if rng.uniform() < 0.5:
        shifts = jitter * np.sin(np.arange(rows) / max(c.um(rng.uniform(4, 20)), 1.0) + rng.uniform(0, 6.3))
    else:
        shifts = np.cumsum(rng.normal(0, jitter / 3, rows))
        shifts = np.clip(shifts - shifts.mean(), -2 * jitter, 2 * jitter)
    gains = 1 + stripe * ndi.gaussian_filter1d(rng.normal(0, 1, rows), 0.8)
    pad = int(length + 2 * jitter + 2)
    wy0, wy1, wx0, wx1 = max(y0 - pad, 0), min(y1 + pad, c.size), max(x0 - pad, 0), min(x1 + pad, c.size)
    sl = (slice(wy0, wy1), slice(wx0, wx1))
    mask = np.zeros((wy1 - wy0, wx1 - wx0), bool)
    mask[y0 - wy0:y1 - wy0, x0 - wx0:x1 - wx0] = True

    def render(win: np.ndarray) -> None:
        sm = cp.line_blur(win, length, angle)
        r = np.arange(y0 - wy0, y1 - wy0)
        cols = np.clip(np.arange(win.shape[1])[None, :] - np.round(shifts).astype(int)[:, None], 0, win.shape[1] - 1)
        band = sm[r[:, None], cols] * gains[:, None].astype(F32)
        full = win.copy()
        full[r] = band
        win[:] = np.where(mask, full, win)

    return [c.art("motion", True, sl, mask, render)]


_PLANNERS = {"air_bubble": _bubble, "particulate": _particulate, "hair": _hair,
             "under_illumination": _under_illumination, "saturation": _saturation, "no_contact": _no_contact,
             "motion": _motion}
_BIG = ["particulate", "under_illumination", "no_contact", "motion"]  # classes that can cover large areas


def _plan(c: _Ctx, target: float) -> list[_Art]:
    """Add artifacts of a few classes until the union covers about `target` of the valid area."""
    rng, n_valid = c.rng, max(int(c.valid.sum()), 1)
    names = list(_PLANNERS)
    p = np.array([1.0, 1.5, 1.0, 1.0, 1.0, 1.0, 1.0])
    chosen = list(rng.choice(names, size=int(rng.integers(1, 5)), replace=False, p=p / p.sum()))
    if target > 0.15 and not set(chosen) & set(_BIG):
        chosen.append(str(rng.choice(_BIG)))
    union, arts = np.zeros_like(c.valid), []
    for _ in range(80):
        frac = union.sum() / n_valid
        if frac >= 0.9 * target:
            break
        new = _PLANNERS[str(rng.choice(chosen))](c, (target - frac) * n_valid)
        trial = union.copy()
        for a in new:
            trial[a.sl] |= a.mask
        if trial.sum() / n_valid <= target * 1.2 + 0.004:
            union, arts = trial, arts + new
    return arts


def _paint(img: np.ndarray, labels: np.ndarray, arts: list[_Art]) -> None:
    for a in arts:
        win = img[a.sl]  # a view: renderers draw in place
        a.render(win)
        labels[a.sl][a.mask] = a.code


def generate(*, seed: int, size_px: int = 1024, pixel_spacing_um: float = 2.0) -> FamilyPhantom:
    """One dermis mosaic with exact artifact ground truth, deterministic for `seed`."""
    rng = np.random.default_rng([int(seed), _SALT])
    size, sp = int(size_px), float(pixel_spacing_um)
    kind = str(rng.choice(["bright_clean", "clean", "low", "mid", "high"], p=[0.12, 0.1, 0.38, 0.25, 0.15]))
    target = {"bright_clean": 0.0, "clean": 0.0 if rng.uniform() < 0.4 else rng.uniform(0.003, 0.015),
              "low": rng.uniform(0.02, 0.1), "mid": rng.uniform(0.1, 0.3), "high": rng.uniform(0.3, 0.45)}[kind]
    bright = kind == "bright_clean"
    shape = (size + 2 * _MARGIN,) * 2
    density = rng.uniform(0.75, 0.95) if bright else rng.uniform(0.15, 0.85)
    thick = rng.uniform(0.6, 1.0) if bright else rng.uniform(0.0, 1.0)
    tissue = cp.collagen_tissue(rng, shape, sp, density, thick)
    mode = "collagen" if bright else str(rng.choice(["collagen", "granular", "mixed"], p=[0.7, 0.12, 0.18]))
    if mode != "collagen":
        gran = cp.granular_tissue(rng, shape, sp) * rng.uniform(0.8, 1.3)
        m = 1.0 if mode == "granular" else cp.sigmoid(3 * cp.smooth_noise(rng, shape, rng.uniform(300, 800) / sp)
                                                      + rng.uniform(-1, 1))
        tissue = m * gran + (1 - m) * tissue
    cp.paint_cells_and_vessels(rng, tissue, sp)
    tissue = np.maximum(tissue, 0) ** (rng.uniform(0.5, 0.7) if bright else rng.uniform(0.8, 1.0))
    top = rng.uniform(0.72, 0.85) if bright else rng.uniform(0.5, 0.8)
    tissue *= top / (np.percentile(tissue[::4, ::4], 97) + 1e-6)
    lay = cp.tile_layout(rng, size, sp, _MARGIN)
    img = cp.depth_loss(rng, cp.stitch(rng, tissue, lay, _MARGIN), lay.valid)
    c = _Ctx(rng, size, sp, lay.valid, lay)
    arts = _plan(c, target) if target > 0 else []
    labels = np.zeros((size, size), np.uint8)
    _paint(img, labels, [a for a in arts if not a.late])
    k_lo, k_hi = (rng.uniform(3.5, 5), rng.uniform(8, 14)) if bright else (rng.uniform(2, 3.5), rng.uniform(5, 14))
    k = np.exp(np.log(k_lo) + np.log(k_hi / k_lo) * cp.sigmoid(1.5 * cp.smooth_noise(rng, img.shape, c.um(150))))
    img *= rng.standard_gamma(k).astype(F32) / k
    _paint(img, labels, [a for a in arts if a.late])
    img += rng.uniform(0.006, 0.025) + rng.normal(0, rng.uniform(0.003, 0.012), img.shape).astype(F32)
    image = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
    image[~lay.valid] = 0
    labels[~lay.valid] = 0
    return FamilyPhantom(image=image, uninformative=labels > 0, artifact_labels=labels, valid=lay.valid,
                         pixel_spacing_um=sp, seed=int(seed), family=NAME)


from inference.phantoms.families import FAMILIES  # noqa: E402  (registration at import, as the package expects)

FAMILIES[NAME] = generate
