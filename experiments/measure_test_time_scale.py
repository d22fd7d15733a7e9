"""Whether the classifiers should see the image larger at test time than in training (Touvron et
al., "Fixing the train-test resolution discrepancy", NeurIPS 2019): each shipped classifier (A, B
with the recorded location) is run in PyTorch from its card's fp16 weights with its input scale
raised, its BatchNorm statistics recomputed on the plain train images at that scale (the fix the
paper makes; the statistics as shipped are measured too). The folded logit adjustment is taken out
and every τ of training's grid tried, since the statistics move the calibration. Written: HAM10000
val balanced accuracy by τ and macro AUC of each candidate; the best candidate on val against the
shipped one (paired bootstrap, McNemar); and, as training's cards do, the balanced accuracy of
choosing on one half of val and measuring on the other, over all candidates and over the shipped
scale's alone. Val's rare classes (10-29 images) make balanced accuracy jump by ~0.01 per image,
so read the intervals, not the points. Recomputing the statistics takes ~10 min per model and
scale on 2 cores.

    .venv/bin/python experiments/measure_test_time_scale.py ../shared/datasets/ham10000 var/test-time-scale.json 1.12
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inference.evaluation import classification_metrics  # noqa: E402
from inference.serving.classification import MODEL_NAMES, TASKS  # noqa: E402
from inference.serving.registry import DEFAULT_CARDS_DIR  # noqa: E402
from inference.training.classification import (LOGIT_ADJUSTMENTS, adjusted_probabilities, build, train_and_val,  # noqa: E402
                                               view_logits, with_batch_norm_recomputed)
from inference.training.weight_soup import card_prior, member_cards, member_weights, unfolded  # noqa: E402


def balanced(truth: np.ndarray, answers: np.ndarray, classes: int) -> float:
    return round(classification_metrics.balanced_accuracy(classification_metrics.confusion(truth, answers, classes)), 4)


def measure(task: str, data: Path, scales: list[float]) -> dict:
    card = member_cards([DEFAULT_CARDS_DIR / f"{MODEL_NAMES[task]}.json"], minimum=1)[0]
    shipped_scale = card["architecture"]["kwargs"].get("input_scale", 1.0)
    shipped_tau = card["training"]["logit_adjustment"]["tau"]
    train, val = train_and_val(data, task)
    classes = len(TASKS[task]["labels"])
    prior = card_prior(card, train.labels, classes=classes)
    state = unfolded(member_weights(card), tau=shipped_tau, prior=prior)
    found = {}  # (scale, statistics, τ) -> val probabilities
    for scale in [shipped_scale, *scales]:
        network = build(task, pretrained=False, input_scale=scale)
        network.load_state_dict(state)
        candidates = {"as shipped": network} if scale == shipped_scale else {
            "as shipped": network, "recomputed at this scale": with_batch_norm_recomputed(network, train)}
        for statistics, candidate in candidates.items():
            logits = view_logits(candidate, val)
            found.update({(scale, statistics, tau): adjusted_probabilities(logits, prior, tau) for tau in LOGIT_ADJUSTMENTS})
            print(task, scale, statistics, {tau: balanced(val.labels, found[scale, statistics, tau].argmax(axis=1), classes)
                                            for tau in LOGIT_ADJUSTMENTS}, flush=True)
    shipped = found[shipped_scale, "as shipped", shipped_tau].argmax(axis=1)
    best = max(found, key=lambda key: balanced(val.labels, found[key].argmax(axis=1), classes))
    return {
        "model": f"{card['name']} {card['version']}", "shipped": {"input_scale": shipped_scale, "tau": shipped_tau},
        "candidates": [{"input_scale": scale, "batch_norm_statistics": statistics, "tau": tau,
                        "balanced_accuracy": balanced(val.labels, p.argmax(axis=1), classes),
                        "macro_auc": round(classification_metrics.macro_auc(p, val.labels), 4)}
                       for (scale, statistics, tau), p in found.items()],
        "best_on_val": {"input_scale": best[0], "batch_norm_statistics": best[1], "tau": best[2],
                        "minus_shipped": classification_metrics.balanced_accuracy_difference(
                            val.labels, shipped, found[best].argmax(axis=1), classes),
                        "mcnemar_versus_shipped": classification_metrics.mcnemar(val.labels, shipped, found[best].argmax(axis=1))},
        "chosen_on_other_half": {
            "every_candidate": classification_metrics.chosen_on_other_half(
                val.labels, [p.argmax(axis=1) for p in found.values()], classes),
            "shipped_scale_only": classification_metrics.chosen_on_other_half(
                val.labels, [p.argmax(axis=1) for key, p in found.items() if key[0] == shipped_scale], classes)},
        "images": int(len(val.labels)),
    }


def main(data: Path, out: Path, scales: list[float]) -> None:
    report = {"data": "HAM10000 val", "models": [measure(task, data, scales) for task in ("diagnosis", "diagnosis-location")]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps([{k: m[k] for k in ("model", "best_on_val", "chosen_on_other_half")} for m in report["models"]], indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), [float(s) for s in sys.argv[3:]])
