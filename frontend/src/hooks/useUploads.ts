/** The files a technician dropped on the capture page and their resumable uploads: declared, started
 * (one by one or all at once), followed byte by byte, stored or refused. Uploads still running
 * when the page closes are paused, to resume from the last byte the server has. */
import { useCallback, useEffect, useRef, useState } from "react";
import type { CaseImage } from "../api/types";
import { declarationProblem } from "../lib/filenames";
import { startUpload } from "../lib/upload";
import { SPACING_KEY, isRcm, rememberedSpacing, uploadItemFor, type UploadItem } from "../lib/uploadItem";

let uploadCounter = 0;

const startable = (item: UploadItem) => item.state === "waiting" || item.state === "error";

export interface Uploads {
  items: UploadItem[];
  /** Items that may start now: waiting (or failed) and fully declared. */
  ready: UploadItem[];
  uploading: boolean;
  /** New items for `files`; a replacement starts at once, with the replaced image's declaration. */
  add: (files: FileList | File[], replaces?: CaseImage | null) => void;
  patch: (key: string, patch: Partial<UploadItem>) => void;
  remove: (key: string) => void;
  clearFinished: () => void;
  startAll: () => void;
}

export function useUploads({ caseId, onStored }: { caseId: string; onStored: () => void }): Uploads {
  const [items, setItems] = useState<UploadItem[]>([]);
  const pausers = useRef(new Map<string, () => void>());
  const stored = useRef(onStored);
  stored.current = onStored;
  useEffect(() => () => { for (const pause of pausers.current.values()) pause(); }, []);

  const patch = useCallback((key: string, change: Partial<UploadItem>) =>
    setItems((all) => all.map((item) => (item.key === key ? { ...item, ...change } : item))), []);

  function begin(item: UploadItem) {
    if (declarationProblem(item.kind, item.depth_level, item.pixel_spacing_um)) return;
    patch(item.key, { state: "uploading", error: null });
    const rcm = isRcm(item.kind);
    if (rcm && item.pixel_spacing_um) window.localStorage.setItem(SPACING_KEY, String(item.pixel_spacing_um));
    const pause = startUpload(item.file, {
      case: caseId, kind: item.kind!, depth_level: item.depth_level, depth_um: item.depth_um, replaces: item.replaces,
      pixel_spacing_um: rcm ? item.pixel_spacing_um : null,
    }, {
      onProgress: (sent) => patch(item.key, { sent }),
      onStored: (image) => {
        pausers.current.delete(item.key);
        patch(item.key, { state: "stored", image, sent: item.file.size });
        stored.current();
      },
      onError: (message) => {
        pausers.current.delete(item.key);
        patch(item.key, { state: "error", error: message });
      },
    });
    pausers.current.set(item.key, pause);
  }

  const add = (files: FileList | File[], replaces: CaseImage | null = null) => {
    const spacing = rememberedSpacing({ storage: window.localStorage });
    const added = Array.from(files).map((file) => uploadItemFor({ key: `u${++uploadCounter}`, file, replaces, spacing }));
    setItems((all) => [...all, ...added]);
    if (replaces) added.forEach(begin);
  };

  return {
    items,
    ready: items.filter((item) => startable(item) && !declarationProblem(item.kind, item.depth_level, item.pixel_spacing_um)),
    uploading: items.some((item) => item.state === "uploading"),
    add, patch,
    remove: (key) => setItems((all) => all.filter((item) => item.key !== key)),
    clearFinished: () => setItems((all) => all.filter((item) => item.state !== "stored")),
    startAll: () => items.filter(startable).forEach(begin),
  };
}
