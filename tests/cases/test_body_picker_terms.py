"""The browser's body picker (frontend/src/lib/anatomy.ts) offers only terms the server accepts:
every region's hierarchical site is an ISIC term and its general site one of the 8 general terms,
and it agrees with the server's own mapping of that term (cases.vocabulary), so a lesion picked on
the figure is stored exactly as one picked from the list."""

from __future__ import annotations

import re
from pathlib import Path

from dermrelay.cases import vocabulary
from dermrelay.cases.vocabulary import ANATOM_SITE_GENERAL_CHOICES, ANATOM_SITE_TERMS

ANATOMY = Path(__file__).resolve().parents[2] / "frontend" / "src" / "lib" / "anatomy.ts"
PAIR = re.compile(r'(?:anatom_site|site): "([^"]+)",\s*(?:anatom_site_general|general): "([^"]+)"')


def test_every_region_of_the_figure_is_a_valid_isic_pair():
    pairs = set(PAIR.findall(ANATOMY.read_text()))
    assert len(pairs) >= 25  # the regions of both figures were found
    generals = {value for value, _ in ANATOM_SITE_GENERAL_CHOICES}
    groups = {site["value"]: group["general"] for group in vocabulary.anatom_site_groups() for site in group["sites"]}
    for site, general in sorted(pairs):
        assert site in ANATOM_SITE_TERMS, site
        assert general in generals, (site, general)
        assert groups[site] == general, (site, general, groups[site])
