"""Lesion segmentation of a dermoscopy image, as the platform runs it: the outline the quality gate
uses for the lesional area of coregistered mosaics.

The network works at WORKING_SIZE (160x120); its probabilities are resized back to the image's own
size, thresholded, and the largest connected region is kept with its holes filled (one lesion per
image). Training is inference.training.lesion_segmentation, measuring
inference.evaluation.lesion_segmentation.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from .preprocessing import to_input

MODEL_NAME = "dermoscopy-lesion-segmentation"
WORKING_SIZE = (160, 120)  # width, height the network sees
THRESHOLD = 0.5


def largest_component(mask: np.ndarray) -> np.ndarray:
    """Keep the largest connected region and fill its holes: one lesion per dermoscopy image."""
    labels, count = ndimage.label(mask)
    if count == 0:
        return mask
    sizes = ndimage.sum_labels(mask, labels, np.arange(1, count + 1))
    return ndimage.binary_fill_holes(labels == (1 + int(np.argmax(sizes))))


def probability_at(probability: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A working-size probability map resized (bilinear) to `size` = (width, height)."""
    tensor = torch.from_numpy(np.ascontiguousarray(probability, dtype=np.float32))[None, None]
    return F.interpolate(tensor, size=(size[1], size[0]), mode="bilinear", align_corners=False)[0, 0].numpy()


def segment(predict, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask, probability) at the image's own size; `predict` maps (B, 3, H, W) to (B, 1, H, W)
    probabilities (LoadedModel.predict). The image is resized to the working size first."""
    from PIL import Image as PILImage

    working = np.asarray(PILImage.fromarray(rgb).resize(WORKING_SIZE, PILImage.BILINEAR))
    probability = predict(to_input(working)[None])[0, 0]
    full = probability_at(probability, (rgb.shape[1], rgb.shape[0]))
    return largest_component(full >= THRESHOLD), full
