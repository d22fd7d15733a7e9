"""Helpers of the "papillae" phantom family: smooth fields, Voronoi cells and the artifact painters.

Each painter takes the float signal (1.0 = full scale, values above 1 clip to 255), a `Canvas` that
describes the mosaic, and a pixel budget; it changes the signal only inside the mask it returns
(under-illumination also dims a readable fade zone around it, which is why its mask is a level set
of the same gain field) and returns (mask, rendering name). Masks are exact, not eroded outlines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

Rng = np.random.Generator


def smooth_field(rng: Rng, shape: tuple[int, int], scale: float) -> np.ndarray:
    """Zero-mean, unit-std random field with correlation length ~`scale` px (float32).

    Large scales are made as W_y @ A @ W_x.T from a coarse grid (cheap, no wide convolutions);
    small scales by a narrow Gaussian filter of white noise.
    """
    h, w = shape
    if scale < 6:
        f = ndi.gaussian_filter(rng.standard_normal(shape).astype(np.float32), max(scale, 0.5))
    else:
        def weights(n: int) -> np.ndarray:
            g = int(np.ceil(n / scale)) + 5
            pos = np.arange(n, dtype=np.float32) / scale + 2.5
            wt = np.exp(-0.5 * ((pos[:, None] - np.arange(g, dtype=np.float32)[None, :]) / 0.85) ** 2)
            return wt / wt.sum(1, keepdims=True)
        wy, wx = weights(h), weights(w)
        f = wy @ rng.standard_normal((wy.shape[1], wx.shape[1])).astype(np.float32) @ wx.T
    f = f - f.mean()
    return (f / (f.std() + 1e-6)).astype(np.float32)


def hex_seeds(rng: Rng, shape: tuple[int, int], spacing: float, jitter: float) -> np.ndarray:
    """Jittered hexagonal lattice of (y, x) seeds: cells of even size, as epithelia have."""
    dy = spacing * np.sqrt(3) / 2
    ys = np.arange(-1, shape[0] / dy + 2) * dy
    xs = np.arange(-1, shape[1] / spacing + 2) * spacing
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    xx = xx + (np.arange(len(ys))[:, None] % 2) * spacing / 2
    pts = np.stack([yy.ravel(), xx.ravel()], 1) + rng.normal(0, jitter * spacing, (yy.size, 2))
    keep = (pts[:, 0] >= 0) & (pts[:, 0] < shape[0]) & (pts[:, 1] >= 0) & (pts[:, 1] < shape[1])
    return pts[keep]


def voronoi(shape: tuple[int, int], seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the nearest seed and its index for every pixel (one exact EDT)."""
    iy = np.clip(np.round(seeds[:, 0]).astype(int), 0, shape[0] - 1)
    ix = np.clip(np.round(seeds[:, 1]).astype(int), 0, shape[1] - 1)
    free = np.ones(shape, bool)
    free[iy, ix] = False
    ids = np.zeros(shape, np.int32)
    ids[iy, ix] = np.arange(len(seeds), dtype=np.int32)
    dist, (ry, rx) = ndi.distance_transform_edt(free, return_indices=True)
    return dist.astype(np.float32), ids[ry, rx]


def cell_borders(label: np.ndarray) -> np.ndarray:
    """Pixels where the Voronoi label changes to the right or below (1-px cell outlines)."""
    b = np.zeros(label.shape, bool)
    b[:, :-1] |= label[:, :-1] != label[:, 1:]
    b[:-1, :] |= label[:-1, :] != label[1:, :]
    return b


