"""A weight soup of classifier runs: the uniform average of the weights of runs that differ only in
their seed and length (Wortsman et al., ICML 2022), shipped as one network, so it costs no more at inference
than any one run. A soup of one run is a recalibration: the run's BatchNorm statistics and τ are
chosen again on val (`recalibrate-classifier`), what train() now does for every new run.

Averaging is meaningful only between runs that started from the same weights (`--init-seed`) with
the same recipe, so members are checked for that; only the schedule's length may differ, as among
Wortsman et al.'s members (fine-tuned from one start for different numbers of epochs): a shorter
run is a cheaper member, still in the basin of the shared start. Each run folded its own logit adjustment into
the head's bias; it is taken out before averaging, and chosen again on val for the soup. The
BatchNorm statistics are recomputed on the training images, because the average of the runs'
running statistics does not fit the averaged weights (3 seeds of model B on val: balanced accuracy
0.695 with the averaged statistics, 0.731 with recomputed ones).
"""

from __future__ import annotations

import copy
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..evaluation import classification_metrics
from ..serving.classification import MODEL_NAMES, TASKS, classify
from ..serving.registry import sha256_of
from .classification import (SAMPLING_TEXT, build, choose_fold_and_save, log_prior, network_predict, sampling_prior,
                             train_and_val, training_device, with_batch_norm_recomputed)

# what members must share: everything in the recipe but the seed of batches, views and mixup, and the epochs
SHARED_TRAINING = ("init_seed", "batch", "optimiser", "frozen", "input_scale", "augmentation", "sampling",
                   "loss", "weight_average", "location_dropout", "data_hashes")


class MembersDoNotMix(ValueError):
    """The runs cannot be averaged (another model, architecture, starting point or recipe)."""


def member_cards(paths: list[Path], *, minimum: int = 2) -> list[dict]:
    """The members' cards, each with `path`; raises MembersDoNotMix unless they can be averaged."""
    cards = []
    for path in paths:
        card = json.loads(Path(path).read_text())
        card["path"] = str(Path(path).resolve())
        if card["training"].get("init_seed") is None:  # cards older than --init-seed: the seed drew the start too
            card["training"]["init_seed"] = card["training"]["seed"]
        cards.append(card)
    if len(cards) < minimum:
        raise MembersDoNotMix(f"a soup needs at least {minimum} runs")
    first = cards[0]
    for card in cards[1:]:
        if (card["name"], card["architecture"]) != (first["name"], first["architecture"]):
            raise MembersDoNotMix(f"{card['path']} is {card['name']} {card['architecture']}, "
                                  f"not {first['name']} {first['architecture']}")
        for key in SHARED_TRAINING:
            if card["training"].get(key) != first["training"].get(key):
                raise MembersDoNotMix(f"{card['path']} differs from {first['path']} in training.{key}: "
                                      f"{card['training'].get(key)!r} vs {first['training'].get(key)!r}")
    for card in cards:
        if card["training"].get("log", {}).get("stopped_early"):
            raise MembersDoNotMix(f"{card['path']} stopped early: its schedule did not finish, so it is not the recipe")
    seeds = [card["training"]["seed"] for card in cards]
    if len(set(seeds)) != len(seeds):
        raise MembersDoNotMix(f"two runs share a seed ({seeds}): they are the same run")
    return cards


def member_weights(card: dict) -> dict[str, torch.Tensor]:
    """A member's weights as it ships (float32, its logit adjustment folded into the head's bias)."""
    weights = Path(card["path"]).parent / card["weights"]["file"]
    if sha256_of(weights) != card["weights"]["sha256"]:
        raise MembersDoNotMix(f"{weights} does not match the sha256 in {card['path']}")
    state = torch.load(weights, map_location="cpu", weights_only=True)
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def card_prior(card: dict, train_labels: np.ndarray, *, classes: int) -> np.ndarray:
    """The sampling prior the card's run was trained under: its τ was folded in against this prior."""
    sampling = {text: key for key, text in SAMPLING_TEXT.items()}[card["training"]["sampling"]]
    return sampling_prior(np.bincount(train_labels, minlength=classes).astype(np.float64), sampling)


def unfolded(state: dict[str, torch.Tensor], *, tau: float, prior: np.ndarray) -> dict[str, torch.Tensor]:
    """The weights with the folded logit adjustment τ·log(prior) taken out of the head's bias again."""
    return dict(state, **{"head.bias": state["head.bias"] + torch.as_tensor(tau * log_prior(prior), dtype=torch.float32)})


