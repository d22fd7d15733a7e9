"""The classifier training and evaluation commands work end to end on a small HAM10000 subset:
weights, card and metrics are written, and the evaluation command reads an image folder and a CSV."""

from __future__ import annotations

import csv
import json

import pytest

from inference.__main__ import main
from inference.serving.registry import Registry


@pytest.mark.parametrize("task", ["diagnosis-location", "body-region"])
def test_train_then_evaluate_a_classifier_through_the_command_line(subset, tmp_path, task):
    cards, weights = tmp_path / "cards", tmp_path / "weights"
    cards.mkdir()
    main(["--cards", str(cards), "train-classifier", "--task", task, "--data", str(subset), "--weights-dir", str(weights),
          "--epochs", "1", "--batch", "8", "--version", "0.0.1-test"])
    card = Registry(cards).cards()[0]
    assert card.version == "0.0.1-test" and Registry(cards).verify(card).exists()
    val = card.metrics["ham10000_val"]
    assert val["images"] >= 1 and set(val["per_class"]) == set(card.labels)
    assert (card.architecture["kwargs"]["locations"] > 0) == (task == "diagnosis-location")

    out = tmp_path / "metrics.json"
    main(["--cards", str(cards), "evaluate-classifier", "--task", task, "--images", str(subset / "images"),
          "--csv", str(subset / "metadata.csv"), "--out", str(out)])
    found = json.loads(out.read_text())
    assert found["images"] == (24 if task == "diagnosis-location" else sum(1 for _ in csv.DictReader(open(subset / "metadata.csv")) if _["region7"]))
    assert 0.0 <= found["balanced_accuracy"] <= 1.0 and found["confusion_matrix"]["labels"] == card.labels


def test_the_three_classifiers_export_to_onnx_and_compare_a_with_b(subset, tmp_path):
    """What `make train-classifiers` runs, on the subset: three trainings, ONNX exports that agree
    with PyTorch (export-onnx checks that itself), and A vs B written into model B's card."""
    import numpy as np

    cards, weights = tmp_path / "cards", tmp_path / "weights"
    cards.mkdir()
    for task in ("diagnosis-location", "body-region", "diagnosis"):
        main(["--cards", str(cards), "train-classifier", "--task", task, "--data", str(subset), "--weights-dir", str(weights),
              "--epochs", "1", "--batch", "8"])
    registry = Registry(cards)
    for name in ("dermoscopy-diagnosis-location", "body-region", "dermoscopy-diagnosis"):
        main(["--cards", str(cards), "export-onnx", "--name", name])
        assert registry.card(name).onnx["sha256"] and registry.load(name, device="cpu").backend == "onnxruntime"

    model_b = registry.load("dermoscopy-diagnosis-location", device="cpu")
    x = np.random.default_rng(0).standard_normal((2, 3, 150, 200)).astype(np.float32)
    with_location = model_b.predict(x, np.array([3, 3]))
    assert with_location.shape == (2, 7) and np.allclose(with_location.sum(axis=1), 1, atol=1e-5)
    assert not np.allclose(with_location, model_b.predict(x, np.array([7, 7])), atol=1e-6)  # the location is used
    assert np.allclose(model_b.predict(x), model_b.predict(x, np.array([0, 0])))  # none given = unknown

    # an outside evaluation CSV with only image_id, dx, localization; unknown locations come from the
    # body-region model, as in the platform
    rows = list(csv.DictReader(open(subset / "metadata.csv")))
    with open(tmp_path / "outside.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", "dx", "localization"])
        writer.writerows([[r["image_id"], r["dx"], "unknown" if i % 2 else r["localization"]] for i, r in enumerate(rows)])
    out = tmp_path / "outside.json"
    main(["--cards", str(cards), "evaluate-classifier", "--task", "diagnosis-location", "--images", str(subset),
          "--csv", str(tmp_path / "outside.csv"), "--out", str(out)])
    sources = json.loads(out.read_text())["location_sources"]
    assert sum(sources.values()) == 24 and sources["body_region_model"] >= 1
    main(["--cards", str(cards), "evaluate-classifier", "--task", "body-region", "--images", str(subset),
          "--csv", str(tmp_path / "outside.csv"), "--out", str(out)])
    assert json.loads(out.read_text())["images"] == sum(1 for i, r in enumerate(rows) if i % 2 == 0 and r["region7"])

    main(["--cards", str(cards), "compare-diagnosis", "--data", str(subset)])
    comparison = registry.card("dermoscopy-diagnosis-location").metrics["ham10000_val_versus_model_a"]
    assert comparison["images"] == 8 and set(comparison["balanced_accuracy"]) == {
        "a_image_only", "b_recorded_location", "b_recorded_else_body_region_model", "b_location_from_body_region_model",
        "b_no_location"}
    difference = comparison["balanced_accuracy_a_vs_b_recorded_location"]
    assert difference["b_minus_a"] == pytest.approx(comparison["balanced_accuracy"]["b_recorded_location"]
                                                    - comparison["balanced_accuracy"]["a_image_only"], abs=2e-4)
    test = comparison["mcnemar_a_vs_b_recorded_location"]
    assert 0 <= test["p_value"] <= 1 and test["a_only_right"] + test["b_only_right"] <= 8