@dataclass
class Canvas:
    """The mosaic's geometry that painters need: valid area, tile grid, a sample of valid pixels."""

    valid: np.ndarray
    tile_y: np.ndarray  # tile row of every image row
    tile_x: np.ndarray  # tile column of every image column
    tiles: np.ndarray  # bool (rows, cols): which tiles were imaged
    tile_px: int
    pixel_spacing_um: float
    coords: np.ndarray  # (N, 2) sample of valid (y, x)
    n_valid: int

    def point(self, rng: Rng) -> np.ndarray:
        return self.coords[rng.integers(len(self.coords))].astype(float)

    def tile_slices(self, i: int, j: int) -> tuple[slice, slice]:
        ys, xs = np.flatnonzero(self.tile_y == i), np.flatnonzero(self.tile_x == j)
        return slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1)

    def tile_areas(self) -> dict[tuple[int, int], int]:
        """Valid pixels of every imaged tile (partial tiles at the image border count less)."""
        out = {}
        for i, j in zip(*np.nonzero(self.tiles)):
            sy, sx = self.tile_slices(int(i), int(j))
            out[(int(i), int(j))] = int(self.valid[sy, sx].sum())
        return out


def _blob(rng: Rng, r: float, aspect: float, rough: float) -> np.ndarray:
    """Normalised radius `rho` of a rough rotated ellipse on its own crop (rho <= 1 is inside)."""
    a, b = r * np.sqrt(aspect), r / np.sqrt(aspect)
    half = int(np.ceil(a * (1 + 1.5 * rough) + 3))
    yy, xx = np.ogrid[-half:half + 1, -half:half + 1]
    t = rng.uniform(0, np.pi)
    u = (xx * np.cos(t) + yy * np.sin(t)) / a
    v = (-xx * np.sin(t) + yy * np.cos(t)) / b
    rho = np.sqrt(u * u + v * v).astype(np.float32)
    if rough > 0:
        rho = rho * (1 + rough * 0.5 * smooth_field(rng, rho.shape, max(3.0, r / 2.5)))
    return rho


def _paste(shape: tuple[int, ...], center: np.ndarray, crop: tuple[int, ...]):
    """Slices of the image and of a crop centred at `center` (None when it falls outside)."""
    y0, x0 = int(round(center[0])) - crop[0] // 2, int(round(center[1])) - crop[1] // 2
    ys, xs = slice(max(0, y0), min(shape[0], y0 + crop[0])), slice(max(0, x0), min(shape[1], x0 + crop[1]))
    if ys.stop <= ys.start or xs.stop <= xs.start:
        return None
    return (ys, xs), (slice(ys.start - y0, ys.stop - y0), slice(xs.start - x0, xs.stop - x0))


def _split(rng: Rng, area: float, n: int) -> np.ndarray:
    w = rng.lognormal(0, 0.5, n)
    return area * w / w.sum()


def _paint_blob(sig: np.ndarray, mask: np.ndarray, center: np.ndarray, rho: np.ndarray, fn) -> None:
    """Replace the signal inside `rho <= 1` at `center` by fn(signal_crop, rho_crop)."""
    where = _paste(sig.shape, center, rho.shape)
    if where is None:
        return
    (ys, xs), (cy, cx) = where
    r = rho[cy, cx]
    inside = r <= 1
    crop = sig[ys, xs]
    crop[inside] = fn(crop, r, (cy, cx))[inside]
    mask[ys, xs] |= inside


def air_bubbles(rng: Rng, sig: np.ndarray, cv: Canvas, area: float):
    """Dark voids of trapped air: plain, with a bright refractive rim, or clustered foam."""
    style = str(rng.choice(["void", "rimmed", "cluster"]))
    mask = np.zeros(sig.shape, bool)
    rmax = 0.3 * min(sig.shape)
    if style == "cluster":
        n = int(rng.integers(5, 20))
        c = cv.point(rng)
        centers = c + rng.normal(0, 0.45 * np.sqrt(area), (n, 2))
    else:
        n = max(int(rng.integers(1, 4)), int(np.ceil(area / (np.pi * rmax ** 2))))
        centers = [cv.point(rng) for _ in range(n)]
    for a, c in zip(_split(rng, area * 1.1, n), centers):
        r = float(np.clip(np.sqrt(a / np.pi), 3, rmax))
        rim = style == "rimmed" or (style == "cluster" and rng.random() < 0.5)
        rho = _blob(rng, r, rng.uniform(1, 1.25 if style == "cluster" else 1.7), 0.0)
        dark, keep = rng.uniform(0.0, 0.04), rng.uniform(0.0, 0.04)
        rim_w, rim_b = rng.uniform(1.5, 4) / r, rng.uniform(0.7, 1.4)

        def fill(s, q, sl, dark=dark, keep=keep, rim_w=rim_w, rim_b=rim_b, rim=rim):
            out = dark + keep * s + 0.02 * np.exp(-((q / 0.5) ** 2))  # faint glow at the centre
            return out + (rim_b * np.exp(-(((1 - q) / rim_w) ** 2)) if rim else 0.0)
        _paint_blob(sig, mask, c, rho, fill)
    return mask, f"air_bubble:{style}"


