"""MED-Net: shapes per level, determinism, tiled vs untiled, and a short training run learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.networks.mednet import MEDNet, deep_supervision_loss
from inference.serving.tiling import blend_window, sliding_window


def _network(**kwargs) -> MEDNet:
    torch.manual_seed(0)
    return MEDNet(**{"levels": 3, "width": 4, "depth": 2, **kwargs}).eval()


@pytest.mark.parametrize("levels,depth", [(1, 1), (2, 2), (3, 3)])
def test_every_level_predicts_at_its_own_scale(levels, depth):
    network = _network(levels=levels, depth=depth)
    outputs = network(torch.zeros(2, 1, 64, 96))
    assert [tuple(o.shape) for o in outputs] == [
        (2, 1, 64 // 2 ** (levels - 1 - k), 96 // 2 ** (levels - 1 - k)) for k in range(levels)]
    assert network.size_multiple == 2 ** (levels - 1 + depth)


def test_same_input_same_output_and_same_seed_same_weights():
    image = torch.randn(1, 1, 64, 64)
    with torch.inference_mode():
        assert torch.equal(_network()(image)[-1], _network()(image)[-1])


def test_each_level_sees_the_previous_prediction():
    network = _network()
    first = network.levels[1].encoders[0][0]
    assert first.in_channels == 2  # the image at this scale + level 1's upsampled prediction


def test_tiled_equals_untiled_within_tolerance():
    network = _network(levels=2, width=4, depth=2)
    image = np.random.default_rng(1).standard_normal((200, 232)).astype(np.float32)

    def predict(batch):
        with torch.inference_mode():
            return torch.sigmoid(network(torch.from_numpy(batch))[-1]).numpy()

    whole = predict(np.pad(image, ((0, 56), (0, 24)), mode="reflect")[None, None])[0, 0][:200, :232]
    tiled = sliding_window(predict, image, tile=128, overlap=48, batch_size=3)
    assert tiled.shape == image.shape
    assert np.abs(tiled - whole)[16:-16, 16:-16].mean() < 0.02  # seams blended away from the borders


def test_blend_window_falls_towards_the_edges():
    window = blend_window(64, 16)
    assert window[32, 32] == 1.0 and window[0, 0] < window[8, 8] < window[16, 16]


def test_a_short_training_run_lowers_the_loss():
    torch.manual_seed(0)
    network = MEDNet(levels=2, width=4, depth=1)
    optimiser = torch.optim.Adam(network.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    image = rng.normal(0, 0.3, (4, 1, 64, 64)).astype(np.float32)
    target = np.zeros_like(image)
    target[:, :, 16:40, 20:50] = 1
    image[target == 1] += 1.5  # a bright artifact to find
    image, target = torch.from_numpy(image), torch.from_numpy(target)
    valid = torch.ones_like(target)
    losses = []
    for _ in range(40):
        loss = deep_supervision_loss(network(image), target, valid)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss))
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5])


def test_pixels_outside_the_imaged_area_do_not_count():
    logits = [torch.full((1, 1, 8, 8), 5.0)]  # predicts "uninformative" everywhere
    target = torch.zeros(1, 1, 8, 8)
    valid = torch.zeros(1, 1, 8, 8)
    valid[..., :4] = 1
    target[..., 4:] = 1  # only outside the imaged area
    everywhere = deep_supervision_loss(logits, target, torch.ones_like(valid))
    assert deep_supervision_loss(logits, target, valid) > everywhere * 0  # finite
    target_inside = target.clone()
    target_inside[..., :4] = 1
    assert deep_supervision_loss(logits, target_inside, valid) < deep_supervision_loss(logits, target, valid)
