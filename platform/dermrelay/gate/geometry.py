"""The quality gate's arithmetic, free of the database: where the lesion lies on a mosaic, the
uninformative shares, the verdict, and the projection of a mosaic's labels onto the dermoscopy.

Label maps are the quality run's output at the model's working spacing: 0 outside the imaged area,
1 informative, 2 uninformative. `scale` is mosaic pixels per working pixel. Registration matrices
map dermoscopy pixels (x, y, 1) to mosaic pixels, as imaging.Registration stores them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from dermrelay.imaging.registration import apply as project_points
from dermrelay.imaging.registration import invert
from dermrelay.analysis.masks import NOT_IMAGED, UNINFORMATIVE
from inference.serving import metrics

MIN_LESION_PIXELS = 64  # imaged lesion pixels at the working spacing below which the lesional % is noise


def working_from_mosaic(points: np.ndarray, scale: float) -> np.ndarray:
    """Mosaic pixel coordinates (pixel centres at integers) → working-grid coordinates."""
    return (points + 0.5) / scale - 0.5


def mosaic_from_working(coords: np.ndarray, scale: float) -> np.ndarray:
    return (coords + 0.5) * scale - 0.5


def polygon_fill(points: np.ndarray, *, shape: tuple[int, int]) -> np.ndarray:
    """The pixels whose centres lie inside the polygon (even-odd rule; pixel centres at integers), by
    scanlines: exact for fractional vertices, with no outline ring added."""
    out = np.zeros(shape, dtype=bool)
    if len(points) < 3:
        return out
    x0, y0 = points[:, 0], points[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    top, bottom = max(0, int(np.ceil(y0.min()))), min(shape[0] - 1, int(np.floor(y0.max())))
    for row in range(top, bottom + 1):
        crossing = (y0 <= row) != (y1 <= row)  # edges that straddle the scanline (half-open)
        if not crossing.any():
            continue
        t = (row - y0[crossing]) / (y1[crossing] - y0[crossing])
        xs = np.sort(x0[crossing] + t * (x1[crossing] - x0[crossing]))
        for start, stop in zip(xs[0::2], xs[1::2], strict=False):
            first, last = max(0, int(np.ceil(start))), min(shape[1], int(np.ceil(stop)))
            if first < last:
                out[row, first:last] = True
    return out


def polygons_raster(polygons: list, *, shape: tuple[int, int], transform=None) -> np.ndarray:
    """Fill polygons (lists of [x, y]) into a bool array (their union); `transform` maps the points first."""
    out = np.zeros(shape, dtype=bool)
    for polygon in polygons:
        points = np.asarray(polygon, dtype=float)
        if transform is not None:
            points = transform(points)
        out |= polygon_fill(points, shape=shape)
    return out


def lesion_from_polygon(polygon, *, matrix, shape: tuple[int, int], scale: float) -> np.ndarray:
    """A dermoscopy-pixel polygon on the mosaic's working grid. Straight edges stay straight under
    the registration (affine or projective with w > 0), so mapping the vertices is exact."""
    return polygons_raster([polygon], shape=shape,
                           transform=lambda pts: working_from_mosaic(project_points(matrix, pts), scale))


def lesion_from_mask(mask: np.ndarray, *, matrix, shape: tuple[int, int], scale: float,
                     image_size: tuple[int, int] | None = None) -> np.ndarray:
    """A dermoscopy lesion mask on the mosaic's working grid: each working pixel looks up the
    dermoscopy pixel it lies on (inverse mapping, nearest neighbour). A mask stored smaller than
    the dermoscopy image (`image_size` = width, height) is looked up at the scaled position."""
    inverse = np.linalg.inv(np.asarray(matrix, dtype=float))
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    mx, my = mosaic_from_working(xs, scale), mosaic_from_working(ys, scale)
    w = inverse[2, 0] * mx + inverse[2, 1] * my + inverse[2, 2]
    fx, fy = (1.0, 1.0) if image_size is None else (mask.shape[1] / image_size[0], mask.shape[0] / image_size[1])
    dx = (inverse[0, 0] * mx + inverse[0, 1] * my + inverse[0, 2]) / w
    dy = (inverse[1, 0] * mx + inverse[1, 1] * my + inverse[1, 2]) / w
    dx = np.rint((dx + 0.5) * fx - 0.5).astype(np.int64)
    dy = np.rint((dy + 0.5) * fy - 0.5).astype(np.int64)
    inside = (dx >= 0) & (dy >= 0) & (dx < mask.shape[1]) & (dy < mask.shape[0])
    out = np.zeros(shape, dtype=bool)
    out[inside] = mask[dy[inside], dx[inside]]
    return out


@dataclass(frozen=True)
class Shares:
    percent_whole: float
    percent_lesion: float | None
    lesion_imaged_percent: float | None  # of the lesion's footprint on the mosaic frame, how much was imaged
    lesion_pixels: int  # imaged lesion pixels at the working spacing


def shares(labels: np.ndarray, lesion: np.ndarray | None) -> Shares:
    valid = labels != NOT_IMAGED
    mask = labels == UNINFORMATIVE
    whole = metrics.percent_uninformative(mask, valid)
    if lesion is None or not lesion.any():
        return Shares(whole, None, None, 0)
    imaged_lesion = int(np.count_nonzero(lesion & valid))
    in_lesion = metrics.percent_uninformative_in_lesion(mask, valid, lesion) if imaged_lesion else None
    return Shares(whole, in_lesion, 100.0 * imaged_lesion / int(np.count_nonzero(lesion)), imaged_lesion)


def verdict_for(percent: float, *, review_at: float, reimage_at: float) -> str:
    if percent >= reimage_at:
        return "reimage"
    if percent >= review_at:
        return "review"
    return "acceptable"


def project_labels(labels: np.ndarray, *, matrix, scale: float, target_shape: tuple[int, int],
                   target_step: float) -> np.ndarray:
    """The mosaic's labels seen on the dermoscopy image, on a grid of `target_shape` whose pixel j
    covers dermoscopy pixels [j·step, (j+1)·step): NOT_IMAGED wherever the mosaic does not reach."""
    m = np.asarray(matrix, dtype=float)
    ys, xs = np.mgrid[0:target_shape[0], 0:target_shape[1]].astype(np.float64)
    dx, dy = (xs + 0.5) * target_step - 0.5, (ys + 0.5) * target_step - 0.5
    w = m[2, 0] * dx + m[2, 1] * dy + m[2, 2]
    mx = (m[0, 0] * dx + m[0, 1] * dy + m[0, 2]) / w
    my = (m[1, 0] * dx + m[1, 1] * dy + m[1, 2]) / w
    wx = np.rint(working_from_mosaic(mx, scale)).astype(np.int64)
    wy = np.rint(working_from_mosaic(my, scale)).astype(np.int64)
    inside = (wx >= 0) & (wy >= 0) & (wx < labels.shape[1]) & (wy < labels.shape[0])
    out = np.zeros(target_shape, dtype=np.uint8)
    out[inside] = labels[wy[inside], wx[inside]]
    return out


# --------------------------------------------------------------------------- where the problem is

ROW_WORDS = ("upper", "middle", "lower")
COLUMN_WORDS = ("left", "centre", "right")
# Words beyond the 3x3 grid: pixels covering this share of the lesion (or imaged mosaic) are "most of" it;
# pixels around its centre, this wide and high (of its box) yet filling less than this share of their
# own box, are "spread over" it (a centroid between scattered patches names no place).
MOST_FRACTION = 0.6
SPREAD_FRACTION = 2 / 3
SCATTERED_FILL = 0.5


@dataclass(frozen=True)
class ProblemRegion:
    """Where the uninformative pixels that decided a verdict lie. Boxes are [x0, y0, x1, y1] in
    pixel edges (the box holds the pixels x0 <= x < x1, y0 <= y < y1); centroids are pixel
    coordinates with pixel centres at integers, as registrations use."""

    description: str
    within: str  # "lesion" or "mosaic": what the counted pixels were taken from
    mosaic_bbox: list[int]
    mosaic_centroid: list[float]
    dermoscopy_bbox: list[int] | None  # None without a registration, or when it falls off the image
    dermoscopy_centroid: list[float] | None
    share_percent: float
    pixels: int  # counted pixels on the working grid

    def as_dict(self) -> dict:
        return {"description": self.description, "within": self.within, "mosaic_bbox": self.mosaic_bbox,
                "mosaic_centroid": self.mosaic_centroid, "bbox": self.dermoscopy_bbox,
                "centroid": self.dermoscopy_centroid, "share_percent": self.share_percent}


def _edge_box(mask: np.ndarray) -> tuple[float, float, float, float]:
    """The bounding box of a mask's pixels in pixel edges."""
    ys, xs = np.nonzero(mask)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def grid_cell(point: tuple[float, float], box: tuple[float, float, float, float]) -> tuple[int, int]:
    """(row, column), each 0..2, of a point (pixel centre coordinates) in a 3x3 grid over the box
    (pixel edges); a point outside the box counts in the nearest cell."""
    x0, y0, x1, y1 = box
    u = (point[0] + 0.5 - x0) / max(x1 - x0, 1e-9)
    v = (point[1] + 0.5 - y0) / max(y1 - y0, 1e-9)
    return min(2, max(0, int(np.floor(v * 3)))), min(2, max(0, int(np.floor(u * 3))))


