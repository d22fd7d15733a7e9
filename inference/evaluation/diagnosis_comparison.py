"""Diagnosis model A (image only) against model B (image and body location) as shipped, on the same
images: Amruthalingam et al.'s comparison (JEADV 2022), McNemar's exact test on the images the two
classify differently right, and the paired bootstrap of the balanced-accuracy difference, the
measure the goal is set in."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..datasets import ham10000
from ..serving.classification import DX_CLASSES, MODEL_NAMES, classify
from . import classification_metrics
from .classifiers import recorded_else, region_locations


def compare_diagnosis(*, registry, data: ham10000.Examples, how: str) -> tuple[dict, dict[str, np.ndarray]]:
    """Model A against model B as shipped (the card's backend, test-time flips) on the same images:
    B with the recorded location, with the recorded location else the body-region model's (as the
    platform runs it), with the body-region model's for all, and with none; McNemar's exact test and
    the paired bootstrap of the balanced-accuracy difference, A vs each B that has a location.
    Returns the comparison and each model's probabilities."""
    model_a = registry.load(MODEL_NAMES["diagnosis"])
    model_b = registry.load(MODEL_NAMES["diagnosis-location"])
    body_region = registry.load(MODEL_NAMES["body-region"])
    from_region = region_locations(body_region, data.images)
    platform_locations, sources = recorded_else(data.locations, from_region)
    found = {
        "a_image_only": classify(model_a.predict, data.images),
        "b_recorded_location": classify(model_b.predict, data.images, data.locations),
        "b_recorded_else_body_region_model": classify(model_b.predict, data.images, platform_locations),
        "b_location_from_body_region_model": classify(model_b.predict, data.images, from_region),
        "b_no_location": classify(model_b.predict, data.images, np.zeros_like(data.locations)),
    }
    classes = len(DX_CLASSES)
    predicted = {name: p.argmax(axis=1) for name, p in found.items()}
    compared = ("b_recorded_location", "b_recorded_else_body_region_model", "b_location_from_body_region_model")
    comparison = {
        "images": int(len(data.labels)),
        "how": how + "; shipped weights with the card's CPU backend; test-time flips; McNemar's exact test on the "
                     "images A and B classify differently right; balanced-accuracy difference with a paired "
                     "bootstrap (1,000 resamples of the images)",
        "models": {name: f"{m.card.name} {m.card.version} ({m.backend})" for name, m in
                   (("a", model_a), ("b", model_b), ("body_region", body_region))},
        "location_sources_b_recorded_else_body_region_model": sources,
        "balanced_accuracy": {name: round(classification_metrics.balanced_accuracy(
            classification_metrics.confusion(data.labels, p, classes)), 4) for name, p in predicted.items()},
        "macro_auc": {name: round(classification_metrics.macro_auc(p, data.labels), 4) for name, p in found.items()},
        **{f"mcnemar_a_vs_{name}": classification_metrics.mcnemar(data.labels, predicted["a_image_only"], predicted[name])
           for name in compared},
        **{f"balanced_accuracy_a_vs_{name}": classification_metrics.balanced_accuracy_difference(
            data.labels, predicted["a_image_only"], predicted[name], classes) for name in compared},
    }
    return comparison, found


def compare_diagnosis_on_val(*, registry, data: Path) -> dict:
    """compare_diagnosis on HAM10000 val, written into model B's card."""
    records = [r for r in ham10000.read_metadata(Path(data) / "metadata.csv") if r.split == "val"]
    comparison, _ = compare_diagnosis(registry=registry, data=ham10000.examples(data, records, "diagnosis-location"),
                                      how="HAM10000 val split")
    card_path = registry.card(MODEL_NAMES["diagnosis-location"]).path
    card = json.loads(card_path.read_text())
    card["metrics"]["ham10000_val_versus_model_a"] = comparison
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return comparison


def compare_diagnosis_on_folder(*, registry, images: Path, records: list, data: ham10000.Examples) -> tuple[dict, dict[str, np.ndarray]]:
    """compare_diagnosis on anyone's folder and CSV rows (what evaluate-classifier reads) and their
    examples, with each image's truth and A's and B's answers so that any other paired test can be
    run on them; returns the comparison and each model's probabilities."""
    comparison, found = compare_diagnosis(registry=registry, data=data, how=f"{len(data.labels)} images of {images}")
    labels = DX_CLASSES
    comparison["rows_left_out"] = {"no dx among the model's classes": len(records) - len(data.labels)}
    comparison["per_image"] = [
        {"image_id": image_id, "dx": labels[truth], "a": labels[a], "b": labels[b]} for image_id, truth, a, b in
        zip(data.ids, data.labels, found["a_image_only"].argmax(axis=1), found["b_recorded_else_body_region_model"].argmax(axis=1))]
    return comparison, found
