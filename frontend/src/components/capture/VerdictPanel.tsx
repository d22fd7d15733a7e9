/** The technician's answer within seconds: the case's quality verdict, each mosaic's % uninformative
 * (within the lesion and over the whole mosaic) and where the problem lies, why the shown mosaic
 * was judged as it was, and the tools that help (register the mosaic, outline the lesion). */
import type { CaseQuality, LesionOutline, MosaicQuality, Registration } from "../../api/types";
import type { BasisGuidance } from "../../lib/captureView";
import { DEPTH_TEXT } from "../../lib/depth";
import { VERDICT_TEXT, intervalTitle, percentRange } from "../../lib/format";
import { VerdictBadge } from "../VerdictBadge";
import { ProblemNote } from "./ProblemNote";

interface Props {
  quality: CaseQuality | null;
  shownMosaicId: string | null;
  shownQuality: MosaicQuality | null;
  guidance: BasisGuidance | null;
  registration: Registration | null | undefined;
  outline: LesionOutline | null;
  /** "Replace image" is offered on a mosaic to re-image while the case's images may change. */
  editable: boolean;
  onShowMosaic: (imageId: string) => void;
  onReplace: (imageId: string) => void;
  onRegister: () => void;
  onOutline: () => void;
}

export function VerdictPanel({ quality, shownMosaicId, shownQuality, guidance, registration, outline, editable, onShowMosaic, onReplace, onRegister, onOutline }: Props) {
  return (
    <section className="panel verdict-panel" aria-label="Quality verdict" data-testid="capture-verdict">
      <div className="verdict-head">
        <span className="verdict-title">Image quality</span>
        {quality?.state === "no_mosaics" ? <span className="muted">Add an RCM mosaic at the dermal-epidermal junction to get a verdict.</span> : (
          <span className={`big-verdict verdict-${quality?.verdict ?? "pending"}`} data-testid="case-verdict">
            {quality?.verdict ? VERDICT_TEXT[quality.verdict] : "Analysing…"}
            {quality?.verdict && !quality.verdict_is_final ? " (so far)" : ""}
          </span>
        )}
        <span className="spacer" />
        {quality ? <span className="muted small">review from {quality.thresholds.review_at_percent}% · re-image from {quality.thresholds.reimage_at_percent}% uninformative{quality.lesion_outline ? "" : " · no lesion outline yet (judged on the whole mosaic)"}</span> : null}
      </div>
      {quality?.mosaics.length ? (
        <table className="compact mosaic-table">
          <thead><tr><th>Mosaic</th><th>State</th><th>Within lesion</th><th>Whole mosaic</th><th>Verdict</th><th>Where</th><th /></tr></thead>
          <tbody>
            {quality.mosaics.map((mosaic) => (
              <tr key={mosaic.image} className={mosaic.image === shownMosaicId ? "selected" : ""} onClick={() => onShowMosaic(mosaic.image)}
                data-testid="mosaic-verdict" data-verdict={mosaic.verdict ?? ""}>
                <td>{DEPTH_TEXT[mosaic.depth_level] ?? mosaic.depth_level}{mosaic.depth_um != null ? ` · ${mosaic.depth_um} µm` : ""}</td>
                <td className="small">{mosaic.state === "done" ? "judged" : mosaic.state.replace("_", " ")}</td>
                <td className="num strong" title={intervalTitle(mosaic.interval_coverage)}>{percentRange(mosaic.percent_lesion, mosaic.interval_lesion)}</td>
                <td className="num" title={intervalTitle(mosaic.interval_coverage)} data-testid="mosaic-percent-whole">{percentRange(mosaic.percent_whole, mosaic.interval_whole)}</td>
                <td>{mosaic.verdict ? <VerdictBadge verdict={mosaic.verdict} /> : mosaic.state === "not_applicable" ? <span className="muted small">not judged at this depth</span> : "…"}</td>
                <td className="small">{mosaic.problem_region?.description ?? ""}</td>
                <td>{editable && mosaic.verdict && mosaic.verdict !== "acceptable" ? (
                  <button type="button" onClick={(e) => { e.stopPropagation(); onReplace(mosaic.image); }}>Replace image</button>
                ) : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {shownQuality ? <ProblemNote mosaic={shownQuality} /> : null}
      {guidance ? (
        <div className="basis-help" data-testid="basis-help">
          <p className="small">{guidance.text}</p>
          {guidance.actions.includes("register") && shownMosaicId ? (
            <button type="button" className="primary" onClick={onRegister}>
              {registration ? "Register the mosaic again" : "Register the mosaic"}</button>) : null}
          {guidance.actions.includes("outline") ? (
            <button type="button" className={registration ? "primary" : ""} onClick={onOutline}>
              {outline?.source === "person" ? "Edit the lesion outline" : outline ? "Correct the model's outline" : "Outline the lesion"}</button>) : null}
        </div>
      ) : null}
    </section>
  );
}
