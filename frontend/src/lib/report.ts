/** The report form's rules, mirrored from the API so the reader sees them before saving; the
 * server stays the authority (it answers 400 with the same messages). */
import type { Diagnosis, Management } from "../api/types";

export interface ReportFields {
  diagnosis: Diagnosis | "";
  diagnosis_other: string;
  management: Management | "";
  follow_up_months: number | null;
  findings: string;
  comment: string;
}

export const DIAGNOSES: { value: Diagnosis; label: string }[] = [
  { value: "mel", label: "Melanoma (mel)" },
  { value: "bcc", label: "Basal cell carcinoma (bcc)" },
  { value: "nv", label: "Melanocytic nevus (nv)" },
  { value: "akiec", label: "Actinic keratosis / intraepithelial carcinoma (akiec)" },
  { value: "bkl", label: "Benign keratosis-like lesion (bkl)" },
  { value: "df", label: "Dermatofibroma (df)" },
  { value: "vasc", label: "Vascular lesion (vasc)" },
  { value: "other", label: "Other (describe)" },
];

export const MANAGEMENTS: { value: Management; label: string }[] = [
  { value: "biopsy", label: "Biopsy" },
  { value: "excision", label: "Excision" },
  { value: "follow_up", label: "Follow-up" },
  { value: "no_action", label: "No action" },
];

export function emptyFields(): ReportFields {
  return { diagnosis: "", diagnosis_other: "", management: "", follow_up_months: null, findings: "", comment: "" };
}

/** Problems that would stop the report from being signed; empty when it may be signed. */
export function signingProblems(fields: ReportFields): string[] {
  const problems: string[] = [];
  if (!fields.diagnosis) problems.push("Choose a diagnosis.");
  if (fields.diagnosis === "other" && !fields.diagnosis_other.trim()) problems.push("Describe the other diagnosis.");
  if (!fields.management) problems.push("Choose a management recommendation.");
  if (fields.management === "follow_up") {
    const months = fields.follow_up_months;
    if (months == null || !Number.isInteger(months) || months < 1 || months > 120) {
      problems.push("Give the follow-up interval in months (1–120).");
    }
  }
  return problems;
}

/** The body of a draft PUT: the follow-up interval only goes with follow-up, "other" text only with other. */
export function draftBody(fields: ReportFields) {
  return {
    diagnosis: fields.diagnosis,
    diagnosis_other: fields.diagnosis === "other" ? fields.diagnosis_other : "",
    management: fields.management,
    follow_up_months: fields.management === "follow_up" ? fields.follow_up_months : null,
    findings: fields.findings,
    comment: fields.comment,
  };
}
