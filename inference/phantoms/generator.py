"""One phantom from a seed (`generate_phantom`), and the quality-gate scenarios made from one.

How a phantom is made: everything is drawn from `numpy.random.default_rng(seed)` in a fixed
order, so a seed always gives the same phantom with the same numpy and scipy on the same kind of
CPU (bit-for-bit equality across CPU types is not promised: vectorised transcendental functions
and BLAS may round differently).

1. The registration onto the dermoscopy image and the lesion's shape (`geometry`); the lesion is
   evaluated at the mosaic pixel centres mapped back through the inverse transform, so
   `lesion_mosaic` is exactly the dermoscopy lesion mapped through the registration (not cut to
   `valid`).
2. The tile grid and the imaged area (`geometry`).
3. The tissue texture (`tissue`), times speckle: gamma-distributed noise of mean 1 and shape 4-8
   (drawn by inverse-CDF look-up).
4. Per tile a gain (about ±6 %) and vignetting, a separable quadratic fall-off to 55-75 % of the
   centre brightness at its edge midpoints (less in the corners); faint one-pixel seams (3-8 %
   darker or brighter) at the tile borders.
5. The artifacts, planned to the seed's target fraction and painted (`planner`, `artifacts`).
6. The image is 0 outside the imaged area, and every mask lies inside it.
7. The dermoscopy image and its lesion mask (`dermoscopy`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .artifacts import ARTIFACT_CODES, ARTIFACT_NAMES
from .dermoscopy import dermoscopy_image
from .fields import smoothstep, speckle
from .geometry import TILE_UM, make_lesion, similarity_registration, tile_edges, valid_mask
from .planner import ArtifactPlanner
from .tissue import tissue_reflectance

PHANTOM_VERSION = "1"


@dataclass(frozen=True, eq=False)
class Phantom:
    """One synthetic mosaic with its ground truth (arrays are read-only)."""

    image: np.ndarray  # uint8 (H, W)
    uninformative: np.ndarray  # bool (H, W)
    artifact_labels: np.ndarray  # uint8 (H, W), codes in ARTIFACT_NAMES, 0 = none
    valid: np.ndarray  # bool (H, W)
    dermoscopy: np.ndarray  # uint8 (450, 600, 3) RGB
    lesion_dermoscopy: np.ndarray  # bool (450, 600)
    registration: np.ndarray  # float64 (3, 3): dermoscopy (x, y, 1) -> mosaic (x, y, 1)
    lesion_mosaic: np.ndarray  # bool (H, W)
    pixel_spacing_um: float
    seed: int

    @property
    def uninformative_fraction(self) -> float:
        """Uninformative share of the valid (imaged) area."""
        return area_fraction(self.uninformative, self.valid)

    @property
    def lesional_uninformative_fraction(self) -> float | None:
        """Uninformative share of the imaged lesion; None when no imaged pixel is lesional."""
        area = self.valid & self.lesion_mosaic
        return area_fraction(self.uninformative, area) if area.any() else None

    @property
    def artifact_types(self) -> list[str]:
        """Names of the artifact types with at least one labelled pixel, in code order."""
        present = np.flatnonzero(np.bincount(self.artifact_labels.ravel(), minlength=8)[1:]) + 1
        return [ARTIFACT_NAMES[int(code)] for code in present]


def area_fraction(mask: np.ndarray, area: np.ndarray) -> float:
    total = int(np.count_nonzero(area))
    return float(np.count_nonzero(mask & area)) / total if total else 0.0


def generate_phantom(
    *,
    seed: int,
    size_px: int = 1024,
    pixel_spacing_um: float = 2.0,
    artifact_fraction: tuple[float, float] = (0.0, 0.45),
) -> Phantom:
    """Make one synthetic DEJ mosaic with exact artifact masks (see the module docstring)."""
    size, um = int(size_px), float(pixel_spacing_um)
    lo, hi = (float(v) for v in artifact_fraction)
    if size < 64:
        raise ValueError("size_px must be at least 64.")
    if not (0.1 <= um <= 10.0):
        raise ValueError("pixel_spacing_um must be between 0.1 and 10 µm.")
    if not (0.0 <= lo <= hi < 1.0):
        raise ValueError("artifact_fraction must be (low, high) with 0 <= low <= high < 1.")
    rng = np.random.default_rng(seed)

    registration, centre_d, half_d = similarity_registration(rng, size)
    lesion = make_lesion(rng, centre_d, half_d)
    inv = np.linalg.inv(registration)
    u = np.arange(size, dtype=np.float64)
    xd = (inv[0, 0] * u[None, :] + inv[0, 1] * u[:, None] + inv[0, 2]).astype(np.float32)
    yd = (inv[1, 0] * u[None, :] + inv[1, 1] * u[:, None] + inv[1, 2]).astype(np.float32)
    rho = lesion.rho(xd, yd)
    del xd, yd
    lesion_mosaic = rho <= 1.0
    lesion_w = smoothstep((1.1 - rho) * np.float32(5.0))
    del rho

    edges = tile_edges(size, TILE_UM / um)
    valid = valid_mask(rng, size, edges)

    tissue = tissue_reflectance(rng, size, um, lesion_w)
    del lesion_w
    tissue *= speckle(rng, (size, size), float(rng.uniform(4.0, 8.0)))

    # Tile grid: per-tile gain and vignetting, faint seams.
    nt = len(edges) - 1
    counts = np.diff(edges)
    pos = np.concatenate([(np.arange(c, dtype=np.float32) + 0.5) / c for c in counts])
    prof = (2.0 * pos - 1.0) ** 2
    which = np.repeat(np.arange(nt), counts)
    strength = rng.uniform(0.25, 0.45, (nt, nt)).astype(np.float32)
    gain = (1.0 + 0.06 * rng.standard_normal((nt, nt))).astype(np.float32) * np.float32(rng.uniform(150.0, 190.0))
    s_map = strength[which][:, which]
    tissue *= gain[which][:, which] * (1.0 - s_map * prof[:, None]) * (1.0 - s_map * prof[None, :])
    seam = np.float32(1.0 + rng.choice([-1, 1]) * rng.uniform(0.03, 0.08))
    for e in edges[1:-1]:
        tissue[e, :] *= seam
        tissue[:, e] *= seam
    image = tissue
    del tissue

    labels = np.zeros((size, size), np.uint8)
    planner = ArtifactPlanner(rng, image, valid, lesion_mosaic, um, edges)
    # Target fraction: a golden-ratio sequence over seeds (plus jitter), so any run of consecutive
    # seeds spans [lo, hi] evenly while each seed's target stays uniform over the range.
    u = (int(seed) * 0.6180339887498949 + rng.uniform(-0.03, 0.03)) % 1.0
    planner.plan(lo + (hi - lo) * u)
    planner.paint(image, labels)

    image = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    image[~valid] = 0
    labels[~valid] = 0
    uninformative = labels > 0

    dermoscopy, lesion_dermoscopy = dermoscopy_image(rng, lesion)
    arrays = dict(
        image=image,
        uninformative=uninformative,
        artifact_labels=labels,
        valid=valid,
        dermoscopy=dermoscopy,
        lesion_dermoscopy=lesion_dermoscopy,
        registration=registration,
        lesion_mosaic=lesion_mosaic,
    )
    for a in arrays.values():
        a.setflags(write=False)
    return Phantom(**arrays, pixel_spacing_um=um, seed=int(seed))


def with_no_contact(phantom: Phantom, region: np.ndarray, *, seed: int = 0) -> Phantom:
    """The phantom with `region` (bool, mosaic-sized, clipped to the imaged area) painted as lost
    skin-window contact, as the planner paints it (near-black signal with a 2-pixel soft edge), and
    the ground truth updated. For scenarios that need an artifact at a chosen place."""
    rng = np.random.default_rng(seed)
    region = region & phantom.valid
    outside = ndi.distance_transform_edt(~region).astype(np.float32)
    level = np.where(region, -1.0, outside).astype(np.float32)
    fade = np.clip(level / 2.0, 0.0, 1.0)
    black = np.float32(rng.uniform(2.0, 10.0))
    dark = black + np.abs(rng.standard_normal(level.shape, dtype=np.float32)) * np.float32(1.5)
    image = phantom.image.astype(np.float32)
    image = np.where(region, dark, image * (0.4 + 0.6 * fade) + dark * (1 - fade) * 0.4)
    image = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    image[~phantom.valid] = 0
    labels = phantom.artifact_labels.copy()
    labels[region] = ARTIFACT_CODES["no_contact"]
    uninformative = labels > 0
    for a in (image, labels, uninformative):
        a.setflags(write=False)
    return dataclasses.replace(phantom, image=image, artifact_labels=labels, uninformative=uninformative)


def gate_phantom(*, seed: int, where: str, size_px: int = 1024, pixel_spacing_um: float = 2.0,
                 fraction: float = 0.5) -> Phantom:
    """A clean phantom with one large area without contact, for testing the quality gate:
    `where="lesion"` covers about `fraction` of the imaged lesion (a disc at its centre);
    `where="outside_lesion"` covers about `fraction` of the imaged area outside the lesion, kept
    at least 60 µm away from it (the part farthest from the lesion). Raises ValueError when the
    seed's lesion leaves no room for the scenario."""
    phantom = generate_phantom(seed=seed, size_px=size_px, pixel_spacing_um=pixel_spacing_um, artifact_fraction=(0.0, 0.0))
    lesion = phantom.lesion_mosaic & phantom.valid
    if where == "lesion":
        if np.count_nonzero(lesion) < 0.05 * lesion.size:
            raise ValueError(f"seed {seed}: too little of the lesion is imaged")
        inside = ndi.distance_transform_edt(lesion)
        threshold = np.quantile(inside[lesion], 1.0 - fraction)  # the deepest `fraction` of the lesion
        region = lesion & (inside >= threshold)
    elif where == "outside_lesion":
        away = ndi.distance_transform_edt(~phantom.lesion_mosaic) * pixel_spacing_um
        room = phantom.valid & (away >= 60.0)
        if np.count_nonzero(room) < 0.1 * np.count_nonzero(phantom.valid):
            raise ValueError(f"seed {seed}: the lesion leaves too little room outside it")
        threshold = np.quantile(away[room], 1.0 - min(1.0, fraction * np.count_nonzero(phantom.valid & ~phantom.lesion_mosaic) / np.count_nonzero(room)))
        region = room & (away >= threshold)
    else:
        raise ValueError("where must be 'lesion' or 'outside_lesion'")
    return with_no_contact(phantom, region, seed=seed)
