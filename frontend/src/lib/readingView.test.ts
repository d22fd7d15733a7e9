import { describe, expect, it } from "vitest";
import type { LesionHistory, OverlayDescriptor } from "../api/types";
import { defaultOverlaySettings, overlayChoicesFor, overlayFamily, priorMosaicOf, viewsDiffer } from "./readingView";

const overlay = (id: string, kind: OverlayDescriptor["kind"], source_image: string) =>
  ({ id, kind, source_image, label: id, width: 1, height: 1, level_offset: 0, format: "png", legend: [], dzi: "", tiles: "",
    model: { name: "m", version: "1", weights_sha256: "0" } }) satisfies OverlayDescriptor;

describe("overlay settings shared by image families", () => {
  it("puts every mosaic and stack of one size in one family, anything else alone", () => {
    expect(overlayFamily({ image: { id: "m1", kind: "rcm_mosaic", width: 1000, height: 800 } })).toBe("rcm:1000x800");
    expect(overlayFamily({ image: { id: "s1", kind: "rcm_stack", width: 1000, height: 800 } })).toBe("rcm:1000x800");
    expect(overlayFamily({ image: { id: "d1", kind: "dermoscopy", width: 1000, height: 800 } })).toBe("d1");
    expect(overlayFamily({ image: null })).toBe("");
  });

  it("starts with the overlay on, fainter over the dermoscopy", () => {
    expect(defaultOverlaySettings({ kind: "dermoscopy" })).toEqual({ on: true, opacity: 0.35 });
    expect(defaultOverlaySettings({ kind: "rcm_mosaic" })).toEqual({ on: true, opacity: 0.5 });
  });

  it("offers on the dermoscopy only the projection of the mosaic last shown", () => {
    const overlays = [overlay("p1", "projection", "m1"), overlay("p2", "projection", "m2"), overlay("q", "quality", "d")];
    expect(overlayChoicesFor({ overlays, kind: "dermoscopy", lastMosaicId: "m2" }).map((o) => o.id)).toEqual(["p2", "q"]);
    expect(overlayChoicesFor({ overlays, kind: "dermoscopy", lastMosaicId: null }).map((o) => o.id)).toEqual(["p1", "p2", "q"]);
    expect(overlayChoicesFor({ overlays, kind: "rcm_mosaic", lastMosaicId: "m2" })).toBe(overlays);
  });
});

describe("the previous visit beside this one", () => {
  const visit = (caseId: string, is_current: boolean, depths: string[]) => ({
    case: caseId, visit_date: `2026-0${caseId}-01`, status: "signed", is_current, quality_verdict: null, signed_report: null,
    mosaic_count: depths.length, mosaics: depths.map((depth_level) => ({ image: `${caseId}-${depth_level}`, depth_level })),
  });
  const history = { case: "3", visits: [visit("1", false, ["dej"]), visit("2", false, ["dej", "spinosum"]), visit("3", true, ["dej"])] } as unknown as LesionHistory;

  it("is the visit before the current one, with its mosaic at the same depth", () => {
    const { previousVisit, priorMosaic } = priorMosaicOf({ history, image: { kind: "rcm_mosaic", depth_level: "spinosum" } });
    expect(previousVisit?.case).toBe("2");
    expect(priorMosaic?.image).toBe("2-spinosum");
    expect(priorMosaicOf({ history, image: { kind: "rcm_mosaic", depth_level: "papillary_dermis" } }).priorMosaic).toBeNull();
  });

  it("offers nothing to compare on a first visit or for a dermoscopy image", () => {
    const first = { case: "1", visits: [visit("1", true, ["dej"])] } as unknown as LesionHistory;
    expect(priorMosaicOf({ history: first, image: { kind: "rcm_mosaic", depth_level: "dej" } })).toEqual({ previousVisit: null, priorMosaic: null });
    expect(priorMosaicOf({ history, image: { kind: "dermoscopy" } }).priorMosaic).toBeNull();
    expect(priorMosaicOf({ history: null, image: null })).toEqual({ previousVisit: null, priorMosaic: null });
  });

  it("moves the other viewer only when the view really changed", () => {
    const view = { zoom: 2, centre: { x: 0.5, y: 0.25 } };
    expect(viewsDiffer(view, { zoom: 2, centre: { x: 0.5, y: 0.25 } })).toBe(false);
    expect(viewsDiffer(view, { zoom: 2.01, centre: { x: 0.5, y: 0.25 } })).toBe(true);
    expect(viewsDiffer(view, { zoom: 2, centre: { x: 0.5, y: 0.26 } })).toBe(true);
  });
});
