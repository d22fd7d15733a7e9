import { describe, expect, it } from "vitest";
import type { CaseImage } from "../api/types";
import { SPACING_KEY, isRcm, rememberedSpacing, uploadItemFor } from "./uploadItem";

const file = (name: string) => new File(["x"], name);

describe("a dropped file's declaration", () => {
  it("is guessed from the file's name, with the spacing this browser last used", () => {
    const item = uploadItemFor({ key: "u1", file: file("L1_DEJ_mosaic.png"), replaces: null, spacing: 0.5 });
    expect(item).toMatchObject({ key: "u1", kind: "rcm_mosaic", depth_level: "dej", pixel_spacing_um: 0.5, replaces: null,
      state: "waiting", sent: 0, image: null, error: null });
    expect(item.reasons.length).toBeGreaterThan(0);
  });

  it("is the replaced image's own for a replacement, whatever the new file is called", () => {
    const old = { id: "img-1", kind: "rcm_mosaic", depth_level: "spinosum", depth_um: 40, pixel_spacing_um: 0.75 } as CaseImage;
    const item = uploadItemFor({ key: "u2", file: file("vivacam_0001.jpg"), replaces: old, spacing: 0.5 });
    expect(item).toMatchObject({ kind: "rcm_mosaic", depth_level: "spinosum", depth_um: 40, pixel_spacing_um: 0.75, replaces: "img-1",
      reasons: ["replaces the earlier capture"] });
  });

  it("remembers only a positive spacing", () => {
    const storage = (value: string | null) => ({ getItem: (key: string) => (key === SPACING_KEY ? value : null) });
    expect(rememberedSpacing({ storage: storage("0.8") })).toBe(0.8);
    expect(rememberedSpacing({ storage: storage(null) })).toBeNull();
    expect(rememberedSpacing({ storage: storage("-1") })).toBeNull();
    expect(rememberedSpacing({ storage: storage("not a number") })).toBeNull();
  });

  it("counts mosaics and stacks as RCM", () => {
    expect([isRcm("rcm_mosaic"), isRcm("rcm_stack"), isRcm("dermoscopy"), isRcm(null)]).toEqual([true, true, false, false]);
  });
});
