/** Registering a mosaic to the case's dermoscopy image by landmarks: the person clicks a feature on
 * the dermoscopy, then the same feature on the mosaic, three times or more; the least-squares affine
 * fit, its RMS error in µm and the mosaic's field drawn on the dermoscopy follow every click, with
 * undo and redo. Saving sends the pairs; the platform fits them again, stores who placed them and
 * judges the mosaic at once (the lesion now falls where the person says). */
import { useEffect, useState } from "react";
import { api, errorMessage } from "../api/client";
import type { Registration, ViewerDescriptor } from "../api/types";
import { fitAffine, lengthText, mosaicFootprint, type LandmarkPair, type Point } from "../lib/registration";
import { DeepZoomViewer, type ViewerPolygon } from "./DeepZoomViewer";

const PAIR_COLOUR = "#00e5ff";
const PENDING_COLOUR = "#ffcc00";
const FIELD_COLOUR = "#00d0ff";
const SAVED_FIELD_COLOUR = "#9aa4b2";

interface Props {
  mosaicId: string;
  mosaicTitle: string;
  mosaic: ViewerDescriptor;
  dermoscopyId: string;
  dermoscopy: ViewerDescriptor;
  existing: Registration | null;
  onSaved: (registration: Registration) => void;
  onClose: () => void;
}

const rounded = (point: Point): Point => [Math.round(point[0] * 10) / 10, Math.round(point[1] * 10) / 10];

