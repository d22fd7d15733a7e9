"""The shipped demonstration quality model: its card is honest and complete, its weights verify,
and it finds artifacts on a phantom it never saw (seeds beyond training's and testing's)."""

import numpy as np
import pytest

from inference.phantoms.generator import generate_phantom
from inference.serving import metrics
from inference.serving.quality import analyse_pixels
from inference.serving.registry import Registry

NAME = "rcm-quality-mednet"


def test_card_states_what_the_weights_are():
    card = Registry().card(NAME)
    assert "NOT FOR CLINICAL USE" in card.intended_use and "synthetic" in card.limitations
    test = card.metrics["phantom_test"]
    assert test["pixel_sensitivity"] >= 0.90 and test["pixel_specificity"] >= 0.97 and test["dice"] >= 0.85
    assert test["percent_uninformative_mae"] <= 2.0
    assert card.training["seed"] and card.training["data_hashes"]


@pytest.mark.parametrize("backend", ["pytorch", "onnxruntime"])
def test_finds_artifacts_on_an_unseen_phantom(backend):
    model = Registry().load(NAME, device="cpu", backend=backend)
    phantom = generate_phantom(seed=424242, size_px=512, pixel_spacing_um=4.0, artifact_fraction=(0.2, 0.3))
    result = analyse_pixels(model, phantom.image, valid=phantom.valid, lesion=phantom.lesion_mosaic)
    agreement = metrics.pixel_agreement(result.mask, phantom.uninformative, phantom.valid)
    assert agreement.dice > 0.8
    expected = metrics.percent_uninformative(phantom.uninformative, phantom.valid)
    assert abs(result.percent_uninformative - expected) < 5
    assert result.probability.shape == phantom.image.shape and 0 <= result.confidence <= 1
    assert np.all(~result.mask[~phantom.valid])
