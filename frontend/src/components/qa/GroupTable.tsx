/** Sites or technicians side by side: % uninformative over the mosaic and within the lesion, the
 * paper's bins, re-image verdicts, and how each compares with the others (Holm-corrected p, effect size). */
import type { QaDescribe, QaGroup } from "../../api/types";
import { BIN_KEYS, numberText, pValueText, type Drill, type Filters } from "../../lib/qa";
import { DrillCount } from "./DrillCount";

function Stats({ stats }: { stats: QaDescribe }) {
  return <><td className="num">{numberText(stats.mean)}</td><td className="num">{numberText(stats.median)}</td><td className="num">{numberText(stats.sd)}</td></>;
}

export function GroupTable({ groups, kind, onDrill }: { groups: QaGroup[]; kind: "site" | "technician"; onDrill: (d: Drill) => void }) {
  const scope = (group: QaGroup): Filters => (kind === "site" ? { site: group.site_id ?? "" } : { technician: group.key });
  return (
    <table className="grid qa-table" aria-label={kind === "site" ? "Sites" : "Technicians"}>
      <thead>
        <tr><th rowSpan={2}>{kind === "site" ? "Site" : "Technician"}</th><th rowSpan={2}>Mosaics</th>
          <th colSpan={3}>% uninformative, whole mosaic</th><th colSpan={3}>% uninformative, within lesion</th>
          <th colSpan={5}>Mosaics per bin (whole, %)</th><th rowSpan={2}>Re-image</th><th rowSpan={2}>Compared with the others</th></tr>
        <tr><th>mean</th><th>median</th><th>SD</th><th>mean</th><th>median</th><th>SD</th>
          {BIN_KEYS.map((bin) => <th key={bin}>{bin.replace("-", "–")}</th>)}</tr>
      </thead>
      <tbody>
        {groups.map((group) => (
          <tr key={`${group.site_id}-${group.key}`} className={group.outlier.flagged ? "flagged" : ""} data-testid={`qa-${kind}-row`}
            data-label={group.label} data-flagged={group.outlier.flagged ? "true" : "false"}>
            <td>{group.label}{kind === "technician" ? <div className="muted small">{group.site_name}</div> : null}</td>
            <td className="num"><DrillCount n={group.n_mosaics} label={`Mosaics of ${group.label}`}
              onDrill={() => onDrill({ title: `${group.label}: all mosaics`, params: scope(group) })} /></td>
            <Stats stats={group.whole} /><Stats stats={group.lesion} />
            {group.whole.bins.map((bin, index) => (
              <td key={bin.label} className="num"><DrillCount n={bin.count} label={`${group.label}, ${bin.label}%`}
                onDrill={() => onDrill({ title: `${group.label}: ${bin.label}% uninformative (whole mosaic)`, params: { ...scope(group), measure: "whole", bin: BIN_KEYS[index] } })} /></td>
            ))}
            <td className="num"><DrillCount n={group.verdicts.reimage ?? 0} label={`${group.label}, re-image verdicts`}
              onDrill={() => onDrill({ title: `${group.label}: re-image recommended`, params: { ...scope(group), verdict: "reimage" } })} /></td>
            <td className="evidence small">
              {group.outlier.flagged ? <span className="badge verdict-reimage" data-testid="qa-flag">Outlier</span> : null}{" "}
              {[group.outlier.whole, group.outlier.lesion].filter((e) => e.status === "tested").map((e) => (
                <span key={e.measure} className={e.flagged ? "" : "muted"}>
                  {e.measure === "whole" ? "whole" : "lesion"}: p<sub>Holm</sub> {pValueText(e.p_adjusted)}, r = {numberText(e.effect_size, 2)} ({e.magnitude}{e.direction ? `, ${e.direction}` : ""}).{" "}
                </span>
              ))}
              {group.outlier.whole.status !== "tested" ? <span className="muted">too few mosaics to test ({group.outlier.whole.n} vs {group.outlier.whole.pool_n})</span> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
