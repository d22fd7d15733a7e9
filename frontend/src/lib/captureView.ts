/** What the capture page decides to show: which mosaic (the one picked, else the worst judged),
 * and why its verdict is what it is, in words a technician can act on. */
import type { LesionOutline, MosaicQuality, Registration, Verdict } from "../api/types";

const SEVERITY: Verdict[] = ["acceptable", "review", "reimage"];

/** How a mosaic's registration came about, after "This mosaic's field (…)". */
export const REGISTRATION_TEXT: Record<string, string> = {
  device: "registered by the device", landmarks: "registered by landmarks", placed: "placed by a person",
  automatic: "proposed automatically, accepted",
};

/** The mosaic shown: the one picked, else the one with the worst verdict, else the first. */
export function shownMosaicOf<T extends { id: string }>({ mosaics, judged, picked }: {
  mosaics: T[]; judged: Pick<MosaicQuality, "image" | "verdict">[]; picked: string | null;
}): T | null {
  const worst = judged.filter((m) => m.verdict && mosaics.some((image) => image.id === m.image))
    .sort((a, b) => SEVERITY.indexOf(b.verdict!) - SEVERITY.indexOf(a.verdict!))[0];
  return mosaics.find((m) => m.id === picked) ?? mosaics.find((m) => m.id === worst?.image) ?? mosaics[0] ?? null;
}

export interface BasisGuidance {
  text: string;
  /** The tools that help: register the mosaic to the dermoscopy, outline the lesion. */
  actions: ("register" | "outline")[];
}

/** Why a mosaic's verdict is what it is, in words the technician can act on, and which tools help. */
export function basisGuidance({ mosaic, hasDermoscopy, registration, outline, mayDraw, mayRegister }: {
  mosaic: MosaicQuality | null; hasDermoscopy: boolean; registration: Registration | null | undefined;
  outline: LesionOutline | null; mayDraw: boolean; mayRegister: boolean;
}): BasisGuidance | null {
  if (!mosaic || !["done", "judging"].includes(mosaic.state) || !mosaic.verdict) return null;
  const actions: BasisGuidance["actions"] = [];
  if (mayRegister) actions.push("register");
  if (mayDraw) actions.push("outline");
  if (!hasDermoscopy) {
    return { text: "Judged on the whole mosaic: add the dermoscopy image so the lesion can be found on the mosaic.", actions: [] };
  }
  if (registration === null) {
    return { text: "Judged on the whole mosaic: this mosaic is not registered to the dermoscopy image, so the platform cannot "
      + "tell where the lesion lies on it. Register the mosaic (three landmark pairs or more).", actions };
  }
  const hasOutline = Boolean(outline?.polygon?.length);
  if (!hasOutline) {
    return { text: "Judged on the whole mosaic: there is no lesion outline on the dermoscopy image yet. Outline the lesion.", actions };
  }
  if (mosaic.basis === "whole_mosaic") {
    return { text: `${mosaic.basis_note ?? "Judged on the whole mosaic."} Check the registration, or the outline.`, actions };
  }
  const by = outline?.source === "model" ? "as the model segmented it: correct the outline if the border is off" : "as a person outlined it";
  return { text: `Judged within the lesion, ${by}.`, actions };
}
