/** The bar over the reader's viewer: which image, its frame and spacing, which overlay and how
 * opaque, zoom, the ruler, comparing with the previous visit, and outlining. */
import type { OverlayDescriptor } from "../../api/types";
import { lengthText } from "../../lib/registration";
import { OpacitySlider } from "../OverlayControls";

interface Props {
  title: string;
  frameDepthUm: number | null | undefined;
  pixelSpacingUm: number | null | undefined;
  overlayChoices: OverlayDescriptor[];
  overlay: OverlayDescriptor | null;
  onOverlayKind: (kind: string) => void;
  overlayOn: boolean;
  onOverlayOn: (on: boolean) => void;
  opacity: number;
  /** A moved slider shows the overlay again. */
  onOpacity: (opacity: number) => void;
  onZoom: (factor: number) => void;
  onHome: () => void;
  measuring: boolean;
  onMeasure: () => void;
  measuredUm: number | null;
  rulerPoints: number;
  /** The previous visit's date when it has a mosaic at this depth. */
  compareWith: string | null;
  comparing: boolean;
  onCompare: () => void;
  /** What outlining means on this image, or null where this reader may not outline. */
  outlineTool: "lesion" | "expert" | null;
  annotating: boolean;
  onAnnotate: () => void;
}

export function StageToolbar(props: Props) {
  const { overlayChoices, overlay, measuring, measuredUm, outlineTool } = props;
  return (
    <div className="stage-bar">
      <b data-testid="viewer-title">{props.title}</b>
      {props.frameDepthUm != null ? <span className="muted">frame at {props.frameDepthUm} µm</span> : null}
      {props.pixelSpacingUm ? <span className="muted">{props.pixelSpacingUm} µm/px</span> : null}
      <span className="spacer" />
      {overlayChoices.length ? (
        <>
          {overlayChoices.length > 1 ? (
            <select aria-label="Overlay" value={overlay?.kind} onChange={(e) => props.onOverlayKind(e.target.value)}>
              {overlayChoices.map((o) => <option key={o.id} value={o.kind}>{o.label}</option>)}
            </select>
          ) : null}
          <label className="check"><input type="checkbox" checked={props.overlayOn} onChange={(e) => props.onOverlayOn(e.target.checked)}
            aria-label="Show overlay" /> Overlay</label>
          <OpacitySlider opacity={props.opacity} onChange={props.onOpacity} withPercent />
        </>
      ) : <span className="muted small">No overlay for this image</span>}
      <button type="button" onClick={() => props.onZoom(1.5)} aria-label="Zoom in">+</button>
      <button type="button" onClick={() => props.onZoom(1 / 1.5)} aria-label="Zoom out">−</button>
      <button type="button" onClick={props.onHome} title="h">Fit</button>
      {props.pixelSpacingUm ? (
        <button type="button" className={measuring ? "primary" : ""} aria-pressed={measuring} onClick={props.onMeasure}
          title="Click two points to measure the distance between them">Measure</button>) : null}
      {props.compareWith ? (
        <button type="button" className={props.comparing ? "primary" : ""} aria-pressed={props.comparing}
          onClick={props.onCompare} title="The previous visit's mosaic at this depth, side by side">
          Compare with {props.compareWith}</button>) : null}
      {measuring ? (
        <span className="num" data-testid="measurement" data-um={measuredUm != null ? measuredUm.toFixed(1) : ""}>
          {measuredUm != null ? lengthText(measuredUm) : props.rulerPoints ? "click the second point" : "click the first point"}</span>) : null}
      {outlineTool ? (
        <button type="button" className={props.annotating ? "primary" : ""} onClick={props.onAnnotate}
          title={outlineTool === "lesion" ? "Outline the lesion (a)" : "Outline uninformative areas, as an expert annotation (a)"}>
          {props.annotating ? "Stop outlining" : outlineTool === "lesion" ? "Outline lesion" : "Outline"}
        </button>
      ) : null}
    </div>
  );
}
