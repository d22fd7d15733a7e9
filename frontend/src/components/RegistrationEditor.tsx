/** Registering a mosaic to the case's dermoscopy image by landmarks: the person clicks a feature on
 * the dermoscopy, then the same feature on the mosaic, three times or more; the least-squares affine
 * fit, its RMS error in µm and the mosaic's field drawn on the dermoscopy follow every click, with
 * undo and redo. Saving sends the pairs; the platform fits them again, stores who placed them and
 * judges the mosaic at once (the lesion now falls where the person says).
 *
 * Or the field itself: "Place the field" draws the mosaic's rectangle on the dermoscopy, which the
 * person drags by its centre and turns/scales by its corner (or by the angle and width fields),
 * saved as a matrix with source "placed". "Propose automatically" asks the platform for a proposal
 * and shows it as the field with its confidence; saved untouched it is "automatic", moved it is
 * "placed". When the platform has no confident proposal it says why, and nothing moves. */
import { useEffect, useState } from "react";
import { api, errorMessage } from "../api/client";
import type { Registration, RegistrationProposal, ViewerDescriptor } from "../api/types";
import {
  fitAffine, initialPlacement, lengthText, mosaicFootprint, placementCornerHandle, placementDragCorner, placementFromMatrix,
  asPoint, placementMatrix, type FieldPlacement, type LandmarkPair, type Matrix3, type Point,
} from "../lib/registration";
import { DeepZoomViewer, type ViewerPolygon } from "./DeepZoomViewer";

const PAIR_COLOUR = "#00e5ff";
const PENDING_COLOUR = "#ffcc00";
const FIELD_COLOUR = "#00d0ff";
const SAVED_FIELD_COLOUR = "#9aa4b2";
const PROPOSAL_COLOUR = "#7dff6a";

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

type PlacementStep = { placement: FieldPlacement; proposed: Matrix3 | null };

