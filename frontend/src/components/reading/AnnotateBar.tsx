/** The outlining toolbar under the viewer: how to draw, how many shapes, close, save, discard. */
import type { ShapeDrawing } from "../../hooks/useShapeDrawing";

export function AnnotateBar({ drawing, onSave }: { drawing: ShapeDrawing; onSave: () => void }) {
  const { draft, drawn } = drawing;
  return (
    <div className="annotate-bar" role="toolbar" aria-label="Outlining">
      <span>Click to add points · double-click or Enter closes a shape · Esc drops it</span>
      <span className="num">{drawn.length} shape(s){draft.length ? `, ${draft.length} point(s) open` : ""}</span>
      <button type="button" onClick={drawing.finishShape} disabled={draft.length < 3}>Close shape</button>
      <button type="button" className="primary" onClick={onSave}>Save</button>
      <button type="button" onClick={drawing.discard}>Discard</button>
    </div>
  );
}
