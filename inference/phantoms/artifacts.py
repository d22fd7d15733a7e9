"""The seven artifact types of MED-Net (Kose et al. 2020), each drawn with its exact mask.

Each public function draws one artifact's geometry from the planner's generator and hands the
planner its mask (`ArtifactPlanner.add`, which may drop it) with a `paint(image, rng, labels)` that
changes the pixels later, in the planner's paint order. Each mask is the exact set of pixels the
rule below names, and there the tissue texture is destroyed or hidden:

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
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage as ndi

from .fields import noise1d, smooth2d, smoothstep
from .geometry import TILE_UM

if TYPE_CHECKING:
    from .planner import ArtifactPlanner

MIN_PARTICLE_UM = 20.0  # particulates at least this wide (equivalent diameter) are masked
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
    y = (np.arange(sl[0].start, sl[0].stop, dtype=np.float32) - np.float32(cy))[:, None]
    x = (np.arange(sl[1].start, sl[1].stop, dtype=np.float32) - np.float32(cx))[None, :]
    return y, x


def _blob_region(planner: ArtifactPlanner, area: float, rough: float):
    """Irregular smooth region of about `area` pixels: level f > 0 inside, rising to the core."""
    rng = planner.rng
    radius = max(4.0, math.sqrt(area / math.pi))
    aspect = rng.uniform(0.6, 1.0)
    a, b = radius / math.sqrt(aspect), radius * math.sqrt(aspect)
    cy, cx = planner.point()
    if rng.random() < 0.35:  # often at the mosaic border, where tissue curves away
        side = rng.integers(4)
        cy = [0.0, float(planner.n), cy, cy][side]
        cx = [cx, cx, 0.0, float(planner.n)][side]
        a, b = a * 1.4, b * 1.4
    sl = _box(cy, cx, 2.2 * a, 2.2 * a, planner.n)
    if sl is None:
        return None
    y, x = _grid(sl, cy, cx)
    phi = rng.uniform(0, math.pi)
    c, s = np.float32(math.cos(phi)), np.float32(math.sin(phi))
    u, v = (x * c + y * s) / np.float32(a), (y * c - x * s) / np.float32(b)
    h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
    f = 1.0 - np.sqrt(u * u + v * v) + rough * smooth2d(rng, h, w, 0.35 * radius)
    f += rough * 0.3 * smooth2d(rng, h, w, max(3.0, 0.08 * radius))
    return sl, f.astype(np.float32)


def under_illumination(planner: ArtifactPlanner, area: float) -> None:
    got = _blob_region(planner, area, planner.rng.uniform(0.15, 0.4))
    if got is None:
        return
    sl, f = got
    depth = np.float32(planner.rng.uniform(0.25, 0.5))

    def paint(img, rng, labels):
        gain = np.where(
            f >= 0, 0.15 * np.exp(-f * (3.0 / depth)), 0.15 + 0.85 * smoothstep(-f / depth)
        ).astype(np.float32)
        floor = np.abs(rng.standard_normal(f.shape, dtype=np.float32)) * np.float32(2.5) + np.float32(1.0)
        out = img[sl] * gain + floor * (1.0 - np.minimum(gain, 1.0))
        img[sl] = np.where(_other_illumination(labels[sl], 4) & (f < 0), img[sl], out)

    planner.add(4, sl, f >= 0, paint)


def saturation(planner: ArtifactPlanner, area: float) -> None:
    got = _blob_region(planner, area, planner.rng.uniform(0.1, 0.3))
    if got is None:
        return
    sl, f = got
    width = np.float32(planner.rng.uniform(0.15, 0.35))
    # Threshold where the median tissue pixel of the box just clips: I (1 + 3 s) + 400 s = 255.
    sample = planner.image[sl][::3, ::3][planner.valid[sl][::3, ::3]]
    m = float(np.median(sample)) if sample.size else 60.0
    s0 = np.float32(np.clip((255.0 - m) / (3.0 * m + 400.0), 0.05, 0.95))
    s = np.clip(s0 + f / (2 * width), 0.0, 1.0).astype(np.float32)

    def paint(img, rng, labels):
        out = np.minimum(img[sl] * (1.0 + 3.0 * s) + 400.0 * s, 255.0)
        img[sl] = np.where(_other_illumination(labels[sl], 5) & (s < s0), img[sl], out)

    planner.add(5, sl, s >= s0, paint)


def _curve(planner: ArtifactPlanner, sl, py, px, phi, length, amp):
    """Signed distance (px) to a gently bent line through (py, px) at angle phi, and position along it.

    The line is v = bend(u) in coordinates (u along phi, v across), bend a sum of two sines with
    slope below 0.7; the distance is (v - bend(u)) / sqrt(1 + bend'(u)²), tabulated every 1/4 px.
    """
    rng = planner.rng
    y, x = _grid(sl, py, px)
    c, s = np.float32(math.cos(phi)), np.float32(math.sin(phi))
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
    dist = (v - bend.astype(np.float32)[idx]) * (1.0 / np.sqrt(1.0 + slope**2)).astype(np.float32)[idx]
    return dist, u, idx, t


def hair(planner: ArtifactPlanner) -> None:
    rng, n, um = planner.rng, planner.n, planner.um
    py, px = planner.point()
    phi = rng.uniform(0, math.pi)
    width = rng.uniform(50.0, 100.0) / um
    edge = rng.uniform(3.0, 6.0) / um if rng.random() < 0.5 else 0.0
    length = 1.6 * n
    sl = (slice(0, n), slice(0, n))
    dist, u, idx, t = _curve(planner, sl, py, px, phi, length, rng.uniform(0.03, 0.1) * n)
    half = np.float32(width / 2)
    total = half + np.float32(edge)
    mask = np.abs(dist) <= total
    rows = np.flatnonzero(np.abs(dist).min(axis=1) <= total + 3)
    cols = np.flatnonzero(np.abs(dist).min(axis=0) <= total + 3)
    if rows.size == 0 or cols.size == 0:
        return
    box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
    dist, mask = dist[box], mask[box]
    dark = np.float32(rng.uniform(8.0, 35.0))
    edge_level = np.float32(rng.uniform(150.0, 230.0))

    def paint(img, rng, labels):
        a = np.abs(dist) / half
        # Out-of-focus shaft: darker core, faint longitudinal streaks, grain.
        streaks = np.interp(a, np.linspace(0, 1, 24), rng.uniform(0.75, 1.25, 24)).astype(np.float32)
        grain = rng.standard_normal(dist.shape, dtype=np.float32)
        body = dark * (1.0 + 0.5 * a * a) * streaks * (1.0 + 0.2 * grain) + 2.0
        shade = np.clip((np.abs(dist) - total) / 2.0, 0.0, 1.0)  # 2-px soft shadow outside
        out = np.where(np.abs(dist) <= half, body, edge_level if edge else body)
        img[box] = np.where(mask, out, img[box] * (0.5 + 0.5 * shade))

    planner.add(3, box, mask, paint)


def no_contact(planner: ArtifactPlanner, area: float) -> None:
    rng, n = planner.rng, planner.n
    if rng.random() < 0.6:  # along a wrinkle
        py, px = planner.point()
        phi = rng.uniform(0, math.pi)
        length = rng.uniform(0.5, 1.5) * n
        w0 = float(np.clip(area / (2 * length * 0.8), 8.0 / planner.um, 60.0 / planner.um))
        reach = length / 2 + 0.3 * n + 2 * w0
        sl = _box(py, px, reach, reach, n)
        if sl is None:
            return
        dist, u, idx, t = _curve(planner, sl, py, px, phi, length, rng.uniform(0.03, 0.12) * n)
        taper = smoothstep((length / 2 - np.abs(t)) / (0.25 * length))
        wid = w0 * np.clip(1.0 + 0.4 * noise1d(rng, t.size, 0.1 * length * 4), 0.3, 1.6) * taper
        wid += w0 * 0.08 * noise1d(rng, t.size, max(12.0, 0.5 * w0 * 4)) * taper
        level = np.abs(dist) - wid.astype(np.float32)[idx]
    else:  # along one side of the mosaic
        side = rng.integers(4)
        w0 = max(3.0, area / n)
        depth = int(min(n, 2.5 * w0 + 4))
        along = w0 * np.clip(1.0 + 0.5 * noise1d(rng, n, 0.15 * n), 0.1, 2.5)
        along += w0 * 0.1 * noise1d(rng, n, max(3.0, 0.5 * w0))
        d = np.arange(depth, dtype=np.float32)[:, None]
        level = d - along.astype(np.float32)[None, :]  # rows: distance from the side
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
    black = np.float32(rng.uniform(2.0, 10.0))

    def paint(img, rng, labels):
        fade = np.clip(level / 2.0, 0.0, 1.0)
        dark = black + np.abs(rng.standard_normal(level.shape, dtype=np.float32)) * np.float32(1.5)
        img[sl] = np.where(mask, dark, img[sl] * (0.4 + 0.6 * fade) + dark * (1 - fade) * 0.4)

    planner.add(6, sl, mask, paint)


def bubbles(planner: ArtifactPlanner, area: float) -> None:
    rng, um = planner.rng, planner.um
    count = int(rng.integers(1, 6))
    cy, cx = planner.point()
    spread = math.sqrt(area / math.pi) * 1.5
    sizes = rng.dirichlet(np.ones(count)) * area
    for k in range(count):
        r = min(250.0 / um, max(25.0 / um, math.sqrt(sizes[k] / math.pi)))
        aspect = rng.uniform(0.7, 1.0)
        a, b = r / math.sqrt(aspect), r * math.sqrt(aspect)
        by = cy + (rng.normal(0, spread * 0.4) if k else 0.0)
        bx = cx + (rng.normal(0, spread * 0.4) if k else 0.0)
        rim = max(1.0, rng.uniform(2.0, 5.0) / um)
        sl = _box(by, bx, a + rim + 3, a + rim + 3, planner.n)
        if sl is None:
            continue
        y, x = _grid(sl, by, bx)
        phi = rng.uniform(0, math.pi)
        c, s = np.float32(math.cos(phi)), np.float32(math.sin(phi))
        u, v = (x * c + y * s) / np.float32(a), (y * c - x * s) / np.float32(b)
        rho = np.sqrt(u * u + v * v)
        dr = (rho - 1.0) * np.float32(b)  # ~ pixels from the edge
        mask = dr <= rim
        planner.add(1, sl, mask, _bubble_painter(planner, sl, rho, dr, rim, mask, phi))


def _bubble_painter(planner: ArtifactPlanner, sl, rho, dr, rim, mask, phi):
    rng = planner.rng
    level = np.float32(rng.uniform(12.0, 45.0))
    grad = np.float32(rng.uniform(-0.5, 0.5))
    rim_level = np.float32(rng.uniform(170.0, 255.0))
    sigma = 8.0 / planner.um

    def paint(img, rng, labels):
        region = img[sl]
        blurred = ndi.gaussian_filter(region, sigma, mode="nearest")
        h, w = region.shape
        ramp = np.linspace(-1, 1, w, dtype=np.float32)[None, :] * math.cos(phi) + np.linspace(
            -1, 1, h, dtype=np.float32
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


def particulates(planner: ArtifactPlanner, area: float, max_um: float = 45.0) -> None:
    rng, um = planner.rng, planner.um
    cy, cx = planner.point()
    count = int(rng.integers(3, 30))
    spread = max(20.0, math.sqrt(max(area, 400.0)) * 1.5)
    for _ in range(count):
        d_um = math.exp(rng.uniform(math.log(3.0), math.log(max_um)))
        r = max(0.8, d_um / um / 2)
        py, px = cy + rng.normal(0, spread), cx + rng.normal(0, spread)
        sl = _box(py, px, 1.7 * r + 2, 1.7 * r + 2, planner.n)
        if sl is None:
            continue
        y, x = _grid(sl, py, px)
        theta = np.arctan2(y, x)
        rad = np.full(theta.shape, r, np.float32)
        for k, most in ((2, 0.3), (3, 0.15), (4, 0.08)):
            rad = rad * (1.0 + np.float32(rng.uniform(0, most)) * np.cos(k * theta + np.float32(rng.uniform(0, 6.3))))
        edge = np.sqrt(x * x + y * y) - rad  # px outside the blob
        blob = edge <= 0
        masked = 2.0 * math.sqrt(np.count_nonzero(blob) / math.pi) * um >= MIN_PARTICLE_UM
        bright = rng.random() < 0.55
        value = np.float32(rng.uniform(190.0, 255.0) if bright else rng.uniform(3.0, 25.0))

        def paint(img, rng, labels, sl=sl, edge=edge, value=value):
            alpha = np.clip(0.5 - edge, 0.0, 1.0)  # one-pixel soft edge
            noise = rng.standard_normal(edge.shape, dtype=np.float32) * np.float32(4.0)
            img[sl] = img[sl] * (1.0 - alpha) + (value + noise) * alpha

        if masked:
            planner.add(2, sl, blob, paint)
        else:
            planner.add_unmasked(sl, np.zeros_like(blob), paint)


def motion(planner: ArtifactPlanner, area: float) -> None:
    rng, um, e = planner.rng, planner.um, planner.edges
    nt = len(e) - 1
    tile_area = (TILE_UM / um) ** 2
    tiles = int(np.clip(round(area / tile_area), 1, nt))
    cy, cx = planner.point()
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
        acc = np.zeros(mask.shape, np.float32)
        h, w = mask.shape
        for sy, sx in shifts:
            acc += big[pad + sy : pad + sy + h, pad + sx : pad + sx + w]
        img[sl] = acc * np.float32(rng.uniform(0.9, 1.1) / len(shifts))

    planner.add(7, sl, mask, paint)
