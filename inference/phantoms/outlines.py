"""Outlines traced as a person would trace them, for the phantoms' lesions and any mask."""

from __future__ import annotations

import math

import numpy as np

from .generator import Phantom


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
