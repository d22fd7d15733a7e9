/** The lesion outline on the case's dermoscopy image (a person's, or the model's traced mask). It
 * is asked for only when the quality answer names an outline on that image: a 404 "none yet" would
 * be logged by the browser as an error on every case the lesion was never outlined on. */
import { useCallback, useEffect, useState } from "react";
import { fetchOutline } from "../api/reads";
import type { CaseQuality, LesionOutline } from "../api/types";

export function useLesionOutline({ dermoscopyId, quality }: { dermoscopyId: string | null; quality: CaseQuality | null }): {
  outline: LesionOutline | null; setOutline: (outline: LesionOutline | null) => void; reloadOutline: () => Promise<void>;
} {
  const [outline, setOutline] = useState<LesionOutline | null>(null);
  const outlinedOn = quality?.lesion_outline?.image ?? null;
  const source = quality?.lesion_outline?.source;
  useEffect(() => {
    if (!dermoscopyId) return;
    if (outlinedOn !== dermoscopyId) { setOutline(null); return; }
    void fetchOutline(dermoscopyId).then(setOutline);
  }, [dermoscopyId, outlinedOn, source]);
  const reloadOutline = useCallback(async () => { if (dermoscopyId) setOutline(await fetchOutline(dermoscopyId)); }, [dermoscopyId]);
  return { outline, setOutline, reloadOutline };
}
