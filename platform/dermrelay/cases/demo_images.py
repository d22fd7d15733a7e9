"""Seeded synthetic demo images for the ``seed_demo`` command.

These are labelled *synthetic demo data*: they only need to look plausible to a
person browsing a demo database (RCM mosaics and stacks, dermoscopy, clinical
photos, lesion masks). They are not the training phantoms and carry no
diagnostic meaning. Only numpy and Pillow are used so the command runs anywhere.
Every generator is a pure function of its arguments: same seed, same bytes.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

__all__ = ["rcm_mosaic", "rcm_stack", "dermoscopy", "clinical_photo", "lesion_mask"]

_F32 = np.float32


def _rng(seed: int, stream: int) -> np.random.Generator:
    """Independent stream per purpose, so changing one generator never shifts another."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, stream])


def _smooth(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Low-frequency noise (~unit std) by bicubic upsampling a tiny random grid."""
    gh, gw = max(2, round(cells * h / max(h, w))) + 2, max(2, round(cells * w / max(h, w))) + 2
    small = Image.fromarray(rng.standard_normal((gh, gw)).astype(_F32))
    return np.asarray(small.resize((w, h), Image.Resampling.BICUBIC), dtype=_F32)


def _worley(rng: np.random.Generator, h: int, w: int, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Jittered-grid Voronoi: (dist to nearest seed, dist to 2nd, nearest cell's random value).

    One seed per s x s cell and a 3x3 neighbourhood search keeps it O(pixels); pixels are
    laid out as (cell_row, y, cell_col, x) blocks so seed arrays broadcast instead of gathering.
    """
    nh, nw = -(-h // s), -(-w // s)
    jy, jx, val = (rng.random((nh + 2, nw + 2), dtype=_F32) for _ in range(3))
    py = (np.arange(nh + 2, dtype=_F32)[:, None] - 1 + 0.1 + 0.8 * jy) * s
    px = (np.arange(nw + 2, dtype=_F32)[None, :] - 1 + 0.1 + 0.8 * jx) * s
    yy = np.arange(nh * s, dtype=_F32).reshape(nh, s, 1, 1)
    xx = np.arange(nw * s, dtype=_F32).reshape(1, 1, nw, s)
    f1 = np.full((nh, s, nw, s), np.inf, _F32)
    f2, v = f1.copy(), np.zeros_like(f1)
    for dy in range(3):
        for dx in range(3):
            cell = (slice(dy, dy + nh), None, slice(dx, dx + nw), None)
            d = (yy - py[cell]) ** 2 + (xx - px[cell]) ** 2
            closer = d < f1
            np.minimum(f2, np.where(closer, f1, d), out=f2)
            np.minimum(f1, d, out=f1)
            np.copyto(v, np.broadcast_to(val[cell], v.shape), where=closer)
    f1, f2, v = (a.reshape(nh * s, nw * s)[:h, :w] for a in (f1, f2, v))
    return np.sqrt(f1), np.sqrt(f2), v


def _papillae(rng: np.random.Generator, size: int, n: int) -> np.ndarray:
    """Non-overlapping dermal papillae (rows of y, x, r, phase), fixed per seed so stack pages agree."""
    out: list[tuple[float, float, float, float]] = []
    for y, x, r, ph in zip(*rng.uniform((0, 0, 0.025 * size, 0), (size, size, 0.045 * size, 6.3), (4 * n, 4)).T):
        if len(out) < n and all(np.hypot(y - q[0], x - q[1]) > 2.6 * max(r, q[2]) for q in out):
            out.append((y, x, r, ph))
    return np.array(out, dtype=_F32).reshape(-1, 4)


def _rcm_texture(rng: np.random.Generator, size: int, cell: int, pap: np.ndarray, ring: float) -> np.ndarray:
    """RCM-like field in ~[0, 1]: bright cobblestone cells, dark papillae rimmed by bright basal cells."""
    f1, f2, v = _worley(rng, size, size, cell)
    border = np.exp(-(((f2 - f1) / (0.25 * cell)) ** 2))
    nucleus = np.exp(-((f1 / (0.3 * cell)) ** 2))  # nuclei are dark in RCM
    tex = (0.3 + 0.7 * v) * (0.4 + 0.6 * border) * (1 - 0.55 * nucleus)
    tex *= np.clip(0.75 + 0.25 * _smooth(rng, size, size, 5), 0.3, 1.2)
    for y, x, r, ph in pap:
        r *= ring
        pad = int(r * 1.8) + 2
        y0, y1, x0, x1 = max(0, int(y) - pad), min(size, int(y) + pad), max(0, int(x) - pad), min(size, int(x) + pad)
        if y0 >= y1 or x0 >= x1:
            continue
        dy = np.arange(y0, y1, dtype=_F32)[:, None] - y
        dx = np.arange(x0, x1, dtype=_F32)[None, :] - x
        ang = np.arctan2(dy, dx)
        rr = np.hypot(dy, dx) / (r * (1 + 0.12 * np.cos(2 * ang + ph) + 0.06 * np.cos(3 * ang - 2 * ph)))
        rim = np.exp(-(((rr - 1.0) / 0.25) ** 2))
        inside = np.clip((rr - 0.6) / 0.35, 0.1, 1.0)
        patch = tex[y0:y1, x0:x1]
        tex[y0:y1, x0:x1] = patch * (inside + 1.7 * rim)
    return tex


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def rcm_mosaic(*, seed: int, size: int = 1024) -> bytes:
    """8-bit PNG RCM mosaic at the DEJ, stitched from an 8x8 grid of vignetted tiles."""
    rng = _rng(seed, 1)
    tex = _rcm_texture(rng, size, max(5, size // 110), _papillae(rng, size, int(rng.integers(10, 22))), 1.0)
    tile = max(8, size // 8)
    u = (np.arange(size) % tile + 0.5) / tile * 2 - 1  # -1..1 across each tile
    vig = (1 - 0.5 * np.abs(u) ** 2.2).astype(_F32)
    nt = -(-size // tile)
    gain = np.repeat(np.repeat(rng.uniform(0.8, 1.15, (nt, nt)).astype(_F32), tile, 0), tile, 1)[:size, :size]
    speckle = rng.gamma(6.0, 1 / 6, (size, size)).astype(_F32)
    img = tex * vig[:, None] * vig[None, :] * gain * speckle * 190 + 6
    return _png(np.clip(img, 0, 255).astype(np.uint8))


def rcm_stack(*, seed: int, frames: int = 5, size: int = 512) -> bytes:
    """Multi-page 16-bit TIFF depth stack; deeper pages get larger cells and wider papillae."""
    if frames < 1:
        raise ValueError("rcm_stack needs at least one frame")
    rng = _rng(seed, 2)
    pap = _papillae(rng, size, int(rng.integers(3, 7)))
    pages = []
    for k in range(frames):
        t = k / max(1, frames - 1)
        tex = _rcm_texture(rng, size, max(4, round(size / 80 * (0.8 + 0.7 * t))), pap, 0.6 + 0.5 * t)
        img = tex * rng.gamma(6.0, 1 / 6, (size, size)).astype(_F32) * (0.7 + 0.4 * t)
        pages.append(Image.fromarray(np.clip(500 + img * 38000, 500, 50000).astype(np.uint16)))
    buf = io.BytesIO()
    pages[0].save(buf, format="TIFF", save_all=True, append_images=pages[1:])
    return buf.getvalue()


def _lesion_field(seed: int, width: int, height: int) -> np.ndarray:
    """Normalised lesion distance (< 1 inside); shared by dermoscopy() and lesion_mask()."""
    rng = _rng(seed, 3)
    cy = height * (0.5 + rng.uniform(-0.07, 0.07))
    cx = width * (0.5 + rng.uniform(-0.07, 0.07))
    radius = min(width, height) * rng.uniform(0.2, 0.28)
    dy = np.arange(height, dtype=_F32)[:, None] - cy
    dx = (np.arange(width, dtype=_F32)[None, :] - cx) * rng.uniform(0.8, 1.15)
    theta = np.arctan2(dy, dx)
    wobble = sum(rng.uniform(0, 0.13) / k**0.8 * np.cos(k * theta + rng.uniform(0, 6.3)) for k in range(2, 8))
    return (np.hypot(dy, dx) / (radius * (1 + wobble)) + 0.07 * _smooth(rng, height, width, 9)).astype(_F32)


def lesion_mask(*, seed: int, width: int = 600, height: int = 450) -> bytes:
    """8-bit PNG segmentation: 255 exactly where dermoscopy() paints the lesion."""
    return _png(np.where(_lesion_field(seed, width, height) < 1.0, 255, 0).astype(np.uint8))


def dermoscopy(*, seed: int, width: int = 600, height: int = 450) -> bytes:
    """RGB JPEG: skin, brown lesion with darker centre and pigment network, hairs, dark scope corners."""
    rng = _rng(seed, 4)
    h, w = height, width
    yy = (np.arange(h, dtype=_F32)[:, None] - h / 2) / (np.hypot(h, w) / 2)
    xx = (np.arange(w, dtype=_F32)[None, :] - w / 2) / (np.hypot(h, w) / 2)
    rr = np.hypot(yy, xx)
    skin = np.array([0.92, 0.70, 0.60], _F32) * rng.uniform(0.85, 1.03)
    mottle = np.clip(_smooth(rng, h, w, 7), 0, None)[..., None]  # patchy erythema
    rgb = skin * (1 + 0.015 * _smooth(rng, h, w, 60)[..., None]) + 0.05 * mottle * np.array([0.2, -0.5, -0.4], _F32)
    d = _lesion_field(seed, w, h)
    depth = np.clip(np.clip(1 - d, 0, 1) ** 0.6 + 0.2 * _smooth(rng, h, w, 5), 0, 1)[..., None]
    light, dark = np.array([0.66, 0.42, 0.26], _F32), np.array([0.29, 0.15, 0.09], _F32)
    col = light + (dark - light) * depth
    f1, f2, v = _worley(rng, h, w, max(6, min(h, w) // 45))
    vis = np.clip(0.45 + 0.5 * _smooth(rng, h, w, 6), 0, 1) * np.clip(0.7 + 0.6 * _smooth(rng, h, w, 25), 0, 1)
    net = np.exp(-(((f2 - f1) / 3.5) ** 2)) * vis  # patchy, broken lines + np.exp(-((f1 / 1.6) ** 2)) * (v > 0.9) * (d < 0.7)
    col *= (1 - 0.35 * np.clip(net, 0, 1))[..., None]
    alpha = np.clip((1 - d) / 0.1, 0, 1)[..., None]
    rgb = rgb * (1 - alpha) + col * alpha
    hair = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(hair)
    for _ in range(rng.integers(0, 5)):  # long, gently curving hairs
        p0, ang, length, bend = rng.uniform(0, 1, 2) * (w, h), rng.uniform(0, 6.3), rng.uniform(0.5, 1.2) * w, rng.normal(0, 0.6)
        a = ang + bend * np.linspace(0, 1, 32)
        pts = p0 + np.cumsum(np.column_stack([np.cos(a), np.sin(a)]), 0) * length / 32
        draw.line([tuple(p) for p in pts], fill=220, width=int(rng.integers(1, 3)), joint="curve")
    ha = np.asarray(hair.filter(ImageFilter.GaussianBlur(0.6)), dtype=_F32)[..., None] / 255
    rgb = rgb * (1 - ha) + np.array([0.16, 0.11, 0.08], _F32) * ha
    rgb *= (1 - 0.35 * rr**2)[..., None]  # dermoscope illumination falloff
    rgb *= np.clip((0.93 - rr) / 0.04, 0, 1)[..., None]  # circular field of view, black corners
    return _jpeg(rgb + rng.normal(0, 0.01, rgb.shape).astype(_F32))


def clinical_photo(*, seed: int, width: int = 800, height: int = 600) -> bytes:
    """RGB JPEG close-up: shaded skin (limb-like), fine texture, small brown lesion, neutral drape."""
    rng = _rng(seed, 5)
    h, w = height, width
    y = np.arange(h, dtype=_F32)[:, None]
    x = np.arange(w, dtype=_F32)[None, :]
    edge = w * rng.uniform(0.18, 0.32) + w * 0.04 * np.sin(y / h * rng.uniform(2, 4) + rng.uniform(0, 6.3))
    t = np.clip((x - edge) / (w - edge), 0, 1)  # 0 at skin edge, 1 at far side
    shade = 0.62 + 0.38 * np.sin(np.pi * (0.12 + 0.78 * t)) ** 0.8 + 0.015 * _smooth(rng, h, w, 4)
    skin_rgb = np.array([0.86, 0.64, 0.53], _F32) * rng.uniform(0.8, 1.05)
    grain = Image.fromarray(rng.standard_normal((h // 2, w // 2)).astype(_F32)).resize((w, h), Image.Resampling.BILINEAR)
    tex = 0.02 * np.asarray(grain, _F32) + 0.012 * _smooth(rng, h, w, 18)
    skin = skin_rgb * (shade + tex)[..., None]
    ly, lx = h * rng.uniform(0.3, 0.7), w * rng.uniform(0.5, 0.75)
    lr = min(h, w) * rng.uniform(0.03, 0.055)
    ld = np.hypot((y - ly) / 1.15, x - lx) / lr + 0.12 * _smooth(rng, h, w, 30)
    la = np.clip((1.05 - ld) / 0.25, 0, 1)[..., None]
    lcol = np.array([0.50, 0.32, 0.22], _F32) * (0.65 + 0.35 * np.clip(ld, 0, 1))[..., None] * shade[..., None]
    skin = skin * (1 - la) + lcol * la
    drape = np.array([0.55, 0.60, 0.62], _F32) * rng.uniform(0.85, 1.1)
    bg = drape * (0.9 + 0.06 * _smooth(rng, h, w, 3) - 0.25 * np.exp(-((edge - x) / 12).clip(0, None)))[..., None]
    m = np.clip((x - edge) / 2.5 + 0.5, 0, 1)[..., None]
    rgb = bg * (1 - m) + skin * m
    if rng.random() < 0.5:
        rgb = rgb[:, ::-1]
    return _jpeg(rgb + rng.normal(0, 0.008, rgb.shape).astype(_F32))
