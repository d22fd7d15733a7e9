/** The quality dashboards' charts as Chart.js configurations, built from the API's answers: the
 * share of each site's mosaics per bin, the weekly trend, and the recalls of each rule. */
import type { ChartConfiguration } from "chart.js";
import type { QaRecall, QaSummary, QaTrend } from "../api/types";
import type { TrendMeasure } from "./qa";

export const SERIES_COLOURS = ["#4ea1ff", "#3ecf8e", "#f5b942", "#ff6b5a", "#b48cff", "#4dd8e0", "#ff9fd2", "#c0c66b"];
export const BIN_COLOURS = ["#2f9e6e", "#7cc36b", "#f5b942", "#f08a3c", "#e0483a"];

/** Per site, the % of its mosaics in each of the paper's bins (whole mosaic), stacked to 100. */
export function binChart({ summary }: { summary: QaSummary | null }): ChartConfiguration | null {
  if (!summary?.sites.length) return null;
  return {
    type: "bar",
    data: {
      labels: summary.sites.map((g) => g.label),
      datasets: summary.bins.map((bin, index) => ({
        label: `${bin.label}%`, backgroundColor: BIN_COLOURS[index],
        data: summary.sites.map((g) => (g.whole.n ? (100 * g.whole.bins[index].count) / g.whole.n : 0)),
      })),
    },
    options: {
      indexAxis: "y",
      scales: { x: { stacked: true, max: 100, title: { display: true, text: "% of the site's mosaics" } }, y: { stacked: true } },
      plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${Number(item.raw).toFixed(1)}% of mosaics` } } },
    },
  };
}

/** One line per site or technician: the week's mean % uninformative (whole or within the lesion). */
export function trendChart({ trend, measure }: { trend: QaTrend | null; measure: TrendMeasure }): ChartConfiguration | null {
  if (!trend?.series.length) return null;
  return {
    type: "line",
    data: {
      labels: trend.weeks,
      datasets: trend.series.map((series, index) => ({
        label: series.label, borderColor: SERIES_COLOURS[index % SERIES_COLOURS.length], backgroundColor: SERIES_COLOURS[index % SERIES_COLOURS.length],
        data: series.points.map((p) => p[measure]), spanGaps: true, tension: 0.2,
      })),
    },
    options: {
      scales: { y: { beginAtZero: true, title: { display: true, text: measure === "mean_whole" ? "mean % uninformative (whole)" : "mean % uninformative (lesion)" } },
        x: { title: { display: true, text: "week starting" } } },
      plugins: { legend: { position: "bottom" } },
    },
  };
}

/** Mosaics recalled at each threshold by the whole-mosaic rule (dataset 0) and the lesional rule (dataset 1). */
export function recallChart({ recall }: { recall: QaRecall | null }): ChartConfiguration | null {
  if (!recall?.overall.length) return null;
  return {
    type: "bar",
    data: {
      labels: recall.overall.map((row) => `≥ ${row.threshold}%`),
      datasets: [
        { label: "Whole-mosaic rule", backgroundColor: "#ff6b5a", data: recall.overall.map((row) => row.whole_recalls) },
        { label: "Lesional rule", backgroundColor: "#4ea1ff", data: recall.overall.map((row) => row.lesion_recalls) },
      ],
    },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: "mosaics recalled" } } }, plugins: { legend: { position: "bottom" } } },
  };
}
