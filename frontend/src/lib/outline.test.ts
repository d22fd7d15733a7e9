import { describe, expect, it } from "vitest";
import { insertVertex, polygonArea, simplify, strokeToPolygon } from "./outline";
import type { Point } from "./registration";

describe("outline editing", () => {
  const square: Point[] = [[0, 0], [100, 0], [100, 100], [0, 100]];

  it("inserts a vertex into the nearest edge, the closing one included", () => {
    expect(insertVertex(square, [50, -3])).toEqual([[0, 0], [50, -3], [100, 0], [100, 100], [0, 100]]);
    expect(insertVertex(square, [-4, 50])).toEqual([[0, 0], [100, 0], [100, 100], [0, 100], [-4, 50]]);
  });

  it("simplifies a stroke to the points that matter", () => {
    const stroke: Point[] = Array.from({ length: 101 }, (_, i) => [i, i % 2 ? 0.2 : 0]);
    expect(simplify(stroke, 1)).toEqual([[0, 0], [100, 0]]);
  });

  it("turns a hand-drawn circle into an editable polygon of similar area", () => {
    const stroke: Point[] = Array.from({ length: 400 }, (_, i) => {
      const angle = (2 * Math.PI * i) / 399;
      return [200 + 80 * Math.cos(angle), 150 + 80 * Math.sin(angle)];
    });
    const polygon = strokeToPolygon(stroke, 1.5)!;
    expect(polygon.length).toBeGreaterThan(8);
    expect(polygon.length).toBeLessThan(60);
    expect(polygonArea(polygon) / (Math.PI * 80 * 80)).toBeGreaterThan(0.97);
    expect(strokeToPolygon([[0, 0], [10, 10], [20, 20]], 1)).toBeNull(); // a line encloses nothing
  });
});
