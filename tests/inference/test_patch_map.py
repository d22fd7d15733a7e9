"""The patch map: a grid that covers every pixel, a score per kept patch, an overall answer, and
a label image; served by a body-region-like classifier and by the RCM patch scorer (MED-Net)."""

import numpy as np
import pytest

from inference.phantoms.generator import gate_phantom
from inference.serving.patch_map import grid_for, patch_map
from inference.serving.quality import field_map
from inference.serving.registry import Registry


def test_grid_covers_the_image_with_the_last_patches_flush_with_the_edges():
    grid = grid_for(width=1000, height=700, patch=(400, 300), overlap=0.5)
    assert grid.xs == (0, 200, 400, 600) and grid.ys == (0, 150, 300, 400)
    covered = np.zeros((700, 1000), bool)
    for row in range(grid.rows):
        for col in range(grid.cols):
            x0, y0, x1, y1 = grid.box(row, col)
            assert (x1 - x0, y1 - y0) == (400, 300)
            covered[y0:y1, x0:x1] = True
    assert covered.all()


def test_an_image_smaller_than_a_patch_is_one_patch():
    grid = grid_for(width=120, height=90, patch=(200, 150))
    assert (grid.rows, grid.cols) == (1, 1) and grid.box(0, 0) == (0, 0, 120, 90)
    with pytest.raises(ValueError):
        grid_for(width=10, height=10, patch=(5, 5), overlap=1.0)


def test_scores_labels_overall_and_label_image_follow_the_content():
    # left half red, right half blue; a "classifier" that says which colour dominates a patch
    image = np.zeros((300, 800, 3), np.uint8)
    image[:, :400, 0] = 255
    image[:, 400:, 2] = 255
    image[:100, 600:] = 0  # a black corner: left out by `keep`

    def score(patches):
        return np.array([[p[..., 0].mean(), p[..., 2].mean()] for p in patches]) / 255

    grid = grid_for(width=800, height=300, patch=(200, 100), overlap=0.0)
    found = patch_map(image, grid=grid, score=score, keep=lambda p: p.max() > 0, batch=3)
    labels = found.labels()
    assert labels.shape == (3, 4) and labels[0, 3] == -1 and not found.kept[0, 3]
    assert (labels[:, :2] == 0).all() and (labels[1:, 2:] == 1).all()
    assert np.allclose(found.overall, [6 / 11, 5 / 11])  # the mean over the 11 kept patches: 6 red, 5 blue
    picture = found.label_image()
    assert picture.shape == (300, 800) and picture[150, 100] == 0 and picture[250, 700] == 1 and picture[20, 780] == -1
    with pytest.raises(ValueError, match="grid is for"):
        patch_map(image[:, :700], grid=grid, score=score)


def test_nothing_kept_gives_no_overall_answer():
    grid = grid_for(width=64, height=64, patch=(32, 32), overlap=0.0)
    found = patch_map(np.zeros((64, 64), np.uint8), grid=grid, score=lambda p: np.ones((len(p), 3)), keep=lambda p: False)
    assert found.overall is None and (found.labels() == -1).all()


def test_the_rcm_patch_scorer_maps_a_known_area_without_contact_field_by_field():
    """MED-Net repeated over 0.5 mm fields of a phantom mosaic (4 µm/px → 128 px fields): fields
    the phantom made uninformative score high, clean fields low."""
    model = Registry().load("rcm-quality-mednet", device="cpu")
    phantom = gate_phantom(seed=11, where="outside_lesion", size_px=512, pixel_spacing_um=4.0, fraction=0.5)
    found = field_map(model, phantom.image, field_px=128)
    assert (found.grid.rows, found.grid.cols) == (4, 4)
    truth = np.full(found.kept.shape, np.nan)
    for row in range(4):
        for col in range(4):
            x0, y0, x1, y1 = found.grid.box(row, col)
            valid = phantom.valid[y0:y1, x0:x1]
            if valid.any():
                truth[row, col] = phantom.uninformative[y0:y1, x0:x1][valid].mean()
    kept = found.kept & np.isfinite(truth)
    scores = found.scores[..., 0]
    assert kept.sum() >= 8
    assert (scores[kept & (truth > 0.8)] > 0.6).all() and (scores[kept & (truth < 0.05)] < 0.2).all()
    assert np.corrcoef(scores[kept], truth[kept])[0, 1] > 0.9
