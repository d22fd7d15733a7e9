"""Anatomic sites from the ISIC metadata vocabulary (the PyPI package isic-metadata).

The general site (8 terms, `anatom_site_general`) is a fixed choice; the detailed hierarchical site
(`anatom_site`, e.g. 'Upper extremity:Upper arm') is checked against the package's list.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from isic_metadata.anatom_site_hierarchical import AnatomSiteEnum
from isic_metadata.fields import AnatomSiteGeneralEnum

ANATOM_SITE_GENERAL_CHOICES = [(term.value, term.value) for term in AnatomSiteGeneralEnum]
ANATOM_SITE_TERMS = frozenset(term.value for term in AnatomSiteEnum)


def validate_anatom_site(value: str) -> None:
    if value and value not in ANATOM_SITE_TERMS:
        raise ValidationError(f"'{value}' is not an ISIC anatomic site term")
