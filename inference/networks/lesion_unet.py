"""Lesion segmentation of dermoscopy images: a U-Net decoder on the EfficientNet-Lite0 encoder.

The encoder's feature maps at strides 32, 16, 8, 4 and 2 are upsampled and merged coarse to fine
(Ronneberger et al. 2015), ending in one logit per pixel at the input's resolution. The encoder
starts from ImageNet weights (inference.networks.efficientnet_lite); inputs are RGB scaled to
[0, 1] then (x - 0.5) / 0.5, with sides that are multiples of 32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .efficientnet_lite import EfficientNetLite0, efficientnet_lite0


class _Up(nn.Module):
    """Upsample ×2, concatenate the skip, two 3x3 convolutions."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels + skip_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.conv(torch.cat([x, skip], dim=1))


class LesionUNet(nn.Module):
    def __init__(self, width: int = 32, pretrained: bool = False):
        super().__init__()
        self.encoder = efficientnet_lite0(pretrained=pretrained) if pretrained else EfficientNetLite0()
        self.encoder._fc = nn.Identity()  # unused: the head is not part of the segmentation network
        c2, c4, c8, c16, c32 = EfficientNetLite0.feature_channels
        self.up16 = _Up(c32, c16, 4 * width)
        self.up8 = _Up(4 * width, c8, 2 * width)
        self.up4 = _Up(2 * width, c4, width)
        self.up2 = _Up(width, c2, width)
        self.head = nn.Conv2d(width, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f2, f4, f8, f16, f32 = self.encoder.features(x)
        y = self.up2(self.up4(self.up8(self.up16(f32, f16), f8), f4), f2)
        return F.interpolate(self.head(y), size=x.shape[-2:], mode="bilinear", align_corners=False)
