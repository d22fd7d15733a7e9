/** Editing a polygon in image pixels: where a new vertex goes, and how a freehand stroke becomes a
 * polygon a person can still edit (Douglas–Peucker, the same simplification the platform applies
 * to a model's traced outline). */
import type { Point } from "./registration";

function distanceToSegment([px, py]: Point, [ax, ay]: Point, [bx, by]: Point): number {
  const dx = bx - ax, dy = by - ay;
  const length = dx * dx + dy * dy;
  const t = length ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / length)) : 0;
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** The polygon with `point` inserted into its nearest edge (closing edge included). */
export function insertVertex(polygon: Point[], point: Point): Point[] {
  if (polygon.length < 2) return [...polygon, point];
  let best = 0, bestDistance = Infinity;
  for (let i = 0; i < polygon.length; i += 1) {
    const d = distanceToSegment(point, polygon[i], polygon[(i + 1) % polygon.length]);
    if (d < bestDistance) { best = i; bestDistance = d; }
  }
  return [...polygon.slice(0, best + 1), point, ...polygon.slice(best + 1)];
}

/** Douglas–Peucker: the fewest points that stay within `tolerance` pixels of the stroke. */
export function simplify(points: Point[], tolerance: number): Point[] {
  if (points.length < 3) return points;
  let index = 0, furthest = 0;
  for (let i = 1; i < points.length - 1; i += 1) {
    const d = distanceToSegment(points[i], points[0], points[points.length - 1]);
    if (d > furthest) { furthest = d; index = i; }
  }
  if (furthest <= tolerance) return [points[0], points[points.length - 1]];
  const left = simplify(points.slice(0, index + 1), tolerance);
  return [...left.slice(0, -1), ...simplify(points.slice(index), tolerance)];
}

/** Twice the polygon's signed area (shoelace); 0 for fewer than three points. */
export function polygonArea(polygon: Point[]): number {
  let sum = 0;
  for (let i = 0; i < polygon.length; i += 1) {
    const [x0, y0] = polygon[i];
    const [x1, y1] = polygon[(i + 1) % polygon.length];
    sum += x0 * y1 - x1 * y0;
  }
  return Math.abs(sum) / 2;
}

/** A stroke drawn by hand as an editable polygon: simplified to about one vertex per few screen
 * pixels' worth of image (tolerance in image pixels), never fewer than three points. */
export function strokeToPolygon(stroke: Point[], tolerance: number): Point[] | null {
  const simplified = simplify(stroke, tolerance);
  const polygon = simplified.length > 3 && Math.hypot(simplified[0][0] - simplified[simplified.length - 1][0],
    simplified[0][1] - simplified[simplified.length - 1][1]) <= tolerance ? simplified.slice(0, -1) : simplified;
  return polygon.length >= 3 && polygonArea(polygon) > 1 ? polygon : null;
}
