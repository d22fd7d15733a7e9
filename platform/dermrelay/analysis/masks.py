"""How the models' masks are encoded and read: the quality run's label map (0 not imaged, 1
informative, 2 uninformative, at the model's working spacing) and the border of a lesion mask
traced as a polygon a person can see and edit."""

from __future__ import annotations

import numpy as np


NOT_IMAGED, INFORMATIVE, UNINFORMATIVE = 0, 1, 2


def labels_from(*, mask: np.ndarray, valid: np.ndarray) -> np.ndarray:
    labels = np.where(valid, INFORMATIVE, NOT_IMAGED).astype(np.uint8)
    labels[mask & valid] = UNINFORMATIVE
    return labels

MAX_OUTLINE_VERTICES = 240  # enough for a lesion's border at screen resolution, few enough to edit by hand


def outline_from_mask(mask: np.ndarray, *, image_size: tuple[int, int] | None = None) -> list[list[float]] | None:
    """The outer border of a lesion mask's largest region as a polygon in image pixels (pixel
    centres at integers), simplified to at most MAX_OUTLINE_VERTICES: what a person sees of a
    model's segmentation and starts from when correcting it. The mask itself stays what the gate
    judges with. A mask stored smaller than the image (`image_size` = width, height) is scaled up."""
    from scipy import ndimage
    from skimage.measure import approximate_polygon, find_contours

    regions, count = ndimage.label(mask)
    if count == 0:
        return None
    largest = np.argmax(ndimage.sum_labels(np.ones_like(regions), regions, index=np.arange(1, count + 1))) + 1
    region = ndimage.binary_fill_holes(regions == largest)
    # Padding closes contours that touch the mask's edge; 0.5 puts the border between pixels.
    contours = find_contours(np.pad(region, 1).astype(np.float32), 0.5)
    border = max(contours, key=len) - 1.0  # (row, col), back in the unpadded grid
    tolerance = 0.5
    simplified = approximate_polygon(border, tolerance=tolerance)
    while len(simplified) - 1 > MAX_OUTLINE_VERTICES:
        tolerance *= 1.5
        simplified = approximate_polygon(border, tolerance=tolerance)
    points = simplified[:-1, ::-1]  # drop the closing repeat; (x, y)
    if image_size is not None:
        fx, fy = image_size[0] / mask.shape[1], image_size[1] / mask.shape[0]
        points = (points + 0.5) * (fx, fy) - 0.5
    return [[round(float(x), 1), round(float(y), 1)] for x, y in points]
