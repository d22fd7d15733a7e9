"""Phantom family "honeycomb": RCM mosaics of the spinous/granular epidermis with exact artifact masks.

Written independently of the other families (see the package docstring): the tissue, the acquisition
model and every artifact rendering here are this family's own, so a model trained on the others is
measured on textures it has not seen. Tissue and acquisition helpers live in `honeycomb_parts`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from inference.phantoms.families import ARTIFACT_CODES, FamilyPhantom
from inference.phantoms.families import honeycomb_parts as parts

NAME = "honeycomb"
DESCRIPTION = (
    "Epidermis at the spinous and granular layers: a Voronoi-like honeycomb of dark nuclei and grainy "
    "cytoplasm framed by bright membranes, with cell diameters of 10-25 um, varying membrane thickness and "
    "brightness, patches of disarranged (atypical) honeycomb, bright branching dendritic cells and, in some "
    "mosaics, dark furrows and bright stratum-corneum islands. "
    "It is imaged as a mosaic of 500 um tiles (an irregular union, sometimes an L or a plus) with "
    "cosine-power vignetting, resonant-scanner banding, scan-line jitter, slightly rotated tiles at the "
    "seams and Poisson shot noise at a varying photon level. "
    "Artifacts (air bubbles, particulates, hair, under-illumination, saturation, no skin contact, motion) "
    "each come in two or three renderings with exact masks, at a per-mosaic target fraction of 0-45%, "
    "and a share of the mosaics are clean, including bright, membrane-dense honeycomb with no artifact."
)

_SALT = 0x4E7C0B  # this family's own stream, independent of any other family drawing from the same seed
_MARGIN = 40  # canvas border (px) so that rotated tiles and jitter never sample outside the tissue
# Mosaic kinds: name -> (probability, target uninformative fraction range); "dense" = clean, bright, small cells.
_KINDS = {"dense": (0.14, (0.0, 0.0)), "clean": (0.10, (0.0, 0.0)), "light": (0.36, (0.005, 0.10)),
          "moderate": (0.24, (0.10, 0.25)), "heavy": (0.16, (0.25, 0.45))}


@dataclass
class _Scene:
    """Everything an artifact painter may change: reflectance, additive glare, gain (all in image pixels)."""

    rng: np.random.Generator
    size: int
    um: float
    lay: parts.Layout
    acq: parts.Acquisition
    canvas: np.ndarray
    refl: np.ndarray
    add: np.ndarray
    cell_px: float

    def point(self) -> tuple[float, float]:
        """A random position inside the imaged area."""
        for _ in range(200):
            y, x = self.rng.uniform(0, self.size, 2)
            if self.lay.valid[int(y), int(x)]:
                return float(y), float(x)
        y, x = np.argwhere(self.lay.valid)[0]
        return float(y), float(x)

    def tile(self) -> tuple[int, int]:
        """A random imaged tile (grid indices)."""
        cand = [(int(i), int(j)) for i, j in np.argwhere(self.lay.grid)
                if self.lay.valid[self.lay.tile_box(i, j, self.size)].any()]
        return cand[self.rng.integers(len(cand))]

    def ellipse(self, cy: float, cx: float, a: float, b: float, ang: float, ext: float = 1.0,
                warp: float = 0.0) -> tuple[tuple[slice, slice], np.ndarray] | None:
        """Normalised elliptic radius (1 on the outline, optionally noise-warped) over its bounding box."""
        r = max(a, b) * ext * (1 + 2 * warp) + 2
        y0, y1 = max(int(cy - r), 0), min(int(cy + r) + 1, self.size)
        x0, x1 = max(int(cx - r), 0), min(int(cx + r) + 1, self.size)
        if y1 <= y0 or x1 <= x0:
            return None
        yy = (np.arange(y0, y1, dtype=np.float32) - cy)[:, None]
        xx = (np.arange(x0, x1, dtype=np.float32) - cx)[None, :]
        u, v = xx * np.cos(ang) + yy * np.sin(ang), -xx * np.sin(ang) + yy * np.cos(ang)
        rho = np.sqrt((u / max(a, 0.5)) ** 2 + (v / max(b, 0.5)) ** 2)
        if warp:
            rho = rho * (1 + warp * parts.LowNoise(self.rng, rho.shape, max(a, b) / 1.5).full())
        return (slice(y0, y1), slice(x0, x1)), rho

    def attenuate(self, sl, factor: np.ndarray) -> None:
        """Dim tissue and glare alike (an occluder in front of everything)."""
        self.refl[sl] *= factor
        self.add[sl] *= factor

    def replace(self, sl, mask: np.ndarray, values: np.ndarray) -> None:
        """Put `values` where `mask`, removing glare there (the new layer hides what was below)."""
        self.refl[sl] = np.where(mask, values, self.refl[sl])
        self.add[sl] = np.where(mask, 0, self.add[sl])


Marks = list[tuple[tuple[slice, slice], np.ndarray]]


def _air_bubble(sc: _Scene, budget: float) -> Marks:
    """Dark discs/ellipses, single, in a chain or a cluster, with or without a bright refractive rim."""
    rng, out = sc.rng, []
    kind, rim = rng.choice(["single", "chain", "cluster"]), rng.random() < 0.65
    cy, cx = sc.point()
    if kind == "single":
        q = rng.uniform(1.0, 1.7)
        a = min(np.sqrt(budget * q / np.pi), 0.45 * sc.size)
        discs = [(cy, cx, a, a / q, rng.uniform(0, np.pi))]
    else:
        n = int(rng.integers(3, 10)) if kind == "chain" else int(rng.integers(4, 15))
        rad = rng.lognormal(0, 0.35, n)
        rad *= np.sqrt(budget / (np.pi * np.sum(rad ** 2)))
        discs, th = [], rng.uniform(0, 2 * np.pi)
        spread = np.sqrt(budget / np.pi) * 1.3
        for k in range(n):
            if kind == "chain" and k:
                th += rng.normal(0, 0.35)
                step = (rad[k - 1] + rad[k]) * rng.uniform(0.85, 1.1)
                cy, cx = cy + step * np.sin(th), cx + step * np.cos(th)
            pos = (cy, cx) if kind == "chain" else (cy + rng.normal(0, spread / 2), cx + rng.normal(0, spread / 2))
            discs.append((*pos, rad[k], rad[k] * rng.uniform(0.85, 1.0), rng.uniform(0, np.pi)))
    dark, rim_b, rim_w = rng.uniform(0.01, 0.05), rng.uniform(0.6, 1.1), rng.uniform(2.0, 5.0) / sc.um
    for y, x, a, b, ang in discs:
        e = sc.ellipse(y, x, a, b, ang)
        if e is None:
            continue
        sl, rho = e
        inside = rho < 1
        val = np.full(rho.shape, dark, np.float32) * (1 + 0.3 * (1 - rho))
        if rim and a > 3 * rim_w:  # a rim only where the bubble is large enough to show one
            w = min(rim_w / a, 0.25)
            val = np.maximum(val, rim_b * np.exp(-(((rho - 1 + w / 2) / (w / 2)) ** 2)))
        sc.replace(sl, inside, val)
        out.append((sl, inside))
    return out


def _particulate(sc: _Scene, budget: float) -> Marks:
    """Dense bright dots (2-6 um) over darkened tissue, or a scatter of bright debris flakes."""
    rng, um = sc.rng, sc.um
    if rng.random() < 0.55:
        cy, cx = sc.point()
        q = rng.uniform(1.0, 2.0)
        a = min(np.sqrt(budget * q / np.pi), 0.45 * sc.size)
        e = sc.ellipse(cy, cx, a, a / q, rng.uniform(0, np.pi), ext=1.3, warp=0.25)
        if e is None:
            return []
        sl, rho = e
        inside = rho < 1
        sc.attenuate(sl, 1 - (1 - rng.uniform(0.15, 0.4)) * (1 - parts.smoothstep(0.9, 1.15, rho)))
        spacing = rng.uniform(3.0, 6.0) / um
        n = int(inside.sum() / spacing ** 2)
        dots = np.zeros(rho.shape, np.float32)
        for diam in (rng.uniform(2.0, 3.5), rng.uniform(3.5, 6.0)):  # two dot sizes, one blur each
            sig = max(diam / um / 2.5, 0.5)
            yy, xx = rng.integers(0, rho.shape[0], n // 2), rng.integers(0, rho.shape[1], n // 2)
            ok = inside[yy, xx]
            acc = np.zeros(rho.shape, np.float32)
            np.add.at(acc, (yy[ok], xx[ok]), rng.uniform(0.7, 1.5, ok.sum()) * 2 * np.pi * sig * sig)
            dots += ndi.gaussian_filter(acc, sig)
        sc.refl[sl] += np.minimum(dots, 1.8)
        return [(sl, inside)]
    out, r0 = [], rng.uniform(8.0, 30.0) / um  # flakes: many small, bright, angular, opaque plates
    n = int(np.clip(budget / (np.pi * r0 * r0), 2, 80))
    r0 = np.sqrt(budget / n / np.pi)
    cy, cx = sc.point()
    spread = np.sqrt(budget / np.pi) * rng.uniform(1.5, 3.0)
    for _ in range(n):
        y, x, r = cy + rng.normal(0, spread / 2), cx + rng.normal(0, spread / 2), r0 * rng.uniform(0.6, 1.3)
        e = sc.ellipse(y, x, r, r * rng.uniform(0.4, 1.0), rng.uniform(0, np.pi), ext=1.6)
        if e is None:
            continue
        sl, rho = e
        yy = np.arange(sl[0].start, sl[0].stop)[:, None] - y
        th = np.arctan2(yy, np.arange(sl[1].start, sl[1].stop)[None, :] - x)
        edge = 1 + sum(rng.uniform(0.1, 0.6) / k * np.abs(np.cos(k * th + rng.uniform(0, 6.3))) for k in range(2, 6))
        inside = rho < edge / 1.2
        val = rng.uniform(1.2, 2.0) * np.clip(1 + 0.15 * parts.fine_noise(rng, rho.shape, 1.0), 0.6, 1.4)
        sc.replace(sl, inside, val)
        out.append((sl, inside))
    return out


def _hair(sc: _Scene, budget: float) -> Marks:
    """Dark curved strands with soft shadows: one thick, several thin, or one with a bright shaft line."""
    rng, out = sc.rng, []
    kind = rng.choice(["thick", "several", "specular"])
    n = int(rng.integers(2, 5)) if kind == "several" else 1
    length = 1.2 * np.sqrt(sc.lay.valid.sum())
    lo, hi = ((15.0, 45.0) if kind != "several" else (5.0, 15.0))
    for _ in range(n):
        w0 = float(np.clip(budget / n / (2 * length), lo / sc.um, hi / sc.um))
        d, u = parts.curve_distance(rng, (sc.size, sc.size), sc.point())
        taper = np.float32(1.0)
        if kind == "several" and rng.random() < 0.5:  # a hair tip ends inside the field, tapering
            taper = np.sqrt(np.clip((rng.uniform(-0.3, 0.3) * sc.size - u) / (8 * w0), 0, 1))
        w = w0 * taper
        core = d < w
        if not core.any():
            continue
        s = w0 * rng.uniform(0.6, 1.5)
        shade = 1 - rng.uniform(0.35, 0.6) * taper * np.exp(-((np.maximum(d - w, 0) / s) ** 2))
        kc = rng.uniform(0.04, 0.15)
        att = kc + (shade - kc) * parts.smoothstep(-1.0, 1.0, d - w)
        full = (slice(None), slice(None))
        sc.attenuate(full, att.astype(np.float32))
        if kind == "specular":
            sc.refl[:] = np.maximum(sc.refl, rng.uniform(0.5, 0.9) * np.exp(-((d / (0.15 * w)) ** 2)) * core)
        out.append((full, core))
    return out


def _under_illumination(sc: _Scene, budget: float) -> Marks:
    """A whole dim tile, a dark vignetted patch, or the edge of a tile falling into darkness."""
    rng, t = sc.rng, sc.lay.tile
    kinds = ["patch", "edge"] + (["tile"] if budget > 0.5 * t * t else [])
    kind = rng.choice(kinds)
    if kind == "patch":
        cy, cx = sc.point()
        q = rng.uniform(1.0, 1.8)
        a = min(np.sqrt(budget * q / np.pi), 0.45 * sc.size)
        e = sc.ellipse(cy, cx, a, a / q, rng.uniform(0, np.pi), ext=2.2, warp=0.2)
        if e is None:
            return []
        sl, rho = e
        sc.attenuate(sl, (1 - rng.uniform(0.9, 0.97) * np.exp(-((rho / 1.35) ** 4))).astype(np.float32))
        return [(sl, rho < 1)]
    i, j = sc.tile()
    sl = sc.lay.tile_box(i, j, sc.size)
    if kind == "tile":
        sc.attenuate(sl, np.float32(rng.uniform(0.05, 0.18)))
        return [(sl, np.ones((sl[0].stop - sl[0].start, sl[1].stop - sl[1].start), bool))]
    depth = min(budget / t, 0.33 * t)
    y0, x0 = sc.lay.off[0] + i * t, sc.lay.off[1] + j * t
    ly = np.arange(sl[0].start, sl[0].stop)[:, None] - y0
    lx = np.arange(sl[1].start, sl[1].stop)[None, :] - x0
    side = rng.integers(4)
    dist = np.broadcast_to([ly, t - 1 - ly, lx, t - 1 - lx][side], (len(ly), lx.shape[1])).astype(np.float32)
    sc.attenuate(sl, (0.05 + 0.95 * parts.smoothstep(0.0, 3 * depth, dist)).astype(np.float32))
    return [(sl, dist < depth)]


def _saturation(sc: _Scene, budget: float) -> Marks:
    """Washed-out glare clipped at 255: a stratum-corneum reflection, a specular streak or glints."""
    rng, out = sc.rng, []
    kind = rng.choice(["blob", "streak", "glints"])
    n = int(rng.integers(3, 9)) if kind == "glints" else 1
    cy, cx = sc.point()
    for _ in range(n):
        q = rng.uniform(1.0, 1.8) if kind != "streak" else rng.uniform(4.0, 10.0)
        a = min(np.sqrt(budget / n * q / np.pi), 0.6 * sc.size)
        y, x = (cy, cx) if n == 1 else (cy + rng.normal(0, 3 * a), cx + rng.normal(0, 3 * a))
        e = sc.ellipse(y, x, a, a / q, rng.uniform(0, np.pi), ext=2.0, warp=0.25 if kind != "streak" else 0.08)
        if e is None:
            continue
        sl, rho = e
        inside = rho < 1
        core, halo, reach = rng.uniform(4.0, 6.0), rng.uniform(0.15, 0.5), rng.uniform(0.12, 0.35)
        glare = np.where(inside, core, halo * np.exp(-(rho - 1) / reach))
        sc.add[sl] = np.maximum(sc.add[sl], glare.astype(np.float32))
        out.append((sl, inside))
    return out


def _no_contact(sc: _Scene, budget: float) -> Marks:
    """Uniform dark low-signal regions where the window lost the skin: at the border, inside, or whole tiles."""
    rng, t = sc.rng, sc.lay.tile
    level = rng.uniform(0.01, 0.05)
    kinds = ["border", "interior"] + (["tiles"] if budget > 0.6 * t * t else [])
    kind = rng.choice(kinds)
    if kind == "tiles":
        out, (i, j) = [], sc.tile()
        for _ in range(max(1, int(round(budget / (t * t))))):
            sl = sc.lay.tile_box(i, j, sc.size)
            m = np.ones((sl[0].stop - sl[0].start, sl[1].stop - sl[1].start), bool)
            sc.replace(sl, m, np.float32(level))
            out.append((sl, m))
            ny, nx = sc.lay.grid.shape
            nb = [(i + a, j + b) for a, b in ((0, 1), (1, 0), (0, -1), (-1, 0))
                  if 0 <= i + a < ny and 0 <= j + b < nx and sc.lay.grid[i + a, j + b]]
            if not nb:
                break
            i, j = nb[rng.integers(len(nb))]
        return out
    if kind == "border":
        edge = sc.lay.valid & ~ndi.binary_erosion(sc.lay.valid, border_value=0)
        yx = np.argwhere(edge)
        cy, cx = (float(v) for v in yx[rng.integers(len(yx))])
        area = 2 * budget
    else:
        (cy, cx), area = sc.point(), budget
    q = rng.uniform(1.0, 2.0)
    a = min(np.sqrt(area * q / np.pi), 0.6 * sc.size)
    e = sc.ellipse(cy, cx, a, a / q, rng.uniform(0, np.pi), ext=1.4, warp=0.3)
    if e is None:
        return []
    sl, rho = e
    inside = rho < 1
    alpha = 1 - parts.smoothstep(1.0, 1.0 + 3.0 / a, rho)
    val = level * np.clip(1 + 0.08 * parts.LowNoise(rng, rho.shape, a).full(), 0.7, 1.3)
    sc.refl[sl] = sc.refl[sl] * (1 - alpha) + val * alpha
    sc.add[sl] *= 1 - alpha
    return [(sl, inside)]


def _motion(sc: _Scene, budget: float) -> Marks:
    """A band of ghosted (duplicated, offset) honeycomb, a sheared smeared block, or torn scan lines."""
    rng, t = sc.rng, sc.lay.tile
    kind = rng.choice(["ghost", "shear", "tear"])
    i, j = sc.tile()
    k = max(1, min(int(np.ceil(budget / (0.9 * t * t))), sc.lay.grid.shape[1] - j))
    first, last = sc.lay.tile_box(i, j, sc.size), sc.lay.tile_box(i, j + k - 1, sc.size)
    cols = slice(first[1].start, last[1].stop)
    rows = first[0]
    h = int(np.clip(budget / max(cols.stop - cols.start, 1), 4, rows.stop - rows.start))
    y0 = int(rng.integers(rows.start, rows.stop - h + 1))
    sl = (slice(y0, y0 + h), cols)
    yl = np.arange(h, dtype=np.float32)[:, None]
    if kind == "ghost":
        d = rng.uniform(0.6, 2.5) * sc.cell_px
        th = rng.uniform(0, 2 * np.pi)
        dy, dx, beta = d * np.sin(th), d * np.cos(th), rng.uniform(0.35, 0.5)
        blur = sum(sc.acq.sample(sc.canvas, sl, f * dy * 0.3, f * dx * 0.3) for f in (0, 0.5, 1)) / 3
        new = (1 - beta) * blur + beta * sc.acq.sample(sc.canvas, sl, dy, dx)
    elif kind == "shear":
        slope, step = rng.choice([-1, 1]) * rng.uniform(0.4, 1.2), rng.uniform(1.5, 3.0)
        new = sum(sc.acq.sample(sc.canvas, sl, 0.0, slope * (yl - h / 2) + f * step) for f in range(5)) / 5
    else:
        rep = int(rng.integers(2, 4))
        dx = rng.normal(0, rng.uniform(1.0, 2.0) * sc.cell_px, (h, 1)).astype(np.float32)
        new = sc.acq.sample(sc.canvas, sl, -(yl % rep), np.repeat(dx[::rep], rep, 0)[:h])
    mask = np.ones(new.shape, bool)
    sc.replace(sl, mask, new)
    return [(sl, mask)]


_PAINTERS = {"air_bubble": _air_bubble, "particulate": _particulate, "hair": _hair,
             "under_illumination": _under_illumination, "saturation": _saturation, "no_contact": _no_contact,
             "motion": _motion}


def _paint(sc: _Scene, labels: np.ndarray, target: float) -> None:
    """Paint artifacts until about `target` of the imaged area is uninformative (last painted wins)."""
    rng, valid = sc.rng, sc.lay.valid
    area = float(valid.sum())
    if target <= 0 or area == 0:
        return
    n = 1 if target < 0.04 else int(rng.integers(1, 4)) if target < 0.15 else int(rng.integers(2, 6))
    names = list(rng.choice(list(_PAINTERS), size=n, replace=False))
    budgets = list(rng.dirichlet(np.full(n, 2.0)) * target * area)
    for _ in range(3):  # a couple of top-ups when overlaps or the mosaic's border ate the budget
        for name, budget in zip(names, budgets):
            for sl, m in _PAINTERS[name](sc, max(float(budget), 30.0)):
                labels[sl][m & valid[sl]] = ARTIFACT_CODES[name]
        missing = target * area - np.count_nonzero(labels)
        if missing < 0.3 * target * area:
            break
        names, budgets = [str(rng.choice(list(_PAINTERS)))], [missing]


def generate(*, seed: int, size_px: int = 1024, pixel_spacing_um: float = 2.0) -> FamilyPhantom:
    """One honeycomb mosaic (deterministic for `seed`) and its exact artifact masks."""
    rng = np.random.default_rng([int(seed), _SALT])
    size, um = int(size_px), float(pixel_spacing_um)
    names = list(_KINDS)  # drawn first, so that a seed is the same kind of mosaic at every size
    kind = names[rng.choice(len(names), p=[_KINDS[k][0] for k in names])]
    lo, hi = _KINDS[kind][1]
    if hi == 0:
        target = 0.0
    elif kind == "light":  # log-uniform: many mosaics with only a trace of artifact
        target = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    else:
        target = float(rng.uniform(lo, hi))
    lay = parts.tile_layout(rng, size, max(16, int(round(500.0 / um))))
    tp = parts.draw_tissue(rng, dense=kind == "dense")
    canvas = parts.tissue_canvas(rng, (size + 2 * _MARGIN, size + 2 * _MARGIN), tp, um)
    acq = parts.acquisition(rng, lay, size, _MARGIN)
    sc = _Scene(rng, size, um, lay, acq, canvas, acq.sample(canvas), np.zeros((size, size), np.float32),
                float(np.mean(tp.cell_um)) / um)
    seen = (sc.refl * acq.gain)[::4, ::4][lay.valid[::4, ::4]]  # tissue only, before any artifact
    tissue_top = float(np.percentile(seen, 99.5 if kind == "dense" else 99.9)) if seen.size else 1.0
    labels = np.zeros((size, size), np.uint8)
    _paint(sc, labels, target)
    photons = rng.uniform(40, 100) if kind == "dense" else float(np.exp(rng.uniform(np.log(8), np.log(60))))
    # The operator's gain keeps tissue just below clipping; dense mosaics use the full range (bright).
    level = 250.0 / tissue_top if kind == "dense" else min(rng.uniform(170, 230), 245.0 / tissue_top)
    image = parts.expose(rng, (sc.refl + sc.add) * acq.gain, photons, level)
    valid = lay.valid
    image[~valid] = 0
    labels[~valid] = 0
    return FamilyPhantom(image=image, uninformative=labels > 0, artifact_labels=labels, valid=valid,
                         pixel_spacing_um=um, seed=int(seed), family=NAME)


from inference.phantoms.families import FAMILIES  # noqa: E402  (registration at import, as the package expects)

FAMILIES[NAME] = generate
