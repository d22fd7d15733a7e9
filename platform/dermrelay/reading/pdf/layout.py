"""The report PDF's page (A4, DejaVu when installed, else a core font; the footer on every page),
its headings and fields, and how dates, percentages, depths and choices read on paper."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from django.conf import settings
from fpdf import FPDF

from dermrelay.cases.models import DepthLevel, Sex


logging.getLogger("fontTools.subset").setLevel(logging.WARNING)  # fpdf2 subsets the font at every PDF; INFO is noise
FONT_PATH = Path(getattr(settings, "DERMRELAY_PDF_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))


class ReportPDF(FPDF):
    def __init__(self, *, footer_text: str, unicode_font: bool):
        super().__init__(format="A4")
        self.footer_text = footer_text
        self.family = "DejaVu" if unicode_font else "Helvetica"
        if unicode_font:
            self.add_font("DejaVu", "", str(FONT_PATH))
            self.add_font("DejaVu", "B", str(FONT_PATH.with_name("DejaVuSans-Bold.ttf")))
        self.set_auto_page_break(auto=True, margin=18)

    def safe(self, value) -> str:  # core fonts are Latin-1 only
        value = "" if value is None else str(value)
        return value if self.family == "DejaVu" else value.encode("latin-1", "replace").decode("latin-1")

    def footer(self):
        self.set_y(-12)
        self.set_font(self.family, "", 7)
        self.set_text_color(110)
        self.cell(0, 5, self.safe(f"{self.footer_text} · page {self.page_no()}/{{nb}}"), align="C")
        self.set_text_color(0)


def heading(pdf: ReportPDF, title: str, *, keep: float = 12) -> None:
    """A section heading, moved to the next page with its section when less than `keep` mm of the
    section would fit under it (no heading alone at the foot of a page)."""
    if pdf.get_y() + 10 + keep > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font(pdf.family, "B", 11)
    pdf.set_fill_color(232, 238, 244)
    pdf.cell(0, 7, pdf.safe(title), new_x="LMARGIN", new_y="NEXT", fill=True)
    pdf.ln(1)


def field(pdf: ReportPDF, label: str, value, *, mono: bool = False) -> None:
    pdf.set_font(pdf.family, "B", 9)
    pdf.cell(42, 5.5, pdf.safe(label))
    if mono:  # hashes in a core font: plain ASCII text in the page stream, easy to check and copy
        pdf.set_font("Courier", "", 8)
    else:
        pdf.set_font(pdf.family, "", 9)
    pdf.multi_cell(0, 5.5, pdf.safe(value if value not in (None, "") else "—"), new_x="LMARGIN", new_y="NEXT",
                   align="L", wrapmode="CHAR" if mono else "WORD")


def percent_text(value, interval: dict | None = None) -> str:
    """12.3 %, or 12.3 % (9.8-14.9) with its interval."""
    if value is None:
        return "—"
    return f"{value:.1f} %" if not interval else f"{value:.1f} % ({interval['low']:.1f}–{interval['high']:.1f})"


def when_text(value) -> str:
    """A frozen ISO timestamp as a person reads it (the content keeps the exact value)."""
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return str(value)


def choice_label(choices, value) -> str:
    try:
        return choices(value).label
    except ValueError:
        return str(value).replace("_", " ")


def depth_text(depth_level, depth_um) -> str:
    label = choice_label(DepthLevel, depth_level) if depth_level else "Depth not given"
    return label + (f", {depth_um:g} µm" if depth_um is not None else "")


def depth_um_text(depth_um) -> str:
    return "not recorded" if depth_um is None else f"{depth_um:g} µm"


def age_sex_text(patient: dict) -> tuple[str, str]:
    age = patient.get("age_years")
    sex = choice_label(Sex, patient["sex"]) if patient.get("sex") else "Unknown"
    return f"{age} years" if age is not None else "Age unknown", sex
