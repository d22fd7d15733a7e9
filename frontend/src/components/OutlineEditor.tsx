/** Outlining the lesion on the dermoscopy image: start from the outline there is (the model's
 * segmentation, or a person's earlier outline) and drag its vertices, click to add one on the
 * nearest edge, double-click a vertex to remove it; or draw a new one point by point or freehand.
 * Saving makes it the person's outline, which wins over the model's; the mosaics are judged again. */
import { useEffect, useState } from "react";
import { api, errorMessage } from "../api/client";
import type { LesionOutline, ViewerDescriptor } from "../api/types";
import { insertVertex, strokeToPolygon } from "../lib/outline";
import type { Point } from "../lib/registration";
import { DeepZoomViewer, type ViewerPolygon } from "./DeepZoomViewer";

type Mode = "edit" | "points" | "freehand";
const MODE_TEXT: Record<Mode, string> = {
  edit: "Drag a vertex to move it · click near an edge to add one · double-click a vertex to remove it",
  points: "Click around the lesion's border · double-click or Enter closes the outline",
  freehand: "Press and draw around the lesion's border; release to close it",
};

interface Props {
  dermoscopyId: string;
  dermoscopy: ViewerDescriptor;
  outline: LesionOutline | null;
  extraShapes?: ViewerPolygon[];
  onSaved: (outline: LesionOutline | null) => void;
  onClose: () => void;
}

