/** Words and numbers as a reader expects to see them. */
import type { Verdict } from "../api/types";

export function waitingText(seconds: number | null | undefined): string {
  if (seconds == null) return "—";
  if (seconds < 60) return "< 1 min";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export const VERDICT_TEXT: Record<Verdict, string> = {
  acceptable: "Acceptable",
  review: "Review",
  reimage: "Re-image recommended",
};

export function verdictText(verdict: Verdict | null | undefined, final = true): string {
  if (!verdict) return "Pending";
  return final ? VERDICT_TEXT[verdict] : `${VERDICT_TEXT[verdict]} (provisional)`;
}

export const STATUS_TEXT: Record<string, string> = {
  draft: "Draft", submitted: "Submitted", processing: "Processing", ready_for_reading: "Ready for reading",
  in_reading: "In reading", signed: "Signed", recall_requested: "Recall requested", amended: "Amended",
};

export function percent(value: number | null | undefined, digits = 1): string {
  return value == null ? "—" : `${value.toFixed(digits)}%`;
}

export function shortHash(sha256: string | null | undefined): string {
  return sha256 ? `${sha256.slice(0, 12)}…` : "—";
}

export function modelText(model: { name: string; version: string } | null | undefined): string {
  return model ? `${model.name} ${model.version}` : "—";
}