def particulates(rng: Rng, sig: np.ndarray, cv: Canvas, area: float):
    """Dense bright specks (or flakes) of debris over locally darkened tissue, in rough patches."""
    style = str(rng.choice(["specks", "flakes"]))
    mask = np.zeros(sig.shape, bool)
    n = int(rng.integers(1, 4))
    for a in _split(rng, area, n):
        r = float(np.clip(np.sqrt(a / np.pi), 4, 0.3 * min(sig.shape)))
        rho = _blob(rng, r, rng.uniform(1, 2), 0.3)
        dk = rng.uniform(0.12, 0.35)
        dens = rng.uniform(0.05, 0.15) if style == "specks" else rng.uniform(0.01, 0.03)
        dens = dens * np.clip(1 + 0.5 * smooth_field(rng, rho.shape, max(3.0, r / 3)), 0.3, 1.7)  # clumpy cloud
        layer = (rng.random(rho.shape) < dens) * rng.lognormal(0, 0.35, rho.shape) * rng.uniform(1.2, 2.5)
        layer = ndi.gaussian_filter(layer.astype(np.float32), 0.6)
        if style == "flakes":
            noise = ndi.gaussian_filter(rng.standard_normal(rho.shape).astype(np.float32), rng.uniform(1.0, 2.2))
            flakes = noise > np.quantile(noise, rng.uniform(0.8, 0.9))
            layer = layer + flakes * rng.uniform(0.45, 0.9) * (0.7 + 0.3 * rng.random(rho.shape))

        def fill(s, q, sl, dk=dk, layer=layer):
            shade = dk + (1 - dk) * 0.5 * np.clip((q - 0.85) / 0.15, 0, 1)
            return s * shade + layer[sl]
        _paint_blob(sig, mask, cv.point(rng), rho, fill)
    return mask, f"particulate:{style}"


