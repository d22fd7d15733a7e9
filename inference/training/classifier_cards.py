"""The model card of a freshly trained dermoscopy classifier: what it is, how it was trained (with
the command that repeats the run) and its val figures, as DESIGN.md's "Model cards" asks."""

from __future__ import annotations

import json
from pathlib import Path

from ..datasets import ham10000
from ..serving.classification import IMAGE_SIZE, LOCATIONS, MODEL_NAMES, TASKS
from ..serving.registry import sha256_of
from .classification import SAMPLING_TEXT, TrainConfig


TASK_TEXT = {
    "diagnosis": "7-class dermoscopy diagnosis from the image only (model A)",
    "diagnosis-location": "7-class dermoscopy diagnosis from the image and the body location (model B, Amruthalingam et al. 2022)",
    "body-region": "body region (region7) of a dermoscopy image",
}


_DATA_LIMITS = ("HAM10000 only: mostly fair skin, pigmented lesions, two sources (Vienna, Queensland), 200x150 "
                "images; 7 classes, so a lesion of any other kind is still given one of them.")
LIMITATIONS = {
    "diagnosis": _DATA_LIMITS,
    "diagnosis-location": _DATA_LIMITS + " The location input is HAM10000's localization vocabulary; the "
                          "platform maps recorded ISIC sites onto it (inference/serving/body_sites.py), and uses the body-region "
                          "model's answer when no site is recorded.",
    "body-region": "Trained on HAM10000 dermoscopy close-ups, whose region follows the recorded localization: "
                   "the image often shows little that tells the region, and 'hand' and 'other' are rare (71 and 44 "
                   "images). On clinical photos it runs as a patch map and is out of its training domain: its "
                   "answer is a suggestion a person confirms, never recorded on its own.",
}


# TrainConfig fields that train-classifier takes as options, so a card's command can repeat the run
COMMAND_OPTIONS = ("epochs", "batch", "learning_rate", "seed", "init_seed", "input_scale", "sampling", "logit_adjustment",
                   "mixup")


def training_command(config: TrainConfig) -> str:
    """The train-classifier command that repeats this run: the options it changed from the recipe."""
    recipe = TrainConfig(data=config.data, out=config.out)
    changed = "".join(f" --{name.replace('_', '-')} {getattr(config, name)}" for name in COMMAND_OPTIONS
                      if getattr(config, name) != getattr(recipe, name))
    return f"python -m inference train-classifier --task {config.task} --data ../shared/datasets/ham10000{changed}"


def card_write(*, cards_dir: Path, weights: Path, summary: dict, config: TrainConfig, version: str) -> Path:
    """Write cards_dir/<model name>.json for the weights and their training summary; the ONNX entry
    is added by export-onnx."""
    spec = TASKS[config.task]
    card = {
        "name": MODEL_NAMES[config.task], "version": version, "task": TASK_TEXT[config.task], "modality": "dermoscopy",
        "labels": list(spec["labels"]),
        "output_activation": "softmax",
        "preferred_cpu_backend": "onnxruntime",
        "input": {"size": list(IMAGE_SIZE), "channels": 3,
                  "normalization": "RGB uint8 / 255, then (x - 0.5) / 0.5; the image is resized to size (width, height)",
                  "locations": list(LOCATIONS) if spec["locations"] else None,
                  "test_time_augmentation": "mean of the image and its horizontal and vertical mirror images"},
        "weights": {"file": f"../weights/{weights.name}", "sha256": sha256_of(weights), "dtype": "float16"},
        "architecture": {"class": "LocationAwareClassifier",
                         "kwargs": {"classes": len(spec["labels"]), "locations": len(LOCATIONS) - 1 if spec["locations"] else 0,
                                    "input_scale": config.input_scale}},
        "training": {"data": "HAM10000 train split (../shared/datasets/ham10000)", "seed": config.seed,
                     "init_seed": config.seed if config.init_seed is None else config.init_seed,
                     "device": summary["device"], "epochs": config.epochs, "batch": config.batch,
                     "optimiser": f"AdamW, one-cycle learning rate up to {config.learning_rate}, weight decay {config.weight_decay}",
                     "frozen": (f"stem and the first {config.frozen_blocks} blocks at their ImageNet weights" if config.frozen_blocks
                                else "none: the whole network is fine-tuned from ImageNet weights"),
                     "input_scale": config.input_scale,
                     # the words soup members are compared by (weight_soup.SHARED_TRAINING): kept as the shipped cards have them
                     "augmentation": "random turns (any angle), mirror images, zoom 0.8-1.25, shifts, saturation, contrast, "
                                     "brightness and white balance (inference.training_loop.random_views)",
                     "sampling": SAMPLING_TEXT[config.sampling],
                     "loss": f"cross-entropy, label smoothing {config.label_smoothing}"
                             + (f", mixup α {config.mixup}" if config.mixup else ""),
                     "weight_average": f"exponential moving average, decay {config.ema_decay}" if config.ema_decay else "none",
                     "location_dropout": config.location_dropout if spec["locations"] else None,
                     "logit_adjustment": summary["logit_adjustment"],
                     "batch_norm": summary["batch_norm"],
                     "data_hashes": ham10000.file_hashes(config.data, [r for r in ham10000.read_metadata(Path(config.data) / "metadata.csv")], masks=False),
                     "log": {k: summary[k] for k in ("steps", "seconds", "first_loss", "last_loss", "stopped_early")},
                     "command": training_command(config)},
        "metrics": {"ham10000_val": dict(summary["val"], how=f"HAM10000 val split, fp16 weights, PyTorch in float32 on "
                                                               f"{summary['device']}, test-time flips")},
        "intended_use": "DEMONSTRATION of decision support in the reader workspace. NOT FOR CLINICAL USE.",
        "limitations": LIMITATIONS[config.task],
        "license": "CC BY-NC 4.0 (trained on HAM10000): non-commercial use only, with attribution to Tschandl et al. 2018.",
    }
    path = Path(cards_dir) / f"{MODEL_NAMES[config.task]}.json"
    path.write_text(json.dumps(card, indent=2) + "\n")
    return path
