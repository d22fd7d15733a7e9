/** The quality dashboards' filters and drill-downs: what the address and the API's query carry, and
 * which mosaics each number opens. Numbers are written as the dashboards show them. */
import type { QaSummary, QaTrend } from "../api/types";

export type Filters = Record<string, string>;

/** A number opened to the mosaics behind it: a title for the panel and the filters that find them. */
export interface Drill { title: string; params: Filters }

export type TrendMeasure = "mean_whole" | "mean_lesion";
export type RecallRule = "whole" | "lesion";

/** The `bin` query values of the paper's bins, in order. */
export const BIN_KEYS = ["0-5", "5-10", "10-15", "15-25", "25-100"];

function filled(params: Filters): [string, string][] {
  return Object.entries(params).filter(([, value]) => value);
}

/** The filters as the typed client's query (ids and dates are strings in the address; the server checks them). */
export function qaQuery(params: Filters) {
  return { params: { query: Object.fromEntries(filled(params)) as never } };
}

/** The filters as a query string (CSV links), empty ones left out. */
export function queryString(params: Filters): string {
  return new URLSearchParams(filled(params)).toString();
}

export function numberText(value: number | null | undefined, digits = 1): string {
  return value == null ? "—" : value.toFixed(digits);
}

export function pValueText(p: number | null | undefined): string {
  if (p == null) return "—";
  return p < 0.0001 ? "< 0.0001" : p.toFixed(4);
}

/** The mosaics a re-imaging rule recalls at a threshold. */
export function recallDrill({ row, rule }: { row: { threshold: number }; rule: RecallRule }): Drill {
  return {
    title: `Recalled by the ${rule === "whole" ? "whole-mosaic" : "lesional"} rule at ${row.threshold}%`,
    params: { recalled_at: String(row.threshold), rule },
  };
}

/** The mosaics of one site in one bin (whole mosaic), as a bar of the bins chart opens them. */
export function binDrill({ summary, bin, site }: { summary: Pick<QaSummary, "sites" | "bins">; bin: number; site: number }): Drill {
  const group = summary.sites[site];
  return {
    title: `${group.label}: ${summary.bins[bin].label}% uninformative (whole mosaic)`,
    params: { site: group.site_id ?? "", measure: "whole", bin: BIN_KEYS[bin] },
  };
}

/** The mosaics of one series (a site or a technician) in one week, as a point of the trend opens them. */
export function trendDrill({ trend, series, week }: { trend: Pick<QaTrend, "series" | "weeks">; series: number; week: number }): Drill {
  const line = trend.series[series];
  return {
    title: `${line.label}: week of ${trend.weeks[week]}`,
    params: { [line.kind === "technician" ? "technician" : "site"]: line.key, week: trend.weeks[week] },
  };
}
