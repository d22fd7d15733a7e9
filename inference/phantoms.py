"""Synthetic RCM mosaic phantoms with exact ground truth for the image-quality model.

THE PHANTOMS ARE SYNTHETIC. No public reflectance confocal microscopy (RCM) data with
quality labels exist, so DermRelay's quality model is trained and tested here on computer-made
images. They imitate the look of RCM mosaics at the dermal-epidermal junction (DEJ) closely
enough to exercise the whole pipeline (training, evaluation, reports), but a model trained on
them is a demonstration: it has not seen a real patient and must not be used to judge real
images until it has been retrained or validated on a clinic's own labelled mosaics. Those
plug in through the same folder layout that `write_dataset` writes (see below).

The task follows MED-Net (Kose K, Bozkurt A, Alessi-Fox C, et al. "Utilizing machine learning
for image quality assessment for reflectance confocal microscopy." J Invest Dermatol
2020;140(6):1214-1222, doi:10.1016/j.jid.2019.10.018): segment the "diagnostically
uninformative" parts of a DEJ mosaic: air bubbles, particulates (dust), hair,
under-illumination, saturation, areas without skin-window contact, and motion smear. The
phantoms carry a per-pixel union mask and a per-type label map.

How a phantom is made (`generate_phantom`; everything is drawn from
`numpy.random.default_rng(seed)`, so a seed always gives the same phantom with the same numpy
and scipy on the same kind of CPU; bit-for-bit equality across CPU types is not promised,
because vectorised transcendental functions and BLAS may round differently):

Pixel coordinates. Pixel (row r, column c) has its centre at x = c, y = r, in both images.

Mosaic and tile grid. The mosaic is `size_px` x `size_px` pixels of `pixel_spacing_um` µm.
It is stitched from 0.5 mm x 0.5 mm fields of view: tiles of 500 / pixel_spacing_um pixels
(250 at 2 µm; the last row and column of tiles may be cut). Each tile gets its own gain
(about ±6 %) and vignetting, a separable quadratic fall-off to 55-75 % of the centre brightness
at its edge midpoints (less in the corners), and the tile borders get faint one-pixel seams
(3-8 % darker or brighter). About 45 % of mosaics of three or more tiles a side are not
rectangular: 1-3 corners lose a staircase of whole tiles, sometimes the last tile row ends
early, and the outer border is ragged by 0-6 pixels per tile row/column (stitching offsets);
at least 60 % of the area stays imaged. `valid` is False outside the imaged area, where the
image is 0; all masks are inside `valid`.

Tissue texture (reflectance before noise; the DEJ seen en face):
- keratinocytes: a Voronoi tessellation of jittered grid points (cell size 10-14 µm, at least
  3 px). Where the tissue is epidermis the cells form a honeycomb (bright cell borders, darker
  cytoplasm, dark nuclei); where they are basal cells, a cobblestone (bright cells of varying
  brightness with darker borders);
- dermal papillae: a second, coarser Voronoi tessellation (papilla spacing 80-140 µm, radius
  25-42 % of it, so about 40-120 µm across; computed at half resolution and linearly
  upsampled). In "ringed" regions each papilla is a dark dermal core edged by a bright ring of
  basal cells (7-11 µm half-width); in "meshwork" regions (a smooth random field chooses) the
  bright basal cells lie along the borders between papillae, a network around dark holes. A
  third smooth field fades the DEJ pattern where the imaging plane leaves the junction (there
  only honeycomb remains);
- the lesion (see Registration): inside it the papillary pattern is faded (disarranged), the
  basal cells are brighter, bright junctional nests sit at about 30 % of the papillae, and
  0-3 % of the cells are large bright atypical cells;
- low-frequency brightness variation (a smooth field, about ±25 %, 400 µm scale);
- speckle: every pixel is multiplied by gamma-distributed noise of mean 1 and shape 4-8
  (drawn by inverse-CDF look-up).

Artifacts. Each phantom has a target uninformative fraction of the valid area in
`artifact_fraction`: lo + (hi - lo) * u with u = (seed * 0.618... + jitter of ±0.03) mod 1, a
golden-ratio sequence, so the targets of any run of consecutive seeds spread evenly over the
range (some mosaics clean or almost clean, some heavily affected). Artifacts of random types,
the large ones sized to fill what is left of the target, are added (at most 20 tries) until the
union reaches the target; one that would overshoot it by more than max(2 %, 10 % of the
target) is dropped. Dust specks too small to mask are sprinkled on 70 % of mosaics, masked
dust only when the target exceeds 1 %, so artifact_fraction=(0, 0) gives an all-clean mask.
In about 40 % of phantoms three quarters of the artifacts are centred inside the lesion, so the
lesional and whole-mosaic fractions differ. Artifacts are painted in the order motion (it
smears the tissue), under-illumination, saturation (they change the tissue signal, and their
soft fringes must not alter the look of other artifacts), air bubble, particulate, hair, no
contact; where they overlap the label is that of the one painted last. Each mask is the exact set of pixels the rule
below names, and there the tissue texture is destroyed or hidden:
1 air bubble: ellipses (radius 25-250 µm, aspect 0.7-1, 1-5 in a cluster) with a bright rim
  2-5 µm thick and a dark interior that shows the tissue blurred (σ = 8 µm) and attenuated to
  at most 30 % near the rim, fading to a smooth dark level with a linear gradient; mask: inside
  the outer edge of the rim (a 2-pixel soft halo outside it stays readable);
2 particulate: clusters of small irregular blobs (equivalent diameter 3-45 µm, log-uniform),
  bright (190-255) or dark (3-25), with a one-pixel soft edge; mask: the blob itself, only for
  blobs of equivalent diameter >= 20 µm (MIN_PARTICLE_UM); smaller ones are drawn, not masked;
3 hair: a gently curved band 50-100 µm wide across the mosaic, dark (8-35, darker in the core,
  with faint longitudinal streaks and grain), in half of the hairs with bright edges 3-6 µm
  wide, and a 2-pixel soft shadow outside; mask: the band including its bright edges;
4 under-illumination: a smooth irregular region where the gain falls from 1 through 0.15 (the
  readable limit) towards 0, over a floor of dark noise; mask: gain <= 0.15;
5 saturation: a smooth irregular region where the signal becomes I (1 + 3 s) + 400 s, clipped
  at 255, with s rising smoothly from 0 outside to 1 in the core; mask: s >= s0, where s0 is the
  level at which the median tissue pixel of the region clips, so inside the mask at least half
  of the pixels (and soon all of them) are 255;
6 no skin-window contact: black (2-10 with slight noise) areas along a curved wrinkle of
  nominal width 16-120 µm (varying 0.3-1.6 times along it, tapering to points at its ends), or
  along one side of the mosaic with a ragged edge; mask: the black area (a 2-pixel soft edge
  outside it stays readable);
7 motion: the lower part of a tile, a whole tile, or a run of tiles in one tile row (motion
  during the raster scan of those fields) smeared along one direction by averaging shifted
  copies over 25-80 µm; mask: the smeared area.

Registration and dermoscopy. `dermoscopy` is a 600 x 450 RGB dermoscopy-like image of the same
skin (skin colour with furrows and vignetting; a brown lesion with an irregular star-shaped
outline, a pigment network, a darker centre, sometimes blue-grey areas and dots). The mosaic
covers the central 30-45 % of its width. `registration` is the 3x3 similarity transform
(rotation within ±8°, uniform scale) taking a dermoscopy pixel (x, y, 1) to mosaic pixel
coordinates. The lesion is an analytic shape in dermoscopy coordinates,
rho(x, y) = |p - c| / r(theta) <= 1 (r tabulated at 65536 angles); the dermoscopy mask evaluates
it at dermoscopy pixel centres and `lesion_mosaic` at the mosaic pixel centres mapped back
through the inverse transform, so `lesion_mosaic` is exactly the dermoscopy lesion mapped
through the registration (not cut to `valid`).

Dataset folder (`write_dataset`): images/, masks/ (0/255 uninformative), valid/, lesion/,
lesion_dermoscopy/, labels/ (the artifact codes 0-7) as PNG, dermoscopy/ as JPEG, all named
phantom_NNNNN, and manifest.json. Train and evaluate commands read images/ + masks/ with the
same file names and the optional valid/ and lesion/, so real labelled mosaics use the same
layout.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from scipy import special

__all__ = [
    "ARTIFACT_CODES",
    "ARTIFACT_NAMES",
    "MIN_PARTICLE_UM",
    "PHANTOM_VERSION",
    "Phantom",
    "gate_phantom",
    "jpeg_bytes",
    "lesion_polygon",
    "mask_polygon",
    "png_bytes",
    "generate_phantom",
    "with_no_contact",
    "write_dataset",
]

PHANTOM_VERSION = "1"
TILE_UM = 500.0  # side of one RCM field of view
MIN_PARTICLE_UM = 20.0  # particulates at least this wide (equivalent diameter) are masked
DERMOSCOPY_HW = (450, 600)  # rows, columns
ARTIFACT_NAMES = {
    1: "air_bubble",
    2: "particulate",
    3: "hair",
    4: "under_illumination",
    5: "saturation",
    6: "no_contact",
    7: "motion",
}
ARTIFACT_CODES = {name: code for code, name in ARTIFACT_NAMES.items()}
# Motion smears the tissue; illumination faults change its signal (their soft fringes must not
# touch the objects' pixels); then objects in the optical path; no contact (no signal) last.
_PAINT_ORDER = (7, 4, 5, 1, 2, 3, 6)
_F32 = np.float32


@dataclass(frozen=True, eq=False)
class Phantom:
    """One synthetic mosaic with its ground truth (arrays are read-only)."""

    image: np.ndarray  # uint8 (H, W)
    uninformative: np.ndarray  # bool (H, W)
    artifact_labels: np.ndarray  # uint8 (H, W), codes in ARTIFACT_NAMES, 0 = none
    valid: np.ndarray  # bool (H, W)
    dermoscopy: np.ndarray  # uint8 (450, 600, 3) RGB
    lesion_dermoscopy: np.ndarray  # bool (450, 600)
    registration: np.ndarray  # float64 (3, 3): dermoscopy (x, y, 1) -> mosaic (x, y, 1)
    lesion_mosaic: np.ndarray  # bool (H, W)
    pixel_spacing_um: float
    seed: int

    @property
    def uninformative_fraction(self) -> float:
        """Uninformative share of the valid (imaged) area."""
        return _fraction(self.uninformative, self.valid)

    @property
    def lesional_uninformative_fraction(self) -> float | None:
        """Uninformative share of the imaged lesion; None when no imaged pixel is lesional."""
        area = self.valid & self.lesion_mosaic
        return _fraction(self.uninformative, area) if area.any() else None

    @property
    def artifact_types(self) -> list[str]:
        """Names of the artifact types with at least one labelled pixel, in code order."""
        present = np.flatnonzero(np.bincount(self.artifact_labels.ravel(), minlength=8)[1:]) + 1
        return [ARTIFACT_NAMES[int(code)] for code in present]


def _fraction(mask: np.ndarray, area: np.ndarray) -> float:
    total = int(np.count_nonzero(area))
    return float(np.count_nonzero(mask & area)) / total if total else 0.0


# --------------------------------------------------------------------------- random fields


def _smooth2d(rng: np.random.Generator, h: int, w: int, sigma: float) -> np.ndarray:
    """Gaussian random field of unit variance and correlation scale `sigma` pixels.

    White noise on a grid with one node per sigma, interpolated with Gaussian kernels as two
    small matrix products (so the cost hardly depends on sigma).
    """
    sigma = max(float(sigma), 1.0)

    def kernel(n: int) -> np.ndarray:
        m = int(math.ceil(n / sigma)) + 7
        nodes = (np.arange(m, dtype=np.float64) - 3.0) * sigma
        k = np.exp(-0.5 * ((np.arange(n, dtype=np.float64)[:, None] - nodes[None, :]) / sigma) ** 2)
        k /= np.sqrt((k**2).sum(axis=1, keepdims=True))
        return k.astype(_F32)

    ky, kx = kernel(h), kernel(w)
    noise = rng.standard_normal((ky.shape[1], kx.shape[1]), dtype=_F32)
    return (ky @ noise) @ kx.T


def _noise1d(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Smooth 1-D noise of unit variance and scale `sigma` samples (nodes every sigma, interpolated)."""
    sigma = max(float(sigma), 1.0)
    m = int(math.ceil(n / sigma)) + 8
    nodes = ndi.gaussian_filter1d(rng.standard_normal(m), 1.0, mode="wrap")
    nodes /= nodes.std() + 1e-9
    return np.interp(np.arange(n) / sigma + 4.0, np.arange(m), nodes).astype(_F32)


