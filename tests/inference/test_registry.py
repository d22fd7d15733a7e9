"""The registry verifies weights against their card, picks the backend, and ONNX agrees with PyTorch."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from inference.networks.mednet import MEDNet
from inference.onnx_export import export_onnx
from inference.serving.registry import CardInvalid, Registry, WeightsHashMismatch, WeightsMissing, sha256_of


@pytest.fixture
def registry(tmp_path) -> Registry:
    cards, weights = tmp_path / "cards", tmp_path / "weights"
    cards.mkdir()
    weights.mkdir()
    torch.manual_seed(3)
    network = MEDNet(levels=2, width=4, depth=1)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in network.state_dict().items()},
               weights / "tiny.pt")
    card = {
        "name": "tiny", "version": "0.0.1", "task": "test", "modality": "rcm_mosaic", "labels": ["ok", "bad"],
        "input": {"pixel_spacing_um": 4.0, "channels": 1, "tile": 64, "overlap": 16, "batch_size": 2},
        "weights": {"file": "../weights/tiny.pt", "sha256": sha256_of(weights / "tiny.pt")},
        "architecture": {"class": "MEDNet", "kwargs": {"levels": 2, "width": 4, "depth": 1}},
        "training": {}, "metrics": {}, "intended_use": "tests", "limitations": "none", "license": "test",
    }
    (cards / "tiny.json").write_text(json.dumps(card))
    return Registry(cards)


def test_loads_verified_weights_on_the_cpu(registry):
    model = registry.load("tiny", device="cpu")
    assert (model.backend, model.device) == ("pytorch", "cpu")
    output = model.predict(np.zeros((2, 1, 64, 64), np.float32))
    assert output.shape == (2, 1, 64, 64) and 0 <= output.min() <= output.max() <= 1


def test_refuses_weights_whose_hash_does_not_match(registry):
    path = registry.cards_dir.parent / "weights" / "tiny.pt"
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(WeightsHashMismatch, match="SHA-256"):
        registry.load("tiny", device="cpu")


def test_refuses_missing_weights_and_broken_cards(registry):
    (registry.cards_dir.parent / "weights" / "tiny.pt").unlink()
    with pytest.raises(WeightsMissing):
        registry.load("tiny", device="cpu")
    (registry.cards_dir / "broken.json").write_text('{"name": "broken"}')
    with pytest.raises(CardInvalid, match="lacks"):
        registry.card("broken")
    with pytest.raises(CardInvalid):
        registry.card("absent")


def test_onnx_export_agrees_with_pytorch_and_is_recorded_in_the_card(registry):
    export_onnx(registry, "tiny")
    card = registry.card("tiny")
    assert card.onnx["sha256"] == sha256_of(card.file("onnx"))
    batch = np.random.default_rng(0).standard_normal((3, 1, 64, 64)).astype(np.float32)
    torch_out = registry.load("tiny", backend="pytorch", device="cpu").predict(batch)
    onnx_out = registry.load("tiny", backend="onnxruntime").predict(batch)
    assert np.abs(torch_out - onnx_out).max() < 1e-3


def test_auto_backend_follows_the_card_on_cpu(registry):
    export_onnx(registry, "tiny")
    path = registry.cards_dir / "tiny.json"
    data = json.loads(path.read_text())
    data["preferred_cpu_backend"] = "onnxruntime"
    path.write_text(json.dumps(data))
    assert registry.load("tiny", device="cpu").backend == "onnxruntime"
