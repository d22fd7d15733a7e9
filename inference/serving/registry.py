"""Model cards and the registry that loads their weights (DESIGN.md, "Models").

A card (`cards/<name>.json`) says what a model is, what it expects and how well it did; its
weights file must match the SHA-256 in the card. Missing or altered weights raise a ModelError
that the platform shows to the admin: there is never a silent fallback. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DEFAULT_CARDS_DIR = Path(__file__).resolve().parent.parent / "cards"
REQUIRED = ("name", "version", "task", "modality", "labels", "input", "weights", "architecture", "training",
            "metrics", "intended_use", "limitations", "license")
ARCHITECTURES = {
    "MEDNet": "inference.networks.mednet:MEDNet",
    "LesionUNet": "inference.networks.lesion_unet:LesionUNet",
    "LocationAwareClassifier": "inference.networks.classifier:LocationAwareClassifier",
}


class ModelError(RuntimeError):
    """A model cannot be used; the message says why in words an admin can act on."""


class CardInvalid(ModelError):
    pass


class WeightsMissing(ModelError):
    pass


class WeightsHashMismatch(ModelError):
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelCard:
    data: dict
    path: Path

    @classmethod
    def from_file(cls, path: Path) -> ModelCard:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise CardInvalid(f"model card {path} cannot be read: {exc}") from exc
        missing = [key for key in REQUIRED if key not in data]
        if missing:
            raise CardInvalid(f"model card {path} lacks {', '.join(missing)}")
        return cls(data=data, path=Path(path))

    def __getattr__(self, key):
        try:
            return self.data[key]
        except KeyError:
            raise AttributeError(key) from None

    def file(self, entry: str) -> Path | None:
        """The path of the card's `weights` or `onnx` file, relative to the card."""
        spec = self.data.get(entry)
        return (self.path.parent / spec["file"]).resolve() if spec else None


@dataclass
class LoadedModel:
    card: ModelCard
    device: str
    backend: str
    _network: object = field(repr=False, default=None)
    _session: object = field(repr=False, default=None)

    @property
    def takes_locations(self) -> bool:
        """Diagnosis model B: a second input, the body-location index (0 = unknown)."""
        return bool(self.card.input.get("locations"))

    def predict(self, batch: np.ndarray, locations: np.ndarray | None = None) -> np.ndarray:
        """(B, C, H, W) float32 normalised input → probabilities: (B, classes, H, W) through a
        sigmoid for the segmentation models, (B, classes) through a softmax for the classifiers
        (the card's `output_activation`). `locations` (B int64) only for a model that takes them."""
        if self.takes_locations and locations is None:
            locations = np.zeros(len(batch), dtype=np.int64)
        if self.backend == "onnxruntime":
            feeds = {"image": batch.astype(np.float32)}
            if self.takes_locations:
                feeds["location"] = np.asarray(locations, dtype=np.int64)
            (logits,) = self._session.run(None, feeds)
            return activate(logits, self.card.data.get("output_activation", "sigmoid"))
        import torch

        with torch.inference_mode():
            tensor = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)
            extra = (torch.from_numpy(np.asarray(locations, dtype=np.int64)).to(self.device),) if self.takes_locations else ()
            with torch.autocast("cuda", enabled=self.device == "cuda"):
                output = self._network(tensor, *extra)
                logits = output[-1] if isinstance(output, (list, tuple)) else output  # MED-Net: finest level
            return activate(logits.float().cpu().numpy(), self.card.data.get("output_activation", "sigmoid"))


def activate(logits: np.ndarray, activation: str) -> np.ndarray:
    if activation == "softmax":
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    return 0.5 * (1.0 + np.tanh(0.5 * logits))  # the sigmoid, without overflow for large logits


class Registry:
    """Cards from a directory (DERMRELAY_MODEL_CARDS, else inference/cards)."""

    def __init__(self, cards_dir: Path | str | None = None):
        self.cards_dir = Path(cards_dir or os.environ.get("DERMRELAY_MODEL_CARDS") or DEFAULT_CARDS_DIR)

    def cards(self) -> list[ModelCard]:
        return [ModelCard.from_file(path) for path in sorted(self.cards_dir.glob("*.json"))]

    def card(self, name: str, version: str | None = None) -> ModelCard:
        """The card `<name>.json`; with a version, whichever card of the directory has that name and
        version (several versions of one model may be installed side by side)."""
        path = self.cards_dir / f"{name}.json"
        if path.exists():
            card = ModelCard.from_file(path)
            if version is None or card.version == version:
                return card
        if version is not None:
            for card in self.cards():
                if card.name == name and card.version == version:
                    return card
        raise CardInvalid(f"no model card for {name!r}{f' version {version}' if version else ''} in {self.cards_dir}")

    def verify(self, card: ModelCard, entry: str = "weights") -> Path:
        path = card.file(entry)
        if path is None or not path.is_file():
            raise WeightsMissing(f"{card.name} {card.version}: {entry} file {path} is missing")
        actual = sha256_of(path)
        if actual != card.data[entry]["sha256"]:
            raise WeightsHashMismatch(
                f"{card.name} {card.version}: {path.name} has SHA-256 {actual}, the card says {card.data[entry]['sha256']}")
        return path

    def load(self, name: str, *, version: str | None = None, device: str | None = None,
             backend: str = "auto") -> LoadedModel:
        """Verify and load. backend: 'pytorch', 'onnxruntime', or 'auto' (the card's preferred CPU
        backend on CPU when its ONNX file is there, PyTorch otherwise; PyTorch on GPU)."""
        card = self.card(name, version)
        device = device or choose_device()
        if backend == "auto":
            wants_onnx = device == "cpu" and card.data.get("preferred_cpu_backend") == "onnxruntime" and card.data.get("onnx")
            backend = "onnxruntime" if wants_onnx else "pytorch"
        if backend == "onnxruntime":
            import onnxruntime

            self.verify(card)  # the registered weights must be intact too, not only their export
            options = onnxruntime.SessionOptions()
            session = onnxruntime.InferenceSession(str(self.verify(card, "onnx")), options, providers=["CPUExecutionProvider"])
            return LoadedModel(card=card, device="cpu", backend=backend, _session=session)
        network = build_network(card)
        import torch

        state = torch.load(self.verify(card), map_location="cpu", weights_only=True)
        network.load_state_dict({key: value.float() for key, value in state.items()})
        network.to(device).eval()
        return LoadedModel(card=card, device=device, backend="pytorch", _network=network)


def build_network(card: ModelCard):
    spec = card.architecture
    module_name, _, class_name = ARCHITECTURES[spec["class"]].partition(":")
    return getattr(importlib.import_module(module_name), class_name)(**spec.get("kwargs", {}))


def choose_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
