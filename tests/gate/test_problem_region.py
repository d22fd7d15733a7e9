"""Where the problem is: the uninformative pixels that decided a review or reimage verdict, as a
box and a centroid on the mosaic and (through the inverse of the registration) on the dermoscopy
image, and in words from a 3x3 grid over the lesion's (or the imaged mosaic's) bounding box.

Pure arithmetic on hand-made label maps first, then the gate end to end on phantoms."""

from __future__ import annotations

import numpy as np
import pytest


from dermrelay.gate import geometry
from dermrelay.analysis.masks import INFORMATIVE, NOT_IMAGED, UNINFORMATIVE
from dermrelay.imaging.registration import apply, invert

SCALE = 4.0  # mosaic pixels per working pixel
# dermoscopy (x, y) → mosaic (2x - 40, 2y - 60): the inverse is ((x + 40) / 2, (y + 60) / 2)
MATRIX = [[2.0, 0.0, -40.0], [0.0, 2.0, -60.0], [0.0, 0.0, 1.0]]
DERMOSCOPY = (100, 80)


def grid(rows: int = 30, columns: int = 40) -> np.ndarray:
    return np.full((rows, columns), INFORMATIVE, np.uint8)


def lesion_mask(shape=(30, 40)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[10:30, 20:40] = True  # box [20, 10, 40, 30] in working pixel edges
    return mask


def region(labels, *, lesion=None, on_lesion=False, matrix=MATRIX, share=25.0, dermoscopy_size=DERMOSCOPY):
    return geometry.problem_region(labels, lesion=lesion, on_lesion=on_lesion, scale=SCALE, share_percent=share,
                               matrix=matrix, mosaic_size=(160, 120), dermoscopy_size=dermoscopy_size)


def test_a_block_in_the_upper_left_corner_of_the_mosaic():
    labels = grid()
    labels[0:6, 0:8] = UNINFORMATIVE
    found = region(labels)
    assert found.description == "at the upper left of the mosaic" and found.within == "mosaic"
    assert found.mosaic_bbox == [0, 0, 32, 24]  # working pixels [0, 8) x [0, 6), times 4
    assert found.mosaic_centroid == [15.5, 11.5]  # working centre (3.5, 2.5) → (3.5 + 0.5) * 4 - 0.5
    # mosaic edges 0 and 32 → dermoscopy edges (0 - 0.5 + 40) / 2 + 0.5 = 20.25 and 36.25; 24 → 42.25
    assert found.dermoscopy_bbox == [20, 30, 37, 43]
    assert found.dermoscopy_centroid == [27.75, 35.75]
    assert found.share_percent == 25.0 and found.pixels == 48
    # the forward matrix takes the dermoscopy box back over the whole mosaic box
    x0, y0, x1, y1 = found.dermoscopy_bbox
    back = apply(MATRIX, [[x0 - 0.5, y0 - 0.5], [x1 - 0.5, y1 - 0.5]]) + 0.5
    assert back[0, 0] <= 0 and back[0, 1] <= 0 and back[1, 0] >= 32 and back[1, 1] >= 24
    assert apply(MATRIX, [found.dermoscopy_centroid])[0].tolist() == pytest.approx(found.mosaic_centroid)


def test_on_the_lesion_only_the_lesions_pixels_count():
    labels = grid()
    labels[22:28, 32:38] = UNINFORMATIVE  # inside the lesion, in its lower right
    labels[0:4, 0:4] = UNINFORMATIVE  # outside it: does not count for a lesional verdict
    found = region(labels, lesion=lesion_mask(), on_lesion=True)
    assert found.description == "at the lower right of the lesion" and found.within == "lesion"
    assert found.mosaic_bbox == [128, 88, 152, 112] and found.pixels == 36
    assert found.mosaic_centroid == [139.5, 99.5]


def test_on_the_whole_mosaic_it_says_when_the_problem_lies_outside_the_lesion():
    labels = grid()
    labels[0:4, 0:4] = UNINFORMATIVE
    found = region(labels, lesion=lesion_mask(), on_lesion=False)
    assert found.description == "at the upper left of the mosaic, outside the lesion"
    labels[10:30, 20:40] = UNINFORMATIVE
    assert region(labels, lesion=lesion_mask()).description.endswith(", mostly within the lesion")


@pytest.mark.parametrize(("rows", "columns", "words"), [
    ((12, 18), (17, 23), "centre"), ((0, 4), (17, 23), "upper centre"), ((26, 30), (36, 40), "lower right"),
    ((12, 18), (0, 5), "middle left"), ((12, 18), (35, 40), "middle right"), ((25, 30), (0, 4), "lower left"),
])
def test_the_3x3_grid_names_each_cell(rows, columns, words):
    labels = grid()
    labels[slice(*rows), slice(*columns)] = UNINFORMATIVE
    assert region(labels).description == f"at the {words} of the mosaic"


def test_the_grid_is_over_the_imaged_area_not_the_frame():
    labels = grid()
    labels[:, :20] = NOT_IMAGED  # only the right half was imaged: its left third is columns 20..26
    labels[12:18, 20:24] = UNINFORMATIVE
    assert region(labels).description == "at the middle left of the mosaic"


def test_patches_all_around_are_spread_over_it_and_a_large_share_is_most_of_it():
    labels = grid()
    labels[0:5, 0:6] = UNINFORMATIVE
    labels[25:30, 34:40] = UNINFORMATIVE
    assert region(labels).description == "in patches spread over the mosaic"
    labels = grid()
    labels[3:27, 4:36] = UNINFORMATIVE  # one blob around the centre, 64 % of the mosaic
    assert region(labels).description == "over most of the mosaic"
    labels = grid()
    labels[6:24, 8:32] = UNINFORMATIVE  # one blob around the centre, 36 %: a place, not "spread"
    assert region(labels).description == "at the centre of the mosaic"


def test_without_a_registration_there_is_no_box_on_the_dermoscopy():
    labels = grid()
    labels[0:6, 0:8] = UNINFORMATIVE
    found = region(labels, matrix=None)
    assert found.dermoscopy_bbox is None and found.dermoscopy_centroid is None
    assert found.mosaic_bbox == [0, 0, 32, 24]
    assert found.as_dict()["bbox"] is None


def test_the_dermoscopy_box_is_clipped_to_the_image_and_none_when_off_it():
    labels = grid()
    labels[0:6, 0:8] = UNINFORMATIVE
    shifted = [[2.0, 0.0, 10.0], [0.0, 2.0, 20.0], [0.0, 0.0, 1.0]]  # this corner lies left of and above the image
    assert region(labels, matrix=shifted).dermoscopy_bbox == [0, 0, 12, 3]
    far = [[2.0, 0.0, 1000.0], [0.0, 2.0, 1000.0], [0.0, 0.0, 1.0]]
    assert region(labels, matrix=far).dermoscopy_bbox is None


def test_a_perspective_registration_maps_through_its_inverse():
    labels = grid()
    labels[22:28, 32:38] = UNINFORMATIVE
    matrix = [[1.8, 0.1, 5.0], [0.05, 1.9, 3.0], [0.0004, 0.0002, 1.0]]
    found = region(labels, matrix=matrix, dermoscopy_size=None)
    x0, y0, x1, y1 = found.dermoscopy_bbox
    cx, cy = found.dermoscopy_centroid
    assert x0 <= cx <= x1 and y0 <= cy <= y1
    assert apply(matrix, [found.dermoscopy_centroid])[0].tolist() == pytest.approx(found.mosaic_centroid, abs=0.1)
    product = np.asarray(invert(matrix)) @ np.asarray(matrix)
    assert np.allclose(product / product[2, 2], np.eye(3))


def test_nothing_to_show_and_a_lesional_verdict_without_a_lesion():
    assert region(grid()) is None
    labels = grid()
    labels[0:4, 0:4] = UNINFORMATIVE
    assert region(labels, lesion=lesion_mask(), on_lesion=True) is None  # none of it in the lesion
    with pytest.raises(ValueError):
        region(labels, lesion=None, on_lesion=True)


def test_grid_cell_and_words():
    box = (0.0, 0.0, 30.0, 30.0)
    assert geometry.grid_cell((0.0, 0.0), box) == (0, 0)
    assert geometry.grid_cell((14.5, 14.5), box) == (1, 1)
    assert geometry.grid_cell((29.0, 0.0), box) == (0, 2)
    assert geometry.grid_cell((100.0, -50.0), box) == (0, 2)  # outside: the nearest cell
    assert geometry.position_words(1, 1) == "centre" and geometry.position_words(2, 0) == "lower left"


# --------------------------------------------------------------------------- through the gate


@pytest.mark.django_db(transaction=True)
def test_the_case_quality_answer_points_at_the_problem_on_the_dermoscopy(isolated_files):
    from dermrelay.accounts.models import Role
    from dermrelay.gate.models import MosaicQuality
    from dermrelay.notifications.models import Notification
    from inference.phantoms.generator import gate_phantom
    from tests.gate.gate_cases import models_sync_quality_model_only, upload_phantom_case
    from tests.factories import api_client, make_case, make_site, make_user

    models_sync_quality_model_only()
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    client = api_client(tech)
    phantom = gate_phantom(seed=7, where="lesion", size_px=512)
    case = make_case(site=site, actor=tech)
    ids = upload_phantom_case(client, case, phantom)
    body = client.get(f"/api/v1/cases/{case.id}/quality/").json()
    (mosaic,) = body["mosaics"]
    assert mosaic["verdict"] == "reimage" and mosaic["basis"] == "lesion"
    found = mosaic["problem_region"]
    assert found["dermoscopy_image"] == ids["dermoscopy"]
    assert found["description"] == "at the centre of the lesion", found  # the phantom's no-contact disc sits at its centre
    assert found["share_percent"] == round(mosaic["percent_lesion"], 1)
    # the ground truth: the phantom's uninformative lesion pixels, mapped to the dermoscopy image
    truth = phantom.uninformative & phantom.lesion_mosaic & phantom.valid
    ys, xs = np.nonzero(truth)
    truth_centre = apply(invert(phantom.registration), [[xs.mean(), ys.mean()]])[0]
    x0, y0, x1, y1 = found["bbox"]
    assert 0 <= x0 < x1 <= 600 and 0 <= y0 < y1 <= 450
    assert x0 <= truth_centre[0] <= x1 and y0 <= truth_centre[1] <= y1
    assert np.hypot(*(np.asarray(found["centroid"]) - truth_centre)) < 0.1 * max(x1 - x0, y1 - y0) + 3
    mx0, my0, mx1, my1 = found["mosaic_bbox"]
    assert mx0 <= xs.mean() <= mx1 and my0 <= ys.mean() <= my1
    assert MosaicQuality.objects.get().problem_region["bbox"] == found["bbox"]
    message = Notification.objects.get().message
    assert "The uninformative area lies at the centre of the lesion." in message


@pytest.mark.django_db(transaction=True)
def test_no_region_when_acceptable_and_no_dermoscopy_box_without_registration(isolated_files):
    from dermrelay.accounts.models import Role
    from inference.phantoms.generator import gate_phantom
    from tests.gate.gate_cases import models_sync_quality_model_only, upload_phantom_case
    from tests.factories import api_client, make_case, make_site, make_user

    models_sync_quality_model_only()
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    client = api_client(tech)
    phantom = gate_phantom(seed=2, where="outside_lesion", size_px=512)
    accepted = make_case(site=site, actor=tech)
    upload_phantom_case(client, accepted, phantom)
    (mosaic,) = client.get(f"/api/v1/cases/{accepted.id}/quality/").json()["mosaics"]
    assert mosaic["verdict"] == "acceptable" and mosaic["problem_region"] is None

    unregistered = make_case(site=site, actor=tech)
    upload_phantom_case(client, unregistered, phantom, register=False, outline=False)
    (mosaic,) = client.get(f"/api/v1/cases/{unregistered.id}/quality/").json()["mosaics"]
    assert mosaic["verdict"] == "reimage" and mosaic["basis"] == "whole_mosaic"
    found = mosaic["problem_region"]
    assert found["dermoscopy_image"] is None and found["bbox"] is None
    assert found["description"].endswith("of the mosaic") and found["share_percent"] == round(mosaic["percent_whole"], 1)
    # the phantom's problem lies far from the lesion, i.e. away from the mosaic's middle
    assert found["description"] != "at the centre of the mosaic"