export function OutlineEditor({ dermoscopyId, dermoscopy, outline, extraShapes = [], onSaved, onClose }: Props) {
  const start = outline?.polygon?.length ? outline.polygon.map((p) => [p[0], p[1]] as Point) : [];
  const [history, setHistory] = useState<Point[][]>([start]);
  const [at, setAt] = useState(0);
  const [mode, setMode] = useState<Mode>(start.length ? "edit" : "points");
  const [draft, setDraft] = useState<Point[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const polygon = history[at];

  const commit = (next: Point[]) => {
    setHistory((all) => [...all.slice(0, at + 1), next]);
    setAt((index) => index + 1);
  };
  const closeDraft = (points: Point[]) => {
    if (points.length >= 3) { commit(points); setMode("edit"); }
    setDraft([]);
  };

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.target as HTMLElement)?.closest?.("input,textarea,select")) return;
      const mod = event.ctrlKey || event.metaKey;
      if (mod && event.key.toLowerCase() === "z" && !event.shiftKey) { if (draft.length) setDraft([]); else if (at > 0) setAt(at - 1); event.preventDefault(); event.stopPropagation(); }
      else if (mod && (event.key.toLowerCase() === "y" || (event.key.toLowerCase() === "z" && event.shiftKey))) { if (at < history.length - 1) setAt(at + 1); event.preventDefault(); event.stopPropagation(); }
      else if (event.key === "Enter" && mode === "points") { closeDraft(draft); event.preventDefault(); event.stopPropagation(); }
      else if (event.key === "Escape") { if (draft.length) setDraft([]); else onClose(); event.preventDefault(); event.stopPropagation(); }
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  });

  const save = async () => {
    if (polygon.length < 3) return;
    setSaving(true);
    setError(null);
    const { data, error: failure } = await api.PUT("/api/v1/images/{id}/lesion-outline/", {
      params: { path: { id: dermoscopyId } }, body: { polygon: polygon.map(([x, y]) => [Math.round(x * 10) / 10, Math.round(y * 10) / 10]) } as never });
    setSaving(false);
    if (failure || !data) { setError(errorMessage(failure, "The outline was not saved.")); return; }
    onSaved(data);
  };

  const useModel = async () => {
    setSaving(true);
    const { error: failure } = await api.DELETE("/api/v1/images/{id}/lesion-outline/", { params: { path: { id: dermoscopyId } } });
    setSaving(false);
    if (failure) { setError(errorMessage(failure, "The outline was not removed.")); return; }
    const { data } = await api.GET("/api/v1/images/{id}/lesion-outline/", { params: { path: { id: dermoscopyId } } });
    onSaved(data ?? null);
  };

  // Freehand strokes are simplified to about one vertex per 2 screen pixels' worth of image.
  const tolerance = Math.max(0.75, dermoscopy.width / 600);
  const shapes: ViewerPolygon[] = [...extraShapes];
  if (polygon.length >= 3) shapes.push({ points: polygon, colour: "#ffe14d", fill: "rgba(255,225,77,0.12)", label: "Lesion outline" });
  if (draft.length) shapes.push({ points: draft, colour: "#ffffff", closed: false });
  const source = outline?.source === "model" && at === 0 ? "the model's segmentation" : outline && at === 0 ? "the saved outline" : "your edits";

  return (
    <section className="panel outline-editor" aria-label="Outline the lesion" data-testid="outline-editor">
      <h2>Outline the lesion <span className="muted small">starting from {source}</span>
        <span className="spacer" />
        <span className="segmented" role="group" aria-label="Outline tool">
          {(["edit", "points", "freehand"] as Mode[]).map((m) => (
            <button type="button" key={m} aria-pressed={mode === m} className={mode === m ? "primary" : ""}
              disabled={m === "edit" && polygon.length < 3} onClick={() => { setMode(m); setDraft([]); }}>
              {{ edit: "Edit points", points: "Draw by points", freehand: "Freehand" }[m]}</button>
          ))}
        </span>
        <button type="button" onClick={() => { if (draft.length) setDraft([]); else if (at > 0) setAt(at - 1); }} disabled={!draft.length && at === 0}>Undo</button>
        <button type="button" onClick={() => at < history.length - 1 && setAt(at + 1)} disabled={at >= history.length - 1}>Redo</button>
        <button type="button" className="primary" onClick={() => void save()} disabled={polygon.length < 3 || saving}>
          {saving ? "Saving…" : "Save outline"}</button>
        {outline?.source === "person" && outline.has_model_outline ? (
          <button type="button" onClick={() => void useModel()} disabled={saving}>Use the model's outline</button>) : null}
        <button type="button" onClick={onClose}>Close</button>
      </h2>
      <p className="small" role="status" data-testid="outline-step">{MODE_TEXT[mode]}
        {polygon.length >= 3 ? <span className="muted"> · {polygon.length} vertices</span> : null}</p>
      {error ? <p className="error small" role="alert">{error}</p> : null}
      <div className="outline-view">
        <DeepZoomViewer testId="outline-dermoscopy" label="Dermoscopy (outline)" dzi={dermoscopy.frames[0].dzi} imageSize={dermoscopy}
          overlays={[]} overlayOpacity={0} polygons={shapes}
          handles={mode === "edit" ? {
            points: polygon,
            onDragStart: () => commit(polygon), // one undo step per drag: the drag then edits this new entry
            onMove: (index, point) => setHistory((all) =>
              all.map((entry, i) => (i === all.length - 1 ? entry.map((p, k) => (k === index ? point : p)) : entry))),
            onRemove: (index) => polygon.length > 3 && commit(polygon.filter((_, i) => i !== index)),
          } : undefined}
          onImageClick={mode === "edit" ? (point) => commit(insertVertex(polygon, point))
            : mode === "points" ? (point) => setDraft((d) => [...d, point]) : undefined}
          onImageDoubleClick={mode === "points" ? () => closeDraft(draft) : undefined}
          onImageDrag={mode === "freehand" ? (phase, point) => {
            if (phase === "start") setDraft([point]);
            else if (phase === "move") setDraft((d) => [...d, point]);
            else {
              const drawn = strokeToPolygon([...draft, point], tolerance);
              setDraft([]);
              if (drawn) { commit(drawn); setMode("edit"); } else setError("Draw around the lesion: that stroke encloses no area.");
            }
          } : undefined} />
      </div>
    </section>
  );
}
