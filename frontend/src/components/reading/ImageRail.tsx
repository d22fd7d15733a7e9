/** The case's images down the side in reading order, each with its verdict dot; the replaced
 * captures (history) on request. */
import { useState } from "react";
import type { CaseImage, CaseQuality } from "../../api/types";
import { imageTitle } from "../../lib/depth";

interface Props {
  ordered: CaseImage[];
  replaced: CaseImage[];
  selectedId: string | null;
  quality: CaseQuality | null;
  onSelect: (imageId: string) => void;
}

export function ImageRail({ ordered, replaced, selectedId, quality, onSelect }: Props) {
  const [showHistory, setShowHistory] = useState(false);
  return (
    <nav className="rail" aria-label="Images">
      {[...ordered, ...(showHistory ? replaced : [])].map((image) => {
        const verdict = quality?.mosaics.find((m) => m.image === image.id)?.verdict;
        return (
          <button type="button" key={image.id} className={`rail-item ${image.id === selectedId ? "active" : ""}${image.replaced_by ? " replaced" : ""}`}
            onClick={() => onSelect(image.id)} data-testid="rail-item" data-kind={image.kind} data-depth={image.depth_level}
            aria-pressed={image.id === selectedId}>
            {image.thumbnail_url && image.status === "ready" ? <img src={image.thumbnail_url} alt="" loading="lazy" /> : <span className="thumb-missing">{image.status}</span>}
            <span>{imageTitle(image)}{image.replaced_by ? <em className="small"> · replaced{image.replaced_at
              ? ` ${new Date(image.replaced_at).toLocaleDateString()}` : ""} (history)</em> : null}</span>
            {verdict ? <span className={`dot verdict-${verdict}`} /> : null}
          </button>
        );
      })}
      {replaced.length ? (
        <button type="button" className="link small" aria-pressed={showHistory} onClick={() => setShowHistory((on) => !on)}
          data-testid="history-toggle">
          {showHistory ? "Hide" : "Show"} {replaced.length} replaced image{replaced.length === 1 ? "" : "s"} (history)</button>
      ) : null}
    </nav>
  );
}
