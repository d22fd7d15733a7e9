"""Where things are: the mosaic's tile grid and imaged area, its registration onto the dermoscopy
image, and the lesion's shape.

Mosaic and tile grid. The mosaic is `size_px` x `size_px` pixels of `pixel_spacing_um` µm.
It is stitched from 0.5 mm x 0.5 mm fields of view: tiles of 500 / pixel_spacing_um pixels
(250 at 2 µm; the last row and column of tiles may be cut). About 45 % of mosaics of three or
more tiles a side are not rectangular: 1-3 corners lose a staircase of whole tiles, sometimes the
last tile row ends early, and the outer border is ragged by 0-6 pixels per tile row/column
(stitching offsets); at least 60 % of the area stays imaged. `valid` is False outside the imaged
area.

Registration. The dermoscopy image is DERMOSCOPY_HW (450 x 600) pixels and the mosaic covers the
central 30-45 % of its width; the registration is the 3x3 similarity transform (rotation within
±8°, uniform scale) taking a dermoscopy pixel (x, y, 1) to mosaic pixel coordinates. The lesion is
an analytic shape in dermoscopy coordinates, rho(x, y) = |p - c| / r(theta) <= 1 (r tabulated at
65536 angles), so it can be evaluated exactly at the pixel centres of either image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TILE_UM = 500.0  # side of one RCM field of view
DERMOSCOPY_HW = (450, 600)  # rows, columns


@dataclass(frozen=True)
class Lesion:
    """Star-shaped lesion in dermoscopy pixels: rho(x, y) = |p - c| / r(theta), inside where rho <= 1."""

    cx: float
    cy: float
    radius_table: np.ndarray  # r(theta) sampled at 65536 angles over [-pi, pi)

    def rho(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dx = (x - np.float32(self.cx)).astype(np.float32)
        dy = (y - np.float32(self.cy)).astype(np.float32)
        n = self.radius_table.size
        idx = ((np.arctan2(dy, dx) + np.float32(math.pi)) * np.float32(n / (2 * math.pi))).astype(np.int32)
        np.clip(idx, 0, n - 1, out=idx)
        return np.sqrt(dx * dx + dy * dy) / self.radius_table[idx]


def make_lesion(rng: np.random.Generator, centre: tuple[float, float], half_width: float) -> Lesion:
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
    return Lesion(cx=float(cx), cy=float(cy), radius_table=(r0 * r).astype(np.float32))


def similarity_registration(rng: np.random.Generator, size: int) -> tuple[np.ndarray, tuple[float, float], float]:
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


def tile_edges(n: int, tile: float) -> np.ndarray:
    edges = np.round(np.arange(0, n / tile + 1) * tile).astype(int)
    edges = np.unique(np.clip(edges, 0, n))
    if edges[-1] != n:
        edges = np.append(edges, n)
    return edges


def valid_mask(rng: np.random.Generator, size: int, edges: np.ndarray) -> np.ndarray:
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
