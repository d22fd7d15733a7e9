/** The case's images in reading order, each with its way from stored to analysed and its verdict;
 * the replaced ones (kept as history) on request. */
import { useState } from "react";
import type { CaseImage, MosaicQuality } from "../../api/types";
import { STAGES, type Progress } from "../../lib/capture";
import { imageTitle } from "../../lib/depth";
import { VerdictBadge } from "../VerdictBadge";

function StepBar({ done, failed }: { done: number; failed: boolean }) {
  return (
    <ol className={`steps${failed ? " failed" : ""}`} aria-label="Progress">
      {STAGES.map((stage, index) => <li key={stage} className={index < done ? "done" : ""}>{stage}</li>)}
    </ol>
  );
}

interface Props {
  current: CaseImage[];
  history: CaseImage[];
  shownMosaicId: string | null;
  progressOf: (image: CaseImage) => Progress;
  qualityOf: Map<string, MosaicQuality>;
  /** Replace and remove are offered while the case's images may change. */
  editable: boolean;
  onShowMosaic: (imageId: string) => void;
  onReplace: (image: CaseImage) => void;
  onRemove: (image: CaseImage) => void;
}

export function CaseImageList({ current, history, shownMosaicId, progressOf, qualityOf, editable, onShowMosaic, onReplace, onRemove }: Props) {
  const [showHistory, setShowHistory] = useState(false);
  return (
    <section className="panel" aria-label="Images of the case">
      <h2>Images <span className="muted small">{current.length}</span></h2>
      {!current.length ? <p className="muted small">No images yet.</p> : null}
      <ul className="image-list">
        {current.map((image) => {
          const progress = progressOf(image);
          const judged = qualityOf.get(image.id);
          return (
            <li key={image.id} className={`image-row${image.id === shownMosaicId ? " selected" : ""}`} data-testid="case-image"
              data-image={image.id} data-stage={progress.stage}>
              <button type="button" className="thumb" onClick={() => image.kind === "rcm_mosaic" && onShowMosaic(image.id)}
                aria-label={`Show ${imageTitle(image)}`}>
                {image.thumbnail_url ? <img src={image.thumbnail_url} alt="" /> : <span className="thumb-missing">…</span>}
              </button>
              <div className="image-info">
                <div><strong>{imageTitle(image)}</strong> {judged?.verdict ? <VerdictBadge verdict={judged.verdict} /> : null}</div>
                <StepBar done={progress.done} failed={progress.stage === "failed"} />
                <div className={`small ${progress.stage === "failed" ? "error" : "muted"}`}>{progress.text}</div>
                {image.device_profile_code ? <div className="small muted">Device layout: {image.device_profile_code}</div> : null}
                {editable ? (
                  <div className="row-actions">
                    {image.kind !== "clinical" ? <button type="button" className="link" onClick={() => onReplace(image)}>Replace image</button> : null}
                    <button type="button" className="link" onClick={() => onRemove(image)}>Remove</button>
                  </div>
                ) : null}
              </div>
            </li>
          );
        })}
      </ul>
      {history.length ? (
        <>
          <button type="button" className="link small" onClick={() => setShowHistory(!showHistory)}>
            {showHistory ? "Hide" : "Show"} {history.length} replaced image{history.length === 1 ? "" : "s"}</button>
          {showHistory ? (
            <ul className="image-list history" aria-label="Replaced images">
              {history.map((image) => (
                <li key={image.id} className="image-row replaced" data-testid="replaced-image">
                  <span className="thumb">{image.thumbnail_url ? <img src={image.thumbnail_url} alt="" /> : null}</span>
                  <div className="image-info small"><strong>{imageTitle(image)}</strong>
                    <div className="muted">replaced {image.replaced_at ? new Date(image.replaced_at).toLocaleString() : ""}</div></div>
                </li>
              ))}
            </ul>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
