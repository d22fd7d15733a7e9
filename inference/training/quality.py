"""Training the quality model on a labelled mosaic folder (phantoms, or a clinic's own mosaics).

Seeded end to end (Python, NumPy, PyTorch, and deterministic PyTorch kernels), so one command
from a clean checkout reproduces the shipped weights on the same hardware class.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..datasets.mosaic_folders import Sample, load_folder
from ..networks.mednet import MEDNet, deep_supervision_loss
from ..serving.preprocessing import normalise
from .training_loop import seed_everything


@dataclass(frozen=True)
class TrainConfig:
    data: Path
    weights_out: Path
    working_spacing_um: float = 4.0
    default_spacing_um: float | None = None
    levels: int = 3
    width: int = 16
    depth: int = 3
    patch: int = 256
    batch: int = 8
    steps: int = 1500
    learning_rate: float = 2e-3
    seed: int = 20201
    threads: int | None = None
    max_minutes: float | None = None


def _crop(sample: Sample, patch: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    arrays = [sample.image, sample.mask, sample.valid]
    height, width = sample.image.shape
    if height < patch or width < patch:
        pad = ((0, max(patch - height, 0)), (0, max(patch - width, 0)))
        arrays = [np.pad(a, pad) for a in arrays]  # padding is outside the imaged area (valid 0)
        height, width = arrays[0].shape
    y, x = rng.integers(0, height - patch + 1), rng.integers(0, width - patch + 1)
    crops = [a[y:y + patch, x:x + patch] for a in arrays]
    turns, flip = int(rng.integers(4)), bool(rng.integers(2))
    crops = [np.rot90(c, turns) for c in crops]
    return tuple(np.fliplr(c) if flip else c for c in crops)


def _augment_intensity(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Devices and sites differ in gain and contrast: teach the model not to care."""
    gain, offset, gamma = rng.uniform(0.75, 1.3), rng.uniform(-15, 15), rng.uniform(0.8, 1.25)
    scaled = 255.0 * (pixels.astype(np.float32) / 255.0) ** gamma * gain + offset
    return np.clip(scaled, 0, 255).astype(np.uint8)


def batches(samples: list[Sample], config: TrainConfig, rng: np.random.Generator):
    while True:
        images, masks, valids = [], [], []
        for _ in range(config.batch):
            image, mask, valid = _crop(samples[int(rng.integers(len(samples)))], config.patch, rng)
            images.append(normalise(_augment_intensity(image, rng)))
            masks.append(mask.astype(np.float32))
            valids.append(valid.astype(np.float32))
        yield tuple(torch.from_numpy(np.ascontiguousarray(np.stack(a)[:, None])) for a in (images, masks, valids))


def train(config: TrainConfig) -> dict:
    """Train, save fp16 weights to `config.weights_out`; returns the training log."""
    if config.threads:
        torch.set_num_threads(config.threads)
    rng = seed_everything(config.seed)
    samples = load_folder(config.data, working_spacing_um=config.working_spacing_um,
                          default_spacing_um=config.default_spacing_um)
    model = MEDNet(levels=config.levels, width=config.width, depth=config.depth)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.learning_rate, total_steps=config.steps)
    started, losses, stream = time.monotonic(), [], batches(samples, config, rng)
    model.train()
    for step in range(config.steps):
        image, mask, valid = next(stream)
        loss = deep_supervision_loss(model(image), mask, valid)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
        if step % 50 == 0 or step == config.steps - 1:
            print(f"step {step:5d}  loss {np.mean(losses[-50:]):.4f}  {time.monotonic() - started:7.0f} s", flush=True)
        if config.max_minutes and time.monotonic() - started > config.max_minutes * 60:
            print(f"stopping at step {step}: time budget of {config.max_minutes} min reached", flush=True)
            break
    config.weights_out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({key: value.half() if value.is_floating_point() else value
                for key, value in model.state_dict().items()}, config.weights_out)
    return {
        "steps": len(losses), "seconds": round(time.monotonic() - started), "images": len(samples),
        "first_loss": round(float(np.mean(losses[:20])), 4), "last_loss": round(float(np.mean(losses[-50:])), 4),
    }
