/** What the viewers draw over an image, in its own pixels: the lesion outline, the mosaic's field
 * on the dermoscopy (through the registration), the area that decided a verdict, expert outlines,
 * a ruler and the shapes being drawn. One colour per meaning on every page. */
import type { ViewerPolygon } from "../components/DeepZoomViewer";
import type { ExpertAnnotation, LesionOutline, ProblemRegion, Registration } from "../api/types";
import { asPoints, mosaicFootprint, type Point } from "./registration";

export const OUTLINE_COLOUR = "#ffe14d";
export const FOOTPRINT_COLOUR = "#00d0ff";
export const PROBLEM_COLOUR = "#ff3b30";
export const EXPERT_COLOUR = "#ff00ff";
export const RULER_COLOUR = "#ffcc00";

type Size = { width: number; height: number };

/** A box [x0, y0, x1, y1] as the API sends it (four numbers) as its corners. */
function boxPoints([x0, y0, x1, y1]: number[]): Point[] {
  return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
}

/** The capture page's dermoscopy: the lesion, the area that decided the shown mosaic's verdict (when
 * it lies on this image), and the mosaic's field where the registration is valid. */
export function captureDermoscopyShapes({ outline, problem, dermoscopyId, registration, mosaic }: {
  outline: LesionOutline | null; problem: ProblemRegion | null | undefined; dermoscopyId: string | null;
  registration: Registration | null | undefined; mosaic: Size | null;
}): ViewerPolygon[] {
  const shapes: ViewerPolygon[] = [];
  if (outline?.polygon?.length) shapes.push({ points: asPoints(outline.polygon), colour: OUTLINE_COLOUR, closed: true, label: "Lesion" });
  if (problem?.bbox && problem.dermoscopy_image === dermoscopyId) {
    shapes.push({ points: boxPoints(problem.bbox), colour: PROBLEM_COLOUR, closed: true, dashed: true, label: "Problem area" });
  }
  if (registration && mosaic) {
    try {
      shapes.push({ points: mosaicFootprint(registration.matrix, mosaic), colour: FOOTPRINT_COLOUR, dashed: true,
        label: "The mosaic's field" });
    } catch { /* an invalid matrix is refused by the platform; nothing to draw */ }
  }
  return shapes;
}

/** The capture page's mosaic: the area that decided its verdict. */
export function captureMosaicShapes({ problem }: { problem: ProblemRegion | null | undefined }): ViewerPolygon[] {
  return problem?.mosaic_bbox ? [{ points: boxPoints(problem.mosaic_bbox), colour: PROBLEM_COLOUR, closed: true, dashed: true }] : [];
}

/** The reader's main viewer: expert outlines on a mosaic, the lesion outline on the dermoscopy, the
 * ruler, and the shapes being drawn (closed ones filled, the open one as a line). */
export function readerMainShapes({ rcm, dermoscopy, annotation, outline, ruler, drawn, draft }: {
  rcm: boolean; dermoscopy: boolean; annotation: ExpertAnnotation | null | undefined; outline: LesionOutline | null;
  ruler: Point[]; drawn: Point[][]; draft: Point[];
}): ViewerPolygon[] {
  const shapes: ViewerPolygon[] = [];
  if (rcm) {
    for (const polygon of annotation?.polygons ?? []) {
      shapes.push({ points: asPoints(polygon), colour: EXPERT_COLOUR, dashed: true, label: "Expert: uninformative" });
    }
  }
  if (dermoscopy && outline?.polygon?.length) {
    shapes.push({ points: asPoints(outline.polygon), colour: OUTLINE_COLOUR, label: `Lesion (${outline.source})` });
  }
  if (ruler.length === 2) shapes.push({ points: ruler, colour: RULER_COLOUR, closed: false, label: "Measurement" });
  for (const polygon of drawn) shapes.push({ points: polygon, colour: "#ffffff", fill: "rgba(255,255,255,0.12)" });
  if (draft.length) shapes.push({ points: draft, colour: "#ffffff", closed: false });
  return shapes;
}

/** The reader's dermoscopy panel: the lesion outline and the field of the mosaic last shown. */
export function readerPanelShapes({ outline, registration, mosaic }: {
  outline: LesionOutline | null; registration: Registration | null | undefined; mosaic: Size | null | undefined;
}): ViewerPolygon[] {
  const shapes: ViewerPolygon[] = [];
  if (outline?.polygon?.length) shapes.push({ points: asPoints(outline.polygon), colour: OUTLINE_COLOUR, label: "Lesion outline" });
  if (registration && mosaic) {
    shapes.push({ points: mosaicFootprint(registration.matrix, mosaic), colour: FOOTPRINT_COLOUR, dashed: true, label: "Mosaic field" });
  }
  return shapes;
}
