"""The PDF of a signed report version (fpdf2), fit to be filed in the patient's chart.

Everything written as report text comes from the version's frozen content, so the PDF says exactly
what was signed (the clinical question, the patient's age at the visit and sex, the quality block
with each mosaic's depth, the model findings with their confidence); the list of versions gives each
version's own signing time from its row. The key images (thumbnails of the dermoscopy image and of the mosaics) are drawn with their
model overlay (uninformative areas on the mosaic, the mosaic's projection on the dermoscopy image),
taken from the overlay pyramid's level that matches the thumbnail, filled at half opacity with a solid
outline so the tissue under it stays visible, and with a colour legend under each image.

The patient's identifiers (name, MRN, birth date, sex) are not part of the signed content (which
readers' versions API shows): the caller passes them from the patient record at printing time, or
None when the site's report policy leaves them out of this user's PDF (reading.selectors.
pdf_patient_identifiers); the PDF then says that they were left out.
"""

from __future__ import annotations

import io
import logging
import math
import re
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
import numpy as np
from fpdf import FPDF
from fpdf.fonts import FontFace
from PIL import Image as PILImage

from dermrelay.analysis.models import Verdict, VerdictBasis
from dermrelay.analysis.selectors import overlays_for
from dermrelay.cases.models import Case, DepthLevel, ImageKind, ImageStatus, Sex

from .models import ReportVersion

logger = logging.getLogger(__name__)
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)  # fpdf2 subsets the font at every PDF; INFO is noise

