/** Words of the site administrator's desk: the server's refusals naming the fields it refused, and
 * a queued case as one line (patient, lesion, visit). */
import { errorMessage } from "../api/client";
import type { QueueCase } from "../api/types";

const FIELD_LABELS: Record<string, string> = {
  review_at_percent: "Review at", reimage_at_percent: "Re-image at", reader: "Reader", due_at: "Due date",
  model_version: "Model version",
};

/** The server's answer as one sentence, naming the fields it refused ({detail, fields} or {detail}). */
export function problemText(error: unknown, fallback = "The request failed."): string {
  const body = (error ?? {}) as { fields?: Record<string, unknown> };
  if (body.fields && typeof body.fields === "object") {
    const parts = Object.entries(body.fields).map(([field, value]) => {
      const text = Array.isArray(value) ? value.join(" ") : String(value);
      return field === "non_field_errors" ? text : `${FIELD_LABELS[field] ?? field}: ${text}`;
    });
    if (parts.length) return parts.join(" ");
  }
  return errorMessage(error, fallback);
}

/** A moment as a short local date and time, or a dash when there is none. */
export function whenText(value: string | null | undefined): string {
  return value ? new Date(value).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "—";
}

export function lesionText(row: Pick<QueueCase, "lesion">): string {
  const where = row.lesion.anatom_site || row.lesion.anatom_site_general || "site not recorded";
  return `${row.lesion.label || "Lesion"} · ${where}`;
}

export function caseText(row: Pick<QueueCase, "patient_label" | "lesion" | "visit_date">): string {
  return `${row.patient_label} — ${lesionText(row)} — ${row.visit_date}`;
}
