"""The PDF of a signed report version, section by section (see the package's docstring)."""

from __future__ import annotations

import logging

from dermrelay.cases.models import Case
from dermrelay.gate.models import VerdictBasis

from ..models import ReportVersion
from .key_images import case_key_images, key_image_with_legend, key_images_section
from .layout import FONT_PATH, ReportPDF, age_sex_text, choice_label, field, heading, when_text
from .tables import findings_table, quality_table, verdict_text, versions_table


logger = logging.getLogger(__name__)


def _patient_section(pdf: ReportPDF, *, patient: dict | None, header: dict) -> None:
    """Who the report is about: the identifiers when given, else a line saying they were left out;
    the age at the visit and the sex either way (as frozen in the content)."""
    heading(pdf, "Patient")
    age, sex = age_sex_text(header)
    if patient is None:
        field(pdf, "Identifiers", "Left out of this copy by the site's report policy for readers.")
        field(pdf, "Age at visit", age)
        field(pdf, "Sex", sex)
        return
    field(pdf, "Name", patient["name"])
    field(pdf, "MRN", patient["mrn"])
    field(pdf, "Birth date", patient["birth_date"].isoformat() if patient["birth_date"] else None)
    field(pdf, "Age at visit", age)
    field(pdf, "Sex", sex)


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

    heading(pdf, "Clinical question")
    pdf.set_font(pdf.family, "", 10)
    pdf.multi_cell(0, 5.5, pdf.safe(question or "None was asked."), new_x="LMARGIN", new_y="NEXT", align="L")

    heading(pdf, "Case")
    lesion = content["case"]["lesion"]
    signer = content["signed_by"]
    field(pdf, "Case", content["case"]["id"], mono=True)
    field(pdf, "Site", content["case"]["site"]["name"])
    field(pdf, "Visit date", content["case"]["visit_date"])
    field(pdf, "Lesion", " · ".join(x for x in (lesion["label"], lesion["anatom_site"] or lesion["anatom_site_general"]) if x))
    field(pdf, "Device", content["case"]["device"])
    field(pdf, "Reader", f"{signer['name']} ({signer['username']})" if signer["name"] else signer["username"])
    field(pdf, "Signed at", when_text(content["signed_at"]))
    field(pdf, "Version", f"{version.version} ({content['kind']})")
    later = [v for v in versions or [] if v.version > version.version]
    if later:
        field(pdf, "Superseded", f"by version {later[-1].version}, signed {when_text(later[-1].signed_at.isoformat())}")
    if content["reason"]:
        field(pdf, "Amendment reason", content["reason"])
    field(pdf, "Content SHA-256", version.content_sha256, mono=True)
    if content["previous_sha256"]:
        field(pdf, "Previous version", content["previous_sha256"], mono=True)

    if versions and len(versions) > 1:
        heading(pdf, "Versions", keep=10 + 5 * len(versions))
        versions_table(pdf, versions, version.version)

    heading(pdf, "Report")
    diagnosis = report["diagnosis_label"] + (f": {report['diagnosis_other']}" if report["diagnosis_other"] else "")
    management = report["management_label"] + (f", in {report['follow_up_months']} months"
                                                if report["follow_up_months"] else "")
    field(pdf, "Diagnosis", diagnosis)
    field(pdf, "Management", management)
    field(pdf, "Findings", report["findings"])
    field(pdf, "Comment", report["comment"])

    # the verdict lines and the start of the mosaic table stay together
    heading(pdf, "Image quality (filled by the platform)", keep=22 + 10 * min(len(quality["mosaics"]), 3))
    thresholds = quality.get("thresholds") or {}
    field(pdf, "Verdict", verdict_text(quality))
    basis = quality.get("basis")
    field(pdf, "Basis", quality.get("basis_note") or (choice_label(VerdictBasis, basis) if basis else None))
    field(pdf, "Thresholds", f"review at ≥ {thresholds.get('review_at_percent')} %, re-image at ≥ "
                              f"{thresholds.get('reimage_at_percent')} % uninformative")
    if quality["mosaics"]:
        quality_table(pdf, quality["mosaics"])
        coverage = next((m.get("interval_coverage") for m in quality["mosaics"] if m.get("interval_coverage")), None)
        if coverage:
            pdf.set_font(pdf.family, "", 7.5)
            pdf.multi_cell(0, 3.6, pdf.safe(
                f"In brackets: where the true % lies for {coverage:.0%} of mosaics (the model card's calibrated "
                "interval, measured on phantom mosaics it was not trained on)."), new_x="LMARGIN", new_y="NEXT", align="L")

    heading(pdf, "Model findings", keep=16)
    findings = content["model_findings"].get("findings") or []
    pdf.set_font(pdf.family, "", 9)
    if findings:
        findings_table(pdf, findings)
    else:
        pdf.multi_cell(0, 5, pdf.safe("No model findings for this case."), new_x="LMARGIN", new_y="NEXT", align="L")
    if findings and content["model_findings"].get("disclaimer"):
        pdf.set_font(pdf.family, "", 7.5)
        pdf.set_text_color(90)
        pdf.multi_cell(0, 4, pdf.safe(content["model_findings"]["disclaimer"]), new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.set_text_color(0)

    pictures = []
    for image in case_key_images(case):
        try:
            pictures.append((image, *key_image_with_legend(image)))
        except OSError as exc:  # a thumbnail missing from storage: the report is still printed, without it
            logger.warning("thumbnail of image %s not in the report PDF: %s", image.id, exc)
    if pictures:
        key_images_section(pdf, pictures)
    return bytes(pdf.output())
