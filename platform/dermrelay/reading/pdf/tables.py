"""The report PDF's tables: the quality block's mosaics, the model findings with their
confidence, and every version with its own signing time."""

from __future__ import annotations

from fpdf.fonts import FontFace

from dermrelay.cases.models import DepthLevel, ImageKind
from dermrelay.gate.models import Verdict, VerdictBasis

from .layout import ReportPDF, choice_label, depth_um_text, percent_text, when_text


MOSAIC_STATES = {"not_applicable": "Not analysed (the quality model reads DEJ mosaics)", "failed": "Analysis failed",
                 "not_analysed": "Not analysed", "preparing": "Still preparing", "analysing": "Still analysing",
                 "judging": "Still judging"}

FINDING_STEPS = {"diagnosis": "Diagnosis, image and body location", "diagnosis_image_only": "Diagnosis, image only",
                 "body_region": "Body region"}


def verdict_text(quality: dict) -> str:
    if quality["state"] == "no_mosaics":
        return "None: the case has no RCM mosaic to judge."
    if quality["verdict"] is None:
        return "None: no mosaic could be judged (see the table)."
    text = choice_label(Verdict, quality["verdict"])
    return text if quality.get("verdict_is_final") else f"{text} (not final: some mosaics were not judged)"


def _mosaic_verdict(mosaic: dict) -> str:
    if mosaic["verdict"]:
        return choice_label(Verdict, mosaic["verdict"])
    return MOSAIC_STATES.get(mosaic["state"], mosaic["state"])


def finding_row(entry: dict) -> tuple[str, str, str, str, str]:
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
    return (choice_label(ImageKind, entry.get("image_kind", "")), step, text,
            "—" if confidence is None else f"{100 * confidence:.0f} %", identity)


def findings_table(pdf: ReportPDF, findings: list) -> None:
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
            for value in finding_row(entry):
                row.cell(pdf.safe(value))


def versions_table(pdf: ReportPDF, versions: list, printed: int) -> None:
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
            for value in (f"{entry.version}{mark}", entry.get_kind_display(), when_text(entry.signed_at.isoformat()),
                          signer.get_full_name() or signer.get_username(), entry.reason or "—"):
                row.cell(pdf.safe(value))


def quality_table(pdf: ReportPDF, mosaics: list) -> None:
    """One row per mosaic; cells wrap, rows never split, and the headings repeat on a new page."""
    pdf.ln(1)
    pdf.set_font(pdf.family, "", 8)
    headings = FontFace(emphasis="BOLD", fill_color=(232, 238, 244))
    # white body cells said explicitly: fpdf2 otherwise fills them with the headings' colour
    with pdf.table(col_widths=(7, 30, 17, 30, 20, 20, 24, 42), text_align="LEFT", line_height=4.2, padding=1,
                   headings_style=headings, cell_fill_color=255, cell_fill_mode="ALL", first_row_as_headings=True,
                   repeat_headings=1) as table:
        row = table.row()
        for title in ("#", "Depth level", "Depth", "Verdict", "% whole", "% lesion", "Judged on", "Model"):
            row.cell(pdf.safe(title))
        for number, mosaic in enumerate(mosaics, start=1):
            model = mosaic["model"]
            basis = {VerdictBasis.LESION: "the lesion", VerdictBasis.WHOLE_MOSAIC: "the whole mosaic"}.get(mosaic["basis"])
            level = choice_label(DepthLevel, mosaic["depth_level"]) if mosaic["depth_level"] else "Not given"
            row = table.row()
            for value in (str(number), level, depth_um_text(mosaic["depth_um"]), _mosaic_verdict(mosaic),
                          percent_text(mosaic["percent_whole"], mosaic.get("interval_whole")),
                          percent_text(mosaic["percent_lesion"], mosaic.get("interval_lesion")), basis or "—",
                          f"{model['name']} {model['version']}" if model else "—"):
                row.cell(pdf.safe(value))
