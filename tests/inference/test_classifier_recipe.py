"""The pieces of the classifier recipe that the shipped numbers rest on: the random views keep the
image's geometry (turns in square pixels, whatever the aspect), a seed gives the same views, and
logit adjustment folded into the head's bias is exactly the post-hoc adjustment chosen on val."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from inference.datasets.ham10000 import Examples
from inference.serving.classification import classify
from inference.training.classification import (TrainConfig, adjusted_probabilities, build, log_prior, network_predict,
                                               sampling_prior, starting_network, view_logits)
from inference.training.classifier_cards import training_command
from inference.training.training_loop import random_views, turned


def _disc(height: int = 150, width: int = 200, radius: int = 40) -> torch.Tensor:
    y, x = np.mgrid[:height, :width]
    bright = ((y - height / 2) ** 2 + (x - width / 2) ** 2) < radius ** 2
    image = np.where(bright[..., None], 230, 30).astype(np.uint8).repeat(3, axis=2)
    return torch.from_numpy(image).permute(2, 0, 1)[None].repeat(16, 1, 1, 1).contiguous()


def test_random_views_turn_in_square_pixels_so_a_disc_stays_a_disc():
    views = random_views(_disc(), np.random.default_rng(3), zoom=(1.0, 1.0), shift=0.0)
    assert views.shape == (16, 3, 150, 200) and views.dtype == torch.float32
    grey = views.mean(dim=1).numpy()
    y, x = np.mgrid[:150, :200]
    inside = (y - 75) ** 2 + (x - 100) ** 2 < 70 ** 2  # never reached by the mirrored borders of a turn
    for view in grey:
        bright = (view > view[inside].mean()) & inside
        ys, xs = np.nonzero(bright)
        # a 4:3 image turned in normalised coordinates would squash the disc into an ellipse
        assert abs((ys.max() - ys.min()) - (xs.max() - xs.min())) <= 3
        assert abs(bright.sum() - np.pi * 40 ** 2) < 0.05 * np.pi * 40 ** 2


def test_random_views_follow_the_seed_and_change_between_draws():
    images = _disc()
    first = random_views(images, np.random.default_rng(7))
    assert torch.equal(first, random_views(images, np.random.default_rng(7)))
    rng = np.random.default_rng(7)
    random_views(images, rng)
    assert not torch.allclose(first, random_views(images, rng))
    assert first.min() >= -1.0 and first.max() <= 1.0  # (x - 0.5) / 0.5 of values clamped to [0, 1]


def test_sampling_prior_and_a_class_never_drawn():
    counts = np.array([400.0, 100.0, 0.0, 25.0])
    assert np.allclose(sampling_prior(counts, "sqrt"), np.array([20, 10, 0, 5]) / 35)
    assert np.allclose(sampling_prior(counts, "balanced"), [1 / 3, 1 / 3, 0, 1 / 3])
    assert np.isfinite(log_prior(sampling_prior(counts, "sqrt"))).all()
    assert log_prior(sampling_prior(counts, "sqrt"))[2] == np.log(1 / 4)


def test_logit_adjustment_folded_into_the_bias_is_the_adjustment_measured_on_val():
    torch.manual_seed(0)
    network = build("diagnosis-location", pretrained=False, input_scale=1.5).eval()
    rng = np.random.default_rng(0)
    data = Examples(images=rng.integers(0, 256, (5, 150, 200, 3), dtype=np.uint8), labels=np.arange(5),
                    locations=np.array([0, 3, 7, 12, 14]), ids=[str(i) for i in range(5)])
    prior = sampling_prior(np.array([300.0, 500, 1000, 80, 1100, 4700, 100]), "sqrt")
    expected = adjusted_probabilities(view_logits(network, data), prior, 1.0)
    with torch.no_grad():
        network.head.bias -= torch.as_tensor(log_prior(prior), dtype=torch.float32)
    folded = classify(network_predict(network), data.images, data.locations)
    assert np.allclose(folded, expected, atol=1e-5)
    assert not np.allclose(adjusted_probabilities(view_logits(network, data), prior, 0.0),
                           adjusted_probabilities(view_logits(network, data), prior, 1.0), atol=1e-3)


def test_the_network_enlarges_its_input_itself():
    seen = []
    network = build("diagnosis", pretrained=False, input_scale=1.5).eval()
    network.backbone._conv_stem.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].shape))
    with torch.no_grad():
        network(torch.zeros(1, 3, 150, 200))
    assert tuple(seen[0]) == (1, 3, 225, 300)


def test_runs_that_share_an_init_seed_start_from_the_same_weights():
    """--seed changes batches and views; --init-seed alone decides the head's random start."""
    def start(**kwargs):
        config = TrainConfig(data=Path("."), out=Path("x.pt"), task="diagnosis-location", **kwargs)
        return starting_network(config, pretrained=False).state_dict()

    same_a, same_b, other = start(seed=1, init_seed=7), start(seed=2, init_seed=7), start(seed=1, init_seed=8)
    assert all(torch.equal(same_a[k], same_b[k]) for k in same_a)
    assert not torch.equal(same_a["head.weight"], other["head.weight"])
    assert torch.equal(start(seed=3)["head.weight"], start(seed=5, init_seed=3)["head.weight"])  # default: the seed


def test_a_cards_command_repeats_the_run_with_the_options_it_changed():
    recipe = TrainConfig(data=Path("d"), out=Path("o"), task="diagnosis-location")
    base = "python -m inference train-classifier --task diagnosis-location --data ../shared/datasets/ham10000"
    assert training_command(recipe) == base
    longer = TrainConfig(data=Path("d"), out=Path("o"), task="diagnosis-location", seed=3, init_seed=2022, epochs=20,
                         mixup=0.0, threads=2, device="cpu")  # threads and device do not change the run
    assert training_command(longer) == base + " --epochs 20 --seed 3 --init-seed 2022 --mixup 0.0"


def test_fixed_turns_are_the_mirror_images_and_the_half_turn_the_test_time_flips_make():
    images = torch.rand(2, 3, 150, 200)
    zeros, ones = np.zeros(2), np.ones(2)

    def turn(degrees: float, mirror: float) -> torch.Tensor:
        return turned(images, angle=np.full(2, np.deg2rad(degrees)), mirror=np.full(2, mirror), scale=ones,
                      shift_x=zeros, shift_y=zeros)

    assert torch.allclose(turn(0, 1.0), images, atol=1e-4)
    assert torch.allclose(turn(0, -1.0), images.flip(-1), atol=1e-4)
    assert torch.allclose(turn(180, -1.0), images.flip(-2), atol=1e-4)
    assert torch.allclose(turn(180, 1.0), images.flip(-1).flip(-2), atol=1e-4)
    assert not torch.allclose(turn(90, 1.0), images, atol=0.1)
