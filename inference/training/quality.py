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
from PIL import Image as PILImage
from scipy import ndimage

from ..datasets.mosaic_folders import Sample, load_folder
from ..networks.mednet import MEDNet, deep_supervision_loss
from ..serving.preprocessing import normalise
from .training_loop import seed_everything


@dataclass(frozen=True)
class TrainConfig:
    data: Path | tuple[Path, ...]  # one labelled folder, or several (e.g. one per phantom family)
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
    # "basic": turns, flips, gain/offset/gamma (the recipe of the shipped 0.1.0 weights, reproduced by
    # make train-quality); "heavy": also scale jitter, blur, speckle, noise and illumination ramps
    augmentation: str = "basic"


def _crop(sample: Sample, patch: int, rng: np.random.Generator, *, heavy: bool) -> tuple[np.ndarray, ...]:
    """A random patch, turned and flipped; heavy: at a random scale (0.75-1.33x: cell sizes differ)."""
    arrays = [sample.image, sample.mask, sample.valid]
    zoom = float(np.exp(rng.uniform(np.log(0.75), np.log(1.33)))) if heavy else 1.0
    size = max(32, round(patch / zoom))
    crops = _plain_crop(arrays, size, rng)
    if size != patch:
        crops = [np.asarray(PILImage.fromarray(c.astype(np.uint8) * (255 if c.dtype == bool else 1)).resize(
            (patch, patch), PILImage.BILINEAR if i == 0 else PILImage.NEAREST)) for i, c in enumerate(crops)]
        crops = [crops[0], crops[1] > 127, crops[2] > 127]
    turns, flip = int(rng.integers(4)), bool(rng.integers(2))
    crops = [np.rot90(c, turns) for c in crops]
    return tuple(np.fliplr(c) if flip else c for c in crops)


def _plain_crop(arrays: list[np.ndarray], patch: int, rng: np.random.Generator) -> list[np.ndarray]:
    height, width = arrays[0].shape
    if height < patch or width < patch:
        pad = ((0, max(patch - height, 0)), (0, max(patch - width, 0)))
        arrays = [np.pad(a, pad) for a in arrays]  # padding is outside the imaged area (valid 0)
        height, width = arrays[0].shape
    y, x = rng.integers(0, height - patch + 1), rng.integers(0, width - patch + 1)
    return [a[y:y + patch, x:x + patch] for a in arrays]


def _augment_intensity(pixels: np.ndarray, rng: np.random.Generator, *, heavy: bool) -> np.ndarray:
    """Devices and sites differ in gain, contrast, focus, noise and illumination: teach the model
    not to care (each mild enough to leave informative tissue readable)."""
    gain, offset, gamma = rng.uniform(0.75, 1.3), rng.uniform(-15, 15), rng.uniform(0.8, 1.25)
    scaled = 255.0 * (pixels.astype(np.float32) / 255.0) ** gamma * gain + offset
    if not heavy:
        return np.clip(scaled, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        scaled = ndimage.gaussian_filter(scaled, rng.uniform(0.3, 1.2))
    if rng.random() < 0.3:  # multiplicative speckle
        scaled = scaled * rng.gamma(shape=25.0, scale=1 / 25.0, size=scaled.shape).astype(np.float32)
    if rng.random() < 0.3:  # additive sensor noise
        scaled = scaled + rng.normal(0.0, rng.uniform(2, 10), size=scaled.shape).astype(np.float32)
    if rng.random() < 0.3:  # a gentle illumination gradient across the patch
        ramp = np.linspace(-1.0, 1.0, scaled.shape[0], dtype=np.float32)[:, None] * rng.uniform(-1, 1) + \
            np.linspace(-1.0, 1.0, scaled.shape[1], dtype=np.float32)[None, :] * rng.uniform(-1, 1)
        scaled = scaled * (1.0 + 0.12 * ramp / 2.0)
    return np.clip(scaled, 0, 255).astype(np.uint8)


def batches(samples: list[Sample], config: TrainConfig, rng: np.random.Generator):
    while True:
        images, masks, valids = [], [], []
        for _ in range(config.batch):
            heavy = config.augmentation == "heavy"
            image, mask, valid = _crop(samples[int(rng.integers(len(samples)))], config.patch, rng, heavy=heavy)
            images.append(normalise(_augment_intensity(image, rng, heavy=heavy)))
            masks.append(mask.astype(np.float32))
            valids.append(valid.astype(np.float32))
        yield tuple(torch.from_numpy(np.ascontiguousarray(np.stack(a)[:, None])) for a in (images, masks, valids))


def train(config: TrainConfig) -> dict:
    """Train, save fp16 weights to `config.weights_out`; returns the training log."""
    if config.threads:
        torch.set_num_threads(config.threads)
    rng = seed_everything(config.seed)
    folders = (config.data,) if isinstance(config.data, (str, Path)) else config.data
    samples = [sample for folder in folders for sample in load_folder(
        folder, working_spacing_um=config.working_spacing_um, default_spacing_um=config.default_spacing_um)]
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


def quality_card(*, config: TrainConfig, log: dict, name: str, version: str, command: str, data_note: str) -> dict:
    """The model card of weights `train` wrote (metrics and calibration are added by evaluation)."""
    from ..serving.preprocessing import MEAN, STD
    from ..serving.registry import sha256_of

    folders = (config.data,) if isinstance(config.data, (str, Path)) else config.data
    def key(folder: Path) -> str:
        return "manifest.json" if len(folders) == 1 else f"{folder.parent.name}/{folder.name}/manifest.json"

    manifests = {key(Path(folder)): sha256_of(Path(folder) / "manifest.json")
                 for folder in folders if (Path(folder) / "manifest.json").exists()}
    return {
        "name": name, "version": version,
        "task": "segmentation of diagnostically uninformative areas (Kose et al. 2020)",
        "modality": "rcm_mosaic", "labels": ["informative", "uninformative"],
        "input": {"pixel_spacing_um": config.working_spacing_um, "channels": 1,
                  "normalization": f"uint8 / 255, then (x - {MEAN}) / {STD}; >8-bit images windowed 0.5-99.5 %",
                  "tile": 512, "overlap": 64, "batch_size": 4,
                  "size_multiple": MEDNet(levels=config.levels, width=1, depth=config.depth).size_multiple},
        "weights": {"file": f"../weights/{config.weights_out.name}", "sha256": sha256_of(config.weights_out),
                    "dtype": "float16"},
        "architecture": {"class": "MEDNet", "kwargs": {"levels": config.levels, "width": config.width, "depth": config.depth}},
        "training": {
            "data": f"{data_note}, {log['images']} images", "data_hashes": manifests, "seed": config.seed,
            "command": command, "steps": config.steps, "batch": config.batch, "patch": config.patch,
            "learning_rate": config.learning_rate, "augmentation": config.augmentation, "log": log,
        },
        "metrics": {},
        "intended_use": "DEMONSTRATION ONLY. Shows how DermRelay flags uninformative areas of RCM mosaics "
                        "(air bubbles, particulates, hair, under-illumination, saturation, no skin-window contact, "
                        "motion) so technicians can re-image. NOT FOR CLINICAL USE.",
        "limitations": "Trained only on synthetic phantoms, never on real RCM mosaics, and not validated on them: "
                       "its figures describe phantoms, not patients. Replace it with weights trained on a clinic's "
                       "own labelled mosaics (train-quality reads any images/ + masks/ folder) before any real use.",
        "license": "Proprietary (DermRelay); trained on synthetic data generated by this repository.",
    }
