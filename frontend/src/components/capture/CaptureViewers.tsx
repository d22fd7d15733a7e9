/** The shown mosaic with its quality overlay, and the dermoscopy with that mosaic's uninformative
 * areas projected onto it, the lesion, the mosaic's field and the problem area. One opacity
 * serves both overlays. */
import { useState } from "react";
import type { CaseImage, LesionOutline, OverlayDescriptor, ProblemRegion, Registration, ViewerDescriptor } from "../../api/types";
import { REGISTRATION_TEXT } from "../../lib/captureView";
import { imageTitle } from "../../lib/depth";
import { FOOTPRINT_COLOUR, OUTLINE_COLOUR, PROBLEM_COLOUR } from "../../lib/viewerShapes";
import { DeepZoomViewer, type ViewerPolygon } from "../DeepZoomViewer";
import { Legend, OpacitySlider } from "../OverlayControls";

interface Props {
  mosaic: CaseImage | null;
  mosaicViewer: ViewerDescriptor | null | undefined;
  qualityOverlay: OverlayDescriptor | null;
  mosaicShapes: ViewerPolygon[];
  dermoscopy: CaseImage | null;
  dermoscopyViewer: ViewerDescriptor | null | undefined;
  projection: OverlayDescriptor | null;
  dermoscopyShapes: ViewerPolygon[];
  outline: LesionOutline | null;
  registration: Registration | null | undefined;
  problem: ProblemRegion | null | undefined;
  /** Hidden (kept open) while an editor takes the place. */
  hidden: boolean;
}

export function CaptureViewers({ mosaic, mosaicViewer, qualityOverlay, mosaicShapes, dermoscopy, dermoscopyViewer, projection,
  dermoscopyShapes, outline, registration, problem, hidden }: Props) {
  const [overlayOpacity, setOverlayOpacity] = useState(0.55);
  return (
    <div className="capture-viewers" hidden={hidden}>
      <section className="panel viewer-panel" aria-label="Mosaic with quality overlay">
        <h2>{mosaic ? imageTitle(mosaic) : "Mosaic"}
          {qualityOverlay ? <OpacitySlider opacity={overlayOpacity} onChange={setOverlayOpacity} caption="overlay" small /> : null}</h2>
        {mosaicViewer ? (
          <DeepZoomViewer dzi={mosaicViewer.frames[0].dzi} imageSize={{ width: mosaicViewer.width, height: mosaicViewer.height }}
            overlays={qualityOverlay ? [qualityOverlay] : []} overlayOpacity={overlayOpacity} polygons={mosaicShapes}
            label="Mosaic" testId="capture-mosaic" />
        ) : <div className="viewer-empty muted">{mosaic ? "The mosaic appears here once its pyramid is built." : "No mosaic yet."}</div>}
        {qualityOverlay ? <Legend entries={qualityOverlay.legend} /> : null}
      </section>
      <section className="panel viewer-panel" aria-label="Dermoscopy with the mosaic's uninformative areas">
        <h2>Dermoscopy {projection ? <span className="muted small">with the mosaic's uninformative areas</span> : null}</h2>
        {dermoscopyViewer ? (
          <DeepZoomViewer dzi={dermoscopyViewer.frames[0].dzi} imageSize={{ width: dermoscopyViewer.width, height: dermoscopyViewer.height }}
            overlays={projection ? [projection] : []} overlayOpacity={overlayOpacity} polygons={dermoscopyShapes}
            label="Dermoscopy" testId="capture-dermoscopy" />
        ) : <div className="viewer-empty muted">{dermoscopy ? "Preparing the dermoscopy image…" : "Add the dermoscopy image to judge quality within the lesion."}</div>}
        <ul className="legend small">
          {outline?.polygon?.length ? <li><span className="swatch" style={{ background: OUTLINE_COLOUR }} /> Lesion ({outline.source === "person" ? "outlined by a person" : "segmented by the model"})</li> : null}
          {registration ? <li><span className="swatch" style={{ background: FOOTPRINT_COLOUR }} /> This mosaic's field ({REGISTRATION_TEXT[registration.source] ?? registration.source})</li> : null}
          {problem?.bbox ? <li><span className="swatch" style={{ background: PROBLEM_COLOUR }} /> Problem area</li> : null}
        </ul>
        {projection ? <Legend entries={projection.legend} /> : null}
      </section>
    </div>
  );
}
