"""A folder of phantoms, written as labelled mosaics are: what the quality model is trained and
tested on.

Dataset folder (`write_dataset`): images/, masks/ (0/255 uninformative), valid/, lesion/,
lesion_dermoscopy/, labels/ (the artifact codes 0-7) as PNG, dermoscopy/ as JPEG, all named
phantom_NNNNN, and manifest.json. Train and evaluate commands read images/ + masks/ with the
same file names and the optional valid/ and lesion/, so real labelled mosaics use the same
layout.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .artifacts import ARTIFACT_NAMES
from .encoding import jpeg_bytes, png_bytes
from .generator import PHANTOM_VERSION, area_fraction, generate_phantom
from .geometry import DERMOSCOPY_HW


def write_dataset(
    *,
    out_dir: Path,
    seeds: range | list[int],
    size_px: int = 1024,
    pixel_spacing_um: float = 2.0,
) -> dict:
    """Generate one phantom per seed and write the dataset folder; return (and write) the manifest."""
    out_dir = Path(out_dir)
    folders = ("images", "masks", "valid", "labels", "lesion", "lesion_dermoscopy", "dermoscopy")
    for name in folders:
        (out_dir / name).mkdir(parents=True, exist_ok=True)
    entries = []
    for seed in seeds:
        p = generate_phantom(seed=int(seed), size_px=size_px, pixel_spacing_um=pixel_spacing_um)
        stem = f"phantom_{int(seed):05d}"
        blobs = {
            f"images/{stem}.png": png_bytes(p.image),
            f"masks/{stem}.png": png_bytes(p.uninformative.astype(np.uint8) * 255),
            f"valid/{stem}.png": png_bytes(p.valid.astype(np.uint8) * 255),
            f"labels/{stem}.png": png_bytes(p.artifact_labels),
            f"lesion/{stem}.png": png_bytes(p.lesion_mosaic.astype(np.uint8) * 255),
            f"lesion_dermoscopy/{stem}.png": png_bytes(p.lesion_dermoscopy.astype(np.uint8) * 255),
            f"dermoscopy/{stem}.jpg": jpeg_bytes(p.dermoscopy),
        }
        files = {}
        for rel, data in blobs.items():
            (out_dir / rel).write_bytes(data)
            files[rel] = hashlib.sha256(data).hexdigest()
        lesional = p.lesional_uninformative_fraction
        entries.append({
            "name": f"{stem}.png",
            "seed": int(seed),
            "size_px": [int(p.image.shape[1]), int(p.image.shape[0])],
            "pixel_spacing_um": p.pixel_spacing_um,
            "dermoscopy_size_px": [DERMOSCOPY_HW[1], DERMOSCOPY_HW[0]],
            "registration": p.registration.tolist(),
            "uninformative_percent": round(100.0 * p.uninformative_fraction, 4),
            "lesional_uninformative_percent": None if lesional is None else round(100.0 * lesional, 4),
            "valid_percent": round(100.0 * float(p.valid.mean()), 4),
            "lesion_percent_of_valid": round(100.0 * area_fraction(p.lesion_mosaic, p.valid), 4),
            "artifact_types": p.artifact_types,
            "sha256": files,
        })
    manifest = {
        "generator": "inference.phantoms",
        "generator_version": PHANTOM_VERSION,
        "synthetic": True,
        # the words of version 1, kept to the byte (the module is now the inference/phantoms package): the
        # shipped quality card's training data is this manifest's SHA-256
        "note": "Synthetic RCM phantoms (see inference/phantoms.py); models trained on them are demonstrations.",
        "reference": "Kose K et al. J Invest Dermatol 2020;140(6):1214-1222, doi:10.1016/j.jid.2019.10.018 (MED-Net)",
        "artifact_codes": {str(k): v for k, v in ARTIFACT_NAMES.items()},
        "registration_convention": (
            "3x3 matrix: dermoscopy pixel (x, y, 1) -> mosaic pixel (x, y, 1); pixel centres at integers"
        ),
        "images": entries,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
