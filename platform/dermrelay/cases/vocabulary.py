"""Anatomic sites from the ISIC metadata vocabulary (the PyPI package isic-metadata).

The general site (8 terms, `anatom_site_general`) is a fixed choice; the detailed hierarchical site
(`anatom_site`, e.g. 'Upper extremity:Upper arm') is checked against the package's list.
`anatom_site_groups` puts every hierarchical term under the general site that covers it, for a body
picker (the package has no such mapping: ours is below, most specific prefix first).
"""

from __future__ import annotations

from functools import cache

from django.core.exceptions import ValidationError
from isic_metadata.anatom_site_hierarchical import AnatomSiteEnum
from isic_metadata.fields import AnatomSiteGeneralEnum

ANATOM_SITE_GENERAL_CHOICES = [(term.value, term.value) for term in AnatomSiteGeneralEnum]
ANATOM_SITE_TERMS = frozenset(term.value for term in AnatomSiteEnum)

# hierarchical prefix → general site; the first prefix that matches a term decides.
_GENERAL_OF_PREFIX = (
    ("Upper extremity:Hand:Palm of hand", "palms/soles"),
    ("Lower extremity:Foot:Sole of foot", "palms/soles"),
    ("Head and neck:Head:Face:Mouth", "oral/genital"),
    ("Anogenital region", "oral/genital"),
    ("Head and neck", "head/neck"),
    ("Trunk:Anterior trunk", "anterior torso"),
    ("Trunk:Posterior trunk", "posterior torso"),
    ("Trunk:Lateral trunk", "lateral torso"),
    ("Upper extremity", "upper extremity"),
    ("Lower extremity", "lower extremity"),
)
_GENERAL_LABELS = {
    "head/neck": "Head and neck", "upper extremity": "Upper extremity", "lower extremity": "Lower extremity",
    "anterior torso": "Anterior torso", "posterior torso": "Posterior torso", "lateral torso": "Lateral torso",
    "palms/soles": "Palms and soles", "oral/genital": "Oral and genital", "": "Trunk, side not given",
}


def validate_anatom_site(value: str) -> None:
    if value and value not in ANATOM_SITE_TERMS:
        raise ValidationError(f"'{value}' is not an ISIC anatomic site term")


def anatom_site_general_of(term: str) -> str:
    """The general site that covers a hierarchical term; "" for 'Trunk' alone (no side given)."""
    for prefix, general in _GENERAL_OF_PREFIX:
        if term == prefix or term.startswith(prefix + ":"):
            return general
    return ""


@cache
def anatom_site_groups() -> list[dict]:
    """[{general, label, sites: [{value, label, path, depth}]}] in the order of the general terms,
    each group's sites depth-first (a term, then the terms under it) in the vocabulary's order."""
    order = {term.value: index for index, term in enumerate(AnatomSiteEnum)}

    def tree_key(term: str) -> tuple[int, ...]:
        levels = term.split(":")
        return tuple(order.get(":".join(levels[: i + 1]), len(order)) for i in range(len(levels)))

    groups: dict[str, list[dict]] = {general: [] for general, _ in ANATOM_SITE_GENERAL_CHOICES}
    groups[""] = []
    for term in sorted(ANATOM_SITE_TERMS, key=tree_key):
        levels = term.split(":")
        groups[anatom_site_general_of(term)].append(
            {"value": term, "label": levels[-1], "path": levels, "depth": len(levels)})
    return [{"general": general, "label": _GENERAL_LABELS.get(general, general.capitalize()), "sites": sites}
            for general, sites in groups.items() if sites]
