"""Which test-time views the classifiers should average: each registered classifier (A, B with the
recorded location) is run as the platform runs it (registry backend) on HAM10000 val under 16 views
(turns by 45° with and without a mirror, made as training makes its random views), and the
balanced accuracy and macro AUC of view sets are written with a paired bootstrap against the
shipped views (the image and its two mirror images). Val's rare classes (10-29 images) make
balanced accuracy jump by ~0.01 per image, so read the interval, not the point.

    .venv/bin/python experiments/measure_test_time_views.py ../shared/datasets/ham10000 var/test-time-views.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inference.datasets import ham10000  # noqa: E402
from inference.datasets.ham10000 import examples  # noqa: E402
from inference.evaluation import classification_metrics  # noqa: E402
from inference.serving.classification import MODEL_NAMES  # noqa: E402
from inference.serving.preprocessing import to_input  # noqa: E402
from inference.serving.registry import Registry  # noqa: E402
from inference.training.training_loop import turned  # noqa: E402

VIEWS = [(turn, mirror) for turn in range(0, 360, 45) for mirror in (1.0, -1.0)]
SETS = {"shipped: image, mirror images": [(0, 1.0), (0, -1.0), (180, -1.0)],
        "+ 180° turn": [(0, 1.0), (0, -1.0), (180, 1.0), (180, -1.0)],
        "turns by 90°, mirrored or not": [v for v in VIEWS if v[0] % 90 == 0],
        "turns by 45°, mirrored or not": VIEWS}


def view_probabilities(model, images: np.ndarray, locations: np.ndarray | None) -> np.ndarray:
    """V x N x classes probabilities, one slice per entry of VIEWS."""
    found = np.zeros((len(VIEWS), len(images), len(model.card.labels)), dtype=np.float32)
    for start in range(0, len(images), 64):
        x = torch.from_numpy(to_input(images[start:start + 64]))  # resampling commutes with the normalisation
        n, where = len(x), None if locations is None else locations[start:start + 64]
        for index, (turn, mirror) in enumerate(VIEWS):
            view = turned(x, angle=np.full(n, np.deg2rad(turn)), mirror=np.full(n, mirror), scale=np.ones(n),
                          shift_x=np.zeros(n), shift_y=np.zeros(n))
            found[index, start:start + n] = model.predict(np.ascontiguousarray(view.numpy()), where)
    return found


def main(data: Path, out: Path) -> None:
    records = [r for r in ham10000.read_metadata(data / "metadata.csv") if r.split == "val"]
    val = examples(data, records, "diagnosis-location")
    registry, classes, report = Registry(), len(ham10000.DX_CLASSES), {}
    for task, locations in (("diagnosis", None), ("diagnosis-location", val.locations)):
        model = registry.load(MODEL_NAMES[task])
        found = view_probabilities(model, val.images, locations)
        by_set = {name: found[[VIEWS.index(v) for v in views]].mean(axis=0) for name, views in SETS.items()}
        shipped = by_set["shipped: image, mirror images"].argmax(axis=1)
        report[f"{model.card.name} {model.card.version} ({model.backend})"] = {name: {
            "views": len(SETS[name]),
            "balanced_accuracy": round(classification_metrics.balanced_accuracy(
                classification_metrics.confusion(val.labels, p.argmax(axis=1), classes)), 4),
            "macro_auc": round(classification_metrics.macro_auc(p, val.labels), 4),
            "minus_shipped": classification_metrics.balanced_accuracy_difference(val.labels, shipped, p.argmax(axis=1), classes),
        } for name, p in by_set.items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"images": len(val.labels), "data": "HAM10000 val", "models": report}, indent=2) + "\n")
    print(json.dumps({m: {s: (r["balanced_accuracy"], r["macro_auc"]) for s, r in sets.items()} for m, sets in report.items()},
                     indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
