"""The PDF of a signed report version (fpdf2).

Everything written as text comes from the version's frozen content, so the PDF says exactly what was
signed; the key images (thumbnails of the dermoscopy image and of the mosaics) are drawn with their
model overlay (uninformative areas on the mosaic, the mosaic's projection on the dermoscopy image),
taken from the overlay pyramid's level that matches the thumbnail. No patient name, MRN or birth
date appears: the header identifies the case, not the person.
"""

from __future__ import annotations

import io
import logging
import math
import re
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from fpdf import FPDF
from PIL import Image as PILImage

from dermrelay.analysis.selectors import overlays_for
from dermrelay.cases.models import Case, ImageKind, ImageStatus

from .models import ReportVersion

logger = logging.getLogger(__name__)
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)  # fpdf2 subsets the font at every PDF; INFO is noise

FONT_PATH = Path(getattr(settings, "DERMRELAY_PDF_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
MAX_KEY_IMAGES = 9
OVERLAY_FOR_KIND = {ImageKind.RCM_MOSAIC: "quality", ImageKind.DERMOSCOPY: "projection"}
_DZI_URL = re.compile(r"^/tiles/\d+/[^/]+/(?P<prefix>.+)/overlay\.dzi$")
_DZI_NUMBER = {name: re.compile(rf'{name}="(\d+)"') for name in ("TileSize", "Width", "Height")}


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


def _heading(pdf: ReportPDF, title: str) -> None:
    pdf.ln(2)
    pdf.set_font(pdf.family, "B", 11)
    pdf.set_fill_color(232, 238, 244)
    pdf.cell(0, 7, pdf.safe(title), new_x="LMARGIN", new_y="NEXT", fill=True)
    pdf.ln(1)


def _field(pdf: ReportPDF, label: str, value, *, mono: bool = False) -> None:
    pdf.set_font(pdf.family, "B", 9)
    pdf.cell(42, 5.5, pdf.safe(label))
    if mono:  # hashes in a core font: plain ASCII text in the page stream, easy to check and copy
        pdf.set_font("Courier", "", 8)
    else:
        pdf.set_font(pdf.family, "", 9)
    pdf.multi_cell(0, 5.5, pdf.safe(value if value not in (None, "") else "—"), new_x="LMARGIN", new_y="NEXT")


def _percent(value) -> str:
    return "—" if value is None else f"{value:.1f} %"


def _overlay_tile(image, kind: str) -> tuple[PILImage.Image | None, list]:
    """The overlay of `kind` on this image at the level whose single tile holds it whole (the same
    level the thumbnail comes from), with its legend; (None, []) when there is none."""
    for overlay in overlays_for(image=image, absolute=lambda url: url):
        if overlay["kind"] != kind:
            continue
        match = _DZI_URL.match(overlay["dzi"])
        if match is None:
            return None, []
        prefix = match.group("prefix")
        with default_storage.open(f"{prefix}/overlay.dzi", "rb") as handle:
            descriptor = handle.read().decode()
        tile, width, height = (int(_DZI_NUMBER[name].search(descriptor).group(1)) for name in ("TileSize", "Width", "Height"))
        top = math.ceil(math.log2(max(width, height, 1)))
        level = top
        while level > 0 and math.ceil(max(width, height) / 2 ** (top - level)) > tile:
            level -= 1
        with default_storage.open(f"{prefix}/overlay_files/{level}/0_0.png", "rb") as handle:
            return PILImage.open(io.BytesIO(handle.read())).convert("RGBA"), overlay["legend"]
    return None, []


def key_image(image) -> tuple[PILImage.Image, str]:
    """The thumbnail with its overlay drawn over it, and a note on the overlay."""
    with image.thumbnail.open("rb") as handle:
        picture = PILImage.open(io.BytesIO(handle.read())).convert("RGBA")
    kind = OVERLAY_FOR_KIND.get(image.kind)
    if kind is None:
        return picture.convert("RGB"), ""
    try:
        overlay, legend = _overlay_tile(image, kind)
    except (OSError, ValueError, AttributeError) as exc:  # a missing or unreadable overlay file: say so
        logger.warning("overlay of image %s not drawn in the report PDF: %s", image.id, exc)
        return picture.convert("RGB"), "overlay could not be read"
    if overlay is None:
        return picture.convert("RGB"), "no model overlay"
    picture.alpha_composite(overlay.resize(picture.size, PILImage.Resampling.NEAREST))
    return picture.convert("RGB"), "; ".join(entry["label"] for entry in legend)


def _key_images(case: Case) -> list:
    images = list(case.images.filter(kind=ImageKind.DERMOSCOPY, status=ImageStatus.READY).exclude(thumbnail="")
                  .order_by("created_at"))
    images += list(case.images.filter(kind=ImageKind.RCM_MOSAIC, status=ImageStatus.READY).exclude(thumbnail="")
                   .order_by("depth_um", "created_at"))
    return images[:MAX_KEY_IMAGES]


def _findings_line(entry: dict) -> str:
    model = entry.get("model") or {}
    head = f"{entry.get('image_kind', '')} · {entry.get('step', '')} · {model.get('name', '')} {model.get('version', '')}"
    result = entry.get("result") or {}
    ranked = result.get("ranked") or []
    if ranked:
        top = ", ".join(f"{r.get('name') or r.get('label')} {100 * r.get('probability', 0):.0f} %" for r in ranked[:3])
        return f"{head}: {top}"
    if entry.get("error"):
        return f"{head}: failed ({entry['error']})"
    return f"{head}: {entry.get('state', '')}"


def report_pdf(*, version: ReportVersion, case: Case) -> bytes:
    """The signed version as a PDF: header, structured report, quality block, model findings and
    key images with overlays."""
    content = version.content
    report, quality = content["report"], content["quality"]
    pdf = ReportPDF(footer_text=f"Case {content['case']['id']} · version {version.version} · "
                                f"SHA-256 {version.content_sha256[:16]}…",
                    unicode_font=FONT_PATH.exists() and FONT_PATH.with_name("DejaVuSans-Bold.ttf").exists())
    pdf.set_title(f"DermRelay report, case {content['case']['id']}, version {version.version}")
    pdf.set_subject(f"content sha256 {version.content_sha256}")
    pdf.set_creator("DermRelay")
    pdf.add_page()
    pdf.set_font(pdf.family, "B", 15)
    pdf.cell(0, 9, pdf.safe("Dermatology reading report"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family, "", 8)
    pdf.set_text_color(110)
    pdf.multi_cell(0, 4, pdf.safe("RCM and dermoscopy, store-and-forward. Model outputs are decision support and "
                                  "not for clinical use on their own."), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)

    _heading(pdf, "Case")
    lesion = content["case"]["lesion"]
    signer = content["signed_by"]
    _field(pdf, "Case", content["case"]["id"], mono=True)
    _field(pdf, "Site", content["case"]["site"]["name"])
    _field(pdf, "Visit date", content["case"]["visit_date"])
    _field(pdf, "Lesion", " · ".join(x for x in (lesion["label"], lesion["anatom_site"] or lesion["anatom_site_general"]) if x))
    _field(pdf, "Device", content["case"]["device"])
    _field(pdf, "Reader", f"{signer['name']} ({signer['username']})" if signer["name"] else signer["username"])
    _field(pdf, "Signed at", content["signed_at"])
    _field(pdf, "Version", f"{version.version} ({content['kind']})")
    if content["reason"]:
        _field(pdf, "Amendment reason", content["reason"])
    _field(pdf, "Content SHA-256", version.content_sha256, mono=True)
    if content["previous_sha256"]:
        _field(pdf, "Previous version", content["previous_sha256"], mono=True)

    _heading(pdf, "Report")
    diagnosis = report["diagnosis_label"] + (f": {report['diagnosis_other']}" if report["diagnosis_other"] else "")
    management = report["management_label"] + (f", in {report['follow_up_months']} months"
                                                if report["follow_up_months"] else "")
    _field(pdf, "Diagnosis", diagnosis)
    _field(pdf, "Management", management)
    _field(pdf, "Findings", report["findings"])
    _field(pdf, "Comment", report["comment"])

    _heading(pdf, "Image quality (filled by the platform)")
    thresholds = quality.get("thresholds") or {}
    _field(pdf, "Verdict", f"{quality['verdict'] or 'none'} ({quality['state']}"
                           f"{', final' if quality.get('verdict_is_final') else ''})")
    _field(pdf, "Basis", quality.get("basis_note") or quality.get("basis"))
    _field(pdf, "Thresholds", f"review at ≥ {thresholds.get('review_at_percent')} %, re-image at ≥ "
                              f"{thresholds.get('reimage_at_percent')} % uninformative")
    if quality["mosaics"]:
        pdf.set_font(pdf.family, "B", 8)
        widths = (34, 22, 22, 22, 24, 62)
        for width, title in zip(widths, ("Mosaic depth", "Verdict", "% whole", "% lesion", "Basis", "Model")):
            pdf.cell(width, 6, pdf.safe(title), border=1)
        pdf.ln()
        pdf.set_font(pdf.family, "", 8)
        for mosaic in quality["mosaics"]:
            depth = mosaic["depth_level"] + (f" {mosaic['depth_um']:g} µm" if mosaic["depth_um"] is not None else "")
            model = mosaic["model"]
            cells = (depth, mosaic["verdict"] or mosaic["state"], _percent(mosaic["percent_whole"]),
                     _percent(mosaic["percent_lesion"]), mosaic["basis"] or "—",
                     f"{model['name']} {model['version']}" if model else "—")
            for width, value in zip(widths, cells):
                pdf.cell(width, 6, pdf.safe(value), border=1)
            pdf.ln()

    _heading(pdf, "Model findings")
    findings = content["model_findings"].get("findings") or []
    pdf.set_font(pdf.family, "", 9)
    for entry in findings:
        pdf.multi_cell(0, 5, pdf.safe(_findings_line(entry)), new_x="LMARGIN", new_y="NEXT")
    if not findings:
        pdf.multi_cell(0, 5, pdf.safe("No model findings for this case."), new_x="LMARGIN", new_y="NEXT")

    pictures = []
    for image in _key_images(case):
        try:
            pictures.append((image, *key_image(image)))
        except OSError as exc:  # a thumbnail missing from storage: the report is still printed, without it
            logger.warning("thumbnail of image %s not in the report PDF: %s", image.id, exc)
    if pictures:
        size, gap = 56.0, 6.0
        if pdf.get_y() + size + 24 > pdf.h - 18:  # keep the heading with its first row of images
            pdf.add_page()
        _heading(pdf, "Key images")
        for index, (image, picture, note) in enumerate(pictures):
            column = index % 3
            if column == 0:
                if pdf.get_y() + size + 14 > pdf.h - 18:
                    pdf.add_page()
                top = pdf.get_y()
            scale = min(size / picture.width, size / picture.height)
            x = pdf.l_margin + column * (size + gap)
            pdf.image(picture, x=x, y=top, w=picture.width * scale, h=picture.height * scale)
            pdf.set_xy(x, top + size + 1)
            pdf.set_font(pdf.family, "", 7)
            label = image.get_kind_display() + (f", {image.get_depth_level_display()}" if image.depth_level else "")
            pdf.multi_cell(size, 3.5, pdf.safe(f"{label}\n{note}" if note else label))
            if column == 2 or index == len(pictures) - 1:
                pdf.set_y(top + size + 12)
    return bytes(pdf.output())
