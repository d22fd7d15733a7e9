"""The tissue texture: reflectance of the dermal-epidermal junction (DEJ) seen en face, before
speckle, illumination and artifacts.

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
- the lesion (`lesion_w`, its soft mask in mosaic pixels): inside it the papillary pattern is
  faded (disarranged), the basal cells are brighter, bright junctional nests sit at about 30 % of
  the papillae, and 0-3 % of the cells are large bright atypical cells;
- low-frequency brightness variation (a smooth field, about ±25 %, 400 µm scale).
"""

from __future__ import annotations

import numpy as np

from .fields import smooth2d, smoothstep, voronoi


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
    d1p, d2p, (rp, ap) = voronoi(rng, h, h, pap, 0.9, 2)
    rp = pap * (0.25 + 0.17 * rp)
    wr = max(1.0, rng.uniform(7.0, 11.0) / um2)  # half-width of the basal ring
    ring = np.exp(-(((d1p - rp) * np.float32(1.0 / wr)) ** 2))
    inside = smoothstep((rp - d1p) * np.float32(1.0 / wr))
    wm = max(1.0, rng.uniform(12.0, 20.0) / um2)
    mesh = np.exp(-(((d2p - d1p) * np.float32(0.5 / wm)) ** 2))
    big = 400.0 / um2
    meshw = smoothstep(smooth2d(rng, h, h, big * 0.8) * 0.8 + rng.uniform(-0.6, 0.6) + 0.5)
    dej = np.clip(smooth2d(rng, h, h, big * 0.6) * 0.35 + rng.uniform(0.65, 1.0), 0.0, 1.0)
    dej *= 1.0 - 0.6 * lw  # the lesion disarranges the papillary pattern
    basal = (ring + meshw * (mesh - ring)) * dej
    hole = (inside + meshw * (np.clip(1.0 - 1.6 * mesh, 0.0, 1.0) - inside)) * dej * (1.0 - basal)
    nests = np.exp(-((d1p / (0.55 * rp)) ** 2)) * (ap > 0.7) * lw
    return _up2(basal, n, n), _up2(hole, n, n), _up2(nests, n, n)


def tissue_reflectance(rng: np.random.Generator, size: int, um: float, lesion_w: np.ndarray) -> np.ndarray:
    """Reflectance (about 0-2) of the DEJ en face, before speckle and illumination."""
    n = size
    cell = max(3, round(rng.uniform(10.0, 14.0) / um))
    d1c, d2c, (vc,) = voronoi(rng, n, n, cell, 0.8, 1)
    basal, hole, nests = _papillae(rng, n, um, lesion_w)
    border = np.exp(-(((d2c - d1c) * np.float32(0.5 / max(0.7, 0.13 * cell))) ** 2))
    nucleus = np.exp(-((d1c * np.float32(1.0 / (0.22 * cell))) ** 2))
    del d1c, d2c
    honey = 0.22 + 0.55 * border * (0.5 + 0.8 * vc) - 0.15 * nucleus
    cobble = (0.45 + 0.75 * vc) * (1.0 - 0.6 * border) * (1.0 - 0.25 * nucleus)
    cobble *= 1.5 + 0.4 * lesion_w
    dermis = 0.12 + 0.1 * vc
    tissue = honey + basal * (cobble - honey) + hole * (dermis - honey)
    # Lesion: junctional nests at some papillae, scattered large bright atypical cells.
    tissue += nests * (0.9 * cobble + 0.3)
    atypia = np.float32(rng.uniform(0.97, 1.0))
    tissue += lesion_w * (vc > atypia) * (1.0 - border) * 1.5
    tissue *= np.exp(0.25 * smooth2d(rng, n, n, 400.0 / um))
    return tissue
