"""What every runner starts with: its model, its image as RGB, a stopwatch, PNG encoding."""

from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image as PILImage

from dermrelay.imaging.services import image_local_path
from inference.serving.registry import LoadedModel

from dermrelay.analysis.models import AnalysisRun
from dermrelay.analysis import catalogue



class Stopwatch:
    """Seconds per stage of a run, for its `timings`."""

    def __init__(self):
        self.started = self.mark = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name], self.mark = now - self.mark, now

    def rounded(self) -> dict[str, float]:
        return {**{k: round(v, 4) for k, v in self.timings.items()}, "total_s": round(time.perf_counter() - self.started, 4)}


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(array).save(buffer, "PNG", compress_level=3)
    return buffer.getvalue()


MAX_DERMOSCOPY_SIDE = 2048  # the lesion mask is stored at most this large (the model works at 160x120)


def rgb_of(path, *, max_side: int) -> np.ndarray:
    """An image as uint8 RGB, shrunk on load to at most `max_side` pixels on its longer side."""
    from inference.serving.image_source import thumbnail

    image = thumbnail(str(path), max_side, height=max_side, size="down")
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    image = image.colourspace("srgb")  # grey or 16-bit RGB become 8-bit sRGB
    if image.format != "uchar":
        image = image.cast("uchar")
    return np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, image.bands))[..., :3].copy()


def model_and_rgb(run: AnalysisRun, *, max_side: int) -> tuple[Stopwatch, LoadedModel, np.ndarray]:
    """What the photo runners start with: the run's model and its image as RGB, timed."""
    watch = Stopwatch()
    model = catalogue.model_load(version=run.model_version)
    watch.lap("model_load_s")
    with image_local_path(image=run.image) as path:
        rgb = rgb_of(path, max_side=max_side)
    watch.lap("read_s")
    return watch, model, rgb


def loaded_model_identity(model: LoadedModel) -> dict:
    return {"name": model.card.name, "version": model.card.version, "weights_sha256": model.card.weights["sha256"],
            "backend": model.backend}


def labels_ranked(labels: list[str], probabilities: np.ndarray) -> list[dict]:
    order = np.argsort(-probabilities)
    return [{"label": labels[k], "probability": round(float(probabilities[k]), 4)} for k in order]
