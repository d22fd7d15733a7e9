"""MED-Net: a multiscale encoder-decoder network for segmenting diagnostically uninformative areas
of reflectance confocal microscopy (RCM) mosaics.

Kose K, Bozkurt A, Alessi-Fox C, et al. "Utilizing Machine Learning for Image Quality Assessment for
Reflectance Confocal Microscopy." J Invest Dermatol 2020;140(6):1214-1222. (MED-Net: Bozkurt A,
Kose K, et al., "Multiscale encoder-decoder network for DIC microscopy / RCM segmentation", 2018.)

N nested levels, coarse to fine. Level 1 sees the image subsampled 2^(N-1) times; each next level
sees the image at twice the resolution concatenated with the previous level's prediction, upsampled.
Each level is a small encoder-decoder with skip connections and returns logits; training puts one
loss on every level (deep supervision), inference uses the last (full-resolution) one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _ConvBlock(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class EncoderDecoder(nn.Module):
    """One MED-Net level: `depth` poolings down, as many upsamplings back, skips in between."""

    def __init__(self, in_channels: int, out_channels: int, *, width: int, depth: int):
        super().__init__()
        channels = [width * 2**i for i in range(depth + 1)]
        self.encoders = nn.ModuleList([_ConvBlock(in_channels, channels[0])] + [
            _ConvBlock(channels[i - 1], channels[i]) for i in range(1, depth + 1)
        ])
        self.upsamplers = nn.ModuleList([
            nn.ConvTranspose2d(channels[i], channels[i - 1], 2, stride=2) for i in range(depth, 0, -1)
        ])
        self.decoders = nn.ModuleList([_ConvBlock(channels[i - 1] * 2, channels[i - 1]) for i in range(depth, 0, -1)])
        self.head = nn.Conv2d(channels[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for index, encoder in enumerate(self.encoders):
            x = encoder(x if index == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for upsample, decoder, skip in zip(self.upsamplers, self.decoders, reversed(skips[:-1])):
            x = decoder(torch.cat([upsample(x), skip], dim=1))
        return self.head(x)


class MEDNet(nn.Module):
    """Multiscale encoder-decoder network (see module docstring).

    Args:
        levels: number of nested levels N (the coarsest sees the image at 1/2^(N-1)).
        in_channels: image channels (1 for RCM).
        classes: output channels (1: uninformative vs informative, as logits).
        width: channels of each level's first block (doubling with every pooling).
        depth: poolings inside each level's encoder-decoder.
    Input height and width must be divisible by 2^(levels - 1 + depth) (`size_multiple`).
    """

    def __init__(self, *, levels: int = 3, in_channels: int = 1, classes: int = 1, width: int = 16, depth: int = 3):
        super().__init__()
        self.n_levels, self.classes, self.depth = levels, classes, depth
        self.levels = nn.ModuleList([
            EncoderDecoder(in_channels + (classes if level else 0), classes, width=width, depth=depth)
            for level in range(levels)
        ])

    @property
    def size_multiple(self) -> int:
        return 2 ** (self.n_levels - 1 + self.depth)

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        """Logits of every level, coarse to fine; the last has the input's resolution."""
        outputs: list[torch.Tensor] = []
        for level, network in enumerate(self.levels):
            factor = 2 ** (self.n_levels - 1 - level)
            scaled = F.avg_pool2d(image, factor) if factor > 1 else image
            if outputs:
                previous = F.interpolate(outputs[-1], size=scaled.shape[-2:], mode="bilinear", align_corners=False)
                scaled = torch.cat([scaled, torch.sigmoid(previous)], dim=1)
            outputs.append(network(scaled))
        return outputs


def deep_supervision_loss(outputs: list[torch.Tensor], target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy plus soft Dice at every level, against the target pooled to that level's
    size; pixels outside the imaged area (valid == 0) count for nothing."""
    total = outputs[0].new_zeros(())
    for logits in outputs:
        size = logits.shape[-2:]
        goal = F.adaptive_avg_pool2d(target, size)
        weight = (F.adaptive_avg_pool2d(valid, size) > 0.5).float()
        bce = F.binary_cross_entropy_with_logits(logits, goal, weight=weight, reduction="sum") / weight.sum().clamp(min=1)
        probability = torch.sigmoid(logits) * weight
        intersection = (probability * goal * weight).sum()
        dice = 1 - (2 * intersection + 1) / (probability.sum() + (goal * weight).sum() + 1)
        total = total + bce + dice
    return total / len(outputs)
