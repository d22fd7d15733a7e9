"""The random fields and tessellations the phantom textures are made of.

Every function draws from the `numpy.random.Generator` it is given, in a fixed order, so a seed
always gives the same field: smooth Gaussian fields (2-D and 1-D), gamma speckle, and a jittered-grid
Voronoi tessellation (cells, papillae, the dermoscopy's pigment network).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi
from scipy import special


def smooth2d(rng: np.random.Generator, h: int, w: int, sigma: float) -> np.ndarray:
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
        return k.astype(np.float32)

    ky, kx = kernel(h), kernel(w)
    noise = rng.standard_normal((ky.shape[1], kx.shape[1]), dtype=np.float32)
    return (ky @ noise) @ kx.T


def noise1d(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Smooth 1-D noise of unit variance and scale `sigma` samples (nodes every sigma, interpolated)."""
    sigma = max(float(sigma), 1.0)
    m = int(math.ceil(n / sigma)) + 8
    nodes = ndi.gaussian_filter1d(rng.standard_normal(m), 1.0, mode="wrap")
    nodes /= nodes.std() + 1e-9
    return np.interp(np.arange(n) / sigma + 4.0, np.arange(m), nodes).astype(np.float32)


_GAMMA_TABLES: dict[float, np.ndarray] = {}


def speckle(rng: np.random.Generator, shape: tuple[int, int], k: float) -> np.ndarray:
    """Gamma(k, 1/k) multiplicative speckle (mean 1) by inverse-CDF look-up (4096 quantiles)."""
    table = _GAMMA_TABLES.get(k)
    if table is None:
        q = (np.arange(4096) + 0.5) / 4096
        table = (special.gammaincinv(k, q) / k).astype(np.float32)
        _GAMMA_TABLES[k] = table
    return table[rng.integers(0, 4096, size=shape, dtype=np.uint16)]


def voronoi(rng: np.random.Generator, h: int, w: int, cell: int, jitter: float, n_attr: int):
    """Jittered-grid Voronoi: distances to the nearest and second-nearest seed, attributes of the nearest.

    Seeds: one per `cell` x `cell` block, uniformly jittered by `jitter` of the block around its
    centre; the nearest two seeds are searched in the 3 x 3 neighbouring blocks. Squared
    distances are quantised (to 1/64 px² for cells up to 120 px) and packed with the candidate's number into int32 keys,
    so one running minimum finds both the nearest distance and which seed it is. Returns
    (d1, d2, attrs): float32 (h, w) distances in pixels and n_attr (h, w) maps, uniform [0, 1)
    per cell.
    """
    gh, gw = -(-h // cell), -(-w // cell)
    sy = cell * (0.5 + jitter * (rng.random((gh + 2, gw + 2), dtype=np.float32) - 0.5))
    sx = cell * (0.5 + jitter * (rng.random((gh + 2, gw + 2), dtype=np.float32) - 0.5))
    attrs = rng.random((n_attr, gh + 2, gw + 2), dtype=np.float32)
    f = np.arange(cell, dtype=np.float32)
    q = np.float32(min(64.0, 2.0**26 / (9.0 * cell * cell)))  # keys stay below 2**30
    cands = []
    for k, (di, dj) in enumerate((a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)):
        rows, cols = slice(1 + di, 1 + di + gh), slice(1 + dj, 1 + dj + gw)
        dy = f[None, :, None] - (sy[rows, cols] + np.float32(di * cell))[:, None, :]  # (gh, cell, gw)
        dx = f[None, None, :] - (sx[rows, cols] + np.float32(dj * cell))[:, :, None]  # (gh, gw, cell)
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
    d1 = np.sqrt((k1 >> 4).astype(np.float32) * (1 / q)).reshape(hp, wp)[:h, :w]
    d2 = np.sqrt((k2 >> 4).astype(np.float32) * (1 / q)).reshape(hp, wp)[:h, :w]
    return d1, d2, out


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)
