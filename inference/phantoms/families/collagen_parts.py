"""Tissue, acquisition and shape helpers of the "collagen" phantom family (see `collagen.py`).

Everything is vectorised (FFT-steered ridge noise, coarse fields upsampled, Voronoi by one distance
transform) so that a 2000 x 2000 mosaic stays within a few seconds on one core.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy import ndimage as ndi

F32 = np.float32
Tile = tuple[int, int, int, int]  # y0, y1, x0, x1 (clipped to the image)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale_px: float) -> np.ndarray:
    """Zero-mean unit-std field smooth over `scale_px`: drawn on a coarse grid and upsampled (cheap)."""
    h, w = shape
    step = max(scale_px / 4.0, 1.0)
    gh, gw = int(np.ceil(h / step)) + 4, int(np.ceil(w / step)) + 4
    coarse = ndi.gaussian_filter(rng.standard_normal((gh, gw)), 1.0, mode="wrap")
    q = min(4.0, step)  # cubic to 1/q resolution, then linear: no visible kinks in derivatives
    mid = ndi.zoom(coarse, step / q, order=3)
    mid = ((mid - mid.mean()) / (mid.std() + 1e-9)).astype(F32)
    return ndi.zoom(mid, q, order=1, output=F32)[:h, :w]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-x))).astype(F32)


def straight_field(rng: np.random.Generator, shape: tuple[int, int], widths_px: list[tuple[float, float]],
                   length_px: float) -> np.ndarray:
    """Periodic ridge noise with ridges along x: narrow low-pass along, difference of Gaussians across."""
    spec = sfft.rfft2(rng.standard_normal(shape).astype(F32), workers=1)
    ky = (2 * np.pi * sfft.fftfreq(shape[0])).astype(F32)[:, None]
    kx = (2 * np.pi * sfft.rfftfreq(shape[1])).astype(F32)[None, :]
    across = sum(wt * (np.exp(-0.5 * (ky * (wd / 2.5)) ** 2) - np.exp(-0.5 * (ky * wd * 1.2) ** 2))
                 for wd, wt in widths_px)
    f = sfft.irfft2(spec * (np.exp(-0.5 * (kx * length_px) ** 2) * across).astype(F32), s=shape, workers=1)
    return (f / (f[::4, ::4].std() + 1e-9)).astype(F32)


def warp_coords(rng: np.random.Generator, shape: tuple[int, int], sp: float, ang: float) -> np.ndarray:
    """Rotated, smoothly displaced (row, column) sampling coordinates, shape (2, h, w): the level lines
    of the row coordinate are the wavy fibre paths."""
    h, w = shape
    scale = rng.uniform(250, 700) / sp
    amp = rng.uniform(0.03, 0.12) * scale
    yy = np.arange(h, dtype=F32)[:, None]
    xx = np.arange(w, dtype=F32)[None, :]
    out = np.empty((2, h, w), F32)
    out[0] = yy * np.cos(ang) - xx * np.sin(ang) + amp * smooth_noise(rng, shape, scale)
    out[1] = xx * np.cos(ang) + yy * np.sin(ang) + amp * smooth_noise(rng, shape, scale)
    return out


def collagen_tissue(rng: np.random.Generator, shape: tuple[int, int], sp: float, density: float,
                    thick: float) -> np.ndarray:
    """Papillary/reticular dermis: bright fibres (2-8 um) packed into bundles (<= 30 um) on dark gaps.

    Straight fibre/bundle noise is sampled through smooth warps (one per interlacing domain, each with
    its own main direction), so fibres are continuous wavy curves whose direction varies smoothly.
    """
    h, w = shape
    g = sfft.next_fast_len(max(h, w) + 64, True)
    n_dom = int(rng.choice([2, 2, 3, 4]))
    beta = rng.uniform(0.5, 4.0)  # low: crossing meshwork, high: separate interlaced domains
    logits = [beta * smooth_noise(rng, shape, rng.uniform(150, 600) / sp) for _ in range(n_dom)]
    top = np.max(logits, axis=0)
    wts = [np.exp(lg - top) for lg in logits]
    total = np.sum(wts, axis=0)
    fib = np.zeros(shape, F32)
    env = np.zeros(((h + 1) // 2, (w + 1) // 2), F32)  # bundle envelope: smooth, sampled at half resolution
    norm = np.zeros(shape, F32)
    fine = [(rng.uniform(2, 4) / sp, 1.0 - 0.6 * thick), (rng.uniform(4, 8) / sp, 0.4 + 0.6 * thick)]
    ang0 = rng.uniform(0, np.pi)
    for d, wt in enumerate(wts):
        wt = wt / total
        fg = straight_field(rng, (g, g), fine, rng.uniform(8, 30) / sp)
        bg = straight_field(rng, (g, g), [(rng.uniform(10, 30) / sp, 1.0)], rng.uniform(40, 150) / sp)
        coords = warp_coords(rng, shape, sp, ang0 + np.pi * d / n_dom + rng.normal(0, 0.2))
        fib += wt * ndi.map_coordinates(fg, coords, order=1, mode="grid-wrap")
        env += wt[::2, ::2] * ndi.map_coordinates(bg, coords[:, ::2, ::2], order=1, mode="grid-wrap")
        norm += wt * wt
    fib /= np.sqrt(norm)
    env = ndi.zoom(env / np.sqrt(norm[::2, ::2]), 2, order=1, output=F32)[:h, :w]
    env = sigmoid(2.2 * (env - rng.uniform(-0.2, 0.6)))
    dens = np.clip(density + 0.22 * smooth_noise(rng, shape, rng.uniform(300, 900) / sp), 0.02, 1.0)
    signal = fib * (0.55 + 0.7 * env) + (1.0 + thick) * (env - 0.5)
    ridge = np.maximum(signal - (1.5 - 2.3 * dens), 0) ** rng.uniform(0.7, 1.1)
    ridge /= np.percentile(ridge[::3, ::3], 99.5) + 1e-6
    haze = rng.uniform(0.07, 0.16) + 0.03 * smooth_noise(rng, shape, 60 / sp) + (0.04 + 0.12 * thick * density) * env
    return np.clip(haze, 0.01, None) + 0.95 * np.minimum(ridge, 1.3)


def granular_tissue(rng: np.random.Generator, shape: tuple[int, int], sp: float) -> np.ndarray:
    """Granular layer: large polygonal cells (20-30 um), grainy bright cytoplasm, dark nucleus."""
    h, w = shape
    d = rng.uniform(20, 30) / sp
    gy, gx = np.meshgrid(np.arange(-d, h + d, d * 0.87), np.arange(-d, w + d, d), indexing="ij")
    gx = gx + (np.arange(gy.shape[0]) % 2)[:, None] * d / 2  # hexagonal packing, then jitter
    py = np.round(gy + rng.uniform(-0.3, 0.3, gy.shape) * d).astype(int).ravel()
    px = np.round(gx + rng.uniform(-0.3, 0.3, gx.shape) * d).astype(int).ravel()
    keep = (py >= 0) & (py < h) & (px >= 0) & (px < w)
    py, px = py[keep], px[keep]
    seeds = np.ones(shape, bool)
    seeds[py, px] = False
    ids = np.zeros(shape, np.int32)
    ids[py, px] = np.arange(py.size)
    dist, (iy, ix) = ndi.distance_transform_edt(seeds, return_indices=True)
    cid = ids[iy, ix]
    cell_b = rng.uniform(0.45, 1.0, py.size).astype(F32)[cid]
    grains = ndi.gaussian_filter(rng.standard_gamma(0.9, shape).astype(F32), 0.45)
    img = cell_b * (0.2 + 0.6 * grains)
    r_nuc = d * rng.uniform(0.14, 0.22)
    img *= np.where(dist < r_nuc, 0.18, 1.0).astype(F32)
    border = np.zeros(shape, bool)
    border[:, 1:] |= cid[:, 1:] != cid[:, :-1]
    border[1:, :] |= cid[1:, :] != cid[:-1, :]
    img[border] = (0.1 + 0.3 * rng.uniform()) * (0.6 + 0.4 * img[border])
    return img.astype(F32)


def paint_cells_and_vessels(rng: np.random.Generator, img: np.ndarray, sp: float) -> None:
    """Bright round inflammatory cells (8-14 um) and dark vessel lumina (10-40 um) with bright walls."""
    h, w = img.shape
    area_mm2 = h * w * (sp / 1000) ** 2
    for _ in range(rng.poisson(area_mm2 * rng.choice([0.0, 2.0, 6.0]))):
        r = rng.uniform(5, 20) / sp
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry = r * rng.uniform(0.6, 1.0)
        _paint(img, cy, cx, r + 3, lambda yy, xx: _vessel(rng, yy, xx, r, ry, sp))
    n_cells = rng.poisson(area_mm2 * rng.choice([0.0, 10.0, 40.0]))
    for _ in range(n_cells):
        r = rng.uniform(4, 7) / sp
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        b = rng.uniform(0.7, 1.15)
        _paint(img, cy, cx, r + 2, lambda yy, xx: (None, b * np.exp(-0.5 * (np.hypot(yy, xx) / (0.6 * r)) ** 4)))


def _vessel(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, r: float, ry: float, sp: float):
    """Lumen: dark, soft-edged, faint wall and a few bright blood cells (unlike a bubble's crisp rim)."""
    rho = np.hypot(xx / r, yy / ry) * (1 + 0.12 * np.cos(3 * np.arctan2(yy, xx) + rng.uniform(0, 6.3)))
    wall = np.exp(-0.5 * ((rho - 1) * r / max(3 / sp, 1.0)) ** 2) * rng.uniform(0.05, 0.25)
    lumen = 0.15 + 0.85 * sigmoid((rho - 0.95) * r / max(2 / sp, 0.7))
    for _ in range(int(rng.integers(0, 4))):
        oy, ox, rc = rng.uniform(-0.5, 0.5) * ry, rng.uniform(-0.5, 0.5) * r, rng.uniform(2.5, 4) / sp
        wall = wall + rng.uniform(0.3, 0.7) * np.exp(-0.5 * (np.hypot(yy - oy, xx - ox) / rc) ** 2)
    return lumen, wall


def _paint(img: np.ndarray, cy: float, cx: float, half: float, fn) -> None:
    """Apply fn(yy, xx) -> (multiplier or None, additive) in a small window (loops over objects, not pixels)."""
    h, w = img.shape
    y0, y1 = max(int(cy - half), 0), min(int(cy + half) + 2, h)
    x0, x1 = max(int(cx - half), 0), min(int(cx + half) + 2, w)
    if y0 >= y1 or x0 >= x1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(F32)
    mul, add = fn(yy - cy, xx - cx)
    win = img[y0:y1, x0:x1]
    if mul is not None:
        win *= mul
    np.maximum(win, add, out=win) if mul is None else np.add(win, add, out=win)


@dataclass
class Layout:
    """The mosaic's tiles: kept tiles, their misregistration shifts, and the valid (imaged) area."""

    tiles: list[Tile]
    shifts: list[tuple[int, int]]
    valid: np.ndarray
    tile_px: int


def tile_layout(rng: np.random.Generator, size: int, sp: float, margin: int) -> Layout:
    """Irregular union of 400-600 um tiles (kept by a noisy elliptical score), some misregistered."""
    t = max(int(round(rng.uniform(400, 600) / sp)), 8)
    oy, ox = -int(rng.integers(0, t // 2 + 1)), -int(rng.integers(0, t // 2 + 1))
    ys = list(range(oy, size, t))
    xs = list(range(ox, size, t))
    cand = [(y, x) for y in ys for x in xs]
    a, b = rng.uniform(0.7, 1.3, 2)
    score = np.array([np.hypot((y + t / 2 - size / 2) / (a * size), (x + t / 2 - size / 2) / (b * size))
                      for y, x in cand]) + rng.uniform(0, 0.35, len(cand))
    keep_frac = 1.0 if rng.uniform() < 0.35 else rng.uniform(0.55, 0.95)
    n_keep = max(1, int(round(keep_frac * len(cand))))
    order = np.argsort(score, kind="stable")[:n_keep]
    p_mis = rng.choice([0.0, 0.15, 0.4])
    tiles, shifts = [], []
    valid = np.zeros((size, size), bool)
    for i in sorted(order.tolist()):
        y, x = cand[i]
        tile = (max(y, 0), min(y + t, size), max(x, 0), min(x + t, size))
        if tile[0] >= tile[1] or tile[2] >= tile[3]:
            continue
        tiles.append(tile)
        mis = rng.uniform() < p_mis
        shifts.append(tuple(int(v) for v in rng.integers(-margin + 2, margin - 1, 2)) if mis else (0, 0))
        valid[tile[0]:tile[1], tile[2]:tile[3]] = True
    return Layout(tiles, shifts, valid, t)


def stitch(rng: np.random.Generator, canvas: np.ndarray, lay: Layout, margin: int) -> np.ndarray:
    """Cut the tiles out of the (larger) tissue canvas, shifted, with per-tile gain and vignetting."""
    size = lay.valid.shape[0]
    img = np.zeros((size, size), F32)
    one_sided = rng.uniform() < 0.4
    for (y0, y1, x0, x1), (dy, dx) in zip(lay.tiles, lay.shifts):
        img[y0:y1, x0:x1] = canvas[y0 + margin + dy:y1 + margin + dy, x0 + margin + dx:x1 + margin + dx]
        yy = (np.arange(y0, y1, dtype=F32)[:, None] - y0) / lay.tile_px
        xx = (np.arange(x0, x1, dtype=F32)[None, :] - x0) / lay.tile_px
        if one_sided and rng.uniform() < 0.8:
            ang = rng.uniform(0, 2 * np.pi)
            ramp = 0.5 + (xx - 0.5) * np.cos(ang) + (yy - 0.5) * np.sin(ang)
            vig = 1 - rng.uniform(0.25, 0.55) * np.exp(-np.clip(ramp, 0, None) / rng.uniform(0.15, 0.4))
        else:
            cy, cx = 0.5 + rng.uniform(-0.12, 0.12, 2)
            ry, rx = 0.5 * rng.uniform(0.8, 1.3, 2)
            vig = 1 - rng.uniform(0.15, 0.45) * (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) / 2
        img[y0:y1, x0:x1] *= np.clip(vig, 0.3, 1.0) * rng.uniform(0.85, 1.15)
    return img


def depth_loss(rng: np.random.Generator, img: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Contrast (and some brightness) lost toward one side, as when the focal plane sinks deeper."""
    h, w = img.shape
    ang = rng.uniform(0, 2 * np.pi)
    yy = np.linspace(-0.5, 0.5, h, dtype=F32)[:, None]
    xx = np.linspace(-0.5, 0.5, w, dtype=F32)[None, :]
    r = np.clip(0.5 + (xx * np.cos(ang) + yy * np.sin(ang)) / 0.75, 0, 1) ** rng.uniform(1.0, 2.5)
    a = rng.uniform(0.1, 0.65)
    mean = float(img[valid].mean()) if valid.any() else 0.0
    return (mean + (img - mean) * (1 - a * r)) * (1 - 0.35 * a * r)


def blob_sd(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, radius: float, rough: float = 0.25,
            aspect: float | None = None) -> np.ndarray:
    """Signed radial distance (px, < 0 inside) to an irregular star-shaped blob centred at yy = xx = 0."""
    a = rng.uniform(0.6, 1.0) if aspect is None else aspect
    rot = rng.uniform(0, np.pi)
    xr = xx * np.cos(rot) + yy * np.sin(rot)
    yr = (yy * np.cos(rot) - xx * np.sin(rot)) / a
    rho, ang = np.hypot(xr, yr), np.arctan2(yr, xr)
    rad = np.ones_like(rho)
    for n in range(2, 7):
        rad += rng.uniform(0, rough / n * 1.5) * np.cos(n * ang + rng.uniform(0, 2 * np.pi))
    return (rho - radius * rad).astype(F32)


def local_window(size: int, cy: float, cx: float, half: float
                 ) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray]:
    """Image slices of a square window of half-size `half` around (cy, cx), clipped, and the offsets
    from the centre of its rows (column vector) and columns (row vector)."""
    y0, y1 = int(max(cy - half, 0)), int(min(cy + half + 1, size))
    x0, x1 = int(max(cx - half, 0)), int(min(cx + half + 1, size))
    y0, x0 = min(y0, size - 1), min(x0, size - 1)
    y1, x1 = max(y1, y0 + 1), max(x1, x0 + 1)
    yy = (np.arange(y0, y1, dtype=F32) - np.float32(cy))[:, None]
    xx = (np.arange(x0, x1, dtype=F32) - np.float32(cx))[None, :]
    return (slice(y0, y1), slice(x0, x1)), yy, xx


def line_blur(img: np.ndarray, length: float, angle: float) -> np.ndarray:
    """Mean of copies shifted along a line (a directional smear), by integer shifts of an edge-padded copy."""
    n = max(int(round(length)), 2)
    offs = np.linspace(-length / 2, length / 2, n)
    dys, dxs = np.round(offs * np.sin(angle)).astype(int), np.round(offs * np.cos(angle)).astype(int)
    p = int(max(np.abs(dys).max(), np.abs(dxs).max())) + 1
    pad = np.pad(img, p, mode="edge")
    h, w = img.shape
    acc = np.zeros_like(img, dtype=F32)
    for dy, dx in zip(dys, dxs):
        acc += pad[p + dy:p + dy + h, p + dx:p + dx + w]
    return acc / n


def curve_distance(rng: np.random.Generator, size: int, cy: float, cx: float, length: float,
                   pad: float, wiggle: float) -> tuple[tuple[slice, slice], np.ndarray]:
    """Distance (px) to a smooth random curve through (cy, cx), on its bounding box (clipped)."""
    n = max(int(length), 2)
    heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, wiggle, n))
    heading = ndi.gaussian_filter1d(heading, 8)
    py, px = np.cumsum(np.sin(heading)), np.cumsum(np.cos(heading))
    py, px = py - py[n // 2] + cy, px - px[n // 2] + cx
    y0, y1 = int(max(py.min() - pad, 0)), int(min(py.max() + pad + 2, size))
    x0, x1 = int(max(px.min() - pad, 0)), int(min(px.max() + pad + 2, size))
    y0, x0 = min(y0, size - 1), min(x0, size - 1)
    y1, x1 = max(y1, y0 + 1), max(x1, x0 + 1)
    line = np.ones((y1 - y0, x1 - x0), bool)
    iy, ix = np.round(py).astype(int) - y0, np.round(px).astype(int) - x0
    ok = (iy >= 0) & (iy < y1 - y0) & (ix >= 0) & (ix < x1 - x0)
    if not ok.any():
        return (slice(y0, y1), slice(x0, x1)), np.full(line.shape, 1e6, F32)
    line[iy[ok], ix[ok]] = False
    return (slice(y0, y1), slice(x0, x1)), ndi.distance_transform_edt(line).astype(F32)


def radius_for(rng: np.random.Generator, sp: float, budget: float, lo_um: float, hi_um: float) -> float:
    """A blob radius (px) between lo and hi um whose area uses a random share of the remaining budget (px)."""
    r_budget = np.sqrt(max(budget, 1.0) * rng.uniform(0.2, 1.0) / (np.pi * 0.8))
    r = np.exp(rng.uniform(np.log(lo_um), np.log(hi_um))) / sp
    return float(np.clip(min(r, r_budget), lo_um / sp, hi_um / sp))


def cluster_points(rng: np.random.Generator, mask: np.ndarray, n: int, cluster: float) -> tuple[np.ndarray, np.ndarray]:
    """Poisson-cluster points (parents scattered in the mask, children Gaussian around them), kept in the mask."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0 or n <= 0:
        return np.zeros(0, int), np.zeros(0, int)
    parents = rng.integers(0, ys.size, max(n // 12, 1))
    pick = parents[rng.integers(0, parents.size, n)]
    py = np.round(ys[pick] + rng.normal(0, cluster, n)).astype(int)
    px = np.round(xs[pick] + rng.normal(0, cluster, n)).astype(int)
    ok = (py >= 0) & (py < mask.shape[0]) & (px >= 0) & (px < mask.shape[1])
    py, px = py[ok], px[ok]
    keep = mask[py, px]
    return py[keep], px[keep]
