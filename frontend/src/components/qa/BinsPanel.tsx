/** Each site's mosaics in the paper's bins (whole mosaic) as stacked bars; a bar opens its mosaics. */
import { useMemo } from "react";
import type { QaSummary } from "../../api/types";
import { binDrill, type Drill } from "../../lib/qa";
import { binChart } from "../../lib/qaCharts";
import { ChartView } from "../ChartView";

export function BinsPanel({ summary, onDrill }: { summary: QaSummary; onDrill: (drill: Drill) => void }) {
  const chart = useMemo(() => binChart({ summary }), [summary]);
  if (!chart) return null;
  return (
    <section className="panel"><h2>Distribution in the paper's bins (whole mosaic)</h2>
      <ChartView config={chart} label="Share of mosaics per bin and site" height={Math.max(160, 50 + 34 * summary.sites.length)} testId="qa-bins-chart"
        onPick={(bin, site) => onDrill(binDrill({ summary, bin, site }))} />
    </section>
  );
}
