import { describe, expect, it } from "vitest";
import type { LesionOutline, MosaicQuality, Registration } from "../api/types";
import { basisGuidance, shownMosaicOf } from "./captureView";

const judged = (image: string, verdict: MosaicQuality["verdict"], extra: Partial<MosaicQuality> = {}): MosaicQuality => ({
  image, depth_level: "dej", depth_um: 80, state: "done", error: null, run: null, verdict, note: null, ...extra,
});
const registration: Registration = {
  dermoscopy: "d", matrix: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], landmarks: null, source: "device", rms_error_px: null,
  rms_error_um: null, created_by: "tech", updated_at: "2026-12-01T10:00:00Z",
};
const outline = (source: LesionOutline["source"]): LesionOutline => ({
  image: "d", source, polygon: [[0, 0], [10, 0], [10, 10]], has_model_outline: source === "model", updated_at: "2026-12-01T10:00:00Z",
});

describe("the mosaic the capture page shows", () => {
  const mosaics = [{ id: "a" }, { id: "b" }, { id: "c" }];

  it("is the one picked, else the worst judged one, else the first", () => {
    const verdicts = [judged("a", "acceptable"), judged("b", "reimage"), judged("c", "review")];
    expect(shownMosaicOf({ mosaics, judged: verdicts, picked: "c" })?.id).toBe("c");
    expect(shownMosaicOf({ mosaics, judged: verdicts, picked: null })?.id).toBe("b");
    expect(shownMosaicOf({ mosaics, judged: [], picked: null })?.id).toBe("a");
    expect(shownMosaicOf({ mosaics: [], judged: verdicts, picked: "a" })).toBeNull();
  });

  it("leaves out verdicts of mosaics no longer in the case (replaced) and unjudged ones", () => {
    const verdicts = [judged("gone", "reimage"), judged("a", null), judged("c", "review")];
    expect(shownMosaicOf({ mosaics, judged: verdicts, picked: "unknown" })?.id).toBe("c");
  });
});

describe("why a mosaic's verdict is what it is", () => {
  const base = { hasDermoscopy: true, registration, outline: outline("person"), mayDraw: true, mayRegister: true };

  it("says nothing before there is a verdict", () => {
    expect(basisGuidance({ ...base, mosaic: null })).toBeNull();
    expect(basisGuidance({ ...base, mosaic: judged("a", null) })).toBeNull();
    expect(basisGuidance({ ...base, mosaic: judged("a", "review", { state: "analysing" }) })).toBeNull();
  });

  it("asks for the dermoscopy first, and offers no tool without it", () => {
    expect(basisGuidance({ ...base, mosaic: judged("a", "review"), hasDermoscopy: false }))
      .toEqual({ text: expect.stringContaining("add the dermoscopy image"), actions: [] });
  });

  it("asks for a registration, then an outline, offering what the technician may do", () => {
    expect(basisGuidance({ ...base, mosaic: judged("a", "review"), registration: null })?.text).toContain("not registered");
    expect(basisGuidance({ ...base, mosaic: judged("a", "review"), outline: null })).toEqual({
      text: "Judged on the whole mosaic: there is no lesion outline on the dermoscopy image yet. Outline the lesion.",
      actions: ["register", "outline"],
    });
    expect(basisGuidance({ ...base, mosaic: judged("a", "review"), outline: null, mayRegister: false })?.actions).toEqual(["outline"]);
  });

  it("passes on the platform's reason for a whole-mosaic judgement", () => {
    const mosaic = judged("a", "reimage", { basis: "whole_mosaic", basis_note: "The lesion lies outside this mosaic." });
    expect(basisGuidance({ ...base, mosaic })?.text).toBe("The lesion lies outside this mosaic. Check the registration, or the outline.");
  });

  it("names who drew the lesion a judgement within it rests on", () => {
    const mosaic = judged("a", "acceptable", { basis: "lesion" });
    expect(basisGuidance({ ...base, mosaic })?.text).toBe("Judged within the lesion, as a person outlined it.");
    expect(basisGuidance({ ...base, mosaic, outline: outline("model") })?.text).toContain("as the model segmented it");
  });
});