def hair(rng: Rng, sig: np.ndarray, cv: Canvas, area: float):
    """Long smoothly curved strands a few pixels wide, dark (absorbing) or bright (specular)."""
    style = str(rng.choice(["dark", "bright"]))
    mask = np.zeros(sig.shape, bool)
    h, w = sig.shape
    width = rng.uniform(2.5, 7.5)
    length = rng.uniform(0.4, 1.3) * max(h, w)
    for _ in range(int(np.clip(round(area / (length * width)), 1, 5))):
        s = np.arange(0, length, 0.5)
        theta = (rng.uniform(0, 2 * np.pi) + rng.uniform(-2, 2) * s / length
                 + rng.uniform(0, 0.5) * np.sin(2 * np.pi * s / (rng.uniform(0.3, 1.0) * length) + rng.uniform(0, 6.3)))
        pts = np.cumsum(0.5 * np.stack([np.sin(theta), np.cos(theta)], 1), 0)
        pts += cv.point(rng) - pts[rng.integers(len(pts))]
        pts = np.round(pts).astype(int)
        pts = pts[(pts[:, 0] >= 0) & (pts[:, 0] < h) & (pts[:, 1] >= 0) & (pts[:, 1] < w)]
        if len(pts) < 2:
            continue
        m = int(width) + 3
        y0, x0 = max(0, pts[:, 0].min() - m), max(0, pts[:, 1].min() - m)
        y1, x1 = min(h, pts[:, 0].max() + m + 1), min(w, pts[:, 1].max() + m + 1)
        line = np.ones((y1 - y0, x1 - x0), bool)
        line[pts[:, 0] - y0, pts[:, 1] - x0] = False
        along = np.zeros(line.shape, np.float32)  # brightness varies along the strand (twist, depth)
        along[pts[:, 0] - y0, pts[:, 1] - x0] = 0.75 + 0.25 * np.tanh(smooth_field(rng, (1, len(pts)), 120)[0])
        d, (ry, rx) = ndi.distance_transform_edt(line, return_indices=True)
        d, along = d.astype(np.float32), along[ry, rx]
        inside = d <= width / 2
        prof = np.sqrt(np.clip(1 - (d / (width / 2 + 0.7)) ** 2, 0, 1))
        crop = sig[y0:y1, x0:x1]
        if style == "dark":
            new = crop * (1 - rng.uniform(0.75, 0.95) * prof * along) + 0.01
        else:
            new = crop * (1 - 0.7 * prof) + rng.uniform(0.6, 1.1) * prof ** 2 * along
        crop[inside] = new[inside]
        mask[y0:y1, x0:x1] |= inside
    return mask, f"hair:{style}"


def _grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    return (np.arange(shape[0], dtype=np.float32)[:, None], np.arange(shape[1], dtype=np.float32)[None, :])


def _fitting_tiles(cv: Canvas, area: float, slack: float) -> list[tuple[int, int]]:
    """Imaged tiles small enough (valid area at most `slack` times the budget) for a whole-tile rendering."""
    return [k for k, a in cv.tile_areas().items() if 0 < a <= slack * area]


def under_illumination(rng: Rng, sig: np.ndarray, cv: Canvas, area: float):
    """A gain that falls geometrically (linear ramp, radial spot, or within one tile); the mask is
    where it is below `thr`, so tissue there fades into the noise floor."""
    thr = 0.3
    frac = float(np.clip(area / cv.n_valid, 0.002, 0.95))
    fade = rng.uniform(0.04, 0.12) * max(sig.shape)
    tiles = _fitting_tiles(cv, area, 1.6)
    style = str(rng.choice(["linear", "radial", "tile"] if tiles else ["linear", "radial"]))
    yy, xx = _grid(sig.shape)
    if style == "radial":
        corner = np.array([rng.choice([0, sig.shape[0]]), rng.choice([0, sig.shape[1]])], float)
        c = cv.point(rng) if rng.random() < 0.5 else corner
        r = np.sqrt((yy - c[0]) ** 2 + (xx - c[1]) ** 2)
        r_s = np.hypot(cv.coords[:, 0] - c[0], cv.coords[:, 1] - c[1])
        r0 = np.quantile(r_s, frac)
        mask, expo = r < r0, (r0 - r) / fade + 1
    else:
        t = rng.uniform(0, 2 * np.pi)
        u = yy * np.sin(t) + xx * np.cos(t)
        region = np.ones(sig.shape, bool)
        if style == "tile":
            sy, sx = cv.tile_slices(*tiles[rng.integers(len(tiles))])
            region = np.zeros(sig.shape, bool)
            region[sy, sx] = True
            u_s = u[sy, sx][cv.valid[sy, sx]]
            frac = min(1.0, area / max(1, u_s.size))
            fade = rng.uniform(0.15, 0.4) * cv.tile_px
        else:
            u_s = cv.coords[:, 0] * np.sin(t) + cv.coords[:, 1] * np.cos(t)
        u0 = np.quantile(u_s, 1 - frac) if frac < 1 else u_s.min() - 1
        mask, expo = (u > u0) & region, np.where(region, (u - u0) / fade + 1, 0)
    # gain = thr ** (e^2): stays near 1 through most of the fade, reaches thr at the mask, then plunges
    sig *= np.exp(np.log(thr) * np.clip(expo, 0, 7) ** 2).astype(np.float32)
    return mask, f"under_illumination:{style}"


