"""Helpers of the "honeycomb" phantom family: smooth noise, mosaic layout, the epidermal tissue
canvas and the acquisition model (tile resampling, vignetting, resonant banding, shot noise).

Kept apart from `honeycomb.py` so that the family module stays short; everything is vectorised so a
2000 x 2000 mosaic renders in a few seconds on one core.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree
from scipy.special import erf, erfinv

F32 = np.float32


class LowNoise:
    """Smooth unit-variance Gaussian noise kept on a coarse grid: cheap to sample at points or upsample."""

    def __init__(self, rng: np.random.Generator, shape: tuple[int, int], scale_px: float) -> None:
        self.step = max(float(scale_px) / 4.0, 1.0)
        gh, gw = (int(np.ceil(n / self.step)) + 4 for n in shape)
        grid = ndi.gaussian_filter(rng.standard_normal((gh, gw)).astype(F32), 1.5, mode="wrap")
        self.grid = ((grid - grid.mean()) / (grid.std() + 1e-9)).astype(F32)
        self.shape = shape

    def at(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Noise at arbitrary (fractional) pixel positions."""
        return ndi.map_coordinates(self.grid, [np.asarray(ys) / self.step, np.asarray(xs) / self.step],
                                   order=1, mode="nearest").astype(F32)

    def box(self, y0: int, x0: int, h: int, w: int, order: int = 3) -> np.ndarray:
        """Noise upsampled over one rectangle (h, w) whose corner is (y0, x0); cubic keeps outlines round."""
        ys = (y0 + np.arange(h, dtype=F32))[:, None] / self.step
        xs = (x0 + np.arange(w, dtype=F32))[None, :] / self.step
        ys, xs = np.broadcast_arrays(ys, xs)
        return ndi.map_coordinates(self.grid, [ys, xs], order=order, mode="nearest").astype(F32)

    def full(self, order: int = 1) -> np.ndarray:
        """Noise over the whole shape (bilinear by default: cheap for smooth multiplicative fields)."""
        return self.box(0, 0, *self.shape, order=order)


def fine_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Unit-variance white noise blurred by `sigma` px (granules, beading)."""
    n = ndi.gaussian_filter(rng.standard_normal(shape, dtype=F32), sigma)
    return n / (n.std() + 1e-9)


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    """Hermite ramp 0 -> 1 between e0 and e1 (soft edges that still have an exact threshold)."""
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# ---------------------------------------------------------------- mosaic layout


@dataclass
class Layout:
    """Square tiles of `tile` px on a grid whose origin is `off` (<= 0); `grid[i, j]` = tile imaged."""

    tile: int
    off: tuple[int, int]
    grid: np.ndarray
    shape_name: str
    valid: np.ndarray

    def tile_box(self, i: int, j: int, size: int) -> tuple[slice, slice]:
        """Image slices of tile (i, j), clipped to the image."""
        y0, x0 = self.off[0] + i * self.tile, self.off[1] + j * self.tile
        return (slice(max(y0, 0), min(y0 + self.tile, size)), slice(max(x0, 0), min(x0 + self.tile, size)))


def _tile_grid(rng: np.random.Generator, ny: int, nx: int) -> tuple[np.ndarray, str]:
    """Which tiles a mosaic covers: a full block minus corners, an L, a plus or a grown blob."""
    g = np.ones((ny, nx), bool)
    names = ["rect", "L", "plus", "blob"] if min(ny, nx) >= 3 else ["rect", "L", "blob"]
    name = str(rng.choice(names, p=[0.3, 0.25, 0.2, 0.25] if len(names) == 4 else [0.4, 0.3, 0.3]))
    if min(ny, nx) < 2:  # a strip of tiles or a single one: nothing sensible to cut away
        return g, "rect"
    if name == "rect":
        for _ in range(int(rng.integers(0, 3))):
            g[rng.choice([0, ny - 1]), rng.choice([0, nx - 1])] = False
    elif name == "L":
        a, b = int(rng.integers(1, max(ny // 2, 1) + 1)), int(rng.integers(1, max(nx // 2, 1) + 1))
        ys = slice(0, a) if rng.random() < 0.5 else slice(ny - a, ny)
        xs = slice(0, b) if rng.random() < 0.5 else slice(nx - b, nx)
        g[ys, xs] = False
    elif name == "plus":
        a, b = max(1, (ny - 1) // 3), max(1, (nx - 1) // 3)
        for ys in (slice(0, a), slice(ny - a, ny)):
            for xs in (slice(0, b), slice(nx - b, nx)):
                g[ys, xs] = False
    else:
        g[:] = False
        g[ny // 2, nx // 2] = True
        want = max(2, int(round(rng.uniform(0.55, 0.9) * ny * nx)))
        while g.sum() < want:
            grown = ndi.binary_dilation(g, structure=ndi.generate_binary_structure(2, 1)) & ~g
            cand = np.argwhere(grown)
            i, j = cand[rng.integers(len(cand))]
            g[i, j] = True
        g = ndi.binary_fill_holes(g)
    return g, name


def tile_layout(rng: np.random.Generator, size: int, tile: int) -> Layout:
    """Tile grid over the image and the imaged area (`valid`), covering at least ~30% of the image."""
    for _ in range(20):
        off = (int(rng.integers(-tile // 2, 1)), int(rng.integers(-tile // 2, 1)))
        ny, nx = (int(np.ceil((size - o) / tile)) for o in off)
        grid, name = _tile_grid(rng, ny, nx)
        ti = np.clip((np.arange(size) - off[0]) // tile, 0, ny - 1)
        tj = np.clip((np.arange(size) - off[1]) // tile, 0, nx - 1)
        valid = grid[ti[:, None], tj[None, :]]
        if valid.mean() > 0.3:
            break
    return Layout(tile, off, grid, name, valid)


# ---------------------------------------------------------------- tissue


@dataclass
class TissueParams:
    """What one mosaic's epidermis looks like (all lengths in micrometres)."""

    cell_um: tuple[float, float]  # smallest and largest cell diameter
    membrane_um: float  # membrane thickness
    membrane: float  # membrane brightness
    cytoplasm: float  # cytoplasm brightness
    granules: float  # strength of the cytoplasm's granular texture
    nucleus: float  # nucleus brightness (dark)
    atypical: float  # fraction of the field with disarranged honeycomb
    dendritic_per_mm2: float
    furrows: int
    sc_islands: float  # fraction covered by stratum-corneum islands