def averaged(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The uniform average of floating-point tensors; counters (num_batches_tracked) from the first."""
    return {k: torch.stack([s[k] for s in states]).mean(dim=0) if v.is_floating_point() else v.clone()
            for k, v in states[0].items()}


def soup(*, task: str, data: Path, members: list[Path], out: Path, cards_dir: Path, version: str,
         logit_adjustment: float | None = None, device: str = "auto", minimum: int = 2, log=print) -> dict:
    """Average the members' weights, recompute BatchNorm on train, choose τ on val, write fp16
    weights and a card; the summary also gives each member's and their ensemble's val figures. One
    member (minimum=1) keeps its own statistics as a candidate: they fit its weights."""
    started = time.monotonic()
    cards = member_cards(members, minimum=minimum)
    if cards[0]["name"] != MODEL_NAMES[task]:
        raise MembersDoNotMix(f"the runs are {cards[0]['name']}, not {MODEL_NAMES[task]}")
    train_data, val_data = train_and_val(data, task)
    labels = list(TASKS[task]["labels"])
    prior = card_prior(cards[0], train_data.labels, classes=len(labels))
    input_scale = cards[0]["architecture"]["kwargs"].get("input_scale", 1.0)
    run_device = training_device(device)

    states, member_found = [], []
    for card in cards:  # each member as it shipped, for the comparison
        network = build(task, pretrained=False, input_scale=input_scale)
        network.load_state_dict(state := member_weights(card))
        member_found.append(classify(network_predict(network.to(run_device)), val_data.images, val_data.locations, batch=256))
        states.append(unfolded(state, tau=card["training"]["logit_adjustment"]["tau"], prior=prior))

    network = build(task, pretrained=False, input_scale=input_scale)
    network.load_state_dict(averaged(states))
    network = network.to(run_device)
    candidates = {"recomputed": with_batch_norm_recomputed(network, train_data)}
    if len(cards) == 1:  # the average of several runs' statistics fits none of them; one run's own may fit
        candidates = {"kept": network, **candidates}
    choice, found = choose_fold_and_save(candidates, task=task, prior=prior, val_data=val_data, out=Path(out),
                                         input_scale=input_scale, logit_adjustment=logit_adjustment)

    def balanced(probabilities: np.ndarray) -> float:
        return round(classification_metrics.balanced_accuracy(classification_metrics.confusion(
            val_data.labels, probabilities.argmax(axis=1), len(labels))), 4)

    summary = {
        "task": task, "device": str(run_device), "seconds": round(time.monotonic() - started),
        "members": [{"card": card["path"], "seed": card["training"]["seed"], "epochs": card["training"]["epochs"],
                     "weights_sha256": card["weights"]["sha256"],
                     "val_balanced_accuracy": balanced(p)} for card, p in zip(cards, member_found)],
        **({"ensemble_val_balanced_accuracy": balanced(np.mean(member_found, axis=0))} if len(cards) > 1 else {}),
        **choice,
        "val": classification_metrics.report(val_data.labels, found, labels),
    }
    out = Path(out)
    np.save(out.with_suffix(".val-probabilities.npy"), found)
    out.with_suffix(".soup.json").write_text(json.dumps(summary, indent=2) + "\n")
    card_path = soup_card_write(cards=cards, cards_dir=Path(cards_dir), weights=out, summary=summary, version=version)
    log(json.dumps({"val_balanced_accuracy": summary["val"]["balanced_accuracy"], "batch_norm": summary["batch_norm"]["chosen"],
                    "tau": summary["logit_adjustment"]["tau"], "members": [m["val_balanced_accuracy"] for m in summary["members"]],
                    "ensemble": summary.get("ensemble_val_balanced_accuracy"), "card": str(card_path)}))
    return summary


def soup_card_write(*, cards: list[dict], cards_dir: Path, weights: Path, summary: dict, version: str) -> Path:
    """The first member's card, made the soup's (or the recalibrated run's): its weights, seeds,
    BatchNorm statistics, τ and val metrics. The ONNX file and the comparison with the other model
    described the old weights, so they are dropped until export-onnx and compare-diagnosis run."""
    card = copy.deepcopy({k: v for k, v in cards[0].items() if k not in ("path", "onnx")})
    card["version"] = version
    card["weights"] = {"file": f"../weights/{Path(weights).name}", "sha256": sha256_of(weights), "dtype": "float16"}
    training = card["training"]
    arguments = " ".join(shlex.quote(a) for a in sys.argv[1:])
    if len(cards) == 1:
        training["device"] = f"run: {cards[0]['training']['device']}; recalibration: {summary['device']}"
        training["command"] = cards[0]["training"]["command"] + f"; then: python -m inference {arguments}"
        training["recalibration"] = {"before": summary["members"][0]["val_balanced_accuracy"],
                                     "what": "BatchNorm statistics and τ chosen again on val for the run's weights"}
    else:
        training["seed"] = [c["training"]["seed"] for c in cards]
        training["log"] = [c["training"].get("log") for c in cards]
        training.pop("recalibration", None)  # the first run's, when it was recalibrated: not the soup's
        if len({c["training"]["epochs"] for c in cards}) > 1:
            training["epochs"] = [c["training"]["epochs"] for c in cards]
        training["device"] = f"runs: {sorted({c['training']['device'] for c in cards})}; soup: {summary['device']}"
        training["weight_average"] += (f"; then the uniform average of the {len(cards)} runs' weights (a model soup, "
                                       "Wortsman et al. 2022)")
        training["soup"] = {k: summary[k] for k in ("members", "ensemble_val_balanced_accuracy")}
        training["soup"]["members"] = [{k: v for k, v in m.items() if k != "card"} for m in summary["members"]]
        training["command"] = "; ".join(f"run {n}: {c['training']['command']}" for n, c in enumerate(cards, 1)) \
            + f"; then: python -m inference {arguments}"
    training["logit_adjustment"] = summary["logit_adjustment"]
    training["batch_norm"] = summary["batch_norm"]
    how = "the soup" if len(cards) > 1 else "the recalibrated run"
    card["metrics"] = {"ham10000_val": dict(summary["val"], how=f"HAM10000 val split, fp16 weights of {how}, PyTorch in "
                                                                  f"float32 on {summary['device']}, test-time flips")}
    path = Path(cards_dir) / f"{card['name']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(card, indent=2) + "\n")
    return path
