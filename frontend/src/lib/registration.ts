/** Dermoscopy ↔ mosaic geometry. The platform stores one 3x3 matrix per mosaic that maps dermoscopy
 * pixels to mosaic pixels (homogeneous coordinates); clicking the dermoscopy pans the mosaic through
 * it, and the mosaic's field of view is drawn back on the dermoscopy through its inverse. */

export type Matrix3 = number[][];
export type Point = [number, number];

export function applyMatrix(matrix: Matrix3, [x, y]: Point): Point {
  const w = matrix[2][0] * x + matrix[2][1] * y + matrix[2][2];
  if (Math.abs(w) < 1e-12) throw new Error("the registration maps this point to infinity");
  return [
    (matrix[0][0] * x + matrix[0][1] * y + matrix[0][2]) / w,
    (matrix[1][0] * x + matrix[1][1] * y + matrix[1][2]) / w,
  ];
}

export function invertMatrix(m: Matrix3): Matrix3 {
  const [a, b, c] = m[0];
  const [d, e, f] = m[1];
  const [g, h, i] = m[2];
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (Math.abs(det) < 1e-12) throw new Error("the registration matrix is singular");
  const inv = [
    [A, -(b * i - c * h), b * f - c * e],
    [B, a * i - c * g, -(a * f - c * d)],
    [C, -(a * h - b * g), a * e - b * d],
  ];
  return inv.map((row) => row.map((value) => value / det));
}

/** Where a dermoscopy point lands on the mosaic, or null when it falls outside the mosaic. */
export function dermoscopyToMosaic(matrix: Matrix3, point: Point, mosaic: { width: number; height: number }): Point | null {
  const [x, y] = applyMatrix(matrix, point);
  return x >= 0 && y >= 0 && x <= mosaic.width && y <= mosaic.height ? [x, y] : null;
}

/** The mosaic's outline drawn on the dermoscopy: its four corners through the inverse matrix. */
export function mosaicFootprint(matrix: Matrix3, mosaic: { width: number; height: number }): Point[] {
  const inverse = invertMatrix(matrix);
  const corners: Point[] = [[0, 0], [mosaic.width, 0], [mosaic.width, mosaic.height], [0, mosaic.height]];
  return corners.map((corner) => applyMatrix(inverse, corner));
}