_GAMMA_TABLES: dict[float, np.ndarray] = {}


def _speckle(rng: np.random.Generator, shape: tuple[int, int], k: float) -> np.ndarray:
    """Gamma(k, 1/k) multiplicative speckle (mean 1) by inverse-CDF look-up (4096 quantiles)."""
    table = _GAMMA_TABLES.get(k)
    if table is None:
        q = (np.arange(4096) + 0.5) / 4096
        table = (special.gammaincinv(k, q) / k).astype(_F32)
        _GAMMA_TABLES[k] = table
    return table[rng.integers(0, 4096, size=shape, dtype=np.uint16)]


def _voronoi(rng: np.random.Generator, h: int, w: int, cell: int, jitter: float, n_attr: int):
    """Jittered-grid Voronoi: distances to the nearest and second-nearest seed, attributes of the nearest.

    Seeds: one per `cell` x `cell` block, uniformly jittered by `jitter` of the block around its
    centre; the nearest two seeds are searched in the 3 x 3 neighbouring blocks. Squared
    distances are quantised (to 1/64 px² for cells up to 120 px) and packed with the candidate's number into int32 keys,
    so one running minimum finds both the nearest distance and which seed it is. Returns
    (d1, d2, attrs): float32 (h, w) distances in pixels and n_attr (h, w) maps, uniform [0, 1)
    per cell.
    """
    gh, gw = -(-h // cell), -(-w // cell)
    sy = cell * (0.5 + jitter * (rng.random((gh + 2, gw + 2), dtype=_F32) - 0.5))
    sx = cell * (0.5 + jitter * (rng.random((gh + 2, gw + 2), dtype=_F32) - 0.5))
    attrs = rng.random((n_attr, gh + 2, gw + 2), dtype=_F32)
    f = np.arange(cell, dtype=_F32)
    q = _F32(min(64.0, 2.0**26 / (9.0 * cell * cell)))  # keys stay below 2**30
    cands = []
    for k, (di, dj) in enumerate((a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)):
        rows, cols = slice(1 + di, 1 + di + gh), slice(1 + dj, 1 + dj + gw)
        dy = f[None, :, None] - (sy[rows, cols] + _F32(di * cell))[:, None, :]  # (gh, cell, gw)
        dx = f[None, None, :] - (sx[rows, cols] + _F32(dj * cell))[:, :, None]  # (gh, gw, cell)
        ky = (np.rint(dy * dy * q).astype(np.int32) << 4) + np.int32(k)
        kx = np.rint(dx * dx * q).astype(np.int32) << 4
        cands.append((ky[:, :, :, None], kx[:, None, :, :], attrs[:, rows, cols]))
    shape = (gh, cell, gw, cell)
    k1 = np.full(shape, np.iinfo(np.int32).max, np.int32)
    k2 = k1.copy()
    key = np.empty(shape, np.int32)
    tmp = np.empty(shape, np.int32)
    step = max(1, 32 // cell)  # a few block rows at a time stay in cache
    for r0 in range(0, gh, step):
        r = slice(r0, min(gh, r0 + step))
        k1r, k2r, keyr, tmpr = k1[r], k2[r], key[r], tmp[r]
        for ky, kx, _ in cands:
            np.add(ky[r], kx[r], out=keyr)
            np.maximum(k1r, keyr, out=tmpr)
            np.minimum(k2r, tmpr, out=k2r)
            np.minimum(k1r, keyr, out=k1r)
    del key, tmp
    hp, wp = gh * cell, gw * cell
    block = np.arange(gh, dtype=np.int32)[:, None, None, None] * np.int32(gw)
    block = block + np.arange(gw, dtype=np.int32)[None, None, :, None]
    idx = (k1 & 15) * np.int32(gh * gw) + block
    table = np.stack([c[2] for c in cands], axis=1).reshape(n_attr, -1)  # (n_attr, 9 * gh * gw)
    out = np.stack([table[a][idx].reshape(hp, wp)[:h, :w] for a in range(n_attr)]) if n_attr else None
    d1 = np.sqrt((k1 >> 4).astype(_F32) * (1 / q)).reshape(hp, wp)[:h, :w]
    d2 = np.sqrt((k2 >> 4).astype(_F32) * (1 / q)).reshape(hp, wp)[:h, :w]
    return d1, d2, out


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class _Lesion:
    """Star-shaped lesion in dermoscopy pixels: rho(x, y) = |p - c| / r(theta), inside where rho <= 1."""

    cx: float
    cy: float
    radius_table: np.ndarray  # r(theta) sampled at 65536 angles over [-pi, pi)

    def rho(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dx = (x - _F32(self.cx)).astype(_F32)
        dy = (y - _F32(self.cy)).astype(_F32)
        n = self.radius_table.size
        idx = ((np.arctan2(dy, dx) + _F32(math.pi)) * _F32(n / (2 * math.pi))).astype(np.int32)
        np.clip(idx, 0, n - 1, out=idx)
        return np.sqrt(dx * dx + dy * dy) / self.radius_table[idx]


def _make_lesion(rng: np.random.Generator, centre: tuple[float, float], half_width: float) -> _Lesion:
    hd, wd = DERMOSCOPY_HW
    angle = rng.uniform(0, 2 * math.pi)
    offset = half_width * rng.uniform(0.0, 0.9)
    cx = centre[0] + offset * math.cos(angle)
    cy = centre[1] + offset * math.sin(angle)
    room = min(cx, wd - cx, cy, hd - cy) / 1.45
    r0 = min(half_width * rng.uniform(0.5, 1.5), room)
    theta = np.linspace(-math.pi, math.pi, 65536, endpoint=False)
    r = np.ones_like(theta)
    budget = rng.uniform(0.1, 0.4)
    amps = rng.random(6) / np.sqrt(np.arange(2, 8))
    amps *= budget / amps.sum()
    for k, a in zip(range(2, 8), amps, strict=True):
        r += a * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    return _Lesion(cx=float(cx), cy=float(cy), radius_table=(r0 * r).astype(_F32))


def _registration(rng: np.random.Generator, size: int) -> tuple[np.ndarray, tuple[float, float], float]:
    """Similarity transform dermoscopy -> mosaic; also the mosaic centre in dermoscopy px and half-width."""
    hd, wd = DERMOSCOPY_HW
    cover = rng.uniform(0.30, 0.45)  # mosaic width / dermoscopy width
    scale = size / (cover * wd)  # mosaic px per dermoscopy px
    angle = math.radians(rng.uniform(-8.0, 8.0))
    cd = (wd / 2 + rng.uniform(-25, 25), hd / 2 + rng.uniform(-20, 20))
    cm = ((size - 1) / 2, (size - 1) / 2)
    c, s = math.cos(angle), math.sin(angle)
    lin = scale * np.array([[c, -s], [s, c]])
    t = np.array(cm) - lin @ np.array(cd)
    m = np.eye(3)
    m[:2, :2], m[:2, 2] = lin, t
    return m, cd, size / (2 * scale)


def _tile_edges(n: int, tile: float) -> np.ndarray:
    edges = np.round(np.arange(0, n / tile + 1) * tile).astype(int)
    edges = np.unique(np.clip(edges, 0, n))
    if edges[-1] != n:
        edges = np.append(edges, n)
    return edges


def _valid_mask(rng: np.random.Generator, size: int, edges: np.ndarray) -> np.ndarray:
    nt = len(edges) - 1
    valid = np.ones((size, size), bool)
    if nt < 3 or rng.random() >= 0.45:
        return valid
    sides = np.diff(edges).astype(float)
    tile_area = np.outer(sides, sides) / float(size * size)
    keep = np.ones((nt, nt), bool)
    cuts = []
    for corner in rng.choice(4, size=int(rng.integers(1, 4)), replace=False):
        depth = int(rng.integers(1, max(2, nt // 2) + 1))
        width = int(rng.integers(1, max(2, nt // 2) + 1))
        cut = np.zeros_like(keep)
        for r in range(depth):
            span = max(1, round(width * (1 - r / depth)))
            row = r if corner in (0, 1) else nt - 1 - r
            cut[row, slice(0, span) if corner in (0, 2) else slice(nt - span, nt)] = True
        cuts.append(cut)
    if rng.random() < 0.4:  # the last tile row ends early (raster scan stopped)
        cut = np.zeros_like(keep)
        cut[nt - 1, nt - int(rng.integers(1, max(2, nt // 2) + 1)) :] = True
        cuts.append(cut)
    for cut in cuts:  # never leave less than 60 % of the area imaged
        if tile_area[keep & ~cut].sum() >= 0.6:
            keep &= ~cut
    rows = np.repeat(np.arange(nt), np.diff(edges))
    valid = keep[rows][:, rows]
    # Ragged outer border: each tile row/column ends a few pixels short of the grid.
    for t in range(nt):
        band = slice(edges[t], edges[t + 1])
        for view in (valid[band, :], valid[:, band].T):
            cols = np.flatnonzero(view.any(axis=0))
            if cols.size:
                view[:, cols[0] : cols[0] + int(rng.integers(0, 7))] = False
                view[:, cols[-1] + 1 - int(rng.integers(0, 7)) : cols[-1] + 1] = False
    return valid


# --------------------------------------------------------------------------- tissue


def _up2(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """Linear x2 upsampling of a map sampled at the even pixels of an (h, w) image."""
    rows = np.empty((2 * a.shape[0], a.shape[1]), a.dtype)
    rows[0::2] = a
    rows[1:-1:2] = 0.5 * (a[:-1] + a[1:])
    rows[-1] = a[-1]
    out = np.empty((rows.shape[0], 2 * a.shape[1]), a.dtype)
    out[:, 0::2] = rows
    out[:, 1:-1:2] = 0.5 * (rows[:, :-1] + rows[:, 1:])
    out[:, -1] = rows[:, -1]
    return out[:h, :w]


def _papillae(rng: np.random.Generator, n: int, um: float, lesion_w: np.ndarray):
    """Basal-cell weight, dermal-hole weight and junctional-nest weight maps of the DEJ (full size).

    Computed at half resolution (they vary over tens of µm) and linearly upsampled.
    """
    h = (n + 1) // 2
    um2 = 2.0 * um
    lw = lesion_w[::2, ::2]
    pap = max(4, round(rng.uniform(80.0, 140.0) / um2))
    d1p, d2p, (rp, ap) = _voronoi(rng, h, h, pap, 0.9, 2)
    rp = pap * (0.25 + 0.17 * rp)
    wr = max(1.0, rng.uniform(7.0, 11.0) / um2)  # half-width of the basal ring
    ring = np.exp(-(((d1p - rp) * _F32(1.0 / wr)) ** 2))
    inside = _smoothstep((rp - d1p) * _F32(1.0 / wr))
    wm = max(1.0, rng.uniform(12.0, 20.0) / um2)
    mesh = np.exp(-(((d2p - d1p) * _F32(0.5 / wm)) ** 2))
    big = 400.0 / um2
    meshw = _smoothstep(_smooth2d(rng, h, h, big * 0.8) * 0.8 + rng.uniform(-0.6, 0.6) + 0.5)
    dej = np.clip(_smooth2d(rng, h, h, big * 0.6) * 0.35 + rng.uniform(0.65, 1.0), 0.0, 1.0)
    dej *= 1.0 - 0.6 * lw  # the lesion disarranges the papillary pattern
    basal = (ring + meshw * (mesh - ring)) * dej
    hole = (inside + meshw * (np.clip(1.0 - 1.6 * mesh, 0.0, 1.0) - inside)) * dej * (1.0 - basal)
    nests = np.exp(-((d1p / (0.55 * rp)) ** 2)) * (ap > 0.7) * lw
    return _up2(basal, n, n), _up2(hole, n, n), _up2(nests, n, n)


def _tissue(rng: np.random.Generator, size: int, um: float, lesion_w: np.ndarray) -> np.ndarray:
    """Reflectance (about 0-2) of the DEJ en face, before speckle and illumination."""
    n = size
    cell = max(3, round(rng.uniform(10.0, 14.0) / um))
    d1c, d2c, (vc,) = _voronoi(rng, n, n, cell, 0.8, 1)
    basal, hole, nests = _papillae(rng, n, um, lesion_w)
    border = np.exp(-(((d2c - d1c) * _F32(0.5 / max(0.7, 0.13 * cell))) ** 2))
    nucleus = np.exp(-((d1c * _F32(1.0 / (0.22 * cell))) ** 2))
    del d1c, d2c
    honey = 0.22 + 0.55 * border * (0.5 + 0.8 * vc) - 0.15 * nucleus
    cobble = (0.45 + 0.75 * vc) * (1.0 - 0.6 * border) * (1.0 - 0.25 * nucleus)
    cobble *= 1.5 + 0.4 * lesion_w
    dermis = 0.12 + 0.1 * vc
    tissue = honey + basal * (cobble - honey) + hole * (dermis - honey)
    # Lesion: junctional nests at some papillae, scattered large bright atypical cells.
    tissue += nests * (0.9 * cobble + 0.3)
    atypia = _F32(rng.uniform(0.97, 1.0))
    tissue += lesion_w * (vc > atypia) * (1.0 - border) * 1.5
    tissue *= np.exp(0.25 * _smooth2d(rng, n, n, 400.0 / um))
    return tissue


# --------------------------------------------------------------------------- artifacts


@dataclass
class _Artifact:
    code: int
    sl: tuple[slice, slice]  # bounding box in the mosaic
    mask: np.ndarray  # bool, shape of the box, already cut to valid
    paint: Callable[..., None] = field(repr=False)  # paint(image, rng, labels) changes image[sl]


def _other_illumination(labels: np.ndarray, code: int) -> np.ndarray:
    """Pixels of the other illumination fault: one's soft fringe (outside its own mask) must not
    relight or darken the other's mask, so each label keeps its look."""
    return labels == (5 if code == 4 else 4)


def _box(cy: float, cx: float, ry: float, rx: float, n: int) -> tuple[slice, slice] | None:
    y0, y1 = max(0, int(cy - ry)), min(n, int(math.ceil(cy + ry)) + 1)
    x0, x1 = max(0, int(cx - rx)), min(n, int(math.ceil(cx + rx)) + 1)
    if y1 - y0 < 2 or x1 - x0 < 2:
        return None
    return slice(y0, y1), slice(x0, x1)


def _grid(sl: tuple[slice, slice], cy: float, cx: float):
    y = (np.arange(sl[0].start, sl[0].stop, dtype=_F32) - _F32(cy))[:, None]
    x = (np.arange(sl[1].start, sl[1].stop, dtype=_F32) - _F32(cx))[None, :]
    return y, x


class _Planner:
    """Draws artifact geometry and keeps the union; painting happens later, in _PAINT_ORDER."""

    def __init__(self, rng, image, valid, lesion, um, tile_edges):
        self.rng, self.image, self.valid, self.lesion, self.um = rng, image, valid, lesion, um
        self.n = image.shape[0]
        self.edges = tile_edges
        self.union = np.zeros_like(valid)
        self.valid_area = max(1, int(np.count_nonzero(valid)))
        self.lesion_valid = lesion & valid
        self.on_lesion = bool(self.lesion_valid.any()) and rng.random() < 0.4
        self.items: list[_Artifact] = []
        self.target = 0.0

    # ---- helpers
    def fraction(self) -> float:
        return np.count_nonzero(self.union) / self.valid_area

    def point(self) -> tuple[float, float]:
        target = self.lesion_valid if (self.on_lesion and self.rng.random() < 0.75) else self.valid
        for _ in range(200):
            y, x = self.rng.uniform(0, self.n, size=2)
            if target[int(y), int(x)]:
                return float(y), float(x)
        return float(self.rng.uniform(0, self.n)), float(self.rng.uniform(0, self.n))

    def add(self, code, sl, mask, paint) -> None:
        mask = mask & self.valid[sl]
        if not mask.any():
            return
        new = np.count_nonzero(mask & ~self.union[sl]) / self.valid_area
        if self.fraction() + new > self.target + max(0.02, 0.1 * self.target):
            return  # would overshoot the target by too much: drop it
        self.union[sl] |= mask
        self.items.append(_Artifact(code, sl, mask, paint))

    # ---- artifact types
    def blob_region(self, area: float, rough: float):
        """Irregular smooth region of about `area` pixels: level f > 0 inside, rising to the core."""
        rng = self.rng
        radius = max(4.0, math.sqrt(area / math.pi))
        aspect = rng.uniform(0.6, 1.0)
        a, b = radius / math.sqrt(aspect), radius * math.sqrt(aspect)
        cy, cx = self.point()
        if rng.random() < 0.35:  # often at the mosaic border, where tissue curves away
            side = rng.integers(4)
            cy = [0.0, float(self.n), cy, cy][side]
            cx = [cx, cx, 0.0, float(self.n)][side]
            a, b = a * 1.4, b * 1.4
        sl = _box(cy, cx, 2.2 * a, 2.2 * a, self.n)
        if sl is None:
            return None
        y, x = _grid(sl, cy, cx)
        phi = rng.uniform(0, math.pi)
        c, s = _F32(math.cos(phi)), _F32(math.sin(phi))
        u, v = (x * c + y * s) / _F32(a), (y * c - x * s) / _F32(b)
        h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        f = 1.0 - np.sqrt(u * u + v * v) + rough * _smooth2d(rng, h, w, 0.35 * radius)
        f += rough * 0.3 * _smooth2d(rng, h, w, max(3.0, 0.08 * radius))
        return sl, f.astype(_F32)

    def under_illumination(self, area: float) -> None:
        got = self.blob_region(area, self.rng.uniform(0.15, 0.4))
        if got is None:
            return
        sl, f = got
        depth = _F32(self.rng.uniform(0.25, 0.5))

        def paint(img, rng, labels):
            gain = np.where(
                f >= 0, 0.15 * np.exp(-f * (3.0 / depth)), 0.15 + 0.85 * _smoothstep(-f / depth)
            ).astype(_F32)
            floor = np.abs(rng.standard_normal(f.shape, dtype=_F32)) * _F32(2.5) + _F32(1.0)
            out = img[sl] * gain + floor * (1.0 - np.minimum(gain, 1.0))
            img[sl] = np.where(_other_illumination(labels[sl], 4) & (f < 0), img[sl], out)

        self.add(4, sl, f >= 0, paint)

    def saturation(self, area: float) -> None:
        got = self.blob_region(area, self.rng.uniform(0.1, 0.3))
        if got is None:
            return
        sl, f = got
        width = _F32(self.rng.uniform(0.15, 0.35))
        # Threshold where the median tissue pixel of the box just clips: I (1 + 3 s) + 400 s = 255.
        sample = self.image[sl][::3, ::3][self.valid[sl][::3, ::3]]
        m = float(np.median(sample)) if sample.size else 60.0
        s0 = _F32(np.clip((255.0 - m) / (3.0 * m + 400.0), 0.05, 0.95))
        s = np.clip(s0 + f / (2 * width), 0.0, 1.0).astype(_F32)

        def paint(img, rng, labels):
            out = np.minimum(img[sl] * (1.0 + 3.0 * s) + 400.0 * s, 255.0)
            img[sl] = np.where(_other_illumination(labels[sl], 5) & (s < s0), img[sl], out)

        self.add(5, sl, s >= s0, paint)

    def _curve(self, sl, py, px, phi, length, amp):
        """Signed distance (px) to a gently bent line through (py, px) at angle phi, and position along it.

        The line is v = bend(u) in coordinates (u along phi, v across), bend a sum of two sines with
        slope below 0.7; the distance is (v - bend(u)) / sqrt(1 + bend'(u)²), tabulated every 1/4 px.
        """
        rng = self.rng
        y, x = _grid(sl, py, px)
        c, s = _F32(math.cos(phi)), _F32(math.sin(phi))
        u = x * c + y * s
        v = y * c - x * s
        half = int(math.ceil(length / 2)) + 2
        t = np.arange(-half * 4, half * 4 + 1, dtype=np.float64) / 4.0
        bend = np.zeros_like(t)
        slope = np.zeros_like(t)
        for _ in range(2):
            lam = length * rng.uniform(0.6, 2.0)
            ph = rng.uniform(0, 2 * math.pi)
            k = 2 * math.pi / lam
            a = min(amp, 0.35 / k)  # slope stays below 0.7, where the distance formula holds
            bend += a * np.sin(k * t + ph)
            slope += a * k * np.cos(k * t + ph)
        idx = np.clip(((u + half) * 4).astype(np.int32), 0, t.size - 1)
        dist = (v - bend.astype(_F32)[idx]) * (1.0 / np.sqrt(1.0 + slope**2)).astype(_F32)[idx]
        return dist, u, idx, t

    def hair(self) -> None:
        rng, n, um = self.rng, self.n, self.um
        py, px = self.point()
        phi = rng.uniform(0, math.pi)
        width = rng.uniform(50.0, 100.0) / um
        edge = rng.uniform(3.0, 6.0) / um if rng.random() < 0.5 else 0.0
        length = 1.6 * n
        sl = (slice(0, n), slice(0, n))
        dist, u, idx, t = self._curve(sl, py, px, phi, length, rng.uniform(0.03, 0.1) * n)
        half = _F32(width / 2)
        total = half + _F32(edge)
        mask = np.abs(dist) <= total
        rows = np.flatnonzero(np.abs(dist).min(axis=1) <= total + 3)
        cols = np.flatnonzero(np.abs(dist).min(axis=0) <= total + 3)
        if rows.size == 0 or cols.size == 0:
            return
        box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
        dist, mask = dist[box], mask[box]
        dark = _F32(rng.uniform(8.0, 35.0))
        edge_level = _F32(rng.uniform(150.0, 230.0))

        def paint(img, rng, labels):
            a = np.abs(dist) / half
            # Out-of-focus shaft: darker core, faint longitudinal streaks, grain.
            streaks = np.interp(a, np.linspace(0, 1, 24), rng.uniform(0.75, 1.25, 24)).astype(_F32)
            grain = rng.standard_normal(dist.shape, dtype=_F32)
            body = dark * (1.0 + 0.5 * a * a) * streaks * (1.0 + 0.2 * grain) + 2.0
            shade = np.clip((np.abs(dist) - total) / 2.0, 0.0, 1.0)  # 2-px soft shadow outside
            out = np.where(np.abs(dist) <= half, body, edge_level if edge else body)
            img[box] = np.where(mask, out, img[box] * (0.5 + 0.5 * shade))

        self.add(3, box, mask, paint)

    def no_contact(self, area: float) -> None:
        rng, n = self.rng, self.n
        if rng.random() < 0.6:  # along a wrinkle
            py, px = self.point()
            phi = rng.uniform(0, math.pi)
            length = rng.uniform(0.5, 1.5) * n
            w0 = float(np.clip(area / (2 * length * 0.8), 8.0 / self.um, 60.0 / self.um))
            reach = length / 2 + 0.3 * n + 2 * w0
            sl = _box(py, px, reach, reach, n)
            if sl is None:
                return
            dist, u, idx, t = self._curve(sl, py, px, phi, length, rng.uniform(0.03, 0.12) * n)
            taper = _smoothstep((length / 2 - np.abs(t)) / (0.25 * length))
            wid = w0 * np.clip(1.0 + 0.4 * _noise1d(rng, t.size, 0.1 * length * 4), 0.3, 1.6) * taper
            wid += w0 * 0.08 * _noise1d(rng, t.size, max(12.0, 0.5 * w0 * 4)) * taper
            level = np.abs(dist) - wid.astype(_F32)[idx]
        else:  # along one side of the mosaic
            side = rng.integers(4)
            w0 = max(3.0, area / n)
            depth = int(min(n, 2.5 * w0 + 4))
            along = w0 * np.clip(1.0 + 0.5 * _noise1d(rng, n, 0.15 * n), 0.1, 2.5)
            along += w0 * 0.1 * _noise1d(rng, n, max(3.0, 0.5 * w0))
            d = np.arange(depth, dtype=_F32)[:, None]
            level = d - along.astype(_F32)[None, :]  # rows: distance from the side
            if side == 0:
                sl = (slice(0, depth), slice(0, n))
            elif side == 1:
                sl, level = (slice(n - depth, n), slice(0, n)), level[::-1]
            elif side == 2:
                sl, level = (slice(0, n), slice(0, depth)), level.T
            else:
                sl, level = (slice(0, n), slice(n - depth, n)), level.T[:, ::-1]
            level = np.ascontiguousarray(level)
        near = level < 2.0  # the black area and its soft edge
        rows, cols = np.flatnonzero(near.any(axis=1)), np.flatnonzero(near.any(axis=0))
        if rows.size == 0:
            return
        box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
        level = level[box]
        sl = (slice(sl[0].start + rows[0], sl[0].start + rows[-1] + 1),
              slice(sl[1].start + cols[0], sl[1].start + cols[-1] + 1))
        mask = level < 0
        black = _F32(rng.uniform(2.0, 10.0))

        def paint(img, rng, labels):
            fade = np.clip(level / 2.0, 0.0, 1.0)
            dark = black + np.abs(rng.standard_normal(level.shape, dtype=_F32)) * _F32(1.5)
            img[sl] = np.where(mask, dark, img[sl] * (0.4 + 0.6 * fade) + dark * (1 - fade) * 0.4)

        self.add(6, sl, mask, paint)

    def bubbles(self, area: float) -> None:
        rng, um = self.rng, self.um
        count = int(rng.integers(1, 6))
        cy, cx = self.point()
        spread = math.sqrt(area / math.pi) * 1.5
        sizes = rng.dirichlet(np.ones(count)) * area
        for k in range(count):
            r = min(250.0 / um, max(25.0 / um, math.sqrt(sizes[k] / math.pi)))
            aspect = rng.uniform(0.7, 1.0)
            a, b = r / math.sqrt(aspect), r * math.sqrt(aspect)
            by = cy + (rng.normal(0, spread * 0.4) if k else 0.0)
            bx = cx + (rng.normal(0, spread * 0.4) if k else 0.0)
            rim = max(1.0, rng.uniform(2.0, 5.0) / um)
            sl = _box(by, bx, a + rim + 3, a + rim + 3, self.n)
            if sl is None:
                continue
            y, x = _grid(sl, by, bx)
            phi = rng.uniform(0, math.pi)
            c, s = _F32(math.cos(phi)), _F32(math.sin(phi))
            u, v = (x * c + y * s) / _F32(a), (y * c - x * s) / _F32(b)
            rho = np.sqrt(u * u + v * v)
            dr = (rho - 1.0) * _F32(b)  # ~ pixels from the edge
            mask = dr <= rim
            self.add(1, sl, mask, self._paint_bubble(sl, rho, dr, rim, mask, phi))

    def _paint_bubble(self, sl, rho, dr, rim, mask, phi):
        rng = self.rng
        level = _F32(rng.uniform(12.0, 45.0))
        grad = _F32(rng.uniform(-0.5, 0.5))
        rim_level = _F32(rng.uniform(170.0, 255.0))
        sigma = 8.0 / self.um

        def paint(img, rng, labels):
            region = img[sl]
            blurred = ndi.gaussian_filter(region, sigma, mode="nearest")
            h, w = region.shape
            ramp = np.linspace(-1, 1, w, dtype=_F32)[None, :] * math.cos(phi) + np.linspace(
                -1, 1, h, dtype=_F32
            )[:, None] * math.sin(phi)
            floor = level * (1.0 + grad * ramp)
            alpha = 0.3 * np.clip(rho, 0.0, 1.0) ** 4  # a little tissue shows through near the rim
            inner = alpha * blurred + (1.0 - alpha) * floor
            ring = np.exp(-(((dr - rim / 2) / max(0.7, rim / 2)) ** 2))
            out = np.where(dr < 0, inner, floor) * (1.0 - ring) + rim_level * ring
            region[mask] = out[mask]
            halo = (~mask) & (dr < rim + 2)  # soft outer edge, still readable
            region[halo] = (0.6 * region + 0.4 * rim_level * ring)[halo]

        return paint

    def particulates(self, area: float, max_um: float = 45.0) -> None:
        rng, um = self.rng, self.um
        cy, cx = self.point()
        count = int(rng.integers(3, 30))
        spread = max(20.0, math.sqrt(max(area, 400.0)) * 1.5)
        for _ in range(count):
            d_um = math.exp(rng.uniform(math.log(3.0), math.log(max_um)))
            r = max(0.8, d_um / um / 2)
            py, px = cy + rng.normal(0, spread), cx + rng.normal(0, spread)
            sl = _box(py, px, 1.7 * r + 2, 1.7 * r + 2, self.n)
            if sl is None:
                continue
            y, x = _grid(sl, py, px)
            theta = np.arctan2(y, x)
            rad = np.full(theta.shape, r, _F32)
            for k, most in ((2, 0.3), (3, 0.15), (4, 0.08)):
                rad = rad * (1.0 + _F32(rng.uniform(0, most)) * np.cos(k * theta + _F32(rng.uniform(0, 6.3))))
            edge = np.sqrt(x * x + y * y) - rad  # px outside the blob
            blob = edge <= 0
            masked = 2.0 * math.sqrt(np.count_nonzero(blob) / math.pi) * um >= MIN_PARTICLE_UM
            bright = rng.random() < 0.55
            value = _F32(rng.uniform(190.0, 255.0) if bright else rng.uniform(3.0, 25.0))

            def paint(img, rng, labels, sl=sl, edge=edge, value=value):
                alpha = np.clip(0.5 - edge, 0.0, 1.0)  # one-pixel soft edge
                noise = rng.standard_normal(edge.shape, dtype=_F32) * _F32(4.0)
                img[sl] = img[sl] * (1.0 - alpha) + (value + noise) * alpha

            if masked:
                self.add(2, sl, blob, paint)
            else:
                self.items.append(_Artifact(0, sl, np.zeros_like(blob), paint))

    def motion(self, area: float) -> None:
        rng, um, e = self.rng, self.um, self.edges
        nt = len(e) - 1
        tile_area = (TILE_UM / um) ** 2
        tiles = int(np.clip(round(area / tile_area), 1, nt))
        cy, cx = self.point()
        ty = int(np.clip(np.searchsorted(e, cy, side="right") - 1, 0, nt - 1))
        tx = int(np.clip(np.searchsorted(e, cx, side="right") - 1, 0, nt - 1))
        tx0 = max(0, min(tx, nt - tiles))
        y0, y1 = e[ty], e[ty + 1]
        if tiles == 1 and area < tile_area:
            part = area / tile_area
        else:
            part = rng.uniform(0.3, 0.8) if rng.random() < 0.5 else 1.0
        if part < 1.0:  # the motion began part-way through the raster scan of the field(s)
            y0 = int(y1 - max(4, (y1 - y0) * max(0.1, part)))
        sl = (slice(y0, y1), slice(e[tx0], e[tx0 + tiles]))
        length = max(6, round(rng.uniform(25.0, 80.0) / um))
        phi = rng.uniform(0, math.pi)
        dy, dx = math.sin(phi), math.cos(phi)
        shifts = [(round(k * dy), round(k * dx)) for k in range(-(length // 2), length - length // 2)]
        pad = length // 2 + 1
        mask = np.ones((y1 - y0, sl[1].stop - sl[1].start), bool)

        def paint(img, rng, labels):
            n = img.shape[0]
            ys, xs = sl[0].start - pad, sl[1].start - pad
            ye, xe = sl[0].stop + pad, sl[1].stop + pad
            window = img[max(0, ys) : min(n, ye), max(0, xs) : min(n, xe)]
            big = np.pad(
                window, ((max(0, -ys), max(0, ye - n)), (max(0, -xs), max(0, xe - n))), mode="reflect"
            )
            acc = np.zeros(mask.shape, _F32)
            h, w = mask.shape
            for sy, sx in shifts:
                acc += big[pad + sy : pad + sy + h, pad + sx : pad + sx + w]
            img[sl] = acc * _F32(rng.uniform(0.9, 1.1) / len(shifts))

        self.add(7, sl, mask, paint)

    # ---- plan
    def plan(self, target: float) -> None:
        rng = self.rng
        self.target = target
        big = ["under_illumination", "no_contact", "saturation", "motion", "bubbles", "hair"]
        weights = np.array([0.22, 0.22, 0.12, 0.16, 0.18, 0.10])
        counts = dict.fromkeys(big, 0)
        limits = {"under_illumination": 3, "no_contact": 3, "saturation": 2, "motion": 3, "bubbles": 4, "hair": 2}
        if rng.random() < 0.7:  # dust is nearly always around (only specks too small to mask if the target is ~0)
            self.particulates(rng.uniform(0.0, 0.01) * self.valid_area, max_um=45.0 if target > 0.01 else 15.0)
        for _ in range(20):
            left = target - self.fraction()
            if left < 0.004:
                break
            area = left * self.valid_area * rng.uniform(0.4, 1.0)
            p = weights * np.array([counts[k] < limits[k] for k in big])
            if left < 0.03:
                p = p * np.array([1, 1, 1, 0.3, 2, 0.2])
                if rng.random() < 0.4:
                    self.particulates(area)
                    continue
            if p.sum() == 0:
                break
            kind = big[int(rng.choice(len(big), p=p / p.sum()))]
            counts[kind] += 1
            if kind == "hair":
                self.hair()
            else:
                getattr(self, kind)(area)

    def paint(self, image: np.ndarray, labels: np.ndarray) -> None:
        order = {code: i for i, code in enumerate(_PAINT_ORDER)}
        for item in sorted(self.items, key=lambda it: order.get(it.code if it.code else 2, 0)):
            item.paint(image, self.rng, labels)
            if item.code:
                labels[item.sl][item.mask] = item.code


# --------------------------------------------------------------------------- dermoscopy


def _dermoscopy(rng: np.random.Generator, lesion: _Lesion) -> tuple[np.ndarray, np.ndarray]:
    """A dermoscopy-like RGB image of the skin around the mosaic, and its lesion mask."""
    hd, wd = DERMOSCOPY_HW
    y = np.arange(hd, dtype=_F32)[:, None]
    x = np.arange(wd, dtype=_F32)[None, :]
    rho = lesion.rho(x, y)
    mask = rho <= 1.0

    skin_types = np.array([[236, 196, 178], [222, 172, 146], [196, 146, 112], [160, 112, 80]], _F32)
    skin = skin_types[rng.integers(len(skin_types))] * rng.uniform(0.95, 1.05, 3).astype(_F32)
    # Skin furrows: two families of wavy lines, crossing in the usual rhomboid pattern.
    furrows = np.zeros((hd, wd), _F32)
    for _ in range(2):
        a = rng.uniform(0, math.pi)
        warp = 6.0 * _smooth2d(rng, hd, wd, 30.0)
        phase = (x * _F32(math.cos(a)) + y * _F32(math.sin(a)) + warp) * _F32(2 * math.pi / rng.uniform(14, 24))
        furrows += np.exp(np.sin(phase) ** 2 * _F32(-50.0))
    shade = (1.0 + 0.035 * _smooth2d(rng, hd, wd, 40.0)) * (1.0 - 0.04 * np.minimum(furrows, 1.0))
    shade *= 1.0 - 0.25 * (((x - wd / 2) / wd) ** 2 + ((y - hd / 2) / hd) ** 2)  # vignetting

    # Lesion: pigment network (Voronoi borders), darker centre, optional blue-grey area and dots.
    d1, d2, (va,) = _voronoi(rng, hd, wd, int(rng.integers(7, 11)), 0.9, 1)
    net = np.exp(-(((d2 - d1) * _F32(0.5 / 1.3)) ** 2))
    pig = np.clip(1.05 - 0.6 * rho * rho + 0.25 * _smooth2d(rng, hd, wd, 20.0), 0.0, 1.2)
    t = np.clip(pig * (0.55 + 0.45 * net * (0.7 + 0.6 * va)), 0.0, 1.0)
    if rng.random() < 0.5:  # dots and globules
        t = np.minimum(t + 0.5 * (va > 0.9) * np.exp(-((d1 / 2.2) ** 2)) * (rho < 0.9), 1.0)
    t = ndi.gaussian_filter(t, 0.7)
    blue = _smoothstep(_smooth2d(rng, hd, wd, 25.0) + 0.8 - rho) if rng.random() < 0.4 else None
    alpha = _smoothstep((1.0 - rho) * _F32(12.5) + 0.5)
    light = np.array([178, 118, 78], _F32)
    dark = np.array([84, 50, 36], _F32)
    grey = np.array([120, 122, 140], _F32)
    noise = rng.standard_normal((hd, wd, 3), dtype=_F32) * _F32(2.0)
    img = np.empty((hd, wd, 3), np.uint8)
    for c in range(3):
        colour = light[c] + t * (dark[c] - light[c])
        if blue is not None:
            colour += 0.6 * blue * (grey[c] - colour)
        base = skin[c] * shade
        img[..., c] = np.clip(base + alpha * (colour - base) + noise[..., c] + 0.5, 0, 255)
    return img, mask


# --------------------------------------------------------------------------- public API


def generate_phantom(
    *,
    seed: int,
    size_px: int = 1024,
    pixel_spacing_um: float = 2.0,
    artifact_fraction: tuple[float, float] = (0.0, 0.45),
) -> Phantom:
    """Make one synthetic DEJ mosaic with exact artifact masks (see the module docstring)."""
    size, um = int(size_px), float(pixel_spacing_um)
    lo, hi = (float(v) for v in artifact_fraction)
    if size < 64:
        raise ValueError("size_px must be at least 64.")
    if not (0.1 <= um <= 10.0):
        raise ValueError("pixel_spacing_um must be between 0.1 and 10 µm.")
    if not (0.0 <= lo <= hi < 1.0):
        raise ValueError("artifact_fraction must be (low, high) with 0 <= low <= high < 1.")
    rng = np.random.default_rng(seed)

    registration, centre_d, half_d = _registration(rng, size)
    lesion = _make_lesion(rng, centre_d, half_d)
    inv = np.linalg.inv(registration)
    u = np.arange(size, dtype=np.float64)
    xd = (inv[0, 0] * u[None, :] + inv[0, 1] * u[:, None] + inv[0, 2]).astype(_F32)
    yd = (inv[1, 0] * u[None, :] + inv[1, 1] * u[:, None] + inv[1, 2]).astype(_F32)
    rho = lesion.rho(xd, yd)
    del xd, yd
    lesion_mosaic = rho <= 1.0
    lesion_w = _smoothstep((1.1 - rho) * _F32(5.0))
    del rho

    edges = _tile_edges(size, TILE_UM / um)
    valid = _valid_mask(rng, size, edges)

    tissue = _tissue(rng, size, um, lesion_w)
    del lesion_w
    tissue *= _speckle(rng, (size, size), float(rng.uniform(4.0, 8.0)))

    # Tile grid: per-tile gain and vignetting, faint seams.
    nt = len(edges) - 1
    counts = np.diff(edges)
    pos = np.concatenate([(np.arange(c, dtype=_F32) + 0.5) / c for c in counts])
    prof = (2.0 * pos - 1.0) ** 2
    which = np.repeat(np.arange(nt), counts)
    strength = rng.uniform(0.25, 0.45, (nt, nt)).astype(_F32)
    gain = (1.0 + 0.06 * rng.standard_normal((nt, nt))).astype(_F32) * _F32(rng.uniform(150.0, 190.0))
    s_map = strength[which][:, which]
    tissue *= gain[which][:, which] * (1.0 - s_map * prof[:, None]) * (1.0 - s_map * prof[None, :])
    seam = _F32(1.0 + rng.choice([-1, 1]) * rng.uniform(0.03, 0.08))
    for e in edges[1:-1]:
        tissue[e, :] *= seam
        tissue[:, e] *= seam
    image = tissue
    del tissue

    labels = np.zeros((size, size), np.uint8)
    planner = _Planner(rng, image, valid, lesion_mosaic, um, edges)
    # Target fraction: a golden-ratio sequence over seeds (plus jitter), so any run of consecutive
    # seeds spans [lo, hi] evenly while each seed's target stays uniform over the range.
    u = (int(seed) * 0.6180339887498949 + rng.uniform(-0.03, 0.03)) % 1.0
    planner.plan(lo + (hi - lo) * u)
    planner.paint(image, labels)

    image = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    image[~valid] = 0
    labels[~valid] = 0
    uninformative = labels > 0

    dermoscopy, lesion_dermoscopy = _dermoscopy(rng, lesion)
    arrays = dict(
        image=image,
        uninformative=uninformative,
        artifact_labels=labels,
        valid=valid,
        dermoscopy=dermoscopy,
        lesion_dermoscopy=lesion_dermoscopy,
        registration=registration,
        lesion_mosaic=lesion_mosaic,
    )
    for a in arrays.values():
        a.setflags(write=False)
    return Phantom(**arrays, pixel_spacing_um=um, seed=int(seed))


def with_no_contact(phantom: Phantom, region: np.ndarray, *, seed: int = 0) -> Phantom:
    """The phantom with `region` (bool, mosaic-sized, clipped to the imaged area) painted as lost
    skin-window contact, as the planner paints it (near-black signal with a 2-pixel soft edge), and
    the ground truth updated. For scenarios that need an artifact at a chosen place."""
    rng = np.random.default_rng(seed)
    region = region & phantom.valid
    outside = ndi.distance_transform_edt(~region).astype(_F32)
    level = np.where(region, -1.0, outside).astype(_F32)
    fade = np.clip(level / 2.0, 0.0, 1.0)
    black = _F32(rng.uniform(2.0, 10.0))
    dark = black + np.abs(rng.standard_normal(level.shape, dtype=_F32)) * _F32(1.5)
    image = phantom.image.astype(_F32)
    image = np.where(region, dark, image * (0.4 + 0.6 * fade) + dark * (1 - fade) * 0.4)
    image = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    image[~phantom.valid] = 0
    labels = phantom.artifact_labels.copy()
    labels[region] = ARTIFACT_CODES["no_contact"]
    uninformative = labels > 0
    for a in (image, labels, uninformative):
        a.setflags(write=False)
    return dataclasses.replace(phantom, image=image, artifact_labels=labels, uninformative=uninformative)


def gate_phantom(*, seed: int, where: str, size_px: int = 1024, pixel_spacing_um: float = 2.0,
                 fraction: float = 0.5) -> Phantom:
    """A clean phantom with one large area without contact, for testing the quality gate:
    `where="lesion"` covers about `fraction` of the imaged lesion (a disc at its centre);
    `where="outside_lesion"` covers about `fraction` of the imaged area outside the lesion, kept
    at least 60 µm away from it (the part farthest from the lesion). Raises ValueError when the
    seed's lesion leaves no room for the scenario."""
    phantom = generate_phantom(seed=seed, size_px=size_px, pixel_spacing_um=pixel_spacing_um, artifact_fraction=(0.0, 0.0))
    lesion = phantom.lesion_mosaic & phantom.valid
    if where == "lesion":
        if np.count_nonzero(lesion) < 0.05 * lesion.size:
            raise ValueError(f"seed {seed}: too little of the lesion is imaged")
        inside = ndi.distance_transform_edt(lesion)
        threshold = np.quantile(inside[lesion], 1.0 - fraction)  # the deepest `fraction` of the lesion
        region = lesion & (inside >= threshold)
    elif where == "outside_lesion":
        away = ndi.distance_transform_edt(~phantom.lesion_mosaic) * pixel_spacing_um
        room = phantom.valid & (away >= 60.0)
        if np.count_nonzero(room) < 0.1 * np.count_nonzero(phantom.valid):
            raise ValueError(f"seed {seed}: the lesion leaves too little room outside it")
        threshold = np.quantile(away[room], 1.0 - min(1.0, fraction * np.count_nonzero(phantom.valid & ~phantom.lesion_mosaic) / np.count_nonzero(room)))
        region = room & (away >= threshold)
    else:
        raise ValueError("where must be 'lesion' or 'outside_lesion'")
    return with_no_contact(phantom, region, seed=seed)


def mask_polygon(mask: np.ndarray, *, points: int = 180) -> list[list[float]]:
    """A star-shaped region traced as a person would: the farthest mask pixel along each of
    `points` rays from the region's centroid, as [x, y] pixel coordinates."""
    ys, xs = np.nonzero(mask)
    cy, cx = ys.mean(), xs.mean()
    radii = np.arange(0.0, float(np.hypot(*mask.shape)), 0.5)
    outline = []
    for angle in np.linspace(0.0, 2 * math.pi, points, endpoint=False):
        x, y = cx + radii * math.cos(angle), cy + radii * math.sin(angle)
        inside = (x >= 0) & (y >= 0) & (x <= mask.shape[1] - 1) & (y <= mask.shape[0] - 1)
        hits = np.zeros_like(inside)
        hits[inside] = mask[np.rint(y[inside]).astype(int), np.rint(x[inside]).astype(int)]
        last = int(np.flatnonzero(hits)[-1]) if hits.any() else 0
        outline.append([round(float(x[last]), 2), round(float(y[last]), 2)])
    return outline


def lesion_polygon(phantom: Phantom, *, points: int = 180) -> list[list[float]]:
    """The dermoscopy lesion's outline in dermoscopy pixels (the phantom lesions are star-shaped)."""
    return mask_polygon(phantom.lesion_dermoscopy, points=points)


def png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def jpeg_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array, "RGB").save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def write_dataset(
    *,
    out_dir: Path,
    seeds: range | list[int],
    size_px: int = 1024,
    pixel_spacing_um: float = 2.0,
) -> dict:
    """Generate one phantom per seed and write the dataset folder; return (and write) the manifest."""
    out_dir = Path(out_dir)
    folders = ("images", "masks", "valid", "labels", "lesion", "lesion_dermoscopy", "dermoscopy")
    for name in folders:
        (out_dir / name).mkdir(parents=True, exist_ok=True)
    entries = []
    for seed in seeds:
        p = generate_phantom(seed=int(seed), size_px=size_px, pixel_spacing_um=pixel_spacing_um)
        stem = f"phantom_{int(seed):05d}"
        blobs = {
            f"images/{stem}.png": png_bytes(p.image),
            f"masks/{stem}.png": png_bytes(p.uninformative.astype(np.uint8) * 255),
            f"valid/{stem}.png": png_bytes(p.valid.astype(np.uint8) * 255),
            f"labels/{stem}.png": png_bytes(p.artifact_labels),
            f"lesion/{stem}.png": png_bytes(p.lesion_mosaic.astype(np.uint8) * 255),
            f"lesion_dermoscopy/{stem}.png": png_bytes(p.lesion_dermoscopy.astype(np.uint8) * 255),
            f"dermoscopy/{stem}.jpg": jpeg_bytes(p.dermoscopy),
        }
        files = {}
        for rel, data in blobs.items():
            (out_dir / rel).write_bytes(data)
            files[rel] = hashlib.sha256(data).hexdigest()
        lesional = p.lesional_uninformative_fraction
        entries.append({
            "name": f"{stem}.png",
            "seed": int(seed),
            "size_px": [int(p.image.shape[1]), int(p.image.shape[0])],
            "pixel_spacing_um": p.pixel_spacing_um,
            "dermoscopy_size_px": [DERMOSCOPY_HW[1], DERMOSCOPY_HW[0]],
            "registration": p.registration.tolist(),
            "uninformative_percent": round(100.0 * p.uninformative_fraction, 4),
            "lesional_uninformative_percent": None if lesional is None else round(100.0 * lesional, 4),
            "valid_percent": round(100.0 * float(p.valid.mean()), 4),
            "lesion_percent_of_valid": round(100.0 * _fraction(p.lesion_mosaic, p.valid), 4),
            "artifact_types": p.artifact_types,
            "sha256": files,
        })
    manifest = {
        "generator": "inference.phantoms",
        "generator_version": PHANTOM_VERSION,
        "synthetic": True,
        "note": "Synthetic RCM phantoms (see inference/phantoms.py); models trained on them are demonstrations.",
        "reference": "Kose K et al. J Invest Dermatol 2020;140(6):1214-1222, doi:10.1016/j.jid.2019.10.018 (MED-Net)",
        "artifact_codes": {str(k): v for k, v in ARTIFACT_NAMES.items()},
        "registration_convention": (
            "3x3 matrix: dermoscopy pixel (x, y, 1) -> mosaic pixel (x, y, 1); pixel centres at integers"
        ),
        "images": entries,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
