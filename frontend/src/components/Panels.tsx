/** The case's side panels: the quality block (what the report will carry) and the model findings,
 * each with the model's identity so a reader knows what produced a number. */
import type { CaseFindings, CaseQuality, ExpertAgreement, Finding, LegendEntry } from "../api/types";
import { mosaicLabels } from "../lib/depth";
import { agreementText, modelText, percent } from "../lib/format";
import { VerdictBadge } from "../pages/WorklistPage";

export function Legend({ entries }: { entries: LegendEntry[] }) {
  return (
    <ul className="legend" aria-label="Overlay legend">
      {entries.map((entry) => (
        <li key={entry.label}><span className="swatch" style={{ background: entry.colour, opacity: entry.alpha ?? 1 }} />{entry.label}</li>
      ))}
    </ul>
  );
}

export function QualityPanel({ quality, selectedImage }: { quality: CaseQuality | null; selectedImage: string | null }) {
  if (!quality) return <section className="panel"><h2>Image quality</h2><p className="muted">Loading…</p></section>;
  const names = mosaicLabels(quality.mosaics);
  const shortNames = mosaicLabels(quality.mosaics, { short: true });
  return (
    <section className="panel" aria-label="Image quality" data-testid="quality-panel">
      <h2>Image quality <VerdictBadge verdict={quality.verdict} final={quality.verdict_is_final} /></h2>
      <p className="muted small">
        Thresholds: review from {quality.thresholds.review_at_percent}% uninformative, re-image from{" "}
        {quality.thresholds.reimage_at_percent}%. {quality.pending ? `${quality.pending} analysis pending. ` : ""}
        {quality.failed ? `${quality.failed} failed. ` : ""}
        {quality.lesion_outline ? `Lesion outlined by ${quality.lesion_outline.source === "person" ? "a person" : "the model"}.` : "No lesion outline."}
      </p>
      <table className="compact">
        <thead><tr><th>Mosaic</th><th>Whole</th><th>Lesion</th><th>Verdict</th></tr></thead>
        <tbody>
          {quality.mosaics.map((mosaic) => (
            <tr key={mosaic.image} className={mosaic.image === selectedImage ? "selected" : ""}>
              <td title={names[mosaic.image]} data-testid="quality-mosaic-name">{shortNames[mosaic.image]}</td>
              {mosaic.state === "done" ? (
                <>
                  <td className="num">{percent(mosaic.percent_whole)}</td>
                  <td className="num">{percent(mosaic.percent_lesion)}</td>
                  <td><VerdictBadge verdict={mosaic.verdict} /></td>
                </>
              ) : (
                <td colSpan={3} className="muted small">{mosaic.note ?? mosaic.error ?? mosaic.state}</td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {quality.mosaics.filter((m) => m.agreement).map((m) => {
        const { figures, by } = agreementText(m.agreement as unknown as ExpertAgreement);
        return (
          <p key={m.image} className="small" data-testid="expert-agreement">Expert vs model on {names[m.image]}: {figures}
            {by ? <span className="muted"> ({by})</span> : null}</p>
        );
      })}
      <p className="muted small">Model: {modelText(quality.mosaics.find((m) => m.model)?.model)}</p>
    </section>
  );
}

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
