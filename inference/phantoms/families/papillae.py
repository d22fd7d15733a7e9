"""Phantom family "papillae": the dermal-epidermal junction of an RCM mosaic seen en face.

Written independently of the other families (see the package docstring): its own tissue model
(ringed papillae plus spinous honeycomb), its own optics (Rician noise, radial per-tile vignetting,
stitching seams, global drift) and its own renderings of the Kose et al. artifact classes, which
live in `papillae_parts`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from inference.phantoms.families import ARTIFACT_CODES, FamilyPhantom
from inference.phantoms.families.papillae_parts import (PAINTERS, Canvas, cell_borders, hex_seeds,
                                                        smooth_field, voronoi)

NAME = "papillae"
DESCRIPTION = (
    "Dermal-epidermal junction seen en face: dark dermal papillae (40-120 um) ringed by bright "
    "basal cells (8-14 um, ring brightness varying), between and around patches of spinous-layer "
    "honeycomb (dark 10-20 um cells with bright outlines); some mosaics are artifact-free, bright "
    "and membrane-dense. The optics add mild Gaussian blur, Rician noise, a slow global gain and "
    "contrast drift, and 500 um tiles with radial vignetting of per-tile strength, stitching "
    "offsets and seams, and occasional whole-tile brightness jumps; the imaged area is an "
    "irregular union of tiles (0 outside). Artifacts, each with an exact mask and two or more "
    "renderings: air bubbles (voids, refractive rims, foam clusters), particulates (specks or "
    "flakes on darkened tissue), hair (dark or bright strands), under-illumination (linear, radial "
    "or per-tile gain falloff), saturation (plateaus, glare streaks, over-exposed tiles), no skin "
    "contact (edge strips, edge tiles, lifted patches) and motion (smear, shear-stretch, line "
    "jitter bands)."
)
_SALT = 0x9A9111AE
_PAD = 6  # canvas margin so stitching offsets can shift each tile's content


def tile_px(pixel_spacing_um: float) -> int:
    """Side of one 500 um acquisition tile in pixels."""
    return max(16, int(round(500 / pixel_spacing_um)))


def _layout(rng: np.random.Generator, size: int,
            tile: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """Tile grid (with a random phase) and which tiles were imaged: full, a sub-rectangle, or ragged."""
    oy, ox = (int(v) for v in rng.integers(0, tile, 2)) if rng.random() < 0.7 else (0, 0)
    ty, tx = (np.arange(size) + oy) // tile, (np.arange(size) + ox) // tile
    tiles = np.ones((ty[-1] + 1, tx[-1] + 1), bool)
    mode = rng.choice(["full", "rect", "ragged"], p=[0.3, 0.25, 0.45])

    def area(t: np.ndarray) -> int:
        return int(t[ty[:, None], tx[None, :]].sum())
    if mode == "rect":
        for axis in (0, 1):
            n = tiles.shape[axis]
            if n > 2:
                lo, hi = rng.integers(0, 2), n - rng.integers(0, 2)
                cut = np.zeros(n, bool)
                cut[lo:hi] = True
                trial = tiles & (cut[:, None] if axis == 0 else cut[None, :])
                if area(trial) >= 0.45 * size * size:
                    tiles = trial
    elif mode == "ragged":
        for _ in range(int(rng.uniform(0.05, 0.35) * tiles.size) + 1):
            pad = np.pad(tiles, 1)
            border = tiles & ~(pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:])
            cand = np.argwhere(border)
            i, j = cand[rng.integers(len(cand))]
            trial = tiles.copy()
            trial[i, j] = False
            if area(trial) >= 0.45 * size * size and ndi.label(trial)[1] == 1:  # stays one piece
                tiles = trial
    return ty, tx, tiles, (oy, ox)


def _tissue(rng: np.random.Generator, shape: tuple[int, int], ps: float, bright: bool) -> np.ndarray:
    """Reflectance of the DEJ before optics: ringed papillae, basal cobblestone, spinous honeycomb."""
    cell = rng.uniform(8, 14) / ps  # basal cell diameter, px
    honey = (rng.uniform(10, 13) if bright else rng.uniform(10, 20)) / ps
    d_lo = rng.uniform(40, 85)
    d_hi = rng.uniform(d_lo + 15, 120)
    # papillae: centres on a jittered lattice, each a ring of radius r_k and width w_k
    spacing = d_hi / ps + 2.2 * cell + rng.uniform(0, 25) / ps
    centres = hex_seeds(rng, shape, spacing, 0.18)
    dist, k = voronoi(shape, centres)
    n = len(centres)
    r_k = rng.uniform(d_lo, d_hi, n).astype(np.float32) / (2 * ps)
    w_k = (cell * rng.uniform(0.7, 1.35, n)).astype(np.float32)
    lo_amp = rng.uniform(0.5, 0.95)
    a_k = rng.uniform(lo_amp, 1.35, n).astype(np.float32)
    d_eff = dist * (1 + 0.12 * smooth_field(rng, shape, max(6.0, 0.5 * float(r_k.mean()))))
    off = (d_eff - r_k[k]) / w_k[k]
    ring = np.exp(-(off ** 4))
    lumen = 1 / (1 + np.exp(np.clip((off + 1.2) * 3, -30, 30)))
    # basal keratinocytes: bright cytoplasm, darker nucleus, thin dark borders
    dc, lc = voronoi(shape, hex_seeds(rng, shape, cell, 0.3))
    cb = rng.lognormal(0, 0.25, lc.max() + 1).astype(np.float32)
    basal = cb[lc] * (1 - 0.55 * np.exp(-((dc / (0.26 * cell)) ** 2))) * (1 - 0.45 * cell_borders(lc))
    # spinous honeycomb: dark cytoplasm, bright membranes of per-cell brightness
    dh, lh = voronoi(shape, hex_seeds(rng, shape, honey, 0.25))
    memb = ndi.gaussian_filter(cell_borders(lh).astype(np.float32), max(0.6, 0.9 / ps)) * 2.2
    mb = rng.uniform(0.5, 1.0, lh.max() + 1).astype(np.float32) * (1.0 if bright else rng.uniform(0.6, 1.0))
    honeycomb = (0.1 + 0.04 * np.clip(dh / (0.5 * honey), 0, 1)  # dark nucleus, grey cytoplasm
                 + (rng.uniform(0.55, 0.75) if bright else rng.uniform(0.35, 0.65)) * np.minimum(memb, 1) * mb[lh])
    papilla = 0.05 + 0.03 * np.abs(smooth_field(rng, shape, 2.0)) + 0.03 * (smooth_field(rng, shape, 12) > 1.2)
    inter = rng.uniform(0.25, 0.45) * basal * 0.6 + 0.5 * honeycomb
    dej = lumen * papilla + (1 - lumen) * (ring * a_k[k] * basal + (1 - ring) * inter)
    # patches of spinous layer where the section passes above the junction
    hfrac = rng.uniform(0.3, 0.6) if bright else rng.uniform(0.15, 0.5)
    mix = smooth_field(rng, shape, rng.uniform(90, 220) / ps)
    wh = 1 / (1 + np.exp(-(mix - np.quantile(mix[::4, ::4], 1 - hfrac)) * 6))
    t = wh * honeycomb * rng.uniform(0.9, 1.2) + (1 - wh) * dej
    return (t * (1 + 0.15 * smooth_field(rng, shape, 0.7))).astype(np.float32)


def _optics(rng: np.random.Generator, canvas: np.ndarray, cv: Canvas, oy_ox: tuple[int, int],
            bright: bool) -> np.ndarray:
    """Stitch tiles (offsets, radial vignetting, brightness jumps, seams) and add the global drift."""
    h, w = cv.valid.shape
    ty, tx, t = cv.tile_y, cv.tile_x, cv.tile_px
    shift = int(rng.integers(0, 5))
    dy = rng.integers(-shift, shift + 1, cv.tiles.shape)
    dx = rng.integers(-shift, shift + 1, cv.tiles.shape)
    yi = np.arange(h)[:, None] + _PAD + dy[ty[:, None], tx[None, :]]
    xi = np.arange(w)[None, :] + _PAD + dx[ty[:, None], tx[None, :]]
    sig = canvas[yi, xi]
    ly = (((np.arange(h) + oy_ox[0]) % t) - (t - 1) / 2) / (t / 2)
    lx = (((np.arange(w) + oy_ox[1]) % t) - (t - 1) / 2) / (t / 2)
    s_max = rng.uniform(0.05, 0.22)
    strength = rng.uniform(0.02, s_max, cv.tiles.shape)
    r2 = ly[:, None] ** 2 + lx[None, :] ** 2  # radial within each tile, not a product of 1-D profiles
    sig *= (1 / (1 + strength[ty[:, None], tx[None, :]] * r2) ** 2).astype(np.float32)
    p_jump = rng.uniform(0, 0.15)
    jump = np.where(rng.random(cv.tiles.shape) < p_jump,
                    np.where(rng.random(cv.tiles.shape) < 0.5, rng.uniform(0.65, 0.85, cv.tiles.shape),
                             rng.uniform(1.05 if bright else 1.15, 1.1 if bright else 1.35, cv.tiles.shape)), 1.0)
    sig *= jump[ty[:, None], tx[None, :]].astype(np.float32)
    if rng.random() < 0.5:  # 1-px seams where neighbouring tiles were blended
        f = rng.uniform(0.75, 0.9) if rng.random() < 0.6 else rng.uniform(1.1, 1.25)
        sig[1:][ty[1:] != ty[:-1]] *= f
        sig[:, 1:][:, tx[1:] != tx[:-1]] *= f
    ang = rng.uniform(0, 2 * np.pi)
    yy, xx = np.arange(h, dtype=np.float32)[:, None] / h - 0.5, np.arange(w, dtype=np.float32)[None, :] / w - 0.5
    gain = np.exp(rng.uniform(0, 0.5) * (yy * np.sin(ang) + xx * np.cos(ang))
                  + rng.uniform(0, 0.12) * smooth_field(rng, (h, w), max(h, w) / 2.5))
    contrast = 1 + rng.uniform(0, 0.2) * smooth_field(rng, (h, w), max(h, w) / 2.5)
    mu = float(sig[cv.valid].mean())
    return np.maximum((mu + contrast * (sig - mu)) * gain, 0).astype(np.float32)


def _plan(rng: np.random.Generator) -> tuple[float, bool, list[str]]:
    """Target uninformative fraction, bright-clean flag and the artifact classes to paint."""
    u = rng.random()
    names = list(PAINTERS)
    if u < 0.15:
        return 0.0, bool(rng.random() < 0.65), []
    if u < 0.30:
        return rng.uniform(0.003, 0.02), bool(rng.random() < 0.3), [names[rng.integers(len(names))]]
    target = rng.uniform(0.02, 0.10) if u < 0.63 else rng.uniform(0.10, 0.25) if u < 0.82 else rng.uniform(0.25, 0.45)
    k = int(rng.integers(1, 5))
    return target, False, [names[i] for i in rng.choice(len(names), k, replace=False)]


def generate(*, seed: int, size_px: int = 1024, pixel_spacing_um: float = 2.0) -> FamilyPhantom:
    """One deterministic DEJ mosaic with its exact artifact ground truth."""
    return generate_with_renderings(seed=seed, size_px=size_px, pixel_spacing_um=pixel_spacing_um)[0]


def generate_with_renderings(*, seed: int, size_px: int = 1024,
                             pixel_spacing_um: float = 2.0) -> tuple[FamilyPhantom, list[str]]:
    """`generate`, plus the renderings painted (class:style, in order), for previews and tests."""
    rng = np.random.default_rng([seed, _SALT])
    ps = float(pixel_spacing_um)
    size = int(size_px)
    tile = tile_px(ps)
    target, bright, chosen = _plan(rng)
    ty, tx, tiles, oy_ox = _layout(rng, size, tile)
    valid = tiles[ty[:, None], tx[None, :]]
    flat = np.flatnonzero(valid)
    flat = flat[:: max(1, flat.size // 200_000)]
    coords = np.stack([flat // size, flat % size], 1)
    cv = Canvas(valid, ty, tx, tiles, tile, ps, coords, int(np.count_nonzero(valid)))

    canvas = _tissue(rng, (size + 2 * _PAD, size + 2 * _PAD), ps, bright)
    canvas = ndi.gaussian_filter(canvas, rng.uniform(0.4, 1.3))
    sig = _optics(rng, canvas, cv, oy_ox, bright)
    level = rng.uniform(0.85, 0.92) if bright else rng.uniform(0.6, 0.85)
    sig *= level / max(1e-6, float(np.percentile(sig[valid][::7], 99.5)))

    labels = np.zeros((size, size), np.uint8)
    plan = []
    if chosen:
        shares = rng.dirichlet(np.full(len(chosen), 1.5))
        plan = [(name, target * cv.n_valid * sh) for name, sh in zip(chosen, shares)]
    renders = []
    area_classes = [n for n in PAINTERS if n != "hair"]
    for step in range(len(plan) + 4):
        if step < len(plan):
            name, area = plan[step]
        else:  # top up towards the target when overlaps or the mosaic edge ate part of the budget
            done = np.count_nonzero(labels) / cv.n_valid
            if not chosen or done >= 0.8 * target:
                break
            name, area = area_classes[rng.integers(len(area_classes))], (target - done) * cv.n_valid * 1.1
        before = sig.copy() if name == "under_illumination" else None
        mask, how = PAINTERS[name](rng, sig, cv, max(30.0, float(area)))
        if before is not None:  # its fade zone must not alter earlier artifacts outside its own mask
            keep = (labels > 0) & ~mask
            sig[keep] = before[keep]
        labels[mask & valid] = ARTIFACT_CODES[name]
        renders.append(how)

    noise = rng.uniform(0.012, 0.03) if bright else rng.uniform(0.015, 0.045)
    n1 = rng.standard_normal(sig.shape, dtype=np.float32)
    n2 = rng.standard_normal(sig.shape, dtype=np.float32)
    rician = np.sqrt((sig + noise * n1) ** 2 + (noise * n2) ** 2)
    image = np.clip(np.round(rician * 255), 1, 255).astype(np.uint8)
    image[~valid] = 0
    return FamilyPhantom(image=image, uninformative=labels > 0, artifact_labels=labels, valid=valid,
                         pixel_spacing_um=ps, seed=int(seed), family=NAME), renders


from inference.phantoms.families import FAMILIES  # noqa: E402  (registration at the end, as the interface asks)

FAMILIES[NAME] = generate
