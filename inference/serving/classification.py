"""The dermoscopy classifiers as the platform runs them: diagnosis without (model A) and with (model
B) the body location, and the body region (`region7`) from the image.

What each model answers (TASKS, MODEL_NAMES), the image size they take (IMAGE_SIZE, HAM10000's
200x150; any other size is resized to it, and the network enlarges it itself) and the answer
averaged over the test-time views. Training is inference.training.classification, measuring
inference.evaluation.
"""

from __future__ import annotations

import numpy as np

from .preprocessing import to_input

IMAGE_SIZE = (200, 150)  # width, height
DX_CLASSES = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")  # HAM10000's diagnoses (Tschandl et al. 2018)
REGION7 = ("arm", "leg", "feet", "hand", "head", "trunk", "other")  # the body-region model's answers
# HAM10000's `localization` vocabulary; index 0 is "unknown" (also for anything not listed).
LOCATIONS = ("unknown", "abdomen", "acral", "back", "chest", "ear", "face", "foot", "genital", "hand",
             "lower extremity", "neck", "scalp", "trunk", "upper extremity")
TASKS = {
    "diagnosis": {"labels": DX_CLASSES, "field": "dx", "locations": False},
    "diagnosis-location": {"labels": DX_CLASSES, "field": "dx", "locations": True},
    "body-region": {"labels": REGION7, "field": "region7", "locations": False},
}
MODEL_NAMES = {"diagnosis": "dermoscopy-diagnosis", "diagnosis-location": "dermoscopy-diagnosis-location",
               "body-region": "body-region"}


def location_index(localization: str) -> int:
    """The index into LOCATIONS that model B takes (0, unknown, for anything not listed)."""
    return LOCATIONS.index(localization) if localization in LOCATIONS else 0


def test_time_views(x: np.ndarray) -> list[np.ndarray]:
    """The views each classifier answer averages: the image and its horizontal and vertical mirror
    images (16 turns and mirror images did no better on val: experiments/measure_test_time_views.py)."""
    return [x, x[..., ::-1], x[..., ::-1, :]]


def view_outputs(predict, images: np.ndarray, locations: np.ndarray | None = None, *, batch: int = 64) -> np.ndarray:
    """V x N x classes answers of `predict(x, locations)` on each of the test_time_views of uint8
    images at IMAGE_SIZE (at least one); `predict` maps normalised N x 3 x H x W input to probabilities
    (LoadedModel.predict in the platform) or logits (network_predict in training)."""
    locations = np.zeros(len(images), dtype=np.int64) if locations is None else np.asarray(locations, dtype=np.int64)
    found = []
    for start in range(0, len(images), batch):
        x, where = to_input(images[start:start + batch]), locations[start:start + batch]
        found.append(np.stack([predict(np.ascontiguousarray(v), where) for v in test_time_views(x)]))
    return np.concatenate(found, axis=1)


def classify(predict, images: np.ndarray, locations: np.ndarray | None = None, *, batch: int = 64) -> np.ndarray:
    """N x classes probabilities of uint8 images at IMAGE_SIZE, averaged over the test-time views.
    `predict` is LoadedModel.predict in the platform, network_predict(network) in training."""
    return view_outputs(predict, images, locations, batch=batch).mean(axis=0) if len(images) else np.zeros((0, 0))


def resized(rgb: np.ndarray) -> np.ndarray:
    """Any uint8 RGB image at the classifiers' IMAGE_SIZE (bilinear, as in training)."""
    from PIL import Image as PILImage

    if (rgb.shape[1], rgb.shape[0]) == IMAGE_SIZE:
        return rgb
    return np.asarray(PILImage.fromarray(rgb).resize(IMAGE_SIZE, PILImage.BILINEAR))
