import { describe, expect, it } from "vitest";
import {
  applyMatrix, dermoscopyToMosaic, distanceUm, fitAffine, initialPlacement, invertMatrix, lengthText, mosaicFootprint,
  placementCornerHandle, placementDragCorner, placementFromMatrix, placementMatrix, scaleBar, type Matrix3,
} from "./registration";

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

describe("landmark fit", () => {
  const pairsThrough = (matrix: Matrix3, points: [number, number][]) =>
    points.map((p) => ({ dermoscopy: p, mosaic: applyMatrix(matrix, p) }));

  it("recovers the device's similarity transform from three exact pairs, with no error", () => {
    const fit = fitAffine(pairsThrough(demo, [[100, 120], [480, 90], [300, 400]]))!;
    for (let i = 0; i < 3; i += 1) for (let j = 0; j < 3; j += 1) expect(fit.matrix[i][j]).toBeCloseTo(demo[i][j], 6);
    expect(fit.rmsPx).toBeLessThan(1e-6);
  });

  it("reports the RMS residual of a misplaced pair the way the platform does", () => {
    const pairs = pairsThrough(demo, [[100, 120], [480, 90], [300, 400], [200, 300]]);
    pairs[3] = { ...pairs[3], mosaic: [pairs[3].mosaic[0] + 40, pairs[3].mosaic[1]] };
    const fit = fitAffine(pairs)!;
    // The platform (imaging.registration.fit_affine, numpy lstsq) gives 15.818157 px for these pairs.
    expect(fit.rmsPx).toBeCloseTo(15.818157, 5);
    expect(fit.residualsPx.indexOf(Math.max(...fit.residualsPx))).toBe(3);
  });

  it("gives no fit for fewer than three pairs or pairs on one line", () => {
    expect(fitAffine(pairsThrough(demo, [[0, 0], [10, 10]]))).toBeNull();
    expect(fitAffine(pairsThrough(demo, [[0, 0], [10, 10], [20, 20], [30, 30]]))).toBeNull();
  });
});

describe("measurement", () => {
  it("turns pixels into µm at the image's spacing", () => {
    expect(distanceUm([0, 0], [300, 400], 0.75)).toBeCloseTo(375, 9);
    expect(distanceUm([0, 0], [3, 4], null)).toBeNull();
    expect(lengthText(375)).toBe("375 µm");
    expect(lengthText(12.25)).toBe("12.3 µm");
    expect(lengthText(2500)).toBe("2.50 mm");
  });

  it("picks a round scale-bar length that fits", () => {
    // 0.5 µm/px at 0.4 screen px per image px: 120 screen px hold 150 µm → a 100 µm bar, 80 px long.
    expect(scaleBar(0.5, 0.4)).toEqual({ um: 100, px: 80 });
    expect(scaleBar(1, 2)!.um).toBe(50);
    expect(scaleBar(0, 2)).toBeNull();
  });
});

describe("placing the field", () => {
  const mosaic = { width: 1024, height: 1024 };

  it("maps the placed field's centre to the mosaic's centre, its corners to the mosaic's corners", () => {
    const placement = { centre: [300, 220] as [number, number], angleDeg: 10, widthPx: 240 };
    const m = placementMatrix(placement, mosaic);
    const [x, y] = applyMatrix(m, [300, 220]);
    expect(x).toBeCloseTo(512, 9);
    expect(y).toBeCloseTo(512, 9);
    const corners = mosaicFootprint(m, mosaic);
    // the field is 240 px wide on the dermoscopy: its top edge is 240 px long
    expect(Math.hypot(corners[1][0] - corners[0][0], corners[1][1] - corners[0][1])).toBeCloseTo(240, 6);
    // turned by 10°: the top edge rises at 10° on screen (y down)
    expect(Math.atan2(corners[1][1] - corners[0][1], corners[1][0] - corners[0][0]) * 180 / Math.PI).toBeCloseTo(10, 6);
  });

  it("gives the demo device's similarity matrix back from its placement", () => {
    const placement = placementFromMatrix(demo, mosaic);
    const back = placementMatrix(placement, mosaic);
    for (let i = 0; i < 3; i += 1) for (let j = 0; j < 3; j += 1) expect(back[i][j]).toBeCloseTo(demo[i][j], 6);
    // 4.33 mosaic px per dermoscopy px, turned 6.4° the other way on the dermoscopy
    expect(placement.widthPx).toBeCloseTo(1024 / Math.hypot(4.3076, 0.4798), 6);
    expect(placement.angleDeg).toBeCloseTo(-Math.atan2(0.4798, 4.3076) * 180 / Math.PI, 6);
  });

  it("starts centred at the size the pixel spacings give, else at 40 % of the dermoscopy", () => {
    const dermoscopy = { width: 600, height: 450, pixel_spacing_um: 10 };
    expect(initialPlacement(dermoscopy, { ...mosaic, pixel_spacing_um: 2 })).toEqual({ centre: [300, 225], angleDeg: 0, widthPx: 204.8 });
    expect(initialPlacement({ ...dermoscopy, pixel_spacing_um: null }, { ...mosaic, pixel_spacing_um: 2 }).widthPx).toBeCloseTo(240, 9);
  });

  it("turns and scales the field by its corner handle, about its centre", () => {
    const start = { centre: [300, 220] as [number, number], angleDeg: 0, widthPx: 200 };
    const handle = placementCornerHandle(start, mosaic);
    expect(handle[0]).toBeCloseTo(400, 9);
    expect(handle[1]).toBeCloseTo(120, 9);
    expect(placementDragCorner(start, handle, mosaic).angleDeg).toBeCloseTo(0, 9);
    // dragging the corner to twice its distance, a quarter turn further: twice the width, turned 90°
    const turned = placementDragCorner(start, [300 + 200, 220 + 200], mosaic);
    expect(turned.widthPx).toBeCloseTo(400, 6);
    expect(turned.angleDeg).toBeCloseTo(90, 6);
    expect(turned.centre).toEqual([300, 220]);
    const corner = placementCornerHandle(turned, mosaic);
    expect(corner[0]).toBeCloseTo(500, 6);
    expect(corner[1]).toBeCloseTo(420, 6);
  });
});
