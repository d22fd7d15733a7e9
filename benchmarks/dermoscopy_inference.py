"""Dermoscopy model inference: images per second at batch 1 and 8, PyTorch eager (the baseline) vs
ONNX Runtime, measured in one run on the shipped cards and weights. Inputs are real HAM10000 val
images at the model's input size (the network alone, as the issue asks: no decoding or resizing).
Model B gets its location input too (real HAM10000 locations). The platform classifies each image
three times (test-time flips); the figures are per network call.
Usage: python benchmarks/dermoscopy_inference.py [--seconds 5] [--models dermoscopy-lesion-segmentation ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]


def images_per_second(predict, batch, *, seconds: float) -> float:
    predict(batch)  # warm-up (allocations, first-call costs)
    rates, deadline = [], time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rates) < 5:
        started = time.perf_counter()
        predict(batch)
        rates.append(len(batch) / (time.perf_counter() - started))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0, help="per model, backend and batch size")
    parser.add_argument("--models", nargs="+", default=["dermoscopy-lesion-segmentation", "dermoscopy-diagnosis-location",
                                                         "dermoscopy-diagnosis", "body-region"])
    args = parser.parse_args()

    import numpy as np
    import onnxruntime
    import torch

    from benchmarks.common import versions, write_result
    from inference.datasets import ham10000
    from inference.datasets.shared import shared_datasets
    from inference.serving.classification import location_index
    from inference.serving.registry import Registry

    root = shared_datasets() / "ham10000"
    val = [r for r in ham10000.read_metadata(root / "metadata.csv") if r.split == "val"][:8]
    registry = Registry()
    figures, lines = {}, []
    for name in args.models:
        eager, onnx = registry.load(name, backend="pytorch"), registry.load(name, backend="onnxruntime")
        width, height = eager.card.input["size"]
        pixels = np.stack([ham10000.load_rgb(ham10000.image_path(root, r.image_id), (width, height)) for r in val])
        batch8 = ((pixels.astype(np.float32) / 255 - 0.5) / 0.5).transpose(0, 3, 1, 2).copy()
        locations8 = np.array([location_index(r.localization) for r in val], dtype=np.int64)
        for size in (1, 8):
            batch = batch8[:size]

            def call(model, x, where=locations8[:size]):
                return model.predict(x, where) if model.takes_locations else model.predict(x)

            rate_eager = images_per_second(lambda x: call(eager, x), batch, seconds=args.seconds)
            rate_onnx = images_per_second(lambda x: call(onnx, x), batch, seconds=args.seconds)
            figures[f"{name} batch {size}"] = {"pytorch_eager_images_per_s": round(rate_eager, 1),
                                               "onnxruntime_images_per_s": round(rate_onnx, 1),
                                               "ratio": round(rate_onnx / rate_eager, 2)}
            lines.append(f"| {name} | {size} | {rate_eager:.1f} | {rate_onnx:.1f} | {rate_onnx / rate_eager:.2f} |")
    worst = min(entry["ratio"] for entry in figures.values())
    summary = "\n".join([
        "# Dermoscopy model inference: images per second, PyTorch eager vs ONNX Runtime", "",
        f"Real HAM10000 val images at each model's input size, network only, median of {args.seconds:g} s of calls "
        f"per cell after a warm-up call; torch threads {torch.get_num_threads()}, ONNX Runtime default CPU threads.", "",
        "| model | batch | PyTorch eager img/s | ONNX Runtime img/s | ratio |", "| --- | --- | --- | --- | --- |", *lines, "",
        f"Target: ONNX Runtime ≥ 2x eager. Worst ratio: {worst:.2f}.", "", "Reproduce: `make bench-dermoscopy`",
    ])
    write_result(benchmark="dermoscopy_inference", figures=figures, baseline="PyTorch eager, same weights, same inputs",
                 ratio=worst, target="ONNX Runtime images/s >= 2x PyTorch eager at batch 1 and 8",
                 meets_target=worst >= 2, summary=summary,
                 versions_=versions("torch", "onnxruntime", "numpy", extra={"onnxruntime_providers": onnxruntime.get_available_providers()}))
    print(summary)


if __name__ == "__main__":
    main()
