"""ONNX export of a registered PyTorch model, recorded in its card (file and SHA-256).

The exported graph returns the full-resolution logits only (what inference uses), for tiles of
the card's size with a dynamic batch dimension."""

from __future__ import annotations

import json

import numpy as np
import torch

from .serving.registry import Registry, sha256_of


class _LastLevel(torch.nn.Module):
    def __init__(self, network):
        super().__init__()
        self.network = network

    def forward(self, image):
        output = self.network(image)
        return output[-1] if isinstance(output, (list, tuple)) else output


class _WithLocation(torch.nn.Module):
    """Diagnosis model B: the image and the location index are both graph inputs."""

    def __init__(self, network):
        super().__init__()
        self.network = network

    def forward(self, image, location):
        return self.network(image, location)


def export_onnx(registry: Registry, name: str, *, tolerance: float = 1e-3) -> str:
    model = registry.load(name, device="cpu", backend="pytorch")
    card = model.card
    width, height = card.input.get("size") or (card.input["tile"], card.input["tile"])  # whole image, or a tile
    weights = registry.verify(card)
    target = weights.with_suffix(".onnx")
    example = torch.zeros(1, card.input["channels"], height, width)
    if model.takes_locations:
        wrapper = _WithLocation(model._network).eval()  # export restores the mode it found: keep it eval
        torch.onnx.export(wrapper, (example, torch.zeros(1, dtype=torch.long)), str(target), input_names=["image", "location"],
                          output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "location": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)
    else:
        wrapper = _LastLevel(model._network).eval()
        torch.onnx.export(wrapper, example, str(target), input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, dynamo=False)
    data = json.loads(card.path.read_text())
    data["onnx"] = {"file": f"../weights/{target.name}", "sha256": sha256_of(target), "opset": 17}
    card.path.write_text(json.dumps(data, indent=2) + "\n")
    check = np.random.default_rng(0).standard_normal((2, card.input["channels"], height, width)).astype(np.float32)
    onnx_model = registry.load(name, backend="onnxruntime")
    locations = np.arange(2, dtype=np.int64) if model.takes_locations else None
    difference = float(np.abs(onnx_model.predict(check, locations) - model.predict(check, locations)).max())
    if difference > tolerance:
        raise RuntimeError(f"ONNX and PyTorch disagree by {difference:.2e} (> {tolerance})")
    print(f"wrote {target}; max probability difference from PyTorch {difference:.2e}")
    return str(target)
