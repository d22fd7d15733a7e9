/** What the reader's case page decides to show: which overlay state an image shares with others
 * (the mosaics of one field share one), which overlays an image offers, and the previous visit's
 * mosaic at the depth on screen for side-by-side reading. */
import type { LesionHistory, OverlayDescriptor } from "../api/types";
import type { ViewState } from "../components/DeepZoomViewer";

export const RCM_KINDS = new Set(["rcm_mosaic", "rcm_stack"]);

export interface OverlaySettings { on: boolean; opacity: number }

/** The images that share overlay settings and a view: every mosaic and stack of one size (one field),
 * else the image alone. */
export function overlayFamily({ image }: { image: { id: string; kind: string; width?: number | null; height?: number | null } | null }): string {
  if (!image) return "";
  return RCM_KINDS.has(image.kind) ? `rcm:${image.width}x${image.height}` : image.id;
}

/** The overlay shown at first: on, fainter over the dermoscopy's colours than over grey mosaics. */
export function defaultOverlaySettings({ kind }: { kind: string | undefined }): OverlaySettings {
  return { on: true, opacity: kind === "dermoscopy" ? 0.35 : 0.5 };
}

/** The overlays an image offers; on the dermoscopy, only the projection of the mosaic last shown. */
export function overlayChoicesFor({ overlays, kind, lastMosaicId }: {
  overlays: OverlayDescriptor[]; kind: string | undefined; lastMosaicId: string | null;
}): OverlayDescriptor[] {
  if (kind !== "dermoscopy") return overlays;
  return overlays.filter((o) => o.kind !== "projection" || o.source_image === lastMosaicId || !lastMosaicId);
}

/** The same lesion's previous visit, and its mosaic at the depth of the image shown (RCM only). */
export function priorMosaicOf({ history, image }: {
  history: LesionHistory | null; image: { kind: string; depth_level?: string } | null;
}) {
  const visits = history?.visits ?? [];
  const currentIndex = visits.findIndex((visit) => visit.is_current);
  const previousVisit = currentIndex > 0 ? visits[currentIndex - 1] : null;
  const priorMosaic = previousVisit && image && RCM_KINDS.has(image.kind)
    ? previousVisit.mosaics.find((m) => m.depth_level === image.depth_level) ?? null : null;
  return { previousVisit, priorMosaic };
}

/** Whether two views differ enough to move the other viewer (the two follow each other). */
export function viewsDiffer(a: ViewState, b: ViewState): boolean {
  return Math.abs(a.zoom - b.zoom) > 1e-6 || Math.hypot(a.centre.x - b.centre.x, a.centre.y - b.centre.y) > 1e-6;
}
