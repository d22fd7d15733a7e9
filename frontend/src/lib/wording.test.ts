import { describe, expect, it } from "vitest";
import { mosaicLabels } from "./depth";
import { agreementText, dateTimeText, problemWhere } from "./format";

const UTC_GB = { locale: "en-GB", timeZone: "UTC" };

describe("dates as a person reads them", () => {
  it("shows a local, human date and time, never the ISO string", () => {
    expect(dateTimeText("2026-12-03T06:55:41.567163+00:00", UTC_GB)).toBe("3 Dec 2026, 06:55");
    expect(dateTimeText("2026-12-03T06:55:41.567163+00:00", { locale: "en-GB", timeZone: "Europe/Zurich" })).toBe("3 Dec 2026, 07:55");
    expect(dateTimeText(null)).toBe("—");
    expect(dateTimeText("not a date")).toBe("—");
  });
});

describe("expert agreement", () => {
  const agreement = { sensitivity: 0.8234, specificity: 0.93, dice: 0.781, expert: "5", annotated_at: "2026-12-03T06:55:41.567163+00:00" };

  it("names the expert and the moment, with the figures rounded", () => {
    const { figures, by } = agreementText({ ...agreement, expert_name: "Rita Reader" }, UTC_GB);
    expect(figures).toBe("sensitivity 0.82 · specificity 0.93 · Dice 0.78");
    expect(by).toBe("annotated by Rita Reader on 3 Dec 2026, 06:55");
    expect(by).not.toContain("expert 5");
  });

  it("never shows a bare user id when the name is missing", () => {
    expect(agreementText(agreement, UTC_GB).by).toBe("annotated by an expert on 3 Dec 2026, 06:55");
    expect(agreementText({ dice: null, sensitivity: 0.5 }).by).toBe("");
  });
});

describe("where the uninformative area lies", () => {
  it("keeps the platform's phrase, which carries its own preposition", () => {
    for (const text of ["at the upper left of the mosaic", "over most of the lesion", "in patches spread over the mosaic"]) {
      expect(problemWhere(text)).toBe(text);
    }
  });

  it("completes judgements recorded before, so none reads 'at the spread over the mosaic'", () => {
    expect(problemWhere("spread over the mosaic")).toBe("in patches spread over the mosaic");
    expect(problemWhere("most of the lesion")).toBe("over most of the lesion");
    expect(problemWhere("upper left of the mosaic, outside the lesion")).toBe("at the upper left of the mosaic, outside the lesion");
    expect(problemWhere("centre of the lesion")).toBe("at the centre of the lesion");
  });
});

describe("mosaic names", () => {
  it("gives each mosaic its depth in µm", () => {
    expect(mosaicLabels([
      { image: "a", depth_level: "dej", depth_um: 80 }, { image: "b", depth_level: "dej", depth_um: 100.25 },
      { image: "c", depth_level: "papillary_dermis", depth_um: null },
    ])).toEqual({ a: "Dermal-epidermal junction · 80 µm", b: "Dermal-epidermal junction · 100.3 µm", c: "Papillary dermis" });
  });

  it("names the level briefly for a narrow column", () => {
    expect(mosaicLabels([{ image: "a", depth_level: "dej", depth_um: 80 }, { image: "b", depth_level: "dej", depth_um: null },
      { image: "c", depth_level: "dej", depth_um: null }], { short: true }))
      .toEqual({ a: "DEJ · 80 µm", b: "DEJ (1 of 2)", c: "DEJ (2 of 2)" });
  });

  it("numbers the ones still alike, in order", () => {
    expect(mosaicLabels([
      { image: "a", depth_level: "dej", depth_um: null }, { image: "b", depth_level: "dej", depth_um: null },
      { image: "c", depth_level: "dej", depth_um: 80 },
    ])).toEqual({ a: "Dermal-epidermal junction (1 of 2)", b: "Dermal-epidermal junction (2 of 2)", c: "Dermal-epidermal junction · 80 µm" });
    expect(Object.values(mosaicLabels([{ image: "x", depth_level: "dej", depth_um: 60 }, { image: "y", depth_level: "dej", depth_um: 60 }])))
      .toEqual(["Dermal-epidermal junction · 60 µm (1 of 2)", "Dermal-epidermal junction · 60 µm (2 of 2)"]);
  });
});
