/** A file the technician dropped, on its way to becoming an image of the case: what it is declared
 * as (kind, depth, pixel spacing; guessed from its name, or taken from the image it replaces) and
 * how far its upload has come. */
import type { CaseImage } from "../api/types";
import { guessImageFields, type DepthLevel, type ImageKind } from "./filenames";

export interface UploadItem {
  key: string;
  file: File;
  kind: ImageKind | null;
  depth_level: DepthLevel | "";
  depth_um: number | null;
  pixel_spacing_um: number | null;
  reasons: string[];
  replaces: string | null;
  state: "waiting" | "uploading" | "stored" | "error";
  sent: number;
  image: string | null;
  error: string | null;
}

export const SPACING_KEY = "dermrelay.pixelSpacingUm";

export function isRcm(kind: string | null): boolean {
  return kind === "rcm_mosaic" || kind === "rcm_stack";
}

/** The spacing this browser last used: a clinic's device exports at one setting, typed once. */
export function rememberedSpacing({ storage }: { storage: Pick<Storage, "getItem"> }): number | null {
  const value = Number(storage.getItem(SPACING_KEY));
  return value > 0 ? value : null;
}

/** A new item for `file`: a replacement keeps the replaced image's declaration, anything else is
 * guessed from the file's name with the remembered pixel spacing. */
export function uploadItemFor({ key, file, replaces, spacing }: {
  key: string; file: File; replaces: CaseImage | null; spacing: number | null;
}): UploadItem {
  const guess = guessImageFields(file.name);
  return {
    key, file, replaces: replaces?.id ?? null,
    kind: replaces ? (replaces.kind as ImageKind) : guess.kind,
    depth_level: replaces ? ((replaces.depth_level || "") as DepthLevel | "") : guess.depth_level,
    depth_um: replaces ? replaces.depth_um ?? null : guess.depth_um,
    pixel_spacing_um: replaces ? replaces.pixel_spacing_um ?? null : spacing,
    reasons: replaces ? ["replaces the earlier capture"] : guess.reasons,
    state: "waiting", sent: 0, image: null, error: null,
  };
}
