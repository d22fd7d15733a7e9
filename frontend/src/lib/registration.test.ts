import { describe, expect, it } from "vitest";
import { applyMatrix, dermoscopyToMosaic, invertMatrix, mosaicFootprint, type Matrix3 } from "./registration";

// The demo case's device registration: a similarity transform (scale 4.33, rotation 6.4°).
const demo: Matrix3 = [[4.3076, -0.4798, -737.48], [0.4798, 4.3076, -560.91], [0, 0, 1]];

describe("registration", () => {
  it("maps a point the way the matrix says", () => {
    const [x, y] = applyMatrix(demo, [300, 250]);
    expect(x).toBeCloseTo(4.3076 * 300 - 0.4798 * 250 - 737.48, 6);
    expect(y).toBeCloseTo(0.4798 * 300 + 4.3076 * 250 - 560.91, 6);
  });

  it("divides by w for projective matrices", () => {
    const projective: Matrix3 = [[2, 0, 0], [0, 2, 0], [0, 0.001, 1]];
    const [x, y] = applyMatrix(projective, [100, 1000]);
    expect(x).toBeCloseTo(200 / 2, 9);
    expect(y).toBeCloseTo(2000 / 2, 9);
  });

  it("inverts: forward then back returns the point", () => {
    const inverse = invertMatrix(demo);
    for (const point of [[0, 0], [320, 240], [599, 449]] as [number, number][]) {
      const [x, y] = applyMatrix(inverse, applyMatrix(demo, point));
      expect(x).toBeCloseTo(point[0], 6);
      expect(y).toBeCloseTo(point[1], 6);
    }
  });

  it("refuses a singular matrix", () => {
    expect(() => invertMatrix([[1, 2, 3], [2, 4, 6], [0, 0, 1]])).toThrow(/singular/);
  });

  it("says when a click falls outside the mosaic", () => {
    expect(dermoscopyToMosaic(demo, [300, 250], { width: 1024, height: 1024 })).not.toBeNull();
    expect(dermoscopyToMosaic(demo, [0, 0], { width: 1024, height: 1024 })).toBeNull();
  });

  it("draws the mosaic's footprint back on the dermoscopy", () => {
    const corners = mosaicFootprint(demo, { width: 1024, height: 1024 });
    expect(corners).toHaveLength(4);
    const [x, y] = applyMatrix(demo, corners[2]);
    expect(x).toBeCloseTo(1024, 6);
    expect(y).toBeCloseTo(1024, 6);
  });
});
