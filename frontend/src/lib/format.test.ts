import { describe, expect, it } from "vitest";
import { intervalTitle, percentRange } from "./format";

describe("percentRange", () => {
  it("shows the figure alone without an interval", () => {
    expect(percentRange(12.34, null)).toBe("12.3%");
    expect(percentRange(null, { low: 1, high: 2 })).toBe("—");
  });
  it("shows the calibrated interval beside the figure", () => {
    expect(percentRange(12.34, { low: 9.76, high: 15.04 })).toBe("12.3% (9.8–15.0)");
  });
  it("says what the interval means only when the model has one", () => {
    expect(intervalTitle(0.95)).toContain("95% of mosaics");
    expect(intervalTitle(null)).toBeUndefined();
  });
});
