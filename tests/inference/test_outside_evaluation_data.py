"""The evaluation commands are what others run on data this project has never seen (the held-out
HAM10000 images among them): they read the layouts and CSVs such data comes in, and when the data
cannot be measured they say what is wrong, write nothing and end without a traceback."""

from __future__ import annotations

import json
import shutil

import pytest

from inference.__main__ import main
from inference.datasets import ham10000

from .conftest import HAM10000


def _write(path, text: str, encoding: str = "utf-8"):
    path.write_text(text, encoding=encoding)
    return path


def test_a_csv_is_read_with_a_byte_order_mark_blanks_and_capitals(tmp_path):
    csv_path = _write(tmp_path / "e.csv", "image_id , dx,localization\r\nISIC_1, NV ,Lower Extremity\r\nISIC_2,mel,\r\n",
                      encoding="utf-8-sig")
    records = ham10000.read_metadata(csv_path)
    assert [(r.image_id, r.dx, r.localization, r.region7) for r in records] == [
        ("ISIC_1", "nv", "lower extremity", "leg"), ("ISIC_2", "mel", "", "")]


def test_an_isic_2018_one_hot_ground_truth_file_gives_the_diagnosis(tmp_path):
    csv_path = _write(tmp_path / "gt.csv", "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\n"
                                           "ISIC_1,0.0,1.0,0.0,0.0,0.0,0.0,0.0\nISIC_2,0.0,0.0,0.0,0.0,0.0,0.0,1.0\n")
    assert [(r.image_id, r.dx) for r in ham10000.read_metadata(csv_path)] == [("ISIC_1", "nv"), ("ISIC_2", "vasc")]
    _write(csv_path, "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\nISIC_1,1,1,0,0,0,0,0\n")
    with pytest.raises(ham10000.DataInvalid, match="ISIC_1 has 2 diagnoses marked"):
        ham10000.read_metadata(csv_path)


@pytest.mark.parametrize("text, why", [
    ("id,dx\na,nv\n", "no image_id column"),
    ("image_id,dx\na,nv\na,mel\n", "appear more than once"),
    ("image_id,dx\n,nv\n", "row 2 has no image_id"),
])
def test_a_csv_that_cannot_be_read_as_asked_says_why(tmp_path, text, why):
    with pytest.raises(ham10000.DataInvalid, match=why):
        ham10000.read_metadata(_write(tmp_path / "e.csv", text))
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00\x00garbage\x81")
    with pytest.raises(ham10000.DataInvalid, match="not a readable CSV"):
        ham10000.read_metadata(tmp_path / "binary.csv")


