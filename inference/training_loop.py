"""What the dermoscopy trainers share: input normalisation, flips and colour changes, the one-cycle
AdamW loop with a time limit and a progress log, and fp16 weights that are measured as shipped."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .networks.efficientnet_lite import MEAN, STD


def to_input(rgb: np.ndarray) -> np.ndarray:
    """uint8 (N,) H x W x 3 → float32 (N,) 3 x H x W, normalised as the Lite0 encoder was pretrained."""
    x = (rgb.astype(np.float32) / 255.0 - np.asarray(MEAN, np.float32)) / np.asarray(STD, np.float32)
    return np.ascontiguousarray(np.moveaxis(x, -1, -3))


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


@dataclass(frozen=True)
class LoopResult:
    steps: int
    stopped_early: bool
    first_loss: float
    last_loss: float


def one_cycle_training(*, network: nn.Module, epochs: int, steps_per_epoch: int, learning_rate: float,
                       step_loss: Callable[[int], torch.Tensor], started: float, max_minutes: float | None,
                       log=print) -> LoopResult:
    """AdamW (weight decay 1e-4) under a one-cycle schedule; `step_loss(epoch)` draws a batch and
    returns its loss. Stops early, and says so, when `max_minutes` since `started` have passed."""
    total = steps_per_epoch * epochs
    trained = [p for p in network.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trained, lr=learning_rate, weight_decay=1e-4)
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
            losses.append(loss.item())
            if len(losses) % 50 == 0:
                log(f"epoch {epoch + 1} step {len(losses)}/{total} loss {np.mean(losses[-50:]):.4f} "
                    f"({(time.monotonic() - started) / 60:.1f} min)")
            if max_minutes and time.monotonic() - started > 60 * max_minutes:
                stopped_early = True
                break
        if stopped_early:
            log(f"time limit reached after {len(losses)} steps")
            break
    network.eval()
    return LoopResult(steps=len(losses), stopped_early=stopped_early, first_loss=round(float(np.mean(losses[:20])), 4),
                      last_loss=round(float(np.mean(losses[-50:])), 4))


def save_fp16(network: nn.Module, out: Path, fresh: nn.Module) -> nn.Module:
    """Write the weights as float16 and return `fresh` loaded from that file: metrics are measured
    on exactly what ships."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in network.state_dict().items()}, out)
    state = torch.load(out, weights_only=True)
    fresh.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return fresh.eval()
