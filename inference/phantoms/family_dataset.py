"""A labelled folder of one phantom family, in the layout training and evaluation read
(images/, masks/, valid/, labels/ as PNG, and manifest.json with each image's spacing and %).

The original generator's richer folder (dermoscopy, lesion, registration) stays `dataset.write_dataset`;
this one serves the leave-one-family-out measurement, where every family must look alike on disk.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .encoding import png_bytes
from .families import ARTIFACT_NAMES, FAMILIES


def write_family_dataset(*, out_dir: Path, family: str, seeds: range | list[int], size_px: int = 1024,
                         pixel_spacing_um: float = 2.0) -> dict:
    """Generate one phantom of `family` per seed and write the folder; return (and write) the manifest."""
    if family not in FAMILIES:
        raise ValueError(f"unknown phantom family {family!r}; known: {', '.join(sorted(FAMILIES))}")
    generate = FAMILIES[family]
    out_dir = Path(out_dir)
    for name in ("images", "masks", "valid", "labels"):
        (out_dir / name).mkdir(parents=True, exist_ok=True)
    entries = []
    for seed in seeds:
        p = generate(seed=int(seed), size_px=size_px, pixel_spacing_um=pixel_spacing_um)
        stem = f"{family}_{int(seed):06d}"
        blobs = {
            f"images/{stem}.png": png_bytes(p.image),
            f"masks/{stem}.png": png_bytes((p.uninformative & p.valid).astype(np.uint8) * 255),
            f"valid/{stem}.png": png_bytes(p.valid.astype(np.uint8) * 255),
            f"labels/{stem}.png": png_bytes(p.artifact_labels),
        }
        for rel, data in blobs.items():
            (out_dir / rel).write_bytes(data)
        present = sorted({ARTIFACT_NAMES[int(code)] for code in np.unique(p.artifact_labels) if code})
        entries.append({
            "name": f"{stem}.png", "seed": int(seed), "family": family,
            "size_px": [int(p.image.shape[1]), int(p.image.shape[0])], "pixel_spacing_um": p.pixel_spacing_um,
            "uninformative_percent": round(100.0 * p.uninformative_fraction, 4), "artifact_types": present,
            "sha256": {rel: hashlib.sha256(data).hexdigest() for rel, data in blobs.items()},
        })
    manifest = {
        "generator": f"inference.phantoms.families.{family}", "family": family, "synthetic": True,
        "note": "Synthetic RCM phantoms; models trained on them are demonstrations.",
        "artifact_codes": {str(k): v for k, v in ARTIFACT_NAMES.items()}, "images": entries,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
