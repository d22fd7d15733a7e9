/** The recall simulation: at each threshold, how many mosaics the whole-mosaic rule and the lesional
 * rule would recall for re-imaging, and how many recalls the lesional rule saves. */
import { useMemo } from "react";
import type { QaRecall } from "../../api/types";
import { numberText, recallDrill, type Drill } from "../../lib/qa";
import { recallChart } from "../../lib/qaCharts";
import { ChartView } from "../ChartView";
import { DrillCount } from "./DrillCount";

export function RecallSection({ recall, onDrill }: { recall: QaRecall; onDrill: (drill: Drill) => void }) {
  const chart = useMemo(() => recallChart({ recall }), [recall]);
  return (
    <>
      <h2 className="section-title">Recall simulation <span className="muted small">re-image when % uninformative ≥ threshold; {recall.overall[0]?.n ?? 0} mosaics with a lesional %{recall.n_without_lesion ? `, ${recall.n_without_lesion} without (not counted)` : ""}</span></h2>
      <div className="qa-charts">
        <table className="grid qa-table" aria-label="Recall simulation">
          <thead><tr><th>Threshold</th><th>Whole-mosaic rule</th><th>Lesional rule</th><th>Recalls saved</th></tr></thead>
          <tbody>
            {recall.overall.map((row) => (
              <tr key={row.threshold} data-testid="qa-recall-row">
                <td>≥ {row.threshold}%</td>
                <td className="num"><DrillCount n={row.whole_recalls} label={`Whole-mosaic recalls at ${row.threshold}%`}
                  onDrill={() => onDrill(recallDrill({ row, rule: "whole" }))} /></td>
                <td className="num"><DrillCount n={row.lesion_recalls} label={`Lesional recalls at ${row.threshold}%`}
                  onDrill={() => onDrill(recallDrill({ row, rule: "lesion" }))} /></td>
                <td className="num strong">{row.saved} {row.saved_percent != null ? <span className="muted">({numberText(row.saved_percent, 0)}%)</span> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {chart ? <section className="panel"><ChartView config={chart} label="Mosaics recalled per rule and threshold" testId="qa-recall-chart"
          onPick={(rule, index) => onDrill(recallDrill({ row: recall.overall[index], rule: rule === 0 ? "whole" : "lesion" }))} /></section> : null}
      </div>
    </>
  );
}