def draw_tissue(rng: np.random.Generator, dense: bool) -> TissueParams:
    """Per-mosaic tissue parameters; `dense` = bright, small-celled, membrane-dense honeycomb."""
    gr = rng.uniform(0.0, 1.0)  # 0 = spinous, 1 = granular layer
    if dense:
        d0 = rng.uniform(10.0, 12.5)
        cells = (d0, min(d0 * rng.uniform(1.05, 1.25), 25.0))
        return TissueParams(cells, rng.uniform(1.8, 2.6), rng.uniform(0.7, 0.85), rng.uniform(0.14, 0.24),
                            rng.uniform(0.3, 0.6), rng.uniform(0.04, 0.09), rng.choice([0.0, rng.uniform(0, 0.1)]),
                            rng.uniform(0, 20), int(rng.random() < 0.3), rng.choice([0.0, rng.uniform(0.01, 0.05)]))
    d0 = rng.uniform(10.0, 18.0) + 4.0 * gr
    cells = (max(10.0, d0 * rng.uniform(0.75, 0.95)), min(25.0, d0 * rng.uniform(1.1, 1.4)))
    return TissueParams(cells, rng.uniform(1.2, 3.2), rng.uniform(0.45, 0.95), 0.08 + 0.18 * gr + rng.uniform(0, 0.06),
                        0.25 + 0.45 * gr, rng.uniform(0.03, 0.08),
                        0.0 if rng.random() < 0.4 else rng.uniform(0.05, 0.35),
                        0.0 if rng.random() < 0.3 else rng.uniform(2, 30), int(rng.choice([0, 0, 1, 2, 3])),
                        0.0 if rng.random() < 0.5 else rng.uniform(0.01, 0.07))


