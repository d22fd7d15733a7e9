/** The reader's viewer for the image chosen (its frame, overlay, outlines, ruler), or why it cannot
 * show yet; beside it, when comparing, the previous visit's mosaic at the same depth, the two
 * panning and zooming together. */
import type { RefObject } from "react";
import type { CaseImage, LesionVisit, ViewerDescriptor, ViewerFrame } from "../../api/types";
import { imageTitle } from "../../lib/depth";
import { viewsDiffer } from "../../lib/readingView";
import type { Point } from "../../lib/registration";
import { DeepZoomViewer, type DeepZoomHandle, type ViewState, type ViewerMarker, type ViewerOverlay, type ViewerPolygon } from "../DeepZoomViewer";

interface Props {
  selected: CaseImage | null;
  descriptor: ViewerDescriptor | null | undefined;
  frameInfo: ViewerFrame | undefined;
  /** Frames of a stack keep the view while the frame changes. */
  keepView: boolean;
  main: RefObject<DeepZoomHandle | null>;
  prior: RefObject<DeepZoomHandle | null>;
  /** The view this image (or its field) was left at, and where to keep the new one. */
  initialView: ViewState | null;
  onViewChange: (view: ViewState) => void;
  overlays: ViewerOverlay[];
  overlayOpacity: number;
  polygons: ViewerPolygon[];
  markers: ViewerMarker[];
  onImageClick: ((point: Point) => void) | undefined;
  onImageDoubleClick: ((point: Point) => void) | undefined;
  /** The previous visit and its descriptor while comparing, else null. */
  comparison: { visit: LesionVisit; descriptor: ViewerDescriptor | null | undefined } | null;
}

export function StageViewers({ selected, descriptor, frameInfo, keepView, main, prior, initialView, onViewChange, overlays,
  overlayOpacity, polygons, markers, onImageClick, onImageDoubleClick, comparison }: Props) {
  if (selected && selected.status !== "ready") {
    return <p className="notice">This image is {selected.status}{selected.status_detail ? `: ${selected.status_detail}` : ""}.</p>;
  }
  if (descriptor === null) return <p className="notice">The image pyramid is not ready yet.</p>;
  if (!descriptor || !frameInfo) return <p className="splash">Loading image…</p>;
  const priorDescriptor = comparison?.descriptor;
  return (
    <div className={comparison ? "compare" : "single"}>
      {comparison ? (
        <div className="compare-prior">
          <span className="compare-label">{comparison.visit.visit_date} (previous visit)</span>
          {priorDescriptor ? (
            <DeepZoomViewer ref={prior} testId="prior-viewer" label="Previous visit" dzi={priorDescriptor.frames[0].dzi}
              imageSize={priorDescriptor} overlays={[]} overlayOpacity={0} pixelSpacingUm={priorDescriptor.pixel_spacing_um}
              initialView={main.current?.getView() ?? null}
              onViewChange={(view) => { const here = main.current?.getView(); if (here && viewsDiffer(here, view)) main.current?.setView(view); }} />
          ) : <p className="splash">Loading the previous visit…</p>}
        </div>
      ) : null}
      <DeepZoomViewer ref={main} testId="main-viewer" label={selected ? imageTitle(selected) : "image"}
        dzi={frameInfo.dzi} imageSize={descriptor} navigator keepView={keepView}
        initialView={initialView}
        onViewChange={(view) => {
          onViewChange(view);
          const there = prior.current?.getView(); // pan and zoom together with the previous visit
          if (comparison && there && viewsDiffer(there, view)) prior.current?.setView(view);
        }}
        overlays={overlays} overlayOpacity={overlayOpacity} polygons={polygons} markers={markers}
        pixelSpacingUm={descriptor.pixel_spacing_um}
        onImageClick={onImageClick} onImageDoubleClick={onImageDoubleClick} />
    </div>
  );
}
