"""The HAM10000 dermoscopy data set as the dermoscopy models read it (Tschandl et al., Sci Data 2018).

Folder layout (../shared/datasets/ham10000, see its PROVENANCE.md; licence CC BY-NC 4.0, so weights
trained on it are for non-commercial use): images/<image_id>.jpg, masks/<image_id>_segmentation.png,
metadata.csv with image_id, lesion_id, dx, dx_type, age, sex, localization, region7, split. The
evaluation commands take any folder with the same images/ (and masks/) and a CSV of image_id, dx,
localization, so that others can measure the shipped models on data this project does not have.
`examples` loads a task's labelled images at the classifiers' size.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from ..serving.classification import DX_CLASSES, IMAGE_SIZE, TASKS, location_index

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


class DataInvalid(ValueError):
    """An image folder or CSV that cannot be read as asked, with what is wrong and where: others run
    the evaluation commands on data this project has never seen, so the message must say what to fix."""


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
# The ISIC 2018 task 3 ground-truth files give the diagnosis one-hot: image, MEL, NV, BCC, AKIEC, BKL, DF, VASC.
_ONE_HOT = {name.upper(): name for name in DX_CLASSES}


def read_metadata(csv_path: Path) -> list[Record]:
    """Rows of a HAM10000-style CSV (image_id, dx, localization; region7 and split when present), or
    of an ISIC 2018 one-hot ground-truth file. Column names and values are read without surrounding
    blanks, dx and localization in lower case; a byte-order mark is ignored."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = [(name or "").strip() for name in reader.fieldnames or []]
            rows = [{column: (value or "").strip() for column, value in zip(columns, row.values())} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataInvalid(f"{Path(csv_path).name}: not a readable CSV ({error})") from error
    if "image_id" not in columns and "image" in columns and set(_ONE_HOT) <= set(columns):
        rows = [{**row, "image_id": row["image"], "dx": _one_hot_dx(row, csv_path)} for row in rows]
    elif "image_id" not in columns:
        raise DataInvalid(f"{Path(csv_path).name}: no image_id column (found {', '.join(columns) or 'none'}); "
                          "expected image_id, dx, localization")
    ids = [row["image_id"] for row in rows]
    if "" in ids:
        raise DataInvalid(f"{Path(csv_path).name}: row {ids.index('') + 2} has no image_id")
    if len(set(ids)) != len(ids):
        twice = sorted(i for i, count in Counter(ids).items() if count > 1)
        raise DataInvalid(f"{Path(csv_path).name}: {len(twice)} image_id(s) appear more than once, e.g. {twice[0]}")
    records = []
    for row in rows:
        localization = row.get("localization", "").lower()
        region7 = row["region7"].lower() if "region7" in row else REGION7_OF_LOCALIZATION.get(localization, "")
        records.append(Record(image_id=row["image_id"], dx=row.get("dx", "").lower(), localization=localization,
                              region7=region7, split=row.get("split", ""), lesion_id=row.get("lesion_id", "")))
    return records


def _one_hot_dx(row: dict, csv_path: Path) -> str:
    hot = [name for column, name in _ONE_HOT.items() if row[column] not in ("", "0", "0.0")]
    if len(hot) != 1:
        raise DataInvalid(f"{Path(csv_path).name}: image {row['image']} has {len(hot)} diagnoses marked, not one")
    return hot[0]


def image_path(root: Path, image_id: str) -> Path:
    """root/images/<id>.jpg, or root/<id>.jpg for a flat folder of images."""
    nested = Path(root) / "images" / f"{image_id}.jpg"
    return nested if nested.exists() or not (Path(root) / f"{image_id}.jpg").exists() else Path(root) / f"{image_id}.jpg"


def find_images(root: Path, image_ids: list[str]) -> dict[str, Path]:
    """Where each image is: root/images/<id>.jpg or root/<id>.jpg, else any .jpg, .jpeg or .png (in
    any case) named <id> anywhere below root, as in HAM10000's own download, which comes in two part
    folders. Raises DataInvalid naming the images that are missing or found twice."""
    return _find_below(root, {i: i for i in image_ids}, lambda i: image_path(root, i), "images")


def find_masks(root: Path, image_ids: list[str]) -> dict[str, Path]:
    """Each image's lesion mask: root/masks/<id>_segmentation.png, else <id>_segmentation.png
    anywhere below root (as in the ISIC 2018 task 1 ground-truth folder)."""
    return _find_below(root, {f"{i}_segmentation": i for i in image_ids}, lambda i: mask_path(root, i), "masks")


def _find_below(root: Path, wanted: dict[str, str], first_look, what: str) -> dict[str, Path]:
    """wanted: file stem → image_id. The file at first_look(image_id) when it is there, else the one
    file below root with that stem and an image suffix."""
    root = Path(root)
    if not root.is_dir():
        raise DataInvalid(f"{root}: no such folder of {what}")
    found = {i: first_look(i) for i in wanted.values()}
    unplaced = {stem for stem, i in wanted.items() if not found[i].is_file()}
    if not unplaced:
        return found
    below: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*")):
        if path.stem in unplaced and path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            below.setdefault(path.stem, []).append(path)
    twice = sorted(stem for stem, paths in below.items() if len(paths) > 1)
    if twice:
        raise DataInvalid(f"{len(twice)} of the {what} are found more than once below {root}, e.g. "
                          f"{' and '.join(str(p.relative_to(root)) for p in below[twice[0]])}")
    missing = sorted(unplaced - set(below))
    if missing:
        raise DataInvalid(f"{len(missing)} of {len(wanted)} {what} are not in {root} (looked for "
                          f"{', '.join(IMAGE_SUFFIXES)} files below it), e.g. {', '.join(missing[:3])}")
    return found | {wanted[stem]: paths[0] for stem, paths in below.items()}


def mask_path(root: Path, image_id: str) -> Path:
    return Path(root) / "masks" / f"{image_id}_segmentation.png"


def load_rgb(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """uint8 H x W x 3, resized (bilinear) to `size` = (width, height) when given."""
    return _read(path, mode="RGB", size=size, resample=PILImage.BILINEAR, what="image")


def load_mask(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    return _read(path, mode="L", size=size, resample=PILImage.NEAREST, what="mask") > 127


def _read(path: Path, *, mode: str, size: tuple[int, int] | None, resample, what: str) -> np.ndarray:
    try:
        with PILImage.open(path) as image:
            image = image.convert(mode)
            if size is not None and image.size != size:
                image = image.resize(size, resample)
            return np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, PILImage.DecompressionBombError) as error:  # missing, truncated, not an image
        raise DataInvalid(f"{Path(path).name}: not a readable {what} ({error})") from error


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


@dataclass(frozen=True)
class Examples:
    images: np.ndarray  # uint8 N x H x W x 3
    labels: np.ndarray  # int64 N
    locations: np.ndarray  # int64 N (0 = unknown)
    ids: list[str]


def examples(root: Path, records, task: str) -> Examples:
    """The records that carry the task's label, loaded at IMAGE_SIZE."""
    spec = TASKS[task]
    kept = [r for r in records if getattr(r, spec["field"]) in spec["labels"]]
    if not kept:
        raise DataInvalid(f"none of the {len(records)} rows has a {spec['field']} among {', '.join(spec['labels'])}")
    paths = find_images(root, [r.image_id for r in kept])
    return Examples(
        images=np.stack([load_rgb(paths[r.image_id], IMAGE_SIZE) for r in kept]),
        labels=np.array([spec["labels"].index(getattr(r, spec["field"])) for r in kept], dtype=np.int64),
        locations=np.array([location_index(r.localization) for r in kept], dtype=np.int64),
        ids=[r.image_id for r in kept],
    )
