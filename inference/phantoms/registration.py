"""Phantom pairs for testing automatic dermoscopy → mosaic registration.

The mosaics of `generate_phantom` carry their lesion only as a faint change of texture (damped
papillae, sparse nests), not as the dermoscopy's pigment: measured, their low-resolution image
correlates with the registered dermoscopy's inverted grey channel at about -0.1 to 0.5, with no
consistent sign, so no image-based method can find the registration from them
(experiments/auto_registration.py). Real RCM at the dermal-epidermal junction shows melanin as
bright reflectance, so pigment that is dark in dermoscopy is bright in the mosaic. `pigmented`
adds that: the phantom's mosaic times (1 + contrast × pigment), the pigment being the
dermoscopy's darkening below its skin level, mapped through the phantom's true registration and
blurred to 20 µm. Everything else (tissue texture, tiles, speckle, artifacts, invalid areas)
stays as it was.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage as ndi

from .generator import Phantom


def pigment_map(dermoscopy: np.ndarray) -> np.ndarray:
    """0 at the skin's level, 1 at the darkest pigment, in dermoscopy pixels."""
    grey = dermoscopy.astype(np.float64).mean(axis=2)
    skin, dark = np.percentile(grey, 90), np.percentile(grey, 0.5)
    return np.clip((skin - grey) / max(skin - dark, 1.0), 0.0, 1.0)


def _pigment_on_mosaic(phantom: Phantom) -> np.ndarray:
    """The dermoscopy's pigment map carried onto the mosaic's grid through the registration, smoothed
    over 20 µm: the signal both variants below put into the mosaic."""
    size = phantom.image.shape
    inv = np.linalg.inv(phantom.registration)
    v, u = np.mgrid[0:size[0], 0:size[1]].astype(np.float64)
    xd = inv[0, 0] * u + inv[0, 1] * v + inv[0, 2]
    yd = inv[1, 0] * u + inv[1, 1] * v + inv[1, 2]
    pigment = ndi.map_coordinates(pigment_map(phantom.dermoscopy), [yd, xd], order=1, mode="nearest")
    pigment = ndi.gaussian_filter(pigment, 20.0 / phantom.pixel_spacing_um)
    return pigment


def pigmented(phantom: Phantom, *, contrast: float = 0.6) -> Phantom:
    """The phantom with its mosaic brightened where the dermoscopy shows pigment (see the module docstring)."""
    pigment = _pigment_on_mosaic(phantom)
    image = np.clip(phantom.image * (1.0 + contrast * pigment) + 0.5, 0, 255).astype(np.uint8)
    image[~phantom.valid] = 0
    image.setflags(write=False)
    return dataclasses.replace(phantom, image=image)


def shared_signal(phantom: Phantom) -> Phantom:
    """A mosaic whose reflectance follows the dermoscopy's pigment strongly: (60 + 150 × pigment) × the
    phantom's own fine texture (its image over its 30 µm local mean), tiles and invalid areas kept.
    What the automatic registration needs to work at all: a test of its search and geometry, not a
    claim about what a real device shows."""
    pigment = _pigment_on_mosaic(phantom)
    image = phantom.image.astype(np.float64)
    texture = np.clip(image / np.maximum(ndi.gaussian_filter(image, 30.0 / phantom.pixel_spacing_um), 1.0), 0.0, 2.0)
    out = np.clip((60.0 + 150.0 * pigment) * texture + 0.5, 0, 255).astype(np.uint8)
    out[~phantom.valid] = 0
    out.setflags(write=False)
    return dataclasses.replace(phantom, image=out)