def saturation(rng: Rng, sig: np.ndarray, cv: Canvas, area: float):
    """Clipped white plateaus (blobs, glare streaks, or a whole over-exposed tile) with a short bloom."""
    tiles = _fitting_tiles(cv, area, 1.4)
    style = str(rng.choice(["plateau", "streak", "tile"] if tiles else ["plateau", "streak"]))
    mask = np.zeros(sig.shape, bool)
    if style == "tile":
        sy, sx = cv.tile_slices(*tiles[rng.integers(len(tiles))])
        sig[sy, sx] = rng.uniform(0.9, 1.0) + rng.uniform(2, 4) * sig[sy, sx]
        mask[sy, sx] = True
        return mask, "saturation:tile"
    n = int(rng.integers(1, 4 if style == "plateau" else 3))
    for a in _split(rng, area, n):
        aspect = rng.uniform(1, 1.8) if style == "plateau" else rng.uniform(5, 14)
        r = float(np.clip(np.sqrt(a / np.pi), 3, 0.3 * min(sig.shape) / np.sqrt(aspect)))
        rho = _blob(rng, r, aspect, 0.25 if style == "plateau" else 0.08)
        bloom = rng.uniform(0.1, 0.35)
        _paint_blob(sig, mask, cv.point(rng), rho,
                    lambda s, q, sl, b=bloom: np.maximum(s, 0.8 + 1.4 * np.clip((1 - q) / b, 0, 1)))
    return mask, f"saturation:{style}"


def _faint(rng: Rng, shape: tuple[int, ...]) -> np.ndarray:
    """What the detector sees without skin contact: almost nothing (the Rician floor comes later)."""
    return (rng.uniform(0.0, 0.015) + 0.01 * np.abs(smooth_field(rng, shape, 30))).astype(np.float32)


def no_contact(rng: Rng, sig: np.ndarray, cv: Canvas, area: float):
    """Large near-black regions: a strip along the mosaic edge, whole edge tiles, or a lifted patch."""
    edge_tiles = []
    for (i, j), a in cv.tile_areas().items():
        nb = [(i + di, j + dj) for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1))]
        if any(not (0 <= p < cv.tiles.shape[0] and 0 <= q < cv.tiles.shape[1]) or not cv.tiles[p, q] for p, q in nb):
            edge_tiles.append(((i, j), a))
    fits = [k for k, a in edge_tiles if 0 < a <= 1.3 * area]
    style = str(rng.choice(["edge", "edge", "tiles", "patch"] if fits else ["edge", "edge", "patch"]))
    mask = np.zeros(sig.shape, bool)
    if style == "tiles":
        order = rng.permutation(len(fits))
        got = 0
        for k in order:
            sy, sx = cv.tile_slices(*fits[k])
            a = int(cv.valid[sy, sx].sum())
            if got and got + a > 1.3 * area:
                continue
            sig[sy, sx] = _faint(rng, sig[sy, sx].shape)
            mask[sy, sx] = True
            got += a
            if got >= 0.7 * area:
                break
    elif style == "patch":
        r = float(np.clip(np.sqrt(area / np.pi), 6, 0.45 * min(sig.shape)))
        rho = _blob(rng, r, rng.uniform(1, 2), 0.35)
        faint = _faint(rng, rho.shape)
        _paint_blob(sig, mask, cv.point(rng), rho,
                    lambda s, q, sl: faint[sl] + s * 0.3 * np.clip((q - 0.9) / 0.1, 0, 1))
    else:
        k = int(rng.integers(4))  # side: orient views so that the chosen side is the top
        view = ((lambda a: a) if k == 0 else (lambda a: a[::-1]) if k == 1
                else (lambda a: a.T) if k == 2 else (lambda a: a.T[::-1]))
        vv, sv, mv = view(cv.valid), view(sig), view(mask)
        cols = vv.any(0)
        top, cnt = np.argmax(vv, 0), vv.sum(0)
        prof = np.clip(1 + 0.35 * smooth_field(rng, (1, vv.shape[1]), rng.uniform(20, 120))[0], 0.3, 2)
        lo, hi = 0.0, float(vv.shape[0]) * 2
        for _ in range(40):  # depth whose strip holds the budget
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if np.minimum(mid * prof, cnt)[cols].sum() < area else (lo, mid)
        depth = np.arange(vv.shape[0], dtype=np.float32)[:, None] - top[None, :]
        lim = (hi * prof)[None, :]
        region = (depth >= 0) & (depth < lim) & vv
        ramp = np.clip((lim - depth) / rng.uniform(4, 12), 0, 1)
        new = sv * 0.3 * (1 - ramp) + _faint(rng, sv.shape) * ramp
        sv[region] = new[region]
        mv[region] = True
    return mask, f"no_contact:{style}"


