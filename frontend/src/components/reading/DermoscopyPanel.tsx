/** Beside a mosaic, the case's dermoscopy with that mosaic's projected overlay, the lesion outline
 * and the mosaic's field: a click there moves the mosaic to the same place (through the registration). */
import type { LesionOutline, OverlayDescriptor, Registration, ViewerDescriptor } from "../../api/types";
import { dermoscopyToMosaic, type Point } from "../../lib/registration";
import { FOOTPRINT_COLOUR, OUTLINE_COLOUR } from "../../lib/viewerShapes";
import { DeepZoomViewer, type ViewerPolygon } from "../DeepZoomViewer";
import { Legend } from "../OverlayControls";

interface Props {
  dermoscopy: ViewerDescriptor;
  mosaic: ViewerDescriptor | null | undefined;
  registration: Registration | null | undefined;
  projection: OverlayDescriptor | null;
  outline: LesionOutline | null;
  polygons: ViewerPolygon[];
  overlayOpacity: number;
  /** Offered to the reader who may register this mosaic. */
  mayRegister: boolean;
  onRegister: () => void;
  /** Where to move the mosaic, or why it cannot move (a sentence for the notice). */
  onSteer: (target: Point | null, problem: string | null) => void;
}

export function DermoscopyPanel({ dermoscopy, mosaic, registration, projection, outline, polygons, overlayOpacity, mayRegister,
  onRegister, onSteer }: Props) {
  return (
    <section className="panel derm" aria-label="Dermoscopy">
      <h2>Dermoscopy <span className="muted small">click to move the mosaic there</span>
        {mayRegister ? (
          <button type="button" className="link small" onClick={onRegister}>
            {registration ? "Register again" : "Register this mosaic"}</button>) : null}</h2>
      <DeepZoomViewer testId="dermoscopy-panel" label="Dermoscopy" dzi={dermoscopy.frames[0].dzi}
        imageSize={dermoscopy} overlays={projection ? [{ id: projection.id, dzi: projection.dzi }] : []}
        overlayOpacity={overlayOpacity} polygons={polygons}
        onImageClick={(point) => {
          if (!registration || !mosaic) { onSteer(null, "This mosaic has no registration to the dermoscopy: register it to steer it from here."); return; }
          const target = dermoscopyToMosaic(registration.matrix, point, mosaic);
          onSteer(target, target ? null : "That point is outside this mosaic's field.");
        }} />
      <Legend entries={[
        ...(projection?.legend ?? []),
        { colour: OUTLINE_COLOUR, label: outline?.polygon?.length ? `Lesion outline (${outline.source === "model" ? "segmented by the model" : "outlined by a person"})` : "No lesion outline yet" },
        ...(registration ? [{ colour: FOOTPRINT_COLOUR, label: "This mosaic's field" }] : []),
      ]} />
    </section>
  );
}
