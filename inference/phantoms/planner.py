"""How many artifacts a phantom gets, of which types, where, and in which order they are painted.

Each phantom has a target uninformative fraction of the valid area (`generate_phantom` sets it
from the seed: lo + (hi - lo) * u with u = (seed * 0.618... + jitter of ±0.03) mod 1, a
golden-ratio sequence, so the targets of any run of consecutive seeds spread evenly over the
range: some mosaics clean or almost clean, some heavily affected). Artifacts of random types, the
large ones sized to fill what is left of the target, are added (at most 20 tries) until the union
reaches the target; one that would overshoot it by more than max(2 %, 10 % of the target) is
dropped. Dust specks too small to mask are sprinkled on 70 % of mosaics, masked dust only when the
target exceeds 1 %, so artifact_fraction=(0, 0) gives an all-clean mask. In about 40 % of
phantoms three quarters of the artifacts are centred inside the lesion, so the lesional and
whole-mosaic fractions differ.

Artifacts are painted in the order motion (it smears the tissue), under-illumination, saturation
(they change the tissue signal, and their soft fringes must not alter the look of other
artifacts), air bubble, particulate, hair, no contact; where they overlap the label is that of the
one painted last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import artifacts

# Motion smears the tissue; illumination faults change its signal (their soft fringes must not
# touch the objects' pixels); then objects in the optical path; no contact (no signal) last.
_PAINT_ORDER = (7, 4, 5, 1, 2, 3, 6)
# the large artifact types the plan chooses between, each drawn to fill a given area
_DRAW_AREA = {"under_illumination": artifacts.under_illumination, "no_contact": artifacts.no_contact,
              "saturation": artifacts.saturation, "motion": artifacts.motion, "bubbles": artifacts.bubbles}


@dataclass
class Artifact:
    code: int
    sl: tuple[slice, slice]  # bounding box in the mosaic
    mask: np.ndarray  # bool, shape of the box, already cut to valid
    paint: Callable[..., None] = field(repr=False)  # paint(image, rng, labels) changes image[sl]


class ArtifactPlanner:
    """Draws artifact geometry and keeps the union; painting happens later, in _PAINT_ORDER."""

    def __init__(self, rng, image, valid, lesion, um, tile_edges):
        self.rng, self.image, self.valid, self.lesion, self.um = rng, image, valid, lesion, um
        self.n = image.shape[0]
        self.edges = tile_edges
        self.union = np.zeros_like(valid)
        self.valid_area = max(1, int(np.count_nonzero(valid)))
        self.lesion_valid = lesion & valid
        self.on_lesion = bool(self.lesion_valid.any()) and rng.random() < 0.4
        self.items: list[Artifact] = []
        self.target = 0.0

    # ---- helpers
    def fraction(self) -> float:
        return np.count_nonzero(self.union) / self.valid_area

    def point(self) -> tuple[float, float]:
        target = self.lesion_valid if (self.on_lesion and self.rng.random() < 0.75) else self.valid
        for _ in range(200):
            y, x = self.rng.uniform(0, self.n, size=2)
            if target[int(y), int(x)]:
                return float(y), float(x)
        return float(self.rng.uniform(0, self.n)), float(self.rng.uniform(0, self.n))

    def add(self, code, sl, mask, paint) -> None:
        mask = mask & self.valid[sl]
        if not mask.any():
            return
        new = np.count_nonzero(mask & ~self.union[sl]) / self.valid_area
        if self.fraction() + new > self.target + max(0.02, 0.1 * self.target):
            return  # would overshoot the target by too much: drop it
        self.union[sl] |= mask
        self.items.append(Artifact(code, sl, mask, paint))

    def add_unmasked(self, sl, mask, paint) -> None:
        """Something drawn but not masked (dust too small to matter): painted with the particulates."""
        self.items.append(Artifact(0, sl, mask, paint))

    # ---- plan
    def plan(self, target: float) -> None:
        rng = self.rng
        self.target = target
        big = ["under_illumination", "no_contact", "saturation", "motion", "bubbles", "hair"]
        weights = np.array([0.22, 0.22, 0.12, 0.16, 0.18, 0.10])
        counts = dict.fromkeys(big, 0)
        limits = {"under_illumination": 3, "no_contact": 3, "saturation": 2, "motion": 3, "bubbles": 4, "hair": 2}
        if rng.random() < 0.7:  # dust is nearly always around (only specks too small to mask if the target is ~0)
            artifacts.particulates(self, rng.uniform(0.0, 0.01) * self.valid_area, max_um=45.0 if target > 0.01 else 15.0)
        for _ in range(20):
            left = target - self.fraction()
            if left < 0.004:
                break
            area = left * self.valid_area * rng.uniform(0.4, 1.0)
            p = weights * np.array([counts[k] < limits[k] for k in big])
            if left < 0.03:
                p = p * np.array([1, 1, 1, 0.3, 2, 0.2])
                if rng.random() < 0.4:
                    artifacts.particulates(self, area)
                    continue
            if p.sum() == 0:
                break
            kind = big[int(rng.choice(len(big), p=p / p.sum()))]
            counts[kind] += 1
            if kind == "hair":
                artifacts.hair(self)
            else:
                _DRAW_AREA[kind](self, area)

    def paint(self, image: np.ndarray, labels: np.ndarray) -> None:
        order = {code: i for i, code in enumerate(_PAINT_ORDER)}
        for item in sorted(self.items, key=lambda it: order.get(it.code if it.code else 2, 0)):
            item.paint(image, self.rng, labels)
            if item.code:
                labels[item.sl][item.mask] = item.code