FONT_PATH = Path(getattr(settings, "DERMRELAY_PDF_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
MAX_KEY_IMAGES = 9
OVERLAY_FOR_KIND = {ImageKind.RCM_MOSAIC: "quality", ImageKind.DERMOSCOPY: "projection"}
_DZI_URL = re.compile(r"^/tiles/\d+/[^/]+/(?P<prefix>.+)/overlay\.dzi$")
_DZI_NUMBER = {name: re.compile(rf'{name}="(\d+)"') for name in ("TileSize", "Width", "Height")}
OVERLAY_FILL_OPACITY = 0.5  # on paper there is no opacity slider: the tissue must show through the fill
MOSAIC_STATES = {"not_applicable": "Not analysed (the quality model reads DEJ mosaics)", "failed": "Analysis failed",
                 "not_analysed": "Not analysed", "preparing": "Still preparing", "analysing": "Still analysing",
                 "judging": "Still judging"}
FINDING_STEPS = {"diagnosis": "Diagnosis, image and body location", "diagnosis_image_only": "Diagnosis, image only",
                 "body_region": "Body region"}


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


def _heading(pdf: ReportPDF, title: str, *, keep: float = 12) -> None:
    """A section heading, moved to the next page with its section when less than `keep` mm of the
    section would fit under it (no heading alone at the foot of a page)."""
    if pdf.get_y() + 10 + keep > pdf.page_break_trigger:
        pdf.add_page()
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
    pdf.multi_cell(0, 5.5, pdf.safe(value if value not in (None, "") else "—"), new_x="LMARGIN", new_y="NEXT",
                   align="L", wrapmode="CHAR" if mono else "WORD")


def _percent(value) -> str:
    return "—" if value is None else f"{value:.1f} %"


def _when(value) -> str:
    """A frozen ISO timestamp as a person reads it (the content keeps the exact value)."""
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return str(value)


def _label(choices, value) -> str:
    try:
        return choices(value).label
    except ValueError:
        return str(value).replace("_", " ")


def _depth(depth_level, depth_um) -> str:
    label = _label(DepthLevel, depth_level) if depth_level else "Depth not given"
    return label + (f", {depth_um:g} µm" if depth_um is not None else "")


def _depth_um(depth_um) -> str:
    return "not recorded" if depth_um is None else f"{depth_um:g} µm"


def _age_sex(patient: dict) -> tuple[str, str]:
    age = patient.get("age_years")
    sex = _label(Sex, patient["sex"]) if patient.get("sex") else "Unknown"
    return f"{age} years" if age is not None else "Age unknown", sex


def _verdict_text(quality: dict) -> str:
    if quality["state"] == "no_mosaics":
        return "None: the case has no RCM mosaic to judge."
    if quality["verdict"] is None:
        return "None: no mosaic could be judged (see the table)."
    text = _label(Verdict, quality["verdict"])
    return text if quality.get("verdict_is_final") else f"{text} (not final: some mosaics were not judged)"


def _mosaic_verdict(mosaic: dict) -> str:
    if mosaic["verdict"]:
        return _label(Verdict, mosaic["verdict"])
    return MOSAIC_STATES.get(mosaic["state"], mosaic["state"])


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


def _grown(mask: np.ndarray) -> np.ndarray:
    """The mask and its 4-neighbours."""
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return grown


def _for_paper(overlay: PILImage.Image) -> PILImage.Image:
    """The overlay as printed: its areas filled at OVERLAY_FILL_OPACITY of their own alpha, and the
    two pixels inside each area's border (where the colour changes) opaque, so that a region reads
    as a region without hiding the tissue it covers."""
    rgba = np.asarray(overlay, dtype=np.uint8)
    key = rgba.astype(np.uint32) @ np.array([1 << 24, 1 << 16, 1 << 8, 1], dtype=np.uint32)
    drawn = rgba[..., 3] > 0
    border = np.zeros(key.shape, dtype=bool)
    for axis in (0, 1):
        changed = np.diff(key, axis=axis) != 0
        lead = [(0, 0), (0, 0)]
        lead[axis] = (0, 1)
        trail = [(0, 0), (0, 0)]
        trail[axis] = (1, 0)
        border |= np.pad(changed, lead) | np.pad(changed, trail)
    border &= drawn
    border = _grown(border) & drawn  # the second pixel, inside the same area
    printed = rgba.copy()
    printed[..., 3] = (rgba[..., 3] * OVERLAY_FILL_OPACITY).astype(np.uint8)
    printed[border, 3] = 255
    return PILImage.fromarray(printed, "RGBA")


def _key_image(image) -> tuple[PILImage.Image, list, str]:
    """The thumbnail with its overlay drawn over it, the overlay's legend, and a note on it."""
    with image.thumbnail.open("rb") as handle:
        picture = PILImage.open(io.BytesIO(handle.read())).convert("RGBA")
    kind = OVERLAY_FOR_KIND.get(image.kind)
    if kind is None:
        return picture.convert("RGB"), [], ""
    try:
        overlay, legend = _overlay_tile(image, kind)
    except (OSError, ValueError, AttributeError) as exc:  # a missing or unreadable overlay file: say so
        logger.warning("overlay of image %s not drawn in the report PDF: %s", image.id, exc)
        return picture.convert("RGB"), [], "overlay could not be read"
    if overlay is None:
        return picture.convert("RGB"), [], "no model overlay"
    picture.alpha_composite(_for_paper(overlay.resize(picture.size, PILImage.Resampling.NEAREST)))
    return picture.convert("RGB"), legend, "; ".join(entry["label"] for entry in legend)


def key_image(image) -> tuple[PILImage.Image, str]:
    """The thumbnail with its overlay drawn over it, and a note naming what the overlay shows."""
    picture, _, note = _key_image(image)
    return picture, note


def _key_images(case: Case) -> list:
    images = list(case.images.current().filter(kind=ImageKind.DERMOSCOPY, status=ImageStatus.READY).exclude(thumbnail="")
                  .order_by("created_at"))
    images += list(case.images.current().filter(kind=ImageKind.RCM_MOSAIC, status=ImageStatus.READY).exclude(thumbnail="")
                   .order_by("depth_um", "created_at"))
    return images[:MAX_KEY_IMAGES]


def _finding_row(entry: dict) -> tuple[str, str, str, str, str]:
    """(image, finding, result, confidence, model) of one model finding: the top answer with its
    probability as the confidence, the runners-up beside it."""
    model = entry.get("model") or {}
    step = FINDING_STEPS.get(entry.get("step", ""), str(entry.get("step", "")).replace("_", " "))
    identity = f"{model.get('name', '')} {model.get('version', '')}".strip() or "—"
    result = entry.get("result") or {}
    ranked = result.get("ranked") or []
    confidence = entry.get("confidence")
    if ranked:
        name = ranked[0].get("name") or ranked[0].get("label")
        others = ", ".join(f"{r.get('name') or r.get('label')} {100 * r.get('probability', 0):.0f} %" for r in ranked[1:3])
        location = (result.get("location") or {}).get("location")
        text = name + (f" (then {others})" if others else "") + (f"; body location given: {location}" if location else "")
        if confidence is None:
            confidence = ranked[0].get("probability")
    elif entry.get("error"):
        text = f"failed ({entry['error']})"
    else:
        text = str(entry.get("state", "")).replace("_", " ")
    return (_label(ImageKind, entry.get("image_kind", "")), step, text,
            "—" if confidence is None else f"{100 * confidence:.0f} %", identity)


def _findings_table(pdf: ReportPDF, findings: list) -> None:
    pdf.set_font(pdf.family, "", 8)
    headings = FontFace(emphasis="BOLD", fill_color=(232, 238, 244))
    with pdf.table(col_widths=(22, 40, 60, 20, 48), text_align="LEFT", line_height=4.2, padding=1,
                   headings_style=headings, cell_fill_color=255, cell_fill_mode="ALL", first_row_as_headings=True,
                   repeat_headings=1) as table:
        row = table.row()
        for title in ("Image", "Finding", "Result", "Confidence", "Model"):
            row.cell(pdf.safe(title))
        for entry in findings:
            row = table.row()
            for value in _finding_row(entry):
                row.cell(pdf.safe(value))


def _versions_table(pdf: ReportPDF, versions: list, printed: int) -> None:
    """Every version of the report with its own signing time, this PDF's marked and later ones named,
    so a chart never holds an amended version without saying so."""
    pdf.set_font(pdf.family, "", 8)
    headings = FontFace(emphasis="BOLD", fill_color=(232, 238, 244))
    with pdf.table(col_widths=(22, 24, 42, 44, 58), text_align="LEFT", line_height=4.2, padding=1,
                   headings_style=headings, cell_fill_color=255, cell_fill_mode="ALL", first_row_as_headings=True,
                   repeat_headings=1) as table:
        row = table.row()
        for title in ("Version", "Kind", "Signed at", "Signed by", "Reason"):
            row.cell(pdf.safe(title))
        for entry in versions:
            signer = entry.signed_by
            mark = " (this PDF)" if entry.version == printed else (" (later)" if entry.version > printed else "")
            row = table.row()
            for value in (f"{entry.version}{mark}", entry.get_kind_display(), _when(entry.signed_at.isoformat()),
                          signer.get_full_name() or signer.get_username(), entry.reason or "—"):
                row.cell(pdf.safe(value))


def _hex_rgb(colour: str, alpha: float = 1.0) -> tuple[int, int, int]:
    """A legend colour as it shows on white paper at its alpha."""
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return tuple(round(255 - alpha * (255 - c)) for c in (red, green, blue))


def _legend(pdf: ReportPDF, legend: list, *, x: float, width: float) -> None:
    """One line per overlay colour: a swatch as it is printed, then what it means."""
    for entry in legend:
        y = pdf.get_y()
        alpha = entry.get("alpha", 1.0)
        pdf.set_draw_color(*_hex_rgb(entry["colour"]))
        pdf.set_fill_color(*_hex_rgb(entry["colour"], alpha * OVERLAY_FILL_OPACITY))
        pdf.set_line_width(0.5)
        pdf.rect(x + 0.3, y + 0.6, 3.2, 2.6, style="DF")
        pdf.set_line_width(0.2)
        pdf.set_draw_color(0)
        pdf.set_xy(x + 4.6, y)
        pdf.multi_cell(width - 4.6, 3.8, pdf.safe(entry["label"]), align="L", new_x="LEFT", new_y="NEXT")
        pdf.set_x(x)


def _quality_table(pdf: ReportPDF, mosaics: list) -> None:
    """One row per mosaic; cells wrap, rows never split, and the headings repeat on a new page."""
    pdf.ln(1)
    pdf.set_font(pdf.family, "", 8)
    headings = FontFace(emphasis="BOLD", fill_color=(232, 238, 244))
    # white body cells said explicitly: fpdf2 otherwise fills them with the headings' colour
    with pdf.table(col_widths=(7, 40, 17, 30, 15, 15, 24, 42), text_align="LEFT", line_height=4.2, padding=1,
                   headings_style=headings, cell_fill_color=255, cell_fill_mode="ALL", first_row_as_headings=True,
                   repeat_headings=1) as table:
        row = table.row()
        for title in ("#", "Depth level", "Depth", "Verdict", "% whole", "% lesion", "Judged on", "Model"):
            row.cell(pdf.safe(title))
        for number, mosaic in enumerate(mosaics, start=1):
            model = mosaic["model"]
            basis = {VerdictBasis.LESION: "the lesion", VerdictBasis.WHOLE_MOSAIC: "the whole mosaic"}.get(mosaic["basis"])
            level = _label(DepthLevel, mosaic["depth_level"]) if mosaic["depth_level"] else "Not given"
            row = table.row()
            for value in (str(number), level, _depth_um(mosaic["depth_um"]), _mosaic_verdict(mosaic),
                          _percent(mosaic["percent_whole"]), _percent(mosaic["percent_lesion"]), basis or "—",
                          f"{model['name']} {model['version']}" if model else "—"):
                row.cell(pdf.safe(value))


def _key_images_section(pdf: ReportPDF, pictures: list) -> None:
    """Three images a row, each with its caption and the legend of its overlay directly under it."""
    size, gap, columns = 58.0, 8.0, 3
    _heading(pdf, "Key images", keep=size + 22)
    if any(legend for _, _, legend, _ in pictures):
        pdf.set_font(pdf.family, "", 7)
        pdf.set_text_color(90)
        pdf.multi_cell(0, 3.8, pdf.safe("Model overlays are drawn at half opacity with solid outlines; the legend "
                                        "under each image gives their colours."), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
        pdf.ln(1.5)
    for start in range(0, len(pictures), columns):
        row = pictures[start:start + columns]
        heights = [picture.height * min(size / picture.width, size / picture.height) for _, picture, _, _ in row]
        if pdf.get_y() + max(heights) + 22 > pdf.page_break_trigger:
            pdf.add_page()
            _heading(pdf, "Key images (continued)")
        top, bottom = pdf.get_y(), pdf.get_y()
        for column, ((image, picture, legend, note), height) in enumerate(zip(row, heights, strict=True)):
            width = picture.width * min(size / picture.width, size / picture.height)
            x = pdf.l_margin + column * (size + gap)
            pdf.image(picture, x=x, y=top, w=width, h=height)
            pdf.set_xy(x, top + height + 1.2)
            pdf.set_font(pdf.family, "B", 7.5)
            label = _label(ImageKind, image.kind)
            if image.kind == ImageKind.RCM_MOSAIC:
                label += f" · {_depth(image.depth_level, image.depth_um)}"
            pdf.multi_cell(size, 3.8, pdf.safe(label), align="L", new_x="LEFT", new_y="NEXT")
            pdf.set_font(pdf.family, "", 7)
            if legend:
                _legend(pdf, legend, x=x, width=size)
            elif note:
                pdf.set_text_color(90)
                pdf.multi_cell(size, 3.8, pdf.safe(note.capitalize()), align="L", new_x="LEFT", new_y="NEXT")
                pdf.set_text_color(0)
            bottom = max(bottom, pdf.get_y())
        pdf.set_xy(pdf.l_margin, bottom + 5)


def _patient_section(pdf: ReportPDF, *, patient: dict | None, header: dict) -> None:
    """Who the report is about: the identifiers when given, else a line saying they were left out;
    the age at the visit and the sex either way (as frozen in the content)."""
    _heading(pdf, "Patient")
    age, sex = _age_sex(header)
    if patient is None:
        _field(pdf, "Identifiers", "Left out of this copy by the site's report policy for readers.")
        _field(pdf, "Age at visit", age)
        _field(pdf, "Sex", sex)
        return
    _field(pdf, "Name", patient["name"])
    _field(pdf, "MRN", patient["mrn"])
    _field(pdf, "Birth date", patient["birth_date"].isoformat() if patient["birth_date"] else None)
    _field(pdf, "Age at visit", age)
    _field(pdf, "Sex", sex)


def report_pdf(*, version: ReportVersion, case: Case, patient: dict | None = None,
               versions: list[ReportVersion] | None = None) -> bytes:
    """The signed version as a PDF: the patient (identifiers when `patient` is given), the clinical
    question, the header with every version's own signing time (`versions`, oldest first; this one
    alone when not given), structured report, quality block with depths, model findings with their
    confidence and key images with overlays."""
    content = version.content
    report, quality = content["report"], content["quality"]
    # versions signed before the content carried them (schema /1): the case's own record, which
    # cannot change once a case is submitted
    header = content["case"].get("patient") or {"age_years": case.lesion.patient.age_on(case.visit_date),
                                                 "sex": case.lesion.patient.sex}
    question = content["case"].get("clinical_question", case.clinical_question)
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
                                  "not for clinical use on their own."), new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.set_text_color(0)

    _patient_section(pdf, patient=patient, header=header)

    _heading(pdf, "Clinical question")
    pdf.set_font(pdf.family, "", 10)
    pdf.multi_cell(0, 5.5, pdf.safe(question or "None was asked."), new_x="LMARGIN", new_y="NEXT", align="L")

    _heading(pdf, "Case")
    lesion = content["case"]["lesion"]
    signer = content["signed_by"]
    _field(pdf, "Case", content["case"]["id"], mono=True)
    _field(pdf, "Site", content["case"]["site"]["name"])
    _field(pdf, "Visit date", content["case"]["visit_date"])
    _field(pdf, "Lesion", " · ".join(x for x in (lesion["label"], lesion["anatom_site"] or lesion["anatom_site_general"]) if x))
    _field(pdf, "Device", content["case"]["device"])
    _field(pdf, "Reader", f"{signer['name']} ({signer['username']})" if signer["name"] else signer["username"])
    _field(pdf, "Signed at", _when(content["signed_at"]))
    _field(pdf, "Version", f"{version.version} ({content['kind']})")
    later = [v for v in versions or [] if v.version > version.version]
    if later:
        _field(pdf, "Superseded", f"by version {later[-1].version}, signed {_when(later[-1].signed_at.isoformat())}")
    if content["reason"]:
        _field(pdf, "Amendment reason", content["reason"])
    _field(pdf, "Content SHA-256", version.content_sha256, mono=True)
    if content["previous_sha256"]:
        _field(pdf, "Previous version", content["previous_sha256"], mono=True)

    if versions and len(versions) > 1:
        _heading(pdf, "Versions", keep=10 + 5 * len(versions))
        _versions_table(pdf, versions, version.version)

    _heading(pdf, "Report")
    diagnosis = report["diagnosis_label"] + (f": {report['diagnosis_other']}" if report["diagnosis_other"] else "")
    management = report["management_label"] + (f", in {report['follow_up_months']} months"
                                                if report["follow_up_months"] else "")
    _field(pdf, "Diagnosis", diagnosis)
    _field(pdf, "Management", management)
    _field(pdf, "Findings", report["findings"])
    _field(pdf, "Comment", report["comment"])

    # the verdict lines and the start of the mosaic table stay together
    _heading(pdf, "Image quality (filled by the platform)", keep=22 + 10 * min(len(quality["mosaics"]), 3))
    thresholds = quality.get("thresholds") or {}
    _field(pdf, "Verdict", _verdict_text(quality))
    basis = quality.get("basis")
    _field(pdf, "Basis", quality.get("basis_note") or (_label(VerdictBasis, basis) if basis else None))
    _field(pdf, "Thresholds", f"review at ≥ {thresholds.get('review_at_percent')} %, re-image at ≥ "
                              f"{thresholds.get('reimage_at_percent')} % uninformative")
    if quality["mosaics"]:
        _quality_table(pdf, quality["mosaics"])

    _heading(pdf, "Model findings", keep=16)
    findings = content["model_findings"].get("findings") or []
    pdf.set_font(pdf.family, "", 9)
    if findings:
        _findings_table(pdf, findings)
    else:
        pdf.multi_cell(0, 5, pdf.safe("No model findings for this case."), new_x="LMARGIN", new_y="NEXT", align="L")
    if findings and content["model_findings"].get("disclaimer"):
        pdf.set_font(pdf.family, "", 7.5)
        pdf.set_text_color(90)
        pdf.multi_cell(0, 4, pdf.safe(content["model_findings"]["disclaimer"]), new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.set_text_color(0)

    pictures = []
    for image in _key_images(case):
        try:
            pictures.append((image, *_key_image(image)))
        except OSError as exc:  # a thumbnail missing from storage: the report is still printed, without it
            logger.warning("thumbnail of image %s not in the report PDF: %s", image.id, exc)
    if pictures:
        _key_images_section(pdf, pictures)
    return bytes(pdf.output())