def test_images_are_found_in_part_folders_with_any_suffix_and_missing_or_doubled_ones_are_named(tmp_path):
    for relative in ("part_1/ISIC_1.jpg", "part_2/ISIC_2.JPG", "part_2/deeper/ISIC_3.png", "images/ISIC_4.jpg"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(b"x")
    found = ham10000.find_images(tmp_path, ["ISIC_1", "ISIC_2", "ISIC_3", "ISIC_4"])
    assert {i: str(p.relative_to(tmp_path)) for i, p in found.items()} == {
        "ISIC_1": "part_1/ISIC_1.jpg", "ISIC_2": "part_2/ISIC_2.JPG", "ISIC_3": "part_2/deeper/ISIC_3.png",
        "ISIC_4": "images/ISIC_4.jpg"}
    with pytest.raises(ham10000.DataInvalid, match=r"2 of 3 images are not in .* e\.g\. ISIC_8, ISIC_9"):
        ham10000.find_images(tmp_path, ["ISIC_1", "ISIC_9", "ISIC_8"])
    (tmp_path / "part_1" / "ISIC_2.jpeg").write_bytes(b"x")
    with pytest.raises(ham10000.DataInvalid, match="found more than once"):
        ham10000.find_images(tmp_path, ["ISIC_2"])
    with pytest.raises(ham10000.DataInvalid, match="no such folder"):
        ham10000.find_images(tmp_path / "nowhere", ["ISIC_1"])


@pytest.fixture
def download_layout(subset, tmp_path):
    """The subset laid out as HAM10000's own download: images in two part folders, a metadata CSV
    with a byte-order mark and only image_id, dx and localization, masks in a ground-truth folder."""
    import csv

    root = tmp_path / "download"
    rows = list(csv.DictReader(open(subset / "metadata.csv", newline="")))
    for n, row in enumerate(rows):
        part = root / f"HAM10000_images_part_{1 + n % 2}"
        part.mkdir(parents=True, exist_ok=True)
        shutil.copy(subset / "images" / f"{row['image_id']}.jpg", part)
        masks = root / "HAM10000_segmentations_lesion_tschandl"
        masks.mkdir(exist_ok=True)
        shutil.copy(ham10000.mask_path(HAM10000, row["image_id"]), masks)
    lines = ["image_id,dx,localization"] + [f"{r['image_id']},{r['dx'].upper()},{r['localization']}" for r in rows]
    lines.append("ISIC_9999999,scc,back")  # a class the models do not know: left out, and counted
    shutil.copy(subset / "images" / f"{rows[0]['image_id']}.jpg", root / "HAM10000_images_part_2" / "ISIC_9999999.jpg")
    shutil.copy(ham10000.mask_path(HAM10000, rows[0]["image_id"]), masks / "ISIC_9999999_segmentation.png")
    _write(root / "HAM10000_metadata.csv", "\r\n".join(lines) + "\r\n", encoding="utf-8-sig")
    return root


def test_the_shipped_classifier_is_measured_on_a_download_layout(download_layout, tmp_path):
    out = tmp_path / "metrics.json"
    main(["evaluate-classifier", "--task", "diagnosis-location", "--images", str(download_layout),
          "--csv", str(download_layout / "HAM10000_metadata.csv"), "--out", str(out)])
    found = json.loads(out.read_text())
    assert found["images"] == 24 and sum(found["location_sources"].values()) == 24
    assert found["rows_left_out"] == {"no dx among the model's classes": 1}
    assert 0.0 <= found["balanced_accuracy"] <= 1.0


def test_the_shipped_lesion_model_is_measured_with_masks_in_their_own_folder(download_layout, tmp_path):
    out = tmp_path / "lesion.json"
    csv_path = _write(tmp_path / "some.csv", "image_id\n" + "\n".join(
        r.image_id for r in ham10000.read_metadata(download_layout / "HAM10000_metadata.csv")[:5]) + "\n")
    main(["evaluate-lesion", "--data", str(download_layout), "--csv", str(csv_path), "--out", str(out)])
    found = json.loads(out.read_text())
    assert found["images"] == 5 and 0.0 <= found["jaccard_mean"] <= 1.0


@pytest.mark.parametrize("damage, message", [
    ("missing image", "1 of 24 images are not in"),
    ("truncated image", "not a readable image"),
    ("text as image", "not a readable image"),
    ("no known dx", "none of the 25 rows has a dx among"),
])
def test_data_that_cannot_be_measured_ends_with_the_reason_and_writes_nothing(download_layout, tmp_path, capsys,
                                                                              damage, message):
    csv_path = download_layout / "HAM10000_metadata.csv"
    victim = sorted(download_layout.glob("HAM10000_images_part_1/*.jpg"))[0]
    if damage == "missing image":
        victim.unlink()
    elif damage == "truncated image":
        victim.write_bytes(victim.read_bytes()[:300])
    elif damage == "text as image":
        victim.write_text("<html>not an image</html>")
    else:
        text = csv_path.read_text(encoding="utf-8-sig")
        for dx in ham10000.DX_CLASSES:
            text = text.replace(f",{dx.upper()},", ",unknown_dx,")
        _write(csv_path, text)
    out = tmp_path / "metrics.json"
    with pytest.raises(SystemExit) as ended:
        main(["evaluate-classifier", "--task", "diagnosis", "--images", str(download_layout), "--csv", str(csv_path),
              "--out", str(out)])
    assert str(ended.value.code).startswith("evaluate-classifier: ") and message in str(ended.value.code)
    assert not out.exists()


def test_a_versus_b_is_compared_on_a_download_layout_with_each_images_answers(download_layout, tmp_path):
    out = tmp_path / "comparison.json"
    main(["compare-diagnosis", "--images", str(download_layout), "--csv", str(download_layout / "HAM10000_metadata.csv"),
          "--out", str(out)])
    found = json.loads(out.read_text())
    assert found["images"] == 24 and found["rows_left_out"] == {"no dx among the model's classes": 1}
    answers = found["per_image"]
    assert len(answers) == 24 and {a["dx"] for a in answers} <= set(ham10000.DX_CLASSES)
    test = found["mcnemar_a_vs_b_recorded_else_body_region_model"]
    assert test["a_only_right"] == sum(a["a"] == a["dx"] != a["b"] for a in answers)
    assert test["b_only_right"] == sum(a["b"] == a["dx"] != a["a"] for a in answers)
    with pytest.raises(SystemExit, match="needs --csv"):
        main(["compare-diagnosis", "--images", str(download_layout)])


def test_one_command_measures_every_dermoscopy_model_and_checks_the_goals(download_layout, tmp_path):
    out = tmp_path / "evaluation"
    main(["evaluate-dermoscopy", "--images", str(download_layout), "--csv", str(download_layout / "HAM10000_metadata.csv"),
          "--out", str(out)])
    assert sorted(p.name for p in out.iterdir()) == [
        "body-region.json", "comparison.json", "diagnosis-location.json", "diagnosis.json", "lesion-segmentation.json",
        "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    b = json.loads((out / "diagnosis-location.json").read_text())
    assert summary["images"] == 24 and summary["diagnosis_b_balanced_accuracy"]["value"] == b["balanced_accuracy"]
    assert summary["diagnosis_b_balanced_accuracy"]["met"] == (b["balanced_accuracy"] >= 0.75)
    lesion = json.loads((out / "lesion-segmentation.json").read_text())
    assert summary["lesion_jaccard"]["mean"] == lesion["jaccard_mean"] and lesion["images"] == 25
    better = summary["diagnosis_b_better_than_a"]
    assert better["met_by_balanced_accuracy"] == (better["balanced_accuracy_b_minus_a"]["ci95"][0] > 0)
    assert summary["body_region"]["images"] == json.loads((out / "body-region.json").read_text())["images"]


def test_without_masks_the_lesion_model_is_reported_as_not_measured_and_a_failed_run_writes_nothing(
        download_layout, tmp_path):
    shutil.rmtree(download_layout / "HAM10000_segmentations_lesion_tschandl")
    out = tmp_path / "evaluation"
    main(["evaluate-dermoscopy", "--images", str(download_layout), "--csv", str(download_layout / "HAM10000_metadata.csv"),
          "--out", str(out)])
    assert "25 of 25 masks are not in" in json.loads((out / "summary.json").read_text())["lesion_jaccard"]["not_measured"]

    next(download_layout.glob("HAM10000_images_part_2/*.jpg")).write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(SystemExit, match="evaluate-dermoscopy: .*not a readable image"):
        main(["evaluate-dermoscopy", "--images", str(download_layout), "--csv",
              str(download_layout / "HAM10000_metadata.csv"), "--out", str(tmp_path / "second")])
    assert not (tmp_path / "second").exists()
