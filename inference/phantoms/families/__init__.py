"""Phantom families: independently designed generators of RCM mosaics with exact ground truth.

The quality model must hold on mosaics it was never trained on, so it is trained and measured on
several families, each written on its own (without looking at the others' code or at the original
generator, `inference.phantoms.generator`, which is family "original"), with its own tissue
textures, noise and renderings of each artifact class. Leave-one-family-out training measures each
family with the model trained on all the others (issue: quality model generalisation).

A family is a module here with a `NAME`, a `DESCRIPTION` (what it draws, in a few sentences) and
`generate(*, seed, size_px, pixel_spacing_um) -> FamilyPhantom`, deterministic for a seed, drawing
everything from `numpy.random.default_rng(seed)` (plus the family's own salt). `FAMILIES` lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# The artifact classes of Kose et al. (the labels every family writes; 0 = none).
ARTIFACT_NAMES = {1: "air_bubble", 2: "particulate", 3: "hair", 4: "under_illumination", 5: "saturation",
                  6: "no_contact", 7: "motion"}
ARTIFACT_CODES = {name: code for code, name in ARTIFACT_NAMES.items()}


@dataclass(frozen=True, eq=False)
class FamilyPhantom:
    """One synthetic mosaic and its exact ground truth."""

    image: np.ndarray  # uint8 (H, W): reflectance, 0 outside the imaged area
    uninformative: np.ndarray  # bool (H, W): pixels an artifact makes unreadable (inside `valid` only)
    artifact_labels: np.ndarray  # uint8 (H, W): ARTIFACT_NAMES codes, 0 = none (nonzero exactly where uninformative)
    valid: np.ndarray  # bool (H, W): the imaged area (the mosaic's tiles)
    pixel_spacing_um: float
    seed: int
    family: str

    @property
    def uninformative_fraction(self) -> float:
        total = int(np.count_nonzero(self.valid))
        return float(np.count_nonzero(self.uninformative & self.valid)) / total if total else 0.0


Generator = Callable[..., FamilyPhantom]
FAMILIES: dict[str, Generator] = {}  # filled as the family modules are added


def _original(*, seed: int, size_px: int = 1024, pixel_spacing_um: float = 2.0) -> FamilyPhantom:
    """The first generator (`inference.phantoms.generator`) seen through the family interface."""
    from ..generator import generate_phantom

    p = generate_phantom(seed=seed, size_px=size_px, pixel_spacing_um=pixel_spacing_um)
    return FamilyPhantom(image=p.image, uninformative=p.uninformative & p.valid, artifact_labels=p.artifact_labels,
                         valid=p.valid, pixel_spacing_um=p.pixel_spacing_um, seed=int(seed), family="original")


FAMILIES["original"] = _original
from . import collagen, honeycomb, papillae  # noqa: E402,F401  (each registers itself in FAMILIES)
