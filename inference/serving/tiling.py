"""Sliding-window inference over an image of any size, with overlapping tiles blended smoothly.

Each tile's prediction is weighted by a window that falls towards the tile's edges (where a
convolutional network sees the least context), and the weighted predictions are averaged; so
tiled output matches untiled output closely and shows no seams.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Predict = Callable[[np.ndarray], np.ndarray]  # (B, 1, T, T) float32 → (B, 1, T, T) probabilities


def blend_window(tile: int, overlap: int) -> np.ndarray:
    ramp = np.ones(tile, dtype=np.float32)
    if overlap:
        edge = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        ramp[:overlap], ramp[-overlap:] = edge, edge[::-1]
    return np.outer(ramp, ramp)


def _starts(length: int, tile: int, step: int) -> list[int]:
    starts = list(range(0, max(length - tile, 0) + 1, step))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


def sliding_window(predict: Predict, image: np.ndarray, *, tile: int = 512, overlap: int = 64,
                   batch_size: int = 4) -> np.ndarray:
    """Probabilities for a 2-D float32 image, same shape. Images smaller than a tile are padded
    by reflection; `tile` must suit the network (a multiple of its size_multiple)."""
    height, width = image.shape
    pad_y, pad_x = max(tile - height, 0), max(tile - width, 0)
    padded = np.pad(image, ((0, pad_y), (0, pad_x)), mode="reflect" if min(height, width) > 1 else "edge")
    total = np.zeros(padded.shape, dtype=np.float32)
    weights = np.zeros(padded.shape, dtype=np.float32)
    window = blend_window(tile, overlap)
    positions = [(y, x) for y in _starts(padded.shape[0], tile, tile - overlap)
                 for x in _starts(padded.shape[1], tile, tile - overlap)]
    for first in range(0, len(positions), batch_size):
        chunk = positions[first:first + batch_size]
        batch = np.stack([padded[y:y + tile, x:x + tile] for y, x in chunk])[:, None]
        predictions = predict(batch)[:, 0]
        for (y, x), prediction in zip(chunk, predictions):
            total[y:y + tile, x:x + tile] += prediction * window
            weights[y:y + tile, x:x + tile] += window
    return (total / np.maximum(weights, 1e-6))[:height, :width]
