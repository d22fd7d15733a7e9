/** The capture page's two viewer descriptors: the mosaic shown and the dermoscopy. Each is fetched
 * once per state of what draws its overlays (the mosaic's judgement; for the dermoscopy's
 * projection, also the case's verdict): a new descriptor carries new signed tile URLs, so fetching
 * it again reopens the viewer, which must not happen while a person is placing points on it. */
import { useCallback, useEffect, useRef } from "react";
import { fetchViewer } from "../api/reads";
import type { CaseImage, CaseQuality, MosaicQuality, ViewerDescriptor } from "../api/types";
import { usePerImage } from "./usePerImage";

export function useCaptureViewers({ mosaic, dermoscopy, judged, quality }: {
  mosaic: CaseImage | null; dermoscopy: CaseImage | null; judged: MosaicQuality | null; quality: CaseQuality | null;
}): { viewers: Record<string, ViewerDescriptor | null>; refetch: (imageId: string) => void } {
  const { records, reload, forget } = usePerImage({ fetchOne: fetchViewer });
  const fetchedFor = useRef<Record<string, string>>({});
  const judgedKey = `${judged?.state}|${judged?.verdict}|${judged?.percent_lesion}|${quality?.state}`;
  useEffect(() => {
    for (const image of [mosaic, dermoscopy]) {
      if (!image || image.status !== "ready") continue;
      const key = image.kind === "rcm_mosaic" ? `${judged?.state}` : judgedKey;
      if (fetchedFor.current[image.id] === key) continue; // fetched, or a fetch for this state is on its way
      fetchedFor.current[image.id] = key;
      void reload(image.id);
    }
  }, [mosaic, dermoscopy, judged?.state, judgedKey, records, reload]);

  /** Drops a descriptor whose overlays changed (a new registration moves the projection): fetched again. */
  const refetch = useCallback((imageId: string) => {
    delete fetchedFor.current[imageId];
    forget(imageId);
  }, [forget]);
  return { viewers: records, refetch };
}
