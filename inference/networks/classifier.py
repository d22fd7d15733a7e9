"""Dermoscopy and clinical-photo classifiers on the EfficientNet-Lite0 backbone.

- Image only (diagnosis model A, body region): the pooled 1280-dimensional image embedding → a
  linear layer.
- Image + location (diagnosis model B, after Amruthalingam et al., JEADV 2022): a learned
  128-dimensional embedding of the body location is appended to the image embedding before the
  linear layer. Location index 0 means "unknown", so the model also answers without one.
"""

from __future__ import annotations

import torch
from torch import nn

from .efficientnet_lite import HEAD_CHANNELS, EfficientNetLite0, efficientnet_lite0


class LocationAwareClassifier(nn.Module):
    def __init__(self, classes: int, locations: int = 0, embedding: int = 128, dropout: float = 0.2,
                 pretrained: bool = False):
        super().__init__()
        self.backbone = efficientnet_lite0(pretrained=True) if pretrained else EfficientNetLite0()
        self.backbone._fc = nn.Identity()  # the ImageNet head is not used
        self.location = nn.Embedding(locations + 1, embedding) if locations else None
        features = HEAD_CHANNELS + (embedding if locations else 0)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(features, classes)

    def forward(self, image: torch.Tensor, location: torch.Tensor | None = None) -> torch.Tensor:
        """Logits; `location` (long, 0 = unknown) is required when the model has locations."""
        features = self.backbone.embed(image)
        if self.location is not None:
            if location is None:
                location = torch.zeros(image.shape[0], dtype=torch.long, device=image.device)
            features = torch.cat([features, self.location(location)], dim=1)
        return self.head(self.dropout(features))
