"""Between the body-site vocabularies the platform and the models speak.

- The platform records a lesion's site in the ISIC vocabulary (`anatom_site_general`, 8 terms, and
  the hierarchical `anatom_site`, e.g. 'Upper extremity:Hand:Palm of hand').
- Diagnosis model B was trained with HAM10000's `localization` (15 terms, classification.LOCATIONS).
- The body-region model answers one of `region7` (arm, leg, feet, hand, head, trunk, other).

A site too coarse to name one HAM10000 location (e.g. 'head/neck', which could be face, scalp, ear
or neck) maps to "unknown": model B was trained to answer without a location, and a wrong one would
mislead it more than none.
"""

from __future__ import annotations

UNKNOWN = "unknown"

# Most specific first: the first prefix of the hierarchical term that matches decides.
_HIERARCHICAL_PREFIXES = (
    ("Head and neck:Head:Scalp", "scalp"),
    ("Head and neck:Head:Ear", "ear"),
    ("Head and neck:Head:Face", "face"),
    ("Head and neck:Neck", "neck"),
    ("Trunk:Anterior trunk:Anterior chest", "chest"),
    ("Trunk:Anterior trunk:Anterior abdomen", "abdomen"),
    ("Trunk:Lateral trunk:Lateral chest", "chest"),
    ("Trunk:Lateral trunk:Lateral abdomen", "abdomen"),
    ("Trunk:Posterior trunk", "back"),
    ("Trunk", "trunk"),
    ("Upper extremity:Hand:Palm of hand", "acral"),
    ("Upper extremity:Hand", "hand"),
    ("Upper extremity", "upper extremity"),
    ("Lower extremity:Foot:Sole of foot", "acral"),
    ("Lower extremity:Foot", "foot"),
    ("Lower extremity", "lower extremity"),
    ("Anogenital region:Genital region", "genital"),
)
_GENERAL = {
    "upper extremity": "upper extremity", "lower extremity": "lower extremity", "anterior torso": "trunk",
    "posterior torso": "back", "lateral torso": "trunk", "palms/soles": "acral",
}
# region7 → the HAM10000 location model B knows best for it. 'head' → 'face': two thirds of the
# head lesions of HAM10000 train are on the face (625 of 914); 'other' (genital, acral) stays unknown.
_REGION_TO_LOCATION = {"arm": "upper extremity", "leg": "lower extremity", "feet": "foot", "hand": "hand",
                       "head": "face", "trunk": "trunk"}
# region7 → the ISIC site a person is offered for a lesion (general, hierarchical); a suggestion only.
_REGION_TO_ANATOM_SITE = {
    "arm": ("upper extremity", "Upper extremity"), "leg": ("lower extremity", "Lower extremity"),
    "feet": ("lower extremity", "Lower extremity:Foot"), "hand": ("upper extremity", "Upper extremity:Hand"),
    "head": ("head/neck", "Head and neck"), "trunk": ("", "Trunk"),
}


def location_from_anatom_site(*, anatom_site: str = "", anatom_site_general: str = "") -> str:
    """The HAM10000 location of a recorded ISIC site, or "unknown"."""
    for prefix, location in _HIERARCHICAL_PREFIXES:
        if anatom_site == prefix or anatom_site.startswith(prefix + ":"):
            return location
    return _GENERAL.get(anatom_site_general, UNKNOWN)


def location_from_region(region: str) -> str:
    return _REGION_TO_LOCATION.get(region, UNKNOWN)


def anatom_site_suggestion(region: str) -> dict | None:
    """The ISIC site offered for a region (None for 'other'): a person confirms or corrects it."""
    if region not in _REGION_TO_ANATOM_SITE:
        return None
    general, hierarchical = _REGION_TO_ANATOM_SITE[region]
    return {"anatom_site_general": general, "anatom_site": hierarchical}
