import { describe, expect, it } from "vitest";
import { bytesText, imageProgress } from "./capture";
import { BODY_REGIONS, sideNote } from "./anatomy";
import { declarationProblem, depthLevelFor, guessImageFields, nameWords } from "./filenames";
import { uploadMetadata } from "./upload";

describe("guessing an image's kind and depth from its file name", () => {
  it("splits names into words at separators and letter/digit boundaries", () => {
    expect(nameWords("C:\\exports\\VivaBlock2_DEJ-80um.bmp")).toEqual(["vivablock", "2", "dej", "80", "um"]);
  });

  it("reads device export names and the technician's depth words", () => {
    expect(guessImageFields("L1_DEJ_mosaic.png")).toMatchObject({ kind: "rcm_mosaic", depth_level: "dej" });
    expect(guessImageFields("VivaStack_3.tif")).toMatchObject({ kind: "rcm_stack", depth_level: "" });
    expect(guessImageFields("vivacam_0001.jpg")).toMatchObject({ kind: "dermoscopy", depth_level: "", depth_um: null });
    expect(guessImageFields("overview photo.JPG")).toMatchObject({ kind: "clinical" });
  });

  it("takes a depth in micrometres and, for a mosaic without a named level, a default level from it", () => {
    const guess = guessImageFields("mosaic 45 µm.png");
    expect(guess).toMatchObject({ kind: "rcm_mosaic", depth_um: 45, depth_level: "spinosum" });
    expect(guess.reasons.join(" ")).toContain("45");
    expect(guessImageFields("block_1,5um.png").depth_um).toBe(1.5);
    expect(guessImageFields("sg_20um.png")).toMatchObject({ kind: "rcm_mosaic", depth_level: "stratum_granulosum", depth_um: 20 });
  });

  it("does not match words inside other words, and leaves an unknown name undecided", () => {
    expect(guessImageFields("adejo_photograph.png").kind).toBeNull();
    expect(guessImageFields("IMG_0042.png")).toEqual({ kind: null, depth_level: "", depth_um: null, reasons: [] });
  });

  it("drops depth words for non-RCM kinds", () => {
    expect(guessImageFields("dermoscopy_dej.jpg")).toMatchObject({ kind: "dermoscopy", depth_level: "" });
  });

  it("maps depths to levels at the documented edges", () => {
    expect([10, 30, 59, 60, 109, 110].map(depthLevelFor)).toEqual(
      ["stratum_granulosum", "spinosum", "spinosum", "dej", "dej", "papillary_dermis"]);
  });

  it("asks for the kind, and for a mosaic its depth, before uploading", () => {
    expect(declarationProblem(null, "")).toMatch(/kind/);
    expect(declarationProblem("rcm_mosaic", "")).toMatch(/depth/);
    expect(declarationProblem("rcm_mosaic", "dej")).toBeNull();
    expect(declarationProblem("dermoscopy", "", null)).toBeNull();
    expect(declarationProblem("rcm_mosaic", "dej", null)).toMatch(/pixel spacing/);
    expect(declarationProblem("rcm_stack", "", 0)).toMatch(/pixel spacing/);
  });
});

describe("the body picker's map", () => {
  it("has unique ids and pairs every limb region left and right on both views", () => {
    const ids = BODY_REGIONS.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const sided = BODY_REGIONS.filter((r) => r.side !== null);
    expect(sided.filter((r) => r.side === "left").length).toBe(sided.filter((r) => r.side === "right").length);
  });

  it("draws the figure's right on the viewer's left from the front and on the viewer's right from the back", () => {
    const centre = (id: string) => {
      const shape = BODY_REGIONS.find((r) => r.id === id)!.shape;
      return "ellipse" in shape ? shape.ellipse[0] : "rect" in shape ? shape.rect[0] + shape.rect[2] / 2 : 0;
    };
    expect(centre("front-hand-right")).toBeLessThan(100);
    expect(centre("back-hand-right")).toBeGreaterThan(100);
  });

  it("gives palms and soles their own general site, and the side as a note", () => {
    const general = (id: string) => BODY_REGIONS.find((r) => r.id === id)!.anatom_site_general;
    expect(general("front-hand-left")).toBe("palms/soles");
    expect(general("back-hand-left")).toBe("upper extremity");
    expect(general("back-foot-right")).toBe("palms/soles");
    expect(sideNote(BODY_REGIONS.find((r) => r.id === "front-forearm-left")!)).toBe("Left side");
  });
});

describe("upload metadata", () => {
  it("sends only the fields that are set, as strings", () => {
    expect(uploadMetadata({ case: "c", kind: "rcm_mosaic", depth_level: "dej", depth_um: 0, pixel_spacing_um: 2, replaces: null }, "a.png"))
      .toEqual({ filename: "a.png", case: "c", kind: "rcm_mosaic", depth_level: "dej", depth_um: "0", pixel_spacing_um: "2" });
    expect(uploadMetadata({ case: "c", kind: "dermoscopy" }, "d.jpg")).toEqual({ filename: "d.jpg", case: "c", kind: "dermoscopy" });
  });
});


describe("an image's way to its verdict", () => {
  const image = (status: string, status_detail = "") => ({ id: "m", status, status_detail });
  it("goes stored → pyramid → analysing → analysed", () => {
    expect(imageProgress(image("stored"), []).stage).toBe("stored");
    expect(imageProgress(image("processing"), []).stage).toBe("pyramid");
    expect(imageProgress(image("ready"), [{ image: "m", step: "quality", state: "running" }]))
      .toMatchObject({ stage: "analysing", text: "Analysing (quality)", settled: false });
    expect(imageProgress(image("ready"), [{ image: "m", step: "quality", state: "succeeded" }], "judging").stage).toBe("analysing");
    expect(imageProgress(image("ready"), [{ image: "m", step: "quality", state: "succeeded" }], "done"))
      .toMatchObject({ stage: "analysed", done: 4, settled: true });
  });

  it("says why it failed, and ignores other images' runs", () => {
    expect(imageProgress(image("failed", "Truncated PNG."), []).text).toBe("Truncated PNG.");
    expect(imageProgress(image("ready"), [{ image: "m", step: "quality", state: "failed", error: "out of memory" }]).text)
      .toBe("Analysis failed: quality (out of memory)");
    expect(imageProgress(image("ready"), [{ image: "other", step: "quality", state: "running" }]).stage).toBe("ready");
  });

  it("writes sizes as people read them", () => {
    expect([512, 830_000, 1_234_567, 2_500_000_000].map(bytesText)).toEqual(["512 B", "830 kB", "1.2 MB", "2.50 GB"]);
  });
});
