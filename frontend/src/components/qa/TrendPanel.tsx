/** The weekly trend of the mean % uninformative, per site or per technician; a point opens its week's mosaics. */
import { useMemo } from "react";
import type { QaTrend } from "../../api/types";
import { trendDrill, type Drill, type TrendMeasure } from "../../lib/qa";
import { trendChart } from "../../lib/qaCharts";
import { ChartView } from "../ChartView";

interface Props {
  trend: QaTrend | null;
  measure: TrendMeasure;
  onMeasure: (measure: TrendMeasure) => void;
  group: "site" | "technician";
  onGroup: (group: "site" | "technician") => void;
  onDrill: (drill: Drill) => void;
}

export function TrendPanel({ trend, measure, onMeasure, group, onGroup, onDrill }: Props) {
  const chart = useMemo(() => trendChart({ trend, measure }), [trend, measure]);
  if (!chart || !trend) return null;
  return (
    <section className="panel"><h2>Weekly trend
      <select value={measure} onChange={(e) => onMeasure(e.target.value as TrendMeasure)} aria-label="Trend measure">
        <option value="mean_whole">whole mosaic</option><option value="mean_lesion">within lesion</option></select>
      <select value={group} onChange={(e) => onGroup(e.target.value as "site" | "technician")} aria-label="Trend per">
        <option value="site">per site</option><option value="technician">per technician</option></select></h2>
      <ChartView config={chart} label="Mean % uninformative per week and site" testId="qa-trend-chart"
        onPick={(series, week) => onDrill(trendDrill({ trend, series, week }))} />
    </section>
  );
}
