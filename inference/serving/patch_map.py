"""A patch classifier repeated across a whole image, giving a map and an overall answer.

Amruthalingam et al. (JEADV 2022) map body regions over whole photos this way, and RCM
inflammation scoring repeats a patch CNN across the mosaic (DESIGN.md, "Papers"). One piece serves
both: the image is cut into a grid of patches that covers every pixel (the last row and column
are aligned to the edges), `score` turns a batch of patches into one score vector each (class
probabilities, or a single score), patches that `keep` rejects (background, not imaged) are left
out, and the overall answer is the mean over the patches kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def _starts(length: int, patch: int, stride: int) -> list[int]:
    """Patch origins along one axis: every `stride`, plus one flush with the far edge."""
    if length <= patch:
        return [0]
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] != length - patch:
        starts.append(length - patch)
    return starts


@dataclass(frozen=True)
class PatchGrid:
    width: int  # of the image
    height: int
    patch: tuple[int, int]  # (width, height) of a patch in image pixels
    xs: tuple[int, ...]  # patch origins
    ys: tuple[int, ...]

    @property
    def rows(self) -> int:
        return len(self.ys)

    @property
    def cols(self) -> int:
        return len(self.xs)

    def box(self, row: int, col: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) in image pixels, clipped to the image."""
        x, y = self.xs[col], self.ys[row]
        return x, y, min(x + self.patch[0], self.width), min(y + self.patch[1], self.height)

    def nearest_patch(self) -> tuple[np.ndarray, np.ndarray]:
        """For each image row and column, the grid row and column whose patch centre is nearest:
        how a map of overlapping patches becomes an image without gaps."""

        def nearest(length: int, starts: tuple[int, ...], size: int) -> np.ndarray:
            centres = np.asarray(starts, dtype=np.float64) + min(size, length) / 2
            return np.abs(np.arange(length)[:, None] + 0.5 - centres[None, :]).argmin(axis=1)

        return nearest(self.height, self.ys, self.patch[1]), nearest(self.width, self.xs, self.patch[0])


def grid_for(*, width: int, height: int, patch: tuple[int, int], overlap: float = 0.5) -> PatchGrid:
    """Patches of `patch` pixels every (1 - overlap) patch; an image smaller than a patch is one patch."""
    if not 0 <= overlap < 1:
        raise ValueError("overlap must be in [0, 1)")
    step_x, step_y = (max(1, round(side * (1 - overlap))) for side in patch)
    return PatchGrid(width=width, height=height, patch=patch, xs=tuple(_starts(width, patch[0], step_x)),
                     ys=tuple(_starts(height, patch[1], step_y)))


@dataclass(frozen=True)
class PatchMap:
    grid: PatchGrid
    scores: np.ndarray  # rows x cols x K (NaN where not kept)
    kept: np.ndarray  # rows x cols bool

    @property
    def overall(self) -> np.ndarray | None:
        """Mean score vector over the kept patches (None when none was kept)."""
        return self.scores[self.kept].mean(axis=0) if self.kept.any() else None

    def labels(self) -> np.ndarray:
        """rows x cols index of the highest score, -1 where not kept."""
        found = np.full(self.kept.shape, -1, dtype=np.int64)
        found[self.kept] = self.scores[self.kept].argmax(axis=1)
        return found

    def label_image(self) -> np.ndarray:
        """height x width: each pixel takes the label of the patch whose centre is nearest."""
        rows, cols = self.grid.nearest_patch()
        return self.labels()[rows[:, None], cols[None, :]]


def patch_map(image: np.ndarray, *, grid: PatchGrid, score: Callable[[list[np.ndarray]], np.ndarray],
              keep: Callable[[np.ndarray], bool] | None = None, batch: int = 16) -> PatchMap:
    """Score every patch of `image` (H x W or H x W x C). `score` receives a list of patches as cut
    (edge patches of an image smaller than the patch are smaller) and returns N x K scores."""
    if image.shape[0] != grid.height or image.shape[1] != grid.width:
        raise ValueError(f"the grid is for {grid.width}x{grid.height}, the image is {image.shape[1]}x{image.shape[0]}")
    cells = [(row, col) for row in range(grid.rows) for col in range(grid.cols)]
    patches = {}
    for row, col in cells:
        x0, y0, x1, y1 = grid.box(row, col)
        patch = image[y0:y1, x0:x1]
        if keep is None or keep(patch):
            patches[(row, col)] = patch
    kept = np.zeros((grid.rows, grid.cols), dtype=bool)
    found: dict[tuple[int, int], np.ndarray] = {}
    order = list(patches)
    for start in range(0, len(order), batch):
        chunk = order[start:start + batch]
        values = np.asarray(score([patches[cell] for cell in chunk]), dtype=np.float64).reshape(len(chunk), -1)
        found.update(zip(chunk, values, strict=True))
    classes = next(iter(found.values())).shape[0] if found else 1
    scores = np.full((grid.rows, grid.cols, classes), np.nan)
    for (row, col), value in found.items():
        scores[row, col] = value
        kept[row, col] = True
    return PatchMap(grid=grid, scores=scores, kept=kept)
