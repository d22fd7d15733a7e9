/** The case's quality block: what the report will carry (verdict, % uninformative per mosaic over
 * the mosaic and within the lesion, expert agreement) with the model's identity beside it. */
import type { CaseQuality } from "../api/types";
import { mosaicLabels } from "../lib/depth";
import { agreementText, intervalTitle, modelText, percentRange } from "../lib/format";
import { VerdictBadge } from "./VerdictBadge";

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
                  <td className="num" title={intervalTitle(mosaic.interval_coverage)} data-testid="quality-percent-whole">{percentRange(mosaic.percent_whole, mosaic.interval_whole)}</td>
                  <td className="num" title={intervalTitle(mosaic.interval_coverage)}>{percentRange(mosaic.percent_lesion, mosaic.interval_lesion)}</td>
                  <td><VerdictBadge verdict={mosaic.verdict} /></td>
                </>
              ) : (
                <td colSpan={3} className="muted small">{mosaic.note ?? mosaic.error ?? mosaic.state}</td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {quality.mosaics.map((m) => {
        if (!m.agreement) return null;
        const { figures, by } = agreementText(m.agreement);
        return (
          <p key={m.image} className="small" data-testid="expert-agreement">Expert vs model on {names[m.image]}: {figures}
            {by ? <span className="muted"> ({by})</span> : null}</p>
        );
      })}
      <p className="muted small">Model: {modelText(quality.mosaics.find((m) => m.model)?.model)}</p>
    </section>
  );
}
