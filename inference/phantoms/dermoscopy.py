"""The dermoscopy-like RGB image of the skin around the mosaic, with the lesion's exact mask.

The image is DERMOSCOPY_HW (450 x 600) pixels: skin colour with furrows and vignetting; a brown
lesion with the star-shaped outline of `geometry.Lesion`, a pigment network, a darker centre,
sometimes blue-grey areas and dots. The mask evaluates the lesion's shape at the dermoscopy pixel
centres.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

from .fields import smooth2d, smoothstep, voronoi
from .geometry import DERMOSCOPY_HW, Lesion


def dermoscopy_image(rng: np.random.Generator, lesion: Lesion) -> tuple[np.ndarray, np.ndarray]:
    """A dermoscopy-like RGB image of the skin around the mosaic, and its lesion mask."""
    hd, wd = DERMOSCOPY_HW
    y = np.arange(hd, dtype=np.float32)[:, None]
    x = np.arange(wd, dtype=np.float32)[None, :]
    rho = lesion.rho(x, y)
    mask = rho <= 1.0

    skin_types = np.array([[236, 196, 178], [222, 172, 146], [196, 146, 112], [160, 112, 80]], np.float32)
    skin = skin_types[rng.integers(len(skin_types))] * rng.uniform(0.95, 1.05, 3).astype(np.float32)
    # Skin furrows: two families of wavy lines, crossing in the usual rhomboid pattern.
    furrows = np.zeros((hd, wd), np.float32)
    for _ in range(2):
        a = rng.uniform(0, math.pi)
        warp = 6.0 * smooth2d(rng, hd, wd, 30.0)
        phase = (x * np.float32(math.cos(a)) + y * np.float32(math.sin(a)) + warp) * np.float32(2 * math.pi / rng.uniform(14, 24))
        furrows += np.exp(np.sin(phase) ** 2 * np.float32(-50.0))
    shade = (1.0 + 0.035 * smooth2d(rng, hd, wd, 40.0)) * (1.0 - 0.04 * np.minimum(furrows, 1.0))
    shade *= 1.0 - 0.25 * (((x - wd / 2) / wd) ** 2 + ((y - hd / 2) / hd) ** 2)  # vignetting

    # Lesion: pigment network (Voronoi borders), darker centre, optional blue-grey area and dots.
    d1, d2, (va,) = voronoi(rng, hd, wd, int(rng.integers(7, 11)), 0.9, 1)
    net = np.exp(-(((d2 - d1) * np.float32(0.5 / 1.3)) ** 2))
    pig = np.clip(1.05 - 0.6 * rho * rho + 0.25 * smooth2d(rng, hd, wd, 20.0), 0.0, 1.2)
    t = np.clip(pig * (0.55 + 0.45 * net * (0.7 + 0.6 * va)), 0.0, 1.0)
    if rng.random() < 0.5:  # dots and globules
        t = np.minimum(t + 0.5 * (va > 0.9) * np.exp(-((d1 / 2.2) ** 2)) * (rho < 0.9), 1.0)
    t = ndi.gaussian_filter(t, 0.7)
    blue = smoothstep(smooth2d(rng, hd, wd, 25.0) + 0.8 - rho) if rng.random() < 0.4 else None
    alpha = smoothstep((1.0 - rho) * np.float32(12.5) + 0.5)
    light = np.array([178, 118, 78], np.float32)
    dark = np.array([84, 50, 36], np.float32)
    grey = np.array([120, 122, 140], np.float32)
    noise = rng.standard_normal((hd, wd, 3), dtype=np.float32) * np.float32(2.0)
    img = np.empty((hd, wd, 3), np.uint8)
    for c in range(3):
        colour = light[c] + t * (dark[c] - light[c])
        if blue is not None:
            colour += 0.6 * blue * (grey[c] - colour)
        base = skin[c] * shade
        img[..., c] = np.clip(base + alpha * (colour - base) + noise[..., c] + 0.5, 0, 255)
    return img, mask
