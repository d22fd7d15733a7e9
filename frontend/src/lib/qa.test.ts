import { describe, expect, it } from "vitest";
import type { QaRecall, QaSummary, QaTrend } from "../api/types";
import { binDrill, numberText, pValueText, qaQuery, queryString, recallDrill, trendDrill } from "./qa";
import { BIN_COLOURS, binChart, recallChart, trendChart } from "./qaCharts";

const bins = ["0–5", "5–10", "10–15", "15–25", "25–100"].map((label) => ({ label }));
const site = (label: string, site_id: string, counts: number[]) => ({
  label, site_id, key: site_id, whole: { n: counts.reduce((a, b) => a + b, 0), bins: counts.map((count) => ({ count })) },
});
const summary = { bins, sites: [site("North", "s1", [2, 1, 1, 0, 0]), site("South", "s2", [0, 0, 0, 0, 0])] } as unknown as QaSummary;
const trend = {
  weeks: ["2026-11-02", "2026-11-09"],
  series: [{ key: "7", label: "Tess", kind: "technician", points: [{ mean_whole: 4, mean_lesion: 6 }, { mean_whole: null, mean_lesion: 2 }] }],
} as unknown as QaTrend;
const recall = { overall: [{ threshold: 10, whole_recalls: 5, lesion_recalls: 3 }, { threshold: 25, whole_recalls: 2, lesion_recalls: 1 }] } as unknown as QaRecall;

describe("the dashboards' filters", () => {
  it("leave empty filters out of the query and of the CSV links", () => {
    expect(qaQuery({ date_from: "2026-11-01", site: "" })).toEqual({ params: { query: { date_from: "2026-11-01" } } });
    expect(queryString({ date_from: "2026-11-01", site: "", table: "groups" })).toBe("date_from=2026-11-01&table=groups");
  });

  it("write numbers and p values as the tables show them", () => {
    expect([numberText(null), numberText(4.26), numberText(4.26, 0)]).toEqual(["—", "4.3", "4"]);
    expect([pValueText(undefined), pValueText(0.00001), pValueText(0.01234)]).toEqual(["—", "< 0.0001", "0.0123"]);
  });
});

describe("what each number opens", () => {
  it("opens the mosaics a rule recalls, the same from the table and the chart", () => {
    expect(recallDrill({ row: { threshold: 10 }, rule: "whole" }))
      .toEqual({ title: "Recalled by the whole-mosaic rule at 10%", params: { recalled_at: "10", rule: "whole" } });
    expect(recallDrill({ row: { threshold: 25 }, rule: "lesion" }).title).toBe("Recalled by the lesional rule at 25%");
  });

  it("opens a site's mosaics in one bin, and a series' mosaics in one week", () => {
    expect(binDrill({ summary, bin: 1, site: 0 }))
      .toEqual({ title: "North: 5–10% uninformative (whole mosaic)", params: { site: "s1", measure: "whole", bin: "5-10" } });
    expect(trendDrill({ trend, series: 0, week: 1 }))
      .toEqual({ title: "Tess: week of 2026-11-09", params: { technician: "7", week: "2026-11-09" } });
  });
});

describe("the dashboards' charts", () => {
  it("stack each site's share of mosaics per bin to 100%, an empty site at 0", () => {
    const chart = binChart({ summary })!;
    expect(chart.data.labels).toEqual(["North", "South"]);
    expect(chart.data.datasets.map((d) => d.data)).toEqual([[50, 0], [25, 0], [25, 0], [0, 0], [0, 0]]);
    expect(chart.data.datasets.map((d) => (d as { backgroundColor?: string }).backgroundColor)).toEqual(BIN_COLOURS);
    expect(binChart({ summary: { ...summary, sites: [] } })).toBeNull();
  });

  it("draw the trend of the chosen measure, gaps kept as gaps", () => {
    expect(trendChart({ trend, measure: "mean_whole" })!.data.datasets[0].data).toEqual([4, null]);
    expect(trendChart({ trend, measure: "mean_lesion" })!.data.datasets[0].data).toEqual([6, 2]);
    expect(trendChart({ trend: null, measure: "mean_whole" })).toBeNull();
  });

  it("put the whole-mosaic rule first and the lesional rule second", () => {
    const chart = recallChart({ recall })!;
    expect(chart.data.labels).toEqual(["≥ 10%", "≥ 25%"]);
    expect(chart.data.datasets.map((d) => [d.label, d.data])).toEqual([["Whole-mosaic rule", [5, 2]], ["Lesional rule", [3, 1]]]);
    expect(recallChart({ recall: { ...recall, overall: [] } })).toBeNull();
  });
});