def position_words(row: int, column: int) -> str:
    if (row, column) == (1, 1):
        return "centre"
    return f"{ROW_WORDS[row]} {COLUMN_WORDS[column]}"


def _rounded_box(box, *, size: tuple[int, int] | None) -> list[int] | None:
    """Outward to whole pixels, clipped to an image of `size` (width, height); None when empty."""
    x0, y0 = (int(np.floor(edge + 1e-9)) for edge in box[:2])  # outward, forgiving float noise
    x1, y1 = (int(np.ceil(edge - 1e-9)) for edge in box[2:])
    if size is not None:
        x0, x1 = max(0, x0), min(size[0], x1)
        y0, y1 = max(0, y0), min(size[1], y1)
    return [x0, y0, x1, y1] if x0 < x1 and y0 < y1 else None


def problem_region(labels: np.ndarray, *, lesion: np.ndarray | None, on_lesion: bool, scale: float,
                   share_percent: float, matrix=None, mosaic_size: tuple[int, int] | None = None,
                   dermoscopy_size: tuple[int, int] | None = None) -> ProblemRegion | None:
    """The uninformative pixels that count for the verdict (within the lesion when it was judged on
    the lesion, else over the whole mosaic): their bounding box and centroid on the mosaic and,
    through the inverse of the registration (dermoscopy → mosaic), on the dermoscopy image; and
    where they lie in words, from the centroid in a 3x3 grid over the lesion's (or the imaged
    mosaic's) bounding box ("at the upper left of the mosaic"; "over most of the lesion" and "in
    patches spread over the mosaic" where a cell would mislead), a phrase that reads on its own
    after "uninformative area". None when no pixel counts.

    `labels` and `lesion` are on the working grid; `scale` is mosaic pixels per working pixel;
    sizes are (width, height) in pixels, to clip the boxes to the images."""
    counted = labels == UNINFORMATIVE
    has_lesion = lesion is not None and bool((lesion & (labels != NOT_IMAGED)).any())
    if on_lesion:
        if not has_lesion:
            raise ValueError("a verdict on the lesion needs the lesion on the mosaic")
        counted = counted & lesion
    if not counted.any():
        return None
    reference = lesion & (labels != NOT_IMAGED) if on_lesion else labels != NOT_IMAGED
    box = _edge_box(counted)
    ys, xs = np.nonzero(counted)
    centroid = (float(xs.mean()), float(ys.mean()))  # working-grid pixel coordinates
    ref_box = _edge_box(reference)
    row, column = grid_cell(centroid, ref_box)
    within = "lesion" if on_lesion else "mosaic"
    wide = (box[2] - box[0]) >= SPREAD_FRACTION * (ref_box[2] - ref_box[0]) and (
        box[3] - box[1]) >= SPREAD_FRACTION * (ref_box[3] - ref_box[1])
    scattered = len(xs) < SCATTERED_FILL * (box[2] - box[0]) * (box[3] - box[1])
    # Each description stands on its own after "uninformative area" (its preposition included):
    # "at the upper left of the mosaic", "over most of the lesion", "in patches spread over the mosaic".
    if len(xs) >= MOST_FRACTION * np.count_nonzero(reference):
        description = f"over most of the {within}"
    elif (row, column) == (1, 1) and wide and scattered:  # patches all around: their centroid is nowhere
        description = f"in patches spread over the {within}"
    else:
        description = f"at the {position_words(row, column)} of the {within}"
    if not on_lesion and has_lesion:
        inside = int(np.count_nonzero(counted & lesion))
        description += ", mostly within the lesion" if 2 * inside >= len(xs) else ", outside the lesion"
    mosaic_box = tuple(edge * scale for edge in box)
    mosaic_centroid = mosaic_from_working(np.asarray(centroid), scale)
    dermoscopy_box = dermoscopy_centroid = None
    if matrix is not None:
        inverse = invert(matrix)
        x0, y0, x1, y1 = (edge - 0.5 for edge in mosaic_box)  # corners as pixel coordinates
        corners = project_points(inverse, [[x0, y0], [x1, y0], [x0, y1], [x1, y1]])
        dermoscopy_box = _rounded_box((corners[:, 0].min() + 0.5, corners[:, 1].min() + 0.5,
                                       corners[:, 0].max() + 0.5, corners[:, 1].max() + 0.5), size=dermoscopy_size)
        dermoscopy_centroid = [round(float(v), 2) for v in project_points(inverse, [mosaic_centroid])[0]]
    return ProblemRegion(
        description=description, within=within, mosaic_bbox=_rounded_box(mosaic_box, size=mosaic_size) or [0, 0, 0, 0],
        mosaic_centroid=[round(float(v), 2) for v in mosaic_centroid], dermoscopy_bbox=dermoscopy_box,
        dermoscopy_centroid=dermoscopy_centroid, share_percent=round(float(share_percent), 1),
        pixels=int(len(xs)))


AGREE, MODEL_ONLY, EXPERT_ONLY = 1, 2, 3


def agreement_labels(labels: np.ndarray, expert: np.ndarray) -> tuple[np.ndarray, metrics.PixelAgreement]:
    """Per pixel: both call it uninformative, the model only, the expert only (0: neither or not
    imaged); and the model's sensitivity, specificity and Dice against the expert on the imaged area."""
    valid = labels != NOT_IMAGED
    model = (labels == UNINFORMATIVE) & valid
    expert = expert & valid
    out = np.zeros(labels.shape, np.uint8)
    out[model & expert] = AGREE
    out[model & ~expert] = MODEL_ONLY
    out[~model & expert] = EXPERT_ONLY
    return out, metrics.pixel_agreement(model, expert, valid)
