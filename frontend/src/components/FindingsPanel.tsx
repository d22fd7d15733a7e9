/** The model findings of a case (diagnosis, body region), each with the model's identity so a
 * reader knows what produced a number. */
import type { CaseFindings, Finding } from "../api/types";
import { modelText } from "../lib/format";

const STEP_TEXT: Record<string, string> = {
  diagnosis: "Diagnosis (image + body location, model B)",
  diagnosis_image_only: "Diagnosis (image only, model A)",
  body_region: "Body region (clinical photo)",
  lesion_segmentation: "Lesion outline (dermoscopy)",
};

function FindingRow({ finding }: { finding: Finding }) {
  const result = finding.result;
  const ranked = result?.ranked ?? [];
  return (
    <div className="finding" data-step={finding.step}>
      <h3>{STEP_TEXT[finding.step] ?? finding.step}</h3>
      {finding.state !== "succeeded" ? <p className="muted small">{finding.state}</p> : null}
      {ranked.length ? (
        <ol className="ranked">
          {ranked.slice(0, 3).map((entry) => (
            <li key={entry.label}>
              <span className="bar" style={{ width: `${Math.round(entry.probability * 100)}%` }} />
              <span className="bar-label">{entry.name ?? entry.label} <b>{(entry.probability * 100).toFixed(0)}%</b></span>
            </li>
          ))}
        </ol>
      ) : null}
      {result?.location ? (
        <p className="small muted">Location: {result.location.location.replace(/_/g, " ")} ({result.location.source.replace(/_/g, " ")})</p>
      ) : null}
      {result?.suggested_site ? <p className="small muted">Suggested site: {result.suggested_site.anatom_site} — a person confirms it.</p> : null}
      <p className="small muted">{modelText(finding.model)}{result?.note ? ` · ${result.note}` : ""}</p>
    </div>
  );
}

export function FindingsPanel({ findings }: { findings: CaseFindings | null }) {
  const shown = findings?.findings.filter((f) => f.step !== "lesion_segmentation") ?? [];
  return (
    <section className="panel" aria-label="Model results" data-testid="findings-panel">
      <h2>Model results</h2>
      {!findings ? <p className="muted">Loading…</p> : !shown.length ? <p className="muted">No model results for this case.</p> : null}
      {shown.map((finding) => <FindingRow key={`${finding.image}-${finding.step}`} finding={finding} />)}
      <p className="small muted">Decision support only; not for clinical use.</p>
    </section>
  );
}
