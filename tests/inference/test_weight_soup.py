"""A weight soup averages runs that can be averaged and nothing else: the folded logit adjustment
comes out before averaging, BatchNorm is recomputed on the images it is given, and the command
writes weights and a card that say what went in. A soup of one run (recalibrate-classifier) chooses
between the run's own BatchNorm statistics and recomputed ones on val."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.__main__ import main
from inference.datasets.ham10000 import Examples
from inference.serving.classification import classify
from inference.serving.preprocessing import to_input
from inference.serving.registry import Registry
from inference.training.classification import (build, choose_fold_and_save, log_prior, network_predict,
                                               recalibrate_batch_norm, sampling_prior, with_batch_norm_recomputed)
from inference.training.weight_soup import MembersDoNotMix, averaged, member_cards, unfolded


def test_the_folded_logit_adjustment_comes_out_before_averaging():
    prior = sampling_prior(np.array([300.0, 500, 1000, 80, 1100, 4700, 100]), "sqrt")
    torch.manual_seed(0)
    raw = [build("diagnosis", pretrained=False).state_dict() for _ in range(2)]
    taus = (0.5, 1.5)
    folded = [dict(s, **{"head.bias": s["head.bias"] - torch.as_tensor(t * log_prior(prior), dtype=torch.float32)})
              for s, t in zip(raw, taus)]
    soup = averaged([unfolded(s, tau=t, prior=prior) for s, t in zip(folded, taus)])
    assert torch.allclose(soup["head.bias"], (raw[0]["head.bias"] + raw[1]["head.bias"]) / 2, atol=1e-6)
    assert torch.allclose(soup["head.weight"], (raw[0]["head.weight"] + raw[1]["head.weight"]) / 2)
    assert soup["backbone._bn0.num_batches_tracked"].dtype == torch.int64  # counters are not averaged


def test_batch_norm_is_recomputed_from_the_images_given():
    torch.manual_seed(0)
    network = build("diagnosis-location", pretrained=False).eval()
    momentum = network.backbone._bn0.momentum
    with torch.no_grad():  # statistics that fit nothing, as an average of runs' statistics may not
        network.backbone._bn0.running_mean.fill_(5.0)
        network.backbone._bn0.running_var.fill_(9.0)
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (12, 150, 200, 3), dtype=np.uint8)
    data = Examples(images=images, labels=np.zeros(12, dtype=np.int64), locations=np.arange(12) % 5, ids=list("abcdefghijkl"))
    recalibrate_batch_norm(network, data, batch=4)
    with torch.no_grad():
        stem = network.backbone._conv_stem(torch.from_numpy(to_input(images)))
    assert torch.allclose(network.backbone._bn0.running_mean, stem.mean(dim=(0, 2, 3)), atol=1e-4)
    assert not network.training and network.backbone._bn0.momentum == momentum  # left as it was found


def test_the_batch_norm_and_tau_that_do_best_on_val_are_the_ones_saved(tmp_path):
    torch.manual_seed(0)
    network = build("diagnosis-location", pretrained=False).eval()
    rng = np.random.default_rng(2)
    train = Examples(images=rng.integers(0, 256, (16, 150, 200, 3), dtype=np.uint8), labels=np.arange(16) % 7,
                     locations=np.arange(16) % 5, ids=[str(i) for i in range(16)])
    val = Examples(images=rng.integers(0, 256, (14, 150, 200, 3), dtype=np.uint8), labels=np.arange(14) % 7,
                   locations=np.arange(14) % 5, ids=[str(i) for i in range(14)])
    prior = sampling_prior(np.array([300.0, 500, 1000, 80, 1100, 4700, 100]), "sqrt")
    recomputed = with_batch_norm_recomputed(network, train)
    assert not torch.equal(recomputed.backbone._bn0.running_mean, network.backbone._bn0.running_mean)  # a copy changed

    choice, found = choose_fold_and_save({"kept": network, "recomputed": recomputed}, task="diagnosis-location", prior=prior,
                                         val_data=val, out=tmp_path / "w.pt", input_scale=1.0, logit_adjustment=None)
    table = choice["batch_norm"]["val_balanced_accuracy_by_tau"]
    best = max(v for found_by_tau in table.values() for v in found_by_tau.values())
    chosen, tau = choice["batch_norm"]["chosen"], choice["logit_adjustment"]["tau"]
    assert table[chosen][str(tau)] == best and choice["logit_adjustment"]["val_balanced_accuracy_by_tau"] == table[chosen]
    assert 0 <= choice["batch_norm"]["val_balanced_accuracy_chosen_on_other_half"] <= 1
    saved = torch.load(tmp_path / "w.pt", weights_only=True)
    statistics = {"kept": network, "recomputed": recomputed}[chosen].backbone._bn0.running_mean
    assert torch.allclose(saved["backbone._bn0.running_mean"].float(), statistics, atol=1e-2)
    shipped = build("diagnosis-location", pretrained=False)
    shipped.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in saved.items()})
    assert np.allclose(classify(network_predict(shipped), val.images, val.locations), found, atol=1e-5)


def _card(path: Path, **training) -> Path:
    card = {"name": "dermoscopy-diagnosis", "architecture": {"class": "LocationAwareClassifier", "kwargs": {"classes": 7}},
            "training": {"seed": 1, "init_seed": 2022, "epochs": 30, "sampling": "s", **training}}
    path.write_text(json.dumps(card))
    return path


def test_runs_that_cannot_be_averaged_are_refused_with_the_reason(tmp_path):
    first = _card(tmp_path / "a.json")
    with pytest.raises(MembersDoNotMix, match="at least 2"):
        member_cards([first])
    assert len(member_cards([first], minimum=1)) == 1  # recalibration
    with pytest.raises(MembersDoNotMix, match="init_seed"):
        member_cards([first, _card(tmp_path / "b.json", seed=2, init_seed=7)])
    with pytest.raises(MembersDoNotMix, match="batch"):
        member_cards([first, _card(tmp_path / "c.json", seed=2, batch=64)])
    assert len(member_cards([first, _card(tmp_path / "h.json", seed=2, epochs=20)])) == 2  # a shorter run may join
    with pytest.raises(MembersDoNotMix, match="stopped early"):
        member_cards([first, _card(tmp_path / "f.json", seed=2, log={"stopped_early": True})])
    with pytest.raises(MembersDoNotMix, match="share a seed"):
        member_cards([first, _card(tmp_path / "d.json")])
    assert [c["training"]["seed"] for c in member_cards([first, _card(tmp_path / "e.json", seed=2)])] == [1, 2]
    # a card from before --init-seed started where its seed led
    older = _card(tmp_path / "g.json", seed=2022, init_seed=None)
    assert [c["training"]["init_seed"] for c in member_cards([first, older])] == [2022, 2022]


def test_two_runs_become_one_soup_through_the_command_line(subset, tmp_path):
    def run(name: str, *flags: str) -> Path:
        cards = tmp_path / name / "cards"
        cards.mkdir(parents=True)
        main(["--cards", str(cards), "train-classifier", "--task", "diagnosis-location", "--data", str(subset),
              "--weights-dir", str(tmp_path / name / "weights"), "--epochs", "1", "--batch", "8", *flags])
        return cards / "dermoscopy-diagnosis-location.json"

    members = [run("one", "--seed", "1", "--init-seed", "5"), run("two", "--seed", "2", "--init-seed", "5", "--epochs", "2")]
    cards = tmp_path / "soup" / "cards"
    main(["--cards", str(cards), "soup-classifier", "--task", "diagnosis-location", "--data", str(subset),
          "--members", *map(str, members), "--weights-dir", str(tmp_path / "soup" / "weights"), "--device", "cpu"])

    registry = Registry(cards)
    card = registry.card("dermoscopy-diagnosis-location")
    assert card.version == "0.3.0" and registry.load("dermoscopy-diagnosis-location", device="cpu").backend == "pytorch"
    training = json.loads((cards / "dermoscopy-diagnosis-location.json").read_text())["training"]
    assert training["seed"] == [1, 2] and training["init_seed"] == 5 and len(training["soup"]["members"]) == 2
    assert training["epochs"] == [1, 2] and 0 <= training["soup"]["ensemble_val_balanced_accuracy"] <= 1
    assert training["log"][1]["steps"] == 2 * training["log"][0]["steps"] and "recalibration" not in training
    # each run's own command repeats it, then the soup's
    command = "python -m inference train-classifier --task diagnosis-location --data ../shared/datasets/ham10000"
    assert training["command"].startswith(f"run 1: {command} --epochs 1 --batch 8 --seed 1 --init-seed 5; "
                                          f"run 2: {command} --epochs 2 --batch 8 --seed 2 --init-seed 5; "
                                          "then: python -m inference ")
    assert card.metrics["ham10000_val"]["images"] == 8

    def weights(path: Path) -> dict:
        return torch.load(path, weights_only=True)

    soup = weights(registry.verify(card))
    runs = [weights(m.parent.parent / "weights" / "dermoscopy-diagnosis-location.pt") for m in members]
    assert torch.allclose(soup["location.weight"].float(), (runs[0]["location.weight"].float() + runs[1]["location.weight"].float()) / 2,
                          atol=2e-3)
    averaged_statistics = (runs[0]["backbone._bn0.running_mean"].float() + runs[1]["backbone._bn0.running_mean"].float()) / 2
    assert not torch.allclose(soup["backbone._bn0.running_mean"].float(), averaged_statistics, atol=1e-2)  # recomputed

    with pytest.raises(SystemExit, match="init_seed"):
        main(["--cards", str(tmp_path / "soup" / "cards"), "soup-classifier", "--task", "diagnosis-location",
              "--data", str(subset), "--members", str(members[0]), str(run("three", "--seed", "3", "--init-seed", "6")),
              "--weights-dir", str(tmp_path / "refused")])
    assert not (tmp_path / "refused").exists()


def test_a_registered_run_is_recalibrated_in_place_through_the_command_line(subset, tmp_path):
    cards = tmp_path / "cards"
    cards.mkdir()
    main(["--cards", str(cards), "train-classifier", "--task", "diagnosis", "--data", str(subset),
          "--weights-dir", str(tmp_path / "weights"), "--epochs", "1", "--batch", "8"])
    main(["--cards", str(cards), "export-onnx", "--name", "dermoscopy-diagnosis"])
    before = json.loads((cards / "dermoscopy-diagnosis.json").read_text())
    assert before["training"]["batch_norm"]["chosen"] in ("kept", "recomputed")  # train() chooses too

    main(["--cards", str(cards), "recalibrate-classifier", "--task", "diagnosis", "--data", str(subset),
          "--version", "0.2.1", "--device", "cpu"])
    after = json.loads((cards / "dermoscopy-diagnosis.json").read_text())
    assert after["version"] == "0.2.1" and "onnx" not in after  # the ONNX file was of the old weights
    training = after["training"]
    assert training["command"].startswith(before["training"]["command"] + "; then: python -m inference ")
    assert training["recalibration"]["before"] == before["metrics"]["ham10000_val"]["balanced_accuracy"]
    assert set(training["batch_norm"]["val_balanced_accuracy_by_tau"]) == {"kept", "recomputed"}
    assert training["seed"] == before["training"]["seed"] and "soup" not in training
    summary = json.loads((tmp_path / "weights" / "dermoscopy-diagnosis.soup.json").read_text())
    assert "ensemble_val_balanced_accuracy" not in summary  # one run has no ensemble to compare with
    registry = Registry(cards)
    assert registry.load("dermoscopy-diagnosis", device="cpu").backend == "pytorch"
    assert after["weights"]["sha256"] != before["weights"]["sha256"] or training["batch_norm"]["chosen"] == "kept"

    with pytest.raises(SystemExit, match="no card"):
        main(["--cards", str(tmp_path / "empty"), "recalibrate-classifier", "--task", "diagnosis", "--data", str(subset),
              "--version", "0.2.1"])
