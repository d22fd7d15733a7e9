"""What the dermoscopy trainers share: flips and colour changes (NumPy, for the CPU-sized lesion
training; PyTorch on the training device, for the classifiers), the one-cycle AdamW loop with a time
limit and a progress log, and fp16 weights that are measured as shipped. Input normalisation is the
platform's own (inference.serving.preprocessing.to_input)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..networks.efficientnet_lite import MEAN, STD


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, PyTorch and the NumPy generator the trainers draw batches from; deterministic
    PyTorch kernels where they exist."""
    random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return np.random.default_rng(seed)


def flips_and_colour(rng: np.random.Generator, images: np.ndarray, *masks: np.ndarray) -> tuple[np.ndarray, ...]:
    """The same random flips for a batch and its masks (dermoscopy has no up or left), then mild
    brightness, contrast and colour changes of the images."""
    arrays = (images, *masks)
    if rng.random() < 0.5:
        arrays = tuple(a[:, :, ::-1] for a in arrays)
    if rng.random() < 0.5:
        arrays = tuple(a[:, ::-1] for a in arrays)
    x = arrays[0].astype(np.float32)
    gain = rng.uniform(0.85, 1.15, size=(len(x), 1, 1, 3)).astype(np.float32)
    offset = rng.uniform(-15, 15, size=(len(x), 1, 1, 1)).astype(np.float32)
    return (np.clip(x * gain + offset, 0, 255).astype(np.uint8), *arrays[1:])


def turned(images: torch.Tensor, *, angle: np.ndarray, mirror: np.ndarray, scale: np.ndarray, shift_x: np.ndarray,
           shift_y: np.ndarray) -> torch.Tensor:
    """Float N x 3 x H x W images turned by `angle` (radians) in square pixels whatever the aspect,
    mirrored where `mirror` is -1, zoomed in by `scale` and shifted (fractions of half the frame), in
    one bilinear resampling with mirrored borders: the geometry of random_views, and of any fixed
    view of the same kind (test-time views)."""
    n, _, height, width = images.shape
    cos, sin, aspect = np.cos(angle) / scale, np.sin(angle) / scale, height / width
    # output → input sampling in normalised coordinates, the turn made in square pixels
    theta = np.stack([np.stack([cos * mirror, -sin * aspect, shift_x], axis=1),
                      np.stack([sin * mirror / aspect, cos, shift_y], axis=1)], axis=1)
    grid = F.affine_grid(torch.from_numpy(theta).float().to(images.device), [n, 3, height, width], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def random_views(images: torch.Tensor, rng: np.random.Generator, *, zoom: tuple[float, float] = (0.8, 1.25),
                 shift: float = 0.1) -> torch.Tensor:
    """uint8 N x 3 x H x W (on the training device) → normalised float input of the same size, each
    image seen anew: turned by any angle and mirrored at random (a dermoscopy image has no up and no
    left), zoomed and shifted, in one bilinear resampling with mirrored borders; then brightness,
    contrast, saturation and white balance changed, as between dermatoscopes and cameras.
    The random numbers come from `rng`, so a seeded run draws the same views on any device."""
    n = len(images)
    angle = rng.uniform(0, 2 * np.pi, n)
    mirror = rng.choice([-1.0, 1.0], n)
    scale = np.exp(rng.uniform(np.log(zoom[0]), np.log(zoom[1]), n))  # > 1 zooms in
    shift_x, shift_y = rng.uniform(-shift, shift, n), rng.uniform(-shift, shift, n)
    x = turned(images.float() / 255.0, angle=angle, mirror=mirror, scale=scale, shift_x=shift_x, shift_y=shift_y)
    device = images.device

    def factors(low: float, high: float, *shape: int) -> torch.Tensor:
        return torch.from_numpy(rng.uniform(low, high, (n, *shape)).astype(np.float32)).to(device)

    grey = x.mean(dim=1, keepdim=True)
    x = grey + (x - grey) * factors(0.75, 1.25, 1, 1, 1)  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = mean + (x - mean) * factors(0.8, 1.2, 1, 1, 1)  # contrast
    x = x * factors(0.85, 1.15, 1, 1, 1) * factors(0.92, 1.08, 3, 1, 1)  # brightness, white balance
    mean_, std_ = (torch.tensor(v, dtype=torch.float32, device=device).view(1, 3, 1, 1) for v in (MEAN, STD))
    return (x.clamp(0, 1) - mean_) / std_


@dataclass(frozen=True)
class LoopResult:
    steps: int
    stopped_early: bool
    first_loss: float
    last_loss: float


def one_cycle_training(*, network: nn.Module, epochs: int, steps_per_epoch: int, learning_rate: float,
                       step_loss: Callable[[int], torch.Tensor], started: float, max_minutes: float | None,
                       log=print, weight_decay: float = 1e-4, after_step: Callable[[], None] | None = None) -> LoopResult:
    """AdamW under a one-cycle schedule; `step_loss(epoch)` draws a batch and returns its loss, and
    `after_step` (a weight average, say) runs after each update. Stops early, and says so, when
    `max_minutes` since `started` have passed."""
    total = steps_per_epoch * epochs
    trained = [p for p in network.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trained, lr=learning_rate, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=learning_rate, total_steps=total, pct_start=0.1)
    losses, stopped_early = [], False
    network.train()
    for epoch in range(epochs):
        for _ in range(steps_per_epoch):
            loss = step_loss(epoch)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            if after_step is not None:
                after_step()
            losses.append(loss.detach())  # read back every 50 steps: a GPU is not made to wait each step
            if len(losses) % 50 == 0:
                losses[-50:] = torch.stack(losses[-50:]).float().cpu().tolist()
                log(f"epoch {epoch + 1} step {len(losses)}/{total} loss {np.mean(losses[-50:]):.4f} "
                    f"({(time.monotonic() - started) / 60:.1f} min)")
            if max_minutes and time.monotonic() - started > 60 * max_minutes:
                stopped_early = True
                break
        if stopped_early:
            log(f"time limit reached after {len(losses)} steps")
            break
    network.eval()
    losses = [float(v) for v in losses]
    return LoopResult(steps=len(losses), stopped_early=stopped_early, first_loss=round(float(np.mean(losses[:20])), 4),
                      last_loss=round(float(np.mean(losses[-50:])), 4))


def save_fp16(network: nn.Module, out: Path, fresh: nn.Module) -> nn.Module:
    """Write the weights as float16 and return `fresh` loaded from that file: metrics are measured
    on exactly what ships."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: (v.half() if v.is_floating_point() else v).cpu() for k, v in network.state_dict().items()}, out)  # loads anywhere
    state = torch.load(out, weights_only=True)
    fresh.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return fresh.eval()
