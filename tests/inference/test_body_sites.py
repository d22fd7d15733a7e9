"""The vocabularies between the platform's ISIC sites, HAM10000 locations and body regions."""

import pytest
from isic_metadata.anatom_site_hierarchical import AnatomSiteEnum
from isic_metadata.fields import AnatomSiteGeneralEnum

from inference.serving import body_sites
from inference.serving.classification import LOCATIONS
from inference.serving.classification import REGION7


@pytest.mark.parametrize(("anatom_site", "general", "expected"), [
    ("Upper extremity:Hand:Palm of hand:Thenar eminence", "", "acral"),
    ("Upper extremity:Hand:Dorsum of hand", "upper extremity", "hand"),
    ("Upper extremity:Forearm", "", "upper extremity"),
    ("Lower extremity:Foot:Sole of foot:Heel", "palms/soles", "acral"),
    ("Lower extremity:Foot:Toes", "", "foot"),
    ("Head and neck:Head:Face:Nose", "head/neck", "face"),
    ("Head and neck:Head:Scalp", "", "scalp"),
    ("Trunk:Posterior trunk:Upper back", "", "back"),
    ("Trunk:Anterior trunk:Anterior abdomen:Umbilicus".replace(":Umbilicus", ""), "", "abdomen"),
    ("Trunk:Lateral trunk:Axilla", "", "trunk"),
    ("", "posterior torso", "back"),
    ("", "head/neck", "unknown"),  # face, scalp, ear or neck: too coarse to name one
    ("Head and neck", "head/neck", "unknown"),
    ("", "", "unknown"),
])
def test_recorded_sites_map_to_the_most_specific_ham10000_location(anatom_site, general, expected):
    assert body_sites.location_from_anatom_site(anatom_site=anatom_site, anatom_site_general=general) == expected


def test_a_prefix_matches_whole_terms_only():
    # 'Trunk' must not match a hypothetical 'Trunkal …'; only the term itself or its children
    assert body_sites.location_from_anatom_site(anatom_site="Trunkal") == "unknown"


def test_every_isic_term_maps_into_the_model_vocabulary():
    for term in AnatomSiteEnum:
        assert body_sites.location_from_anatom_site(anatom_site=term.value) in LOCATIONS
    for term in AnatomSiteGeneralEnum:
        assert body_sites.location_from_anatom_site(anatom_site_general=term.value) in LOCATIONS


def test_regions_map_to_locations_and_valid_suggestions():
    general_terms = {term.value for term in AnatomSiteGeneralEnum} | {""}
    hierarchical_terms = {term.value for term in AnatomSiteEnum}
    for region in REGION7:
        assert body_sites.location_from_region(region) in LOCATIONS
        suggestion = body_sites.anatom_site_suggestion(region)
        if region == "other":
            assert suggestion is None
        else:
            assert suggestion["anatom_site_general"] in general_terms and suggestion["anatom_site"] in hierarchical_terms
    assert body_sites.location_from_region("feet") == "foot" and body_sites.location_from_region("other") == "unknown"


def test_region7_is_derived_from_localization_as_the_data_set_made_it(tmp_path):
    """An evaluation CSV may carry only image_id, dx and localization; region7 then follows the data
    set's own mapping, checked here against every HAM10000 row that has both."""
    import csv
    import os

    from inference.datasets import ham10000
    from inference.datasets.shared import shared_datasets

    (tmp_path / "e.csv").write_text("image_id,dx,localization\na,nv,back\nb,mel,acral\nc,nv,unknown\n")
    assert [r.region7 for r in ham10000.read_metadata(tmp_path / "e.csv")] == ["trunk", "other", ""]
    root = (shared_datasets() or tmp_path) / "ham10000"
    if not root.is_dir():
        if os.environ.get("CI"):
            pytest.fail("HAM10000 missing: CI must have ../shared/datasets")
        pytest.skip("HAM10000 not present")
    with open(root / "metadata.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            assert ham10000.REGION7_OF_LOCALIZATION.get(row["localization"], "") == row["region7"], row