def _seeds(rng: np.random.Generator, shape: tuple[int, int], p: TissueParams,
           um: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell centres: jittered hexagonal lattices of a few sizes in patches, disarranged where atypical."""
    h, w = shape
    levels = np.geomspace(p.cell_um[0], p.cell_um[1], 4) / um
    zone = LowNoise(rng, shape, 160.0 / um)
    atyp = LowNoise(rng, shape, 110.0 / um)
    thr = float(np.sqrt(2.0) * erfinv(1.0 - 2.0 * p.atypical)) if p.atypical > 0 else np.inf
    pts, diam, flag = [], [], []
    for k, d in enumerate(levels):
        dy = d * np.sqrt(3.0) / 2.0
        rows, cols = np.arange(-1, h / dy + 1), np.arange(-1, w / d + 1)
        yy = np.repeat(rows * dy, len(cols))
        xx = (np.tile(cols * d, len(rows)) + np.repeat(rows % 2, len(cols)) * d / 2.0)
        u = 0.5 * (1.0 + erf(zone.at(yy, xx) / np.sqrt(2.0)))
        keep = np.minimum((u * 4).astype(int), 3) == k
        yy, xx = yy[keep], xx[keep]
        a = atyp.at(yy, xx) > thr
        s = np.where(a, 0.3, rng.uniform(0.06, 0.14)) * d
        yy = yy + rng.standard_normal(len(yy)) * s
        xx = xx + rng.standard_normal(len(xx)) * s
        keep = ~(a & (rng.random(len(yy)) < 0.15))
        pts.append(np.stack([yy[keep], xx[keep]], 1))
        diam.append(np.full(keep.sum(), d))
        flag.append(a[keep])
    if np.isfinite(thr):  # extra, irregular cells in the disarranged regions
        n = int(p.atypical * h * w / levels.mean() ** 2 * 0.4)
        e = rng.uniform(0, 1, (n, 2)) * (h, w)
        a = atyp.at(e[:, 0], e[:, 1]) > thr
        pts.append(e[a])
        diam.append(rng.uniform(levels[0], levels[-1], a.sum()))
        flag.append(np.ones(a.sum(), bool))
    pts, diam, flag = np.concatenate(pts), np.concatenate(diam), np.concatenate(flag)
    pairs = cKDTree(pts).query_pairs(0.45 * levels[0], output_type="ndarray")
    keep = np.ones(len(pts), bool)
    keep[pairs[:, 1]] = False
    return pts[keep], diam[keep], flag[keep]


def _dendritic(rng: np.random.Generator, shape: tuple[int, int], n: int, um: float) -> np.ndarray:
    """Bright dendritic cells: a small body and a few tapering, sometimes branching processes."""
    acc = np.zeros(shape, F32)
    if n == 0:
        return acc
    ys, xs, ws = [], [], []
    cy, cx = rng.uniform(0, shape[0], n), rng.uniform(0, shape[1], n)
    for i in range(n):  # per cell (tens to hundreds), not per pixel
        rb = rng.uniform(3.0, 6.0) / um
        npt = int(np.pi * rb * rb * 1.5) + 4
        r, t = rb * np.sqrt(rng.random(npt)), rng.uniform(0, 2 * np.pi, npt)
        ys.append(cy[i] + r * np.sin(t))
        xs.append(cx[i] + r * np.cos(t))
        ws.append(np.full(npt, 0.7))
        nd = int(rng.integers(2, 6))
        for ang in rng.uniform(0, 2 * np.pi) + np.arange(nd) * 2 * np.pi / nd + rng.normal(0, 0.3, nd):
            length = rng.uniform(15, 60) / um
            segs = [(cy[i], cx[i], ang, length, 1.0)]
            if rng.random() < 0.6:
                f = rng.uniform(0.35, 0.7)
                segs.append((cy[i] + f * length * np.sin(ang), cx[i] + f * length * np.cos(ang),
                             ang + rng.choice([-1, 1]) * rng.uniform(0.4, 1.0), (1 - f) * length * 0.9, 0.7))
            for y0, x0, a0, ln, w0 in segs:
                s = np.linspace(0, 1, max(int(ln / 0.6), 2))
                bend = a0 + rng.normal(0, 0.25) * s
                ys.append(y0 + np.cumsum(np.sin(bend)) * ln / len(s))
                xs.append(x0 + np.cumsum(np.cos(bend)) * ln / len(s))
                ws.append(w0 * (1.0 - 0.7 * s) * 0.6)
    y, x, wt = (np.concatenate(v) for v in (ys, xs, ws))
    ok = (y >= 0) & (y < shape[0] - 1) & (x >= 0) & (x < shape[1] - 1)
    np.add.at(acc, (np.round(y[ok]).astype(int), np.round(x[ok]).astype(int)), wt[ok])
    return np.minimum(ndi.gaussian_filter(acc, 0.8) * 2.5, 1.4)


def curve_distance(rng: np.random.Generator, shape: tuple[int, int],
                   through: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distance (px) to a smooth random curve crossing the field, computed analytically in a rotated frame;
    also returns the position along the curve (for tapered ends)."""
    h, w = shape
    th = rng.uniform(0, np.pi)
    y0, x0 = through if through is not None else (rng.uniform(0.15, 0.85) * h, rng.uniform(0.15, 0.85) * w)
    yy = np.arange(h, dtype=F32)[:, None] - F32(y0)
    xx = np.arange(w, dtype=F32)[None, :] - F32(x0)
    u = xx * F32(np.cos(th)) + yy * F32(np.sin(th))
    v = -xx * F32(np.sin(th)) + yy * F32(np.cos(th))
    c2 = rng.uniform(-1, 1) / (1.5 * max(h, w))
    amp, lam, ph = rng.uniform(0, 0.04) * max(h, w), rng.uniform(0.3, 1.0) * max(h, w), rng.uniform(0, 6.3)
    k = F32(2 * np.pi / lam)
    g = F32(c2) * u * u + F32(amp) * np.sin(k * u + F32(ph))
    dg = F32(2 * c2) * u + F32(amp) * k * np.cos(k * u + F32(ph))
    return np.abs(v - g) / np.sqrt(1 + dg * dg), u


def tissue_canvas(rng: np.random.Generator, shape: tuple[int, int], p: TissueParams, um: float) -> np.ndarray:
    """Reflectance (about 0-1.4) of the epidermis: dark nuclei, grainy cytoplasm, bright membranes."""
    pts, diam, atyp = _seeds(rng, shape, p, um)
    n = len(pts)
    ids = np.zeros(shape, np.int32)
    py = np.clip(np.round(pts[:, 0]).astype(int), 0, shape[0] - 1)
    px = np.clip(np.round(pts[:, 1]).astype(int), 0, shape[1] - 1)
    ids[py, px] = np.arange(1, n + 1)
    dist, ind = ndi.distance_transform_edt(ids == 0, return_indices=True)
    lab = ids[ind[0], ind[1]]
    del ind
    spread = np.where(atyp, 0.45, 0.15)
    frac = rng.normal(0.36, 0.05, n) * (1 + np.where(atyp, rng.normal(0.25, 0.3, n), 0))  # pleomorphic if atypical
    nuc_r = np.concatenate([[0], diam / 2 * np.clip(frac, 0.15, 0.7)])
    cyto = np.concatenate([[0], p.cytoplasm * np.clip(1 + spread * rng.standard_normal(n), 0.3, 2.5)]).astype(F32)
    memb = np.concatenate([[0], p.membrane * np.clip(1 + spread * 1.2 * rng.standard_normal(n), 0.15, 2.2)]).astype(F32)
    broken = np.concatenate([[0], np.where(atyp, rng.uniform(0.0, 1.0, n), 1.0)]).astype(F32)
    nuc = np.clip((nuc_r[lab] - dist) / 1.3 + 0.5, 0, 1).astype(F32)
    gran = fine_noise(rng, shape, 0.7)
    r = cyto[lab] * np.clip(1 + p.granules * gran, 0.15, 3.0) * (1 - nuc) + F32(p.nucleus) * nuc
    edge = np.zeros(shape, F32)
    edge[:, :-1] += lab[:, :-1] != lab[:, 1:]
    edge[:-1, :] += lab[:-1, :] != lab[1:, :]
    np.minimum(edge, 1, out=edge)
    sa = max(0.45, 0.3 * p.membrane_um / um)
    ma = ndi.gaussian_filter(edge, sa) * F32(np.sqrt(2 * np.pi) * sa)
    mb = ndi.gaussian_filter(edge, 1.8 * sa) * F32(np.sqrt(2 * np.pi) * 1.8 * sa)
    t = np.clip(0.5 + 0.45 * LowNoise(rng, shape, 60.0 / um).full(), 0, 1)
    m = np.minimum((1 - t) * ma + t * mb, 1.5)
    bead = fine_noise(rng, shape, 1.6)
    gaps = np.clip((bead + 1.6 * broken[lab]) * 1.5, 0, 1)  # disarranged cells lose stretches of membrane
    r += memb[lab] * m * np.clip(1 + 0.3 * bead, 0.3, 1.8) * gaps
    del lab, dist, nuc, gran, bead
    r *= np.clip(1 + 0.16 * LowNoise(rng, shape, 300.0 / um).full(), 0.55, 1.5)
    area_mm2 = shape[0] * shape[1] * (um / 1000.0) ** 2
    r = np.maximum(r, _dendritic(rng, shape, int(rng.poisson(p.dendritic_per_mm2 * area_mm2)), um))
    if p.sc_islands > 0:  # bright amorphous stratum-corneum islands (tissue, not an artifact)
        z = LowNoise(rng, shape, 90.0 / um).full(order=3)
        thr = np.quantile(z[:: 8, :: 8], 1 - p.sc_islands)
        a = ndi.gaussian_filter(smoothstep(thr - 0.05, thr + 0.15, z), 1.5)
        tex = 1 + 0.3 * LowNoise(rng, shape, 8.0 / um).full() + 0.15 * fine_noise(rng, shape, 1.0)
        sc = max(0.75, 1.1 * p.membrane) * rng.uniform(0.9, 1.15) * np.clip(tex, 0.3, 1.3)
        r = r * (1 - a) + sc * a
    for _ in range(p.furrows):  # dark skin folds crossing the field, with slightly bright walls
        d, _u = curve_distance(rng, shape)
        wf = rng.uniform(6.0, 18.0) / um
        r *= 1 - rng.uniform(0.85, 0.97) * np.exp(-((d / wf) ** 2))
        r += 0.12 * np.exp(-(((d - 1.7 * wf) / (0.6 * wf)) ** 2))
    return ndi.gaussian_filter(r.astype(F32), rng.uniform(0.45, 0.75))


# ---------------------------------------------------------------- acquisition


@dataclass
class Acquisition:
    """How the microscope saw the canvas: source coordinates per output pixel and the per-tile gain."""

    ys: np.ndarray  # canvas row sampled by each output pixel
    xs: np.ndarray  # canvas column sampled by each output pixel
    gain: np.ndarray  # vignetting x banding x exposure

    def sample(self, canvas: np.ndarray, sl: tuple[slice, slice] = (slice(None), slice(None)),
               dy: float | np.ndarray = 0.0, dx: float | np.ndarray = 0.0) -> np.ndarray:
        """Canvas seen through the output pixels of `sl`, optionally displaced (motion)."""
        return ndi.map_coordinates(canvas, [self.ys[sl] + dy, self.xs[sl] + dx], order=1, mode="mirror").astype(F32)


def acquisition(rng: np.random.Generator, lay: Layout, size: int, margin: int) -> Acquisition:
    """Tiles with small rotations/offsets at seams, scan-line jitter, cosine-power vignetting and banding."""
    t = lay.tile
    ny, nx = lay.grid.shape
    yy = np.arange(size)
    ti, tj = np.clip((yy - lay.off[0]) // t, 0, ny - 1), np.clip((yy - lay.off[1]) // t, 0, nx - 1)
    ly, lx = (yy - lay.off[0] - ti * t).astype(F32), (yy - lay.off[1] - tj * t).astype(F32)  # position in tile
    rotated = rng.random((ny, nx)) < rng.uniform(0.1, 0.5)
    ang = np.where(rotated, rng.uniform(-1.5, 1.5, (ny, nx)), 0.0) * np.pi / 180
    shift = rng.normal(0, 1.2, (ny, nx, 2))
    jp = rng.uniform(0.02, 0.2)
    jit = rng.choice([-2, -1, 0, 1, 2], size=(ny, nx, t), p=[jp / 6, jp / 3, 1 - jp, jp / 3, jp / 6]).astype(F32)
    TI, TJ = ti[:, None], tj[None, :]
    a, c = ang[TI, TJ].astype(F32), (t - 1) / 2.0
    dy, dx = ly[:, None] - c, lx[None, :] - c
    ca, sa = np.cos(a), np.sin(a)
    ys = yy[:, None] + (ca - 1) * dy - sa * dx + shift[TI, TJ, 0] + margin
    xs = yy[None, :] + sa * dy + (ca - 1) * dx + shift[TI, TJ, 1] + jit[TI, TJ, ly.astype(int)[:, None]] + margin
    s = rng.uniform(0.05, 0.5)  # corner fall-off of the vignetting
    power = np.log(1 - s) / np.log(0.5)
    rad = np.sqrt(dy * dy + dx * dx) / F32(c * np.sqrt(2))
    vig = np.cos(np.minimum(rad, 1) * F32(np.pi / 3)) ** F32(power)
    period, amp, ph = rng.uniform(5, 24), rng.uniform(0.01, 0.05), rng.uniform(0, 6.3)
    edge = rng.uniform(0, 0.08)
    band = 1 + amp * np.sin(2 * np.pi * lx / period + ph) + edge * ((2 * lx / t - 1) ** 2 - 1 / 3)
    expo = rng.normal(1, 0.04, (ny, nx))[TI, TJ]
    gain = (vig * band[None, :].astype(F32) * expo).astype(F32)
    return Acquisition(ys.astype(F32), xs.astype(F32), gain)


def expose(rng: np.random.Generator, signal: np.ndarray, photons: float, level: float) -> np.ndarray:
    """Shot noise at `photons` per unit reflectance, scaled so reflectance 1 -> `level`, clipped to 8 bits."""
    counts = rng.poisson(np.maximum(signal, 0) * F32(photons) + F32(0.2))
    return np.clip(counts * (level / photons), 0, 255).astype(np.uint8)
