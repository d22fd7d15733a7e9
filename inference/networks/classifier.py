"""Dermoscopy and clinical-photo classifiers on the EfficientNet-Lite0 backbone.

- Image only (diagnosis model A, body region): the pooled 1280-dimensional image embedding → a
  linear layer.
- Image + location (diagnosis model B, after Amruthalingam et al., JEADV 2022): a learned
  128-dimensional embedding of the body location is appended to the image embedding before the
  linear layer. Location index 0 means "unknown", so the model also answers without one.

`input_scale` enlarges the image inside the network (bilinear) before the backbone: HAM10000's
200x150 images give Lite0's 32x32-strided features only 7x5 positions, and the ImageNet weights
were learnt on objects larger than a 200-pixel-wide lesion. The platform still hands over the
image at the card's size; the enlargement is part of the graph (and of the ONNX export).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .efficientnet_lite import HEAD_CHANNELS, EfficientNetLite0, efficientnet_lite0


class LocationAwareClassifier(nn.Module):
    def __init__(self, classes: int, locations: int = 0, embedding: int = 128, dropout: float = 0.2,
                 pretrained: bool = False, input_scale: float = 1.0):
        super().__init__()
        self.input_scale = float(input_scale)
        self.backbone = efficientnet_lite0(pretrained=True) if pretrained else EfficientNetLite0()
        self.backbone._fc = nn.Identity()  # the ImageNet head is not used
        self.location = nn.Embedding(locations + 1, embedding) if locations else None
        features = HEAD_CHANNELS + (embedding if locations else 0)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(features, classes)

    def forward(self, image: torch.Tensor, location: torch.Tensor | None = None) -> torch.Tensor:
        """Logits; `location` (long, 0 = unknown) is required when the model has locations."""
        if self.input_scale != 1.0:
            image = F.interpolate(image, scale_factor=self.input_scale, mode="bilinear", align_corners=False)
        features = self.backbone.embed(image)
        if self.location is not None:
            if location is None:
                location = torch.zeros(image.shape[0], dtype=torch.long, device=image.device)
            features = torch.cat([features, self.location(location)], dim=1)
        return self.head(self.dropout(features))
