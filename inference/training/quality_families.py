"""Leave one phantom family out: does the quality model hold on mosaics unlike any it trained on?

For each family F: train MED-Net from scratch on the other families' training phantoms, fit its
calibration (temperature, minimum region area, interval) on their validation phantoms, and measure
it on F's test phantoms, which it has never seen the like of. The mean over the left-out families
is the figure that predicts a new kind of mosaic; the model trained on all families is measured on
their own test phantoms, which is the in-distribution figure.

Folder layout (`prepare_families`): ROOT/<family>/{train,val,test}, each a family_dataset folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..evaluation.calibration import fit_calibration
from ..evaluation.quality import evaluate_quality, raw_predictions, samples_of
from ..phantoms.family_dataset import write_family_dataset
from ..serving.registry import Registry
from .quality import TrainConfig, quality_card, train

SPLITS = {"train": range(0, 60), "val": range(50000, 50010), "test": range(100000, 100020)}
SUMMARY_KEYS = ("pixel_sensitivity", "pixel_specificity", "dice", "percent_uninformative_mae",
                "percent_uninformative_mean_signed_error", "ece", "interval_coverage")
GOALS = {"pixel_sensitivity": (">=", 0.90), "pixel_specificity": (">=", 0.95), "dice": (">=", 0.85),
         "percent_uninformative_mae": ("<=", 2.0), "ece": ("<=", 0.05)}


def prepare_families(*, root: Path, families: list[str], splits: dict[str, range] = SPLITS,
                     size_px: int = 1024, pixel_spacing_um: float = 2.0) -> None:
    """Write each family's train/val/test folders, skipping those already written with the same seeds."""
    for family in families:
        for split, seeds in splits.items():
            folder = Path(root) / family / split
            manifest = folder / "manifest.json"
            if manifest.exists() and [e["seed"] for e in json.loads(manifest.read_text())["images"]] == list(seeds):
                continue
            write_family_dataset(out_dir=folder, family=family, seeds=seeds, size_px=size_px,
                                 pixel_spacing_um=pixel_spacing_um)


@dataclass(frozen=True)
class FoldPlan:
    root: Path
    families: tuple[str, ...]
    out_dir: Path
    base: TrainConfig  # steps, width, seed, …; `data` and `weights_out` are set per fold
    name: str = "rcm-quality-mednet"


def train_and_calibrate(*, plan: FoldPlan, train_families: list[str], cards_dir: Path, version: str,
                        command: str) -> Path:
    """Train on the families' train folders, fit calibration on their val folders; returns the card path."""
    cards_dir.mkdir(parents=True, exist_ok=True)
    config = replace(plan.base, data=tuple(plan.root / f / "train" for f in train_families),
                     weights_out=cards_dir.parent / "weights" / f"{plan.name}.pt")
    log = train(config)
    card = quality_card(config=config, log=log, name=plan.name, version=version, command=command,
                        data_note=f"synthetic RCM phantoms of the families {', '.join(train_families)}")
    card_path = cards_dir / f"{plan.name}.json"
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    model = Registry(cards_dir).load(plan.name, backend="pytorch")
    validation = raw_predictions(model, samples_of(model, [plan.root / f / "val" for f in train_families]))
    card["calibration"] = fit_calibration(validation, spacing_um=config.working_spacing_um)
    card["calibration"]["fitted_on"] = f"validation phantoms of {', '.join(train_families)}"
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return card_path


def leave_one_family_out(*, plan: FoldPlan, command: str) -> dict:
    """Every fold's metrics on its left-out family, and their mean (written to out_dir/lofo.json)."""
    folds = {}
    for held in plan.families:
        others = [f for f in plan.families if f != held]
        cards_dir = plan.out_dir / f"without-{held}" / "cards"
        card_path = train_and_calibrate(plan=plan, train_families=others, cards_dir=cards_dir,
                                        version=f"lofo-{held}", command=command)
        model = Registry(cards_dir).load(plan.name, backend="pytorch")
        found = evaluate_quality(model, plan.root / held / "test")
        found["trained_on"] = others
        found["calibration"] = json.loads(card_path.read_text())["calibration"]
        folds[held] = found
        print(json.dumps({held: {k: found[k] for k in SUMMARY_KEYS}}), flush=True)
        _write(plan, folds, command)
    return _write(plan, folds, command)


def _write(plan: FoldPlan, folds: dict, command: str) -> dict:
    mean = {key: round(float(np.mean([f[key] for f in folds.values() if f[key] is not None])), 4)
            for key in SUMMARY_KEYS if any(f[key] is not None for f in folds.values())}
    result = {
        "families": list(plan.families), "folds": folds, "mean_over_left_out_families": mean,
        "goals_met": {key: _meets(mean.get(key), *goal) for key, goal in GOALS.items()} | {
            "percent_uninformative_mean_signed_error": abs(mean.get("percent_uninformative_mean_signed_error", 99)) <= 1.0},
        "command": command, "steps": plan.base.steps, "width": plan.base.width,
    }
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    (plan.out_dir / "lofo.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _meets(value: float | None, sense: str, bound: float) -> bool:
    return value is not None and (value >= bound if sense == ">=" else value <= bound)