export function RegistrationEditor({ mosaicId, mosaicTitle, mosaic, dermoscopyId, dermoscopy, existing, onSaved, onClose }: Props) {
  const initial: LandmarkPair[] = existing?.source === "landmarks" && existing.landmarks
    ? existing.landmarks.map((pair) => ({ dermoscopy: asPoint(pair.dermoscopy), mosaic: asPoint(pair.mosaic) })) : [];
  const [history, setHistory] = useState<LandmarkPair[][]>([initial]);
  const [at, setAt] = useState(0);
  const [pending, setPending] = useState<Point | null>(null);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const pairs = history[at];
  const spacing = mosaic.pixel_spacing_um ?? null;
  const fit = fitAffine(pairs);
  const rmsUm = fit && spacing ? fit.rmsPx * spacing : null;
  // Placing the field (or a proposal): `placement` is what the person sees; `proposed` is the
  // proposal's own matrix while the person has not moved it (then it is saved as "automatic").
  // Each placement step (a drag, a typed angle or width) is one entry, so undo and redo work there too.
  const [mode, setMode] = useState<"landmarks" | "place">("landmarks");
  const [placements, setPlacements] = useState<PlacementStep[]>([]);
  const [placeAt, setPlaceAt] = useState(0);
  const [proposal, setProposal] = useState<RegistrationProposal | null>(null);
  const [proposing, setProposing] = useState(false);
  const placementStep = mode === "place" ? placements[placeAt] ?? null : null;
  const placement = placementStep?.placement ?? null;
  const proposed = placementStep?.proposed ?? null;
  const placing = placement !== null;
  const placedMatrix = placing ? (proposed ?? placementMatrix(placement, mosaic)) : null;
  const startPlacing = (from: FieldPlacement | null = null, proposedMatrix: Matrix3 | null = null) => {
    setError(null);
    setPending(null);
    const start = from ?? (existing ? placementFromMatrix(existing.matrix, mosaic) : initialPlacement(dermoscopy, mosaic));
    setPlacements([{ placement: start, proposed: proposedMatrix }]);
    setPlaceAt(0);
    setMode("place");
  };
  const commitPlacement = (next: FieldPlacement) => {
    setPlacements((all) => [...all.slice(0, placeAt + 1), { placement: next, proposed: null }]);
    setPlaceAt((index) => index + 1);
  };
  /** During a drag the entry its start made is edited in place: one undo step per drag. */
  const dragPlacement = (next: FieldPlacement) => {
    setPlacements((all) => all.map((entry, index) => (index === all.length - 1 ? { placement: next, proposed: null } : entry)));
  };
  const proposeAutomatically = async () => {
    setProposing(true);
    setError(null);
    setProposal(null);
    const { data, error: failure } = await api.POST("/api/v1/images/{id}/registration/proposal/", {
      params: { path: { id: mosaicId } }, body: { dermoscopy: dermoscopyId } as never,
    });
    setProposing(false);
    if (failure || !data) { setError(errorMessage(failure, "No proposal could be made.")); return; }
    const answer = data;
    setProposal(answer);
    if (answer.confident && answer.matrix) startPlacing(placementFromMatrix(answer.matrix, mosaic), answer.matrix);
  };

  const commit = (next: LandmarkPair[]) => {
    setHistory((all) => [...all.slice(0, at + 1), next]);
    setAt((index) => index + 1);
  };
  const canUndo = placing ? placeAt > 0 : pending !== null || at > 0;
  const canRedo = placing ? placeAt < placements.length - 1 : at < history.length - 1;
  const undo = () => {
    if (placing) { if (placeAt > 0) setPlaceAt(placeAt - 1); }
    else if (pending) setPending(null);
    else if (at > 0) setAt(at - 1);
  };
  const redo = () => {
    if (placing) { if (placeAt < placements.length - 1) setPlaceAt(placeAt + 1); }
    else if (at < history.length - 1) setAt(at + 1);
  };

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
    if (placing ? !placedMatrix : !fit) return;
    setSaving(true);
    setError(null);
    const body = placing
      ? { dermoscopy: dermoscopyId, matrix: placedMatrix, source: proposed ? "automatic" : "placed" }
      : { dermoscopy: dermoscopyId, landmarks: pairs.map((pair) => ({ dermoscopy: pair.dermoscopy, mosaic: pair.mosaic })) };
    const { data, error: failure } = await api.PUT("/api/v1/images/{id}/registration/", {
      params: { path: { id: mosaicId } }, body: body as never,
    });
    setSaving(false);
    if (failure || !data) { setError(errorMessage(failure, "The registration was not saved.")); return; }
    onSaved(data);
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
  if (placing && placedMatrix) {
    try {
      fields.push({ points: mosaicFootprint(placedMatrix, mosaic), colour: proposed ? PROPOSAL_COLOUR : FIELD_COLOUR,
        label: proposed ? "The mosaic's field as proposed" : "The mosaic's field as placed" });
    } catch { /* a placement with a width is invertible */ }
  } else if (fit) {
    try {
      fields.push({ points: mosaicFootprint(fit.matrix, mosaic), colour: FIELD_COLOUR, label: "The mosaic's field by these landmarks" });
    } catch { /* singular fits are not offered */ }
  }
  const placeHandles = placing ? {
    points: [placement.centre, placementCornerHandle(placement, mosaic)],
    onDragStart: () => commitPlacement(placement),
    onMove: (index: number, point: Point) => dragPlacement(index === 0 ? { ...placement, centre: point }
      : placementDragCorner(placement, point, mosaic)),
  } : undefined;
  const step = pending ? `Now click landmark ${pairs.length + 1} on the mosaic.`
    : `Click a feature on the dermoscopy (landmark ${pairs.length + 1}), then the same feature on the mosaic.`;

  return (
    <section className="panel registration-editor" aria-label="Register the mosaic to the dermoscopy" data-testid="registration-editor">
      <h2>Register {mosaicTitle} to the dermoscopy
        <span className="spacer" />
        <button type="button" onClick={undo} disabled={!canUndo} title="Ctrl+Z">Undo</button>
        <button type="button" onClick={redo} disabled={!canRedo} title="Ctrl+Shift+Z">Redo</button>
        <button type="button" onClick={() => { setPending(null); commit([]); }} disabled={!pairs.length}>Clear</button>
        <button type="button" onClick={() => void proposeAutomatically()} disabled={proposing}
          title="Ask the platform where the field lies (not saved until you save it)">
          {proposing ? "Proposing…" : "Propose automatically"}</button>
        {mode === "landmarks"
          ? <button type="button" onClick={() => startPlacing()}>Place the field</button>
          : <button type="button" onClick={() => setMode("landmarks")}>Landmarks</button>}
        <button type="button" className="primary" onClick={() => void save()} disabled={(placing ? !placedMatrix : !fit) || saving}>
          {saving ? "Saving…" : "Save registration"}</button>
        <button type="button" onClick={onClose}>Close</button>
      </h2>
      {placing ? (
        <p className="small" role="status" data-testid="placement-step">Drag the field's centre square to move it and its
          corner square to turn and scale it, until the dermoscopy under it matches the mosaic; then save.</p>
      ) : (
        <p className="small" role="status" data-testid="registration-step">{step} Three pairs or more, spread over the field; a
          fourth lets you see which pair is off.</p>
      )}
      {proposal ? (
        <p className={`small proposal ${proposal.confident ? "" : "muted"}`} data-testid="registration-proposal"
          data-confident={proposal.confident ? "true" : "false"} data-score={proposal.score ?? ""} title={proposal.method_description}>
          {proposal.statement}{proposal.confident && proposed ? " Shown in green; moving it makes it yours (placed)." : ""}
        </p>
      ) : null}
      <div className="register-views">
        <div>
          <h3 className="small">Dermoscopy</h3>
          <DeepZoomViewer testId="register-dermoscopy" label="Dermoscopy (landmarks)" dzi={dermoscopy.frames[0].dzi}
            imageSize={dermoscopy} overlays={[]} overlayOpacity={0} markers={placing ? [] : dermoscopyMarkers} polygons={fields}
            handles={placeHandles}
            onImageClick={placing ? undefined : (point) => { setError(null); setPending(rounded(point)); }} />
        </div>
        <div>
          <h3 className="small">{mosaicTitle}</h3>
          <DeepZoomViewer testId="register-mosaic" label="Mosaic (landmarks)" dzi={mosaic.frames[0].dzi} imageSize={mosaic}
            overlays={[]} overlayOpacity={0} markers={placing ? [] : mosaicMarkers} pixelSpacingUm={spacing}
            onImageClick={placing ? undefined : (point) => {
              if (!pending) { setError("Click the dermoscopy first, then the same feature here."); return; }
              commit([...pairs, { dermoscopy: pending, mosaic: rounded(point) }]);
              setPending(null);
            }} />
        </div>
      </div>
      {placing ? (
        <div className="register-fit" data-testid="placement-controls">
          <label>Turn <input type="number" step={0.5} value={Number(placement.angleDeg.toFixed(1))} aria-label="Turn (degrees)"
            onChange={(event) => { const v = Number(event.target.value); if (Number.isFinite(v)) commitPlacement({ ...placement, angleDeg: v }); }} /> °</label>
          <label>Width on the dermoscopy <input type="number" step={1} min={1} value={Math.round(placement.widthPx)}
            aria-label="Field width on the dermoscopy (px)"
            onChange={(event) => { const v = Number(event.target.value); if (v > 0) commitPlacement({ ...placement, widthPx: v }); }} /> px</label>
          <span className="muted small" data-testid="placement-source">Saved as: {proposed ? "automatic (the proposal as it is)" : "placed by you"}</span>
          {error ? <span className="error" role="alert">{error}</span> : null}
        </div>
      ) : null}
      <div className="register-fit" hidden={placing}>
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
