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

/** Where a case's report stands, as the clinic's lists say it. */
export const REPORT_TEXT: Record<string, string> = { none: "—", draft: "Being read", signed: "Signed", amended: "Amended" };

export function percent(value: number | null | undefined, digits = 1): string {
  return value == null ? "—" : `${value.toFixed(digits)}%`;
}

/** "12.3%" and, where the model has a calibrated interval, the range the true % lies in. */
export function percentRange(value: number | null | undefined, interval: { low: number; high: number } | null | undefined): string {
  if (value == null) return "—";
  return interval ? `${percent(value)} (${interval.low.toFixed(1)}–${interval.high.toFixed(1)})` : percent(value);
}

/** The tooltip that says what the bracketed range means. */
export function intervalTitle(coverage: number | null | undefined): string | undefined {
  return coverage ? `In brackets: where the true % lies for ${Math.round(coverage * 100)}% of mosaics (calibrated on phantom mosaics the model was not trained on)` : undefined;
}

export function shortHash(sha256: string | null | undefined): string {
  return sha256 ? `${sha256.slice(0, 12)}…` : "—";
}

export function modelText(model: { name: string; version: string } | null | undefined): string {
  return model ? `${model.name} ${model.version}` : "—";
}

/** A moment as the person's own clock and calendar show it ("3 Dec 2026, 07:55"), never an ISO
 * string; the locale and time zone are the browser's unless given (tests give them). */
export function dateTimeText(iso: string | null | undefined, options: { locale?: string; timeZone?: string } = {}): string {
  if (!iso) return "—";
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return "—";
  return new Intl.DateTimeFormat(options.locale, { dateStyle: "medium", timeStyle: "short", timeZone: options.timeZone }).format(moment);
}

/** Where the uninformative area lies, to follow "uninformative area": the platform's description
 * carries its own preposition ("at the upper left of the mosaic", "in patches spread over the
 * mosaic"); a judgement recorded before that said only "upper left of the mosaic" or "spread over
 * the mosaic", which this completes. */
export function problemWhere(description: string): string {
  const text = description.trim();
  if (/^(at|over|in|on|across|along|near|around|within)\b/i.test(text)) return text;
  if (/^spread\b/i.test(text)) return `in patches ${text}`;
  if (/^most\b/i.test(text)) return `over ${text}`;
  return `at the ${text}`;
}

/** The expert-vs-model agreement figures in words: "sensitivity 0.82 · specificity 0.93 · Dice
 * 0.78", and who annotated when ("annotated by Rita Reader on 3 Dec 2026, 07:55"). */
export function agreementText(
  agreement: { sensitivity?: number | null; specificity?: number | null; dice?: number | null; expert?: string | null;
    expert_name?: string | null; annotated_at?: string | null },
  options: { locale?: string; timeZone?: string } = {},
): { figures: string; by: string } {
  const figure = (label: string, value: number | null | undefined) => (value == null ? null : `${label} ${value.toFixed(2)}`);
  const figures = [figure("sensitivity", agreement.sensitivity), figure("specificity", agreement.specificity),
    figure("Dice", agreement.dice)].filter(Boolean).join(" · ");
  const who = agreement.expert_name || (agreement.expert ? "an expert" : "");
  const when = agreement.annotated_at ? dateTimeText(agreement.annotated_at, options) : "";
  const by = who || when ? `annotated${who ? ` by ${who}` : ""}${when ? ` on ${when}` : ""}` : "";
  return { figures, by };
}