def motion(rng: Rng, sig: np.ndarray, cv: Canvas, area: float):
    """A band of scan lines acquired while the probe moved: smeared, sheared-and-stretched, or
    torn by line jitter, along x or y; within one tile or across the mosaic."""
    style = str(rng.choice(["smear", "shear", "jitter"]))
    vertical = bool(rng.random() < 0.35)
    mask = np.zeros(sig.shape, bool)
    s, v, m = (sig.T, cv.valid.T, mask.T) if vertical else (sig, cv.valid, mask)
    c = cv.point(rng)[::-1] if vertical else cv.point(rng)
    cols = np.flatnonzero(v.any(0))
    if rng.random() < 0.4:
        x0, x1 = cols[0], cols[-1] + 1
    else:
        tix = cv.tile_y if vertical else cv.tile_x
        xs = np.flatnonzero(tix == tix[int(c[1])])
        x0, x1 = xs[0], xs[-1] + 1
    hgt = int(np.clip(area / max(1.0, 0.9 * (x1 - x0)), 4, 0.4 * s.shape[0]))
    y0 = int(np.clip(c[0] - hgt * rng.random(), 0, s.shape[0] - hgt))
    y1 = y0 + hgt
    src = s[y0:y1, :]
    length = max(8, int(rng.uniform(30, 90) / cv.pixel_spacing_um))
    if style == "shear":
        yy, xx = np.mgrid[y0:y1, 0:s.shape[1]].astype(np.float32)
        xs_ = c[1] + (xx - c[1]) / rng.uniform(3, 8) + rng.uniform(-0.8, 0.8) * (yy - y0)
        out = ndi.map_coordinates(s, [yy, np.clip(xs_, 0, s.shape[1] - 1)], order=1)
        out = ndi.uniform_filter1d(out, max(3, length // 3), axis=1, mode="nearest")
    elif style == "jitter":
        off = (np.cumsum(rng.normal(0, rng.uniform(2, 6), hgt))  # drifting lines plus a few torn ones
               + rng.choice([0, 1], hgt, p=[0.9, 0.1]) * rng.normal(0, 20, hgt))
        xi = np.clip(np.arange(s.shape[1])[None, :] - np.round(off).astype(int)[:, None], 0, s.shape[1] - 1)
        out = ndi.uniform_filter1d(np.take_along_axis(src, xi, 1), max(3, length // 2), axis=1, mode="nearest")
    else:
        out = ndi.uniform_filter1d(src, length, axis=1, mode="nearest")
    region = v[y0:y1, x0:x1]
    band = s[y0:y1, x0:x1]
    band[region] = out[:, x0:x1][region]
    m[y0:y1, x0:x1] |= region
    return mask, f"motion:{'vertical' if vertical else 'horizontal'}-{style}"


PAINTERS = {"air_bubble": air_bubbles, "particulate": particulates, "hair": hair,
            "under_illumination": under_illumination, "saturation": saturation,
            "no_contact": no_contact, "motion": motion}
