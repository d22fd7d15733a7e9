"""The HAM10000 dermoscopy data set as the dermoscopy models read it (Tschandl et al., Sci Data 2018).

Folder layout (../shared/datasets/ham10000, see its PROVENANCE.md; licence CC BY-NC 4.0, so weights
trained on it are for non-commercial use): images/<image_id>.jpg, masks/<image_id>_segmentation.png,
metadata.csv with image_id, lesion_id, dx, dx_type, age, sex, localization, region7, split. The
evaluation commands take any folder with the same images/ (and masks/) and a CSV of image_id, dx,
localization, so that others can measure the shipped models on data this project does not have.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

DX_CLASSES = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
REGION7 = ("arm", "leg", "feet", "hand", "head", "trunk", "other")
# How the data set's region7 column was made from `localization` (checked against all 8,029 rows):
# used when an evaluation CSV has only image_id, dx and localization.
REGION7_OF_LOCALIZATION = {
    "back": "trunk", "trunk": "trunk", "abdomen": "trunk", "chest": "trunk", "lower extremity": "leg",
    "upper extremity": "arm", "face": "head", "neck": "head", "scalp": "head", "ear": "head", "foot": "feet",
    "hand": "hand", "genital": "other", "acral": "other",
}


@dataclass(frozen=True)
class Record:
    image_id: str
    dx: str
    localization: str
    region7: str
    split: str
    lesion_id: str = ""


def read_metadata(csv_path: Path) -> list[Record]:
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [Record(image_id=row["image_id"], dx=row.get("dx", ""), localization=row.get("localization", ""),
                   region7=row["region7"] if "region7" in row else REGION7_OF_LOCALIZATION.get(row.get("localization", ""), ""),
                   split=row.get("split", ""), lesion_id=row.get("lesion_id", ""))
            for row in rows]


def image_path(root: Path, image_id: str) -> Path:
    """root/images/<id>.jpg, or root/<id>.jpg for a flat folder of images."""
    nested = Path(root) / "images" / f"{image_id}.jpg"
    return nested if nested.exists() or not (Path(root) / f"{image_id}.jpg").exists() else Path(root) / f"{image_id}.jpg"


def mask_path(root: Path, image_id: str) -> Path:
    return Path(root) / "masks" / f"{image_id}_segmentation.png"


def load_rgb(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """uint8 H x W x 3, resized (bilinear) to `size` = (width, height) when given."""
    with PILImage.open(path) as image:
        image = image.convert("RGB")
        if size is not None and image.size != size:
            image = image.resize(size, PILImage.BILINEAR)
        return np.asarray(image, dtype=np.uint8)


def load_mask(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    with PILImage.open(path) as mask:
        mask = mask.convert("L")
        if size is not None and mask.size != size:
            mask = mask.resize(size, PILImage.NEAREST)
        return np.asarray(mask) > 127


def file_hashes(root: Path, records: list[Record], *, masks: bool = True) -> dict[str, str]:
    """SHA-256 of the metadata and of every image (and mask) used, folded into one digest per kind,
    for the model card: the same digests mean the same training data."""
    root = Path(root)
    digests = {"images": hashlib.sha256(), "masks": hashlib.sha256()}
    for record in sorted(records, key=lambda r: r.image_id):
        digests["images"].update(hashlib.sha256(image_path(root, record.image_id).read_bytes()).digest())
        if masks:
            digests["masks"].update(hashlib.sha256(mask_path(root, record.image_id).read_bytes()).digest())
    found = {"metadata.csv": hashlib.sha256((root / "metadata.csv").read_bytes()).hexdigest()} if (root / "metadata.csv").exists() else {}
    found[f"images ({len(records)})"] = digests["images"].hexdigest()
    if masks:
        found[f"masks ({len(records)})"] = digests["masks"].hexdigest()
    return found
