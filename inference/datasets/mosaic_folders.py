"""Labelled mosaic folders: images/NAME + masks/NAME (0 informative, >0 uninformative), optional
valid/NAME (imaged area) and lesion/NAME, and an optional manifest.json with each image's pixel
spacing. Phantoms are written this way (phantoms.dataset.write_dataset), and so can a clinic's own mosaics."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from ..serving.preprocessing import estimate_valid


@dataclass(frozen=True)
class Sample:
    name: str
    image: np.ndarray  # uint8 H x W at the working spacing
    mask: np.ndarray  # bool
    valid: np.ndarray  # bool
    lesion: np.ndarray | None


def _resize(array: np.ndarray, size: tuple[int, int], *, labels: bool) -> np.ndarray:
    image = PILImage.fromarray(array.astype(np.uint8) * (255 if array.dtype == bool else 1))
    resized = np.asarray(image.resize(size, PILImage.NEAREST if labels else PILImage.BOX))
    return resized > 127 if labels else resized


def load_folder(folder: Path, *, working_spacing_um: float, default_spacing_um: float | None = None) -> list[Sample]:
    """Every labelled image of the folder, resampled to the working spacing."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text()) if (folder / "manifest.json").exists() else {}
    spacing_of = {name: entry.get("pixel_spacing_um") for name, entry in _manifest_items(manifest)}
    samples = []
    for image_path in sorted((folder / "images").iterdir()):
        name = image_path.name
        mask_path = _sibling(folder / "masks", name)
        if mask_path is None:
            continue
        spacing = spacing_of.get(name) or default_spacing_um
        if spacing is None:
            raise ValueError(f"no pixel spacing for {name}: put it in manifest.json or pass a default")
        image = np.asarray(PILImage.open(image_path).convert("L"))
        factor = working_spacing_um / spacing
        size = (max(1, round(image.shape[1] / factor)), max(1, round(image.shape[0] / factor)))
        mask = np.asarray(PILImage.open(mask_path).convert("L")) > 0
        valid_path, lesion_path = _sibling(folder / "valid", name), _sibling(folder / "lesion", name)
        valid = np.asarray(PILImage.open(valid_path).convert("L")) > 0 if valid_path else None
        lesion = np.asarray(PILImage.open(lesion_path).convert("L")) > 0 if lesion_path else None
        small = _resize(image, size, labels=False)
        samples.append(Sample(
            name=name, image=small, mask=_resize(mask, size, labels=True),
            valid=_resize(valid, size, labels=True) if valid is not None else estimate_valid(small),
            lesion=_resize(lesion, size, labels=True) if lesion is not None else None,
        ))
    if not samples:
        raise ValueError(f"{folder} holds no images/ with matching masks/")
    return samples


def _sibling(folder: Path, name: str) -> Path | None:
    if not folder.is_dir():
        return None
    stem = Path(name).stem
    return next((p for p in folder.iterdir() if p.stem == stem), None)


def _manifest_items(manifest) -> list[tuple[str, dict]]:
    entries = manifest.get("images", manifest) if isinstance(manifest, dict) else manifest
    if isinstance(entries, dict):
        return list(entries.items())
    return [(Path(entry.get("name") or entry.get("image", "")).name, entry) for entry in entries if isinstance(entry, dict)]