export function RegistrationEditor({ mosaicId, mosaicTitle, mosaic, dermoscopyId, dermoscopy, existing, onSaved, onClose }: Props) {
  const initial: LandmarkPair[] = existing?.source === "landmarks" && existing.landmarks
    ? existing.landmarks.map((pair) => ({ dermoscopy: pair.dermoscopy, mosaic: pair.mosaic })) : [];
  const [history, setHistory] = useState<LandmarkPair[][]>([initial]);
  const [at, setAt] = useState(0);
  const [pending, setPending] = useState<Point | null>(null);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const pairs = history[at];
  const spacing = mosaic.pixel_spacing_um ?? null;
  const fit = fitAffine(pairs);
  const rmsUm = fit && spacing ? fit.rmsPx * spacing : null;

  const commit = (next: LandmarkPair[]) => {
    setHistory((all) => [...all.slice(0, at + 1), next]);
    setAt((index) => index + 1);
  };
  const undo = () => { if (pending) setPending(null); else if (at > 0) setAt(at - 1); };
  const redo = () => { if (at < history.length - 1) setAt(at + 1); };

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.target as HTMLElement)?.closest?.("input,textarea,select")) return;
      const mod = event.ctrlKey || event.metaKey;
      if (mod && event.key.toLowerCase() === "z" && !event.shiftKey) { undo(); event.preventDefault(); event.stopPropagation(); }
      else if (mod && (event.key.toLowerCase() === "y" || (event.key.toLowerCase() === "z" && event.shiftKey))) { redo(); event.preventDefault(); event.stopPropagation(); }
      else if (event.key === "Escape") { if (pending) setPending(null); else onClose(); event.preventDefault(); event.stopPropagation(); }
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  });

  const save = async () => {
    if (!fit) return;
    setSaving(true);
    setError(null);
    const { data, error: failure } = await api.PUT("/api/v1/images/{id}/registration/", {
      params: { path: { id: mosaicId } },
      body: { dermoscopy: dermoscopyId, landmarks: pairs.map((pair) => ({ dermoscopy: pair.dermoscopy, mosaic: pair.mosaic })) } as never,
    });
    setSaving(false);
    if (failure || !data) { setError(errorMessage(failure, "The registration was not saved.")); return; }
    onSaved(data as unknown as Registration);
  };

  const dermoscopyMarkers = pairs.map((pair, index) => ({ point: pair.dermoscopy, label: String(index + 1), colour: PAIR_COLOUR }));
  if (pending) dermoscopyMarkers.push({ point: pending, label: `${pairs.length + 1}?`, colour: PENDING_COLOUR });
  const mosaicMarkers = pairs.map((pair, index) => ({ point: pair.mosaic, label: String(index + 1), colour: PAIR_COLOUR }));
  const fields: ViewerPolygon[] = [];
  if (existing) {
    try {
      fields.push({ points: mosaicFootprint(existing.matrix, mosaic), colour: SAVED_FIELD_COLOUR, dashed: true, label: "Saved registration" });
    } catch { /* a saved matrix is invertible; nothing to draw otherwise */ }
  }
  if (fit) {
    try {
      fields.push({ points: mosaicFootprint(fit.matrix, mosaic), colour: FIELD_COLOUR, label: "The mosaic's field by these landmarks" });
    } catch { /* singular fits are not offered */ }
  }
  const step = pending ? `Now click landmark ${pairs.length + 1} on the mosaic.`
    : `Click a feature on the dermoscopy (landmark ${pairs.length + 1}), then the same feature on the mosaic.`;

  return (
    <section className="panel registration-editor" aria-label="Register the mosaic to the dermoscopy" data-testid="registration-editor">
      <h2>Register {mosaicTitle} to the dermoscopy
        <span className="spacer" />
        <button type="button" onClick={undo} disabled={!pending && at === 0} title="Ctrl+Z">Undo</button>
        <button type="button" onClick={redo} disabled={at >= history.length - 1} title="Ctrl+Shift+Z">Redo</button>
        <button type="button" onClick={() => { setPending(null); commit([]); }} disabled={!pairs.length}>Clear</button>
        <button type="button" className="primary" onClick={() => void save()} disabled={!fit || saving}>
          {saving ? "Saving…" : "Save registration"}</button>
        <button type="button" onClick={onClose}>Close</button>
      </h2>
      <p className="small" role="status" data-testid="registration-step">{step} Three pairs or more, spread over the field; a
        fourth lets you see which pair is off.</p>
      <div className="register-views">
        <div>
          <h3 className="small">Dermoscopy</h3>
          <DeepZoomViewer testId="register-dermoscopy" label="Dermoscopy (landmarks)" dzi={dermoscopy.frames[0].dzi}
            imageSize={dermoscopy} overlays={[]} overlayOpacity={0} markers={dermoscopyMarkers} polygons={fields}
            onImageClick={(point) => { setError(null); setPending(rounded(point)); }} />
        </div>
        <div>
          <h3 className="small">{mosaicTitle}</h3>
          <DeepZoomViewer testId="register-mosaic" label="Mosaic (landmarks)" dzi={mosaic.frames[0].dzi} imageSize={mosaic}
            overlays={[]} overlayOpacity={0} markers={mosaicMarkers} pixelSpacingUm={spacing}
            onImageClick={(point) => {
              if (!pending) { setError("Click the dermoscopy first, then the same feature here."); return; }
              commit([...pairs, { dermoscopy: pending, mosaic: rounded(point) }]);
              setPending(null);
            }} />
        </div>
      </div>
      <div className="register-fit">
        <span data-testid="registration-rms" data-rms-um={rmsUm != null ? rmsUm.toFixed(2) : ""}>
          {fit ? <>Fit: RMS error <strong>{rmsUm != null ? lengthText(rmsUm) : `${fit.rmsPx.toFixed(1)} px`}</strong> over {pairs.length} pairs</>
            : pairs.length < 3 ? `${pairs.length} of at least 3 pairs` : "These pairs lie on one line: spread them over the field."}
        </span>
        {existing ? <span className="muted small">Saved now: {existing.source === "landmarks" ? "landmarks" : existing.source}
          {existing.rms_error_um != null ? `, RMS ${lengthText(existing.rms_error_um)}` : ""}{existing.created_by ? `, by ${existing.created_by}` : ""}</span> : null}
        {error ? <span className="error" role="alert">{error}</span> : null}
      </div>
      {pairs.length ? (
        <table className="compact landmark-table">
          <thead><tr><th>#</th><th>Dermoscopy (px)</th><th>Mosaic (px)</th><th>Off by</th><th /></tr></thead>
          <tbody>
            {pairs.map((pair, index) => {
              const off = fit ? fit.residualsPx[index] * (spacing ?? 1) : null;
              return (
                <tr key={index} data-testid="landmark-pair">
                  <td>{index + 1}</td>
                  <td className="num">{pair.dermoscopy.map((v) => v.toFixed(0)).join(", ")}</td>
                  <td className="num">{pair.mosaic.map((v) => v.toFixed(0)).join(", ")}</td>
                  <td className="num">{off == null ? "—" : spacing ? lengthText(off) : `${off.toFixed(1)} px`}</td>
                  <td><button type="button" className="link" onClick={() => commit(pairs.filter((_, i) => i !== index))}>remove</button></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
