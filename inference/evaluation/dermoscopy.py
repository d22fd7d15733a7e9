"""Every shipped dermoscopy model measured on one folder of images and one CSV, with the goals of
the dermoscopy issue checked: what an independent measurement on held-out images runs, in one
command (`python -m inference evaluate-dermoscopy`).

Diagnosis B and A must be measurable: if their images or labels cannot be read the command ends
with the reason. The body-region and lesion models are reported as not measured, with the reason,
when the data has nothing for them (no known body sites; no lesion masks). Nothing is written until
everything has been measured, so a failed run leaves no partial results behind.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..datasets import ham10000
from . import classifiers, diagnosis_comparison, lesion_segmentation

LESION_JACCARD_GOAL = 0.80
DIAGNOSIS_BALANCED_ACCURACY_GOAL = 0.75
# B as the platform runs it: the recorded site, else the body-region model's location
PLATFORM_B = "b_recorded_else_body_region_model"


def evaluate_all(*, registry, images: Path, csv_path: Path, out: Path) -> dict:
    """Writes out/<model>.json for each model, out/comparison.json (A vs B, with each image's
    answers) and out/summary.json; returns the summary."""
    records = ham10000.read_metadata(csv_path)
    data = ham10000.examples(Path(images), records, "diagnosis-location")
    comparison, found = diagnosis_comparison.compare_diagnosis_on_folder(registry=registry, images=images, records=records,
                                                                         data=data)
    results = {  # A and B are measured once: their metrics and the comparison come from the same answers
        "diagnosis-location": classifiers.folder_report(
            data, found[PLATFORM_B], task="diagnosis-location", rows=len(records),
            sources=comparison[f"location_sources_{PLATFORM_B}"]),
        "diagnosis": classifiers.folder_report(data, found["a_image_only"], task="diagnosis", rows=len(records)),
    }
    for task, model in (("diagnosis-location", "b"), ("diagnosis", "a")):
        results[task]["measured_with"] = {"model": comparison["models"][model], "images": str(images), "csv": str(csv_path)}
    results["body-region"] = _unless_nothing_to_measure(
        lambda: classifiers.evaluate_shipped(registry, task="body-region", images=images, csv_path=csv_path))
    results["comparison"] = comparison
    results["lesion-segmentation"] = _unless_nothing_to_measure(
        lambda: lesion_segmentation.evaluate_shipped(registry, data=images, records=records))
    summary = goals(results)
    out.mkdir(parents=True, exist_ok=True)
    for name, found in {**results, "summary": summary}.items():
        (out / f"{name}.json").write_text(json.dumps(found, indent=2) + "\n")
    return summary


def _unless_nothing_to_measure(measure) -> dict:
    try:
        return measure()
    except ham10000.DataInvalid as error:
        return {"not_measured": str(error)}


def goals(results: dict) -> dict:
    """The figures the goals are set in, each with its goal and whether it is met."""
    b, comparison, lesion = results["diagnosis-location"], results["comparison"], results["lesion-segmentation"]
    mcnemar = comparison[f"mcnemar_a_vs_{PLATFORM_B}"]
    difference = comparison[f"balanced_accuracy_a_vs_{PLATFORM_B}"]
    region = results["body-region"]
    return {
        "images": b["images"],
        "rows_left_out": b["rows_left_out"],
        "lesion_jaccard": lesion if "not_measured" in lesion else {
            "mean": lesion["jaccard_mean"], "thresholded": lesion["jaccard_thresholded"], "images": lesion["images"],
            "goal": LESION_JACCARD_GOAL, "met": lesion["jaccard_mean"] >= LESION_JACCARD_GOAL},
        "diagnosis_b_balanced_accuracy": {
            "value": b["balanced_accuracy"], "ci95": b["balanced_accuracy_ci95"], "macro_auc": b["macro_auc"],
            "goal": DIAGNOSIS_BALANCED_ACCURACY_GOAL, "met": b["balanced_accuracy"] >= DIAGNOSIS_BALANCED_ACCURACY_GOAL},
        "diagnosis_b_better_than_a": {
            "a_balanced_accuracy": results["diagnosis"]["balanced_accuracy"], "mcnemar": mcnemar,
            "balanced_accuracy_b_minus_a": difference,
            "met_by_mcnemar": mcnemar["b_only_right"] > mcnemar["a_only_right"] and mcnemar["p_value"] < 0.05,
            "met_by_balanced_accuracy": difference["ci95"][0] > 0},
        "body_region": region if "not_measured" in region else {
            "balanced_accuracy": region["balanced_accuracy"], "macro_precision": region["macro_precision"],
            "images": region["images"], "confusion_matrix": "body-region.json"},
    }
