/** Dermoscopy ↔ mosaic geometry. The platform stores one 3x3 matrix per mosaic that maps dermoscopy
 * pixels to mosaic pixels (homogeneous coordinates); clicking the dermoscopy pans the mosaic through
 * it, and the mosaic's field of view is drawn back on the dermoscopy through its inverse. */

export type Matrix3 = number[][];
export type Point = [number, number];

/** An [x, y] pair as the API sends it (an array the platform validates to two numbers) as a point. */
export const asPoint = ([x, y]: number[]): Point => [x, y];
export const asPoints = (pairs: number[][]): Point[] => pairs.map(asPoint);

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

export interface LandmarkPair {
  dermoscopy: Point;
  mosaic: Point;
}

export interface AffineFit {
  matrix: Matrix3;
  /** Root-mean-square distance, in mosaic pixels, between where the fit sends each dermoscopy
   * landmark and where the person put it on the mosaic (what the platform reports too). */
  rmsPx: number;
  /** Each pair's own residual in mosaic pixels: a badly placed pair stands out. */
  residualsPx: number[];
}

/** Solve the 3x3 system a·x = b (Gaussian elimination with partial pivoting); null when singular. */
function solve3(a: number[][], b: number[]): number[] | null {
  const m = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < 3; col += 1) {
    let pivot = col;
    for (let row = col + 1; row < 3; row += 1) if (Math.abs(m[row][col]) > Math.abs(m[pivot][col])) pivot = row;
    if (Math.abs(m[pivot][col]) < 1e-12) return null;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let row = 0; row < 3; row += 1) {
      if (row === col) continue;
      const factor = m[row][col] / m[col][col];
      for (let k = col; k < 4; k += 1) m[row][k] -= factor * m[col][k];
    }
  }
  return [m[0][3] / m[0][0], m[1][3] / m[1][1], m[2][3] / m[2][2]];
}

/** The least-squares affine transform dermoscopy → mosaic from three or more landmark pairs, the
 * same fit the platform makes when the pairs are saved, so what the person sees live is what is
 * stored. Null while the pairs fix no transform (fewer than three, or all on one line). */
export function fitAffine(pairs: LandmarkPair[]): AffineFit | null {
  if (pairs.length < 3) return null;
  const n = pairs.length;
  const mean = pairs.reduce(([sx, sy], p) => [sx + p.dermoscopy[0] / n, sy + p.dermoscopy[1] / n], [0, 0]);
  // Centred normal equations (better conditioned than raw pixel coordinates).
  const rows = pairs.map((p) => [p.dermoscopy[0] - mean[0], p.dermoscopy[1] - mean[1], 1]);
  const ata = [0, 1, 2].map((i) => [0, 1, 2].map((j) => rows.reduce((s, r) => s + r[i] * r[j], 0)));
  const spreadX = ata[0][0], spreadY = ata[1][1], cross = ata[0][1];
  if (spreadX * spreadY - cross * cross < 1e-6 * Math.max(spreadX, spreadY, 1) ** 2) return null; // collinear
  const solutions = [0, 1].map((axis) =>
    solve3(ata, [0, 1, 2].map((i) => rows.reduce((s, r, k) => s + r[i] * pairs[k].mosaic[axis], 0))));
  if (!solutions[0] || !solutions[1]) return null;
  const [[a, b, c0], [d, e, f0]] = solutions as number[][];
  const matrix: Matrix3 = [[a, b, c0 - a * mean[0] - b * mean[1]], [d, e, f0 - d * mean[0] - e * mean[1]], [0, 0, 1]];
  if (Math.abs(a * e - b * d) < 1e-4) return null; // collapses the image
  const residualsPx = pairs.map((p) => {
    const [x, y] = applyMatrix(matrix, p.dermoscopy);
    return Math.hypot(x - p.mosaic[0], y - p.mosaic[1]);
  });
  const rmsPx = Math.sqrt(residualsPx.reduce((s, r) => s + r * r, 0) / n);
  return { matrix, rmsPx, residualsPx };
}

/** Distance between two image points in µm at the image's pixel spacing (null when unknown). */
export function distanceUm(a: Point, b: Point, pixelSpacingUm: number | null | undefined): number | null {
  if (!pixelSpacingUm || pixelSpacingUm <= 0) return null;
  return Math.hypot(b[0] - a[0], b[1] - a[1]) * pixelSpacingUm;
}

/** A length in µm as a person reads it: µm below a millimetre, mm above. */
export function lengthText(um: number): string {
  if (um >= 1000) return `${(um / 1000).toFixed(um >= 10000 ? 1 : 2)} mm`;
  return `${um >= 100 ? Math.round(um) : um.toFixed(1)} µm`;
}

/** The scale bar: the longest "round" length (1, 2 or 5 × 10^k µm) that fits in maxScreenPx at the
 * current zoom (screenPxPerImagePx), with its length on screen. */
export function scaleBar(pixelSpacingUm: number, screenPxPerImagePx: number, maxScreenPx = 120): { um: number; px: number } | null {
  if (!(pixelSpacingUm > 0) || !(screenPxPerImagePx > 0)) return null;
  const maxUm = (maxScreenPx / screenPxPerImagePx) * pixelSpacingUm;
  const power = 10 ** Math.floor(Math.log10(maxUm));
  const um = [5, 2, 1].map((step) => step * power).find((value) => value <= maxUm) ?? power;
  return { um, px: (um / pixelSpacingUm) * screenPxPerImagePx };
}

/** The mosaic's field placed by hand on the dermoscopy: its centre (dermoscopy px), its turn in
 * degrees (clockwise on screen, y pointing down) and its width on the dermoscopy (dermoscopy px). */
export interface FieldPlacement {
  centre: Point;
  angleDeg: number;
  widthPx: number;
}

type Size = { width: number; height: number };

/** The dermoscopy → mosaic matrix of a placement: mosaic = mosaicCentre + R(−angle)(d − centre) / k,
 * with k the dermoscopy px per mosaic px (widthPx / mosaic width). */
export function placementMatrix(placement: FieldPlacement, mosaic: Size): Matrix3 {
  if (!(placement.widthPx > 0)) throw new Error("the field must have a width");
  const k = placement.widthPx / mosaic.width;
  const a = (placement.angleDeg * Math.PI) / 180;
  const cos = Math.cos(a) / k, sin = Math.sin(a) / k;
  const [cx, cy] = placement.centre;
  const l = [[cos, sin], [-sin, cos]];
  return [
    [l[0][0], l[0][1], mosaic.width / 2 - (l[0][0] * cx + l[0][1] * cy)],
    [l[1][0], l[1][1], mosaic.height / 2 - (l[1][0] * cx + l[1][1] * cy)],
    [0, 0, 1],
  ];
}

/** The placement nearest a matrix (a device's, a proposal's, a landmark fit's): where the mosaic's
 * centre lands, and the turn and mean scale of the inverse's linear part. */
export function placementFromMatrix(matrix: Matrix3, mosaic: Size): FieldPlacement {
  const inverse = invertMatrix(matrix);
  const centre = applyMatrix(inverse, [mosaic.width / 2, mosaic.height / 2]);
  const [[a, b], [c, d]] = [inverse[0], inverse[1]];
  const k = Math.sqrt(Math.abs(a * d - b * c));
  const angleDeg = (Math.atan2(c - b, a + d) * 180) / Math.PI;
  return { centre, angleDeg, widthPx: k * mosaic.width };
}

/** Where to start placing when nothing is registered: the field centred, unturned, at the size the
 * two pixel spacings give, else at 40 % of the dermoscopy's width. */
export function initialPlacement(dermoscopy: Size & { pixel_spacing_um?: number | null },
                                 mosaic: Size & { pixel_spacing_um?: number | null }): FieldPlacement {
  const known = mosaic.pixel_spacing_um && dermoscopy.pixel_spacing_um;
  const widthPx = known ? (mosaic.width * mosaic.pixel_spacing_um!) / dermoscopy.pixel_spacing_um! : 0.4 * dermoscopy.width;
  return { centre: [dermoscopy.width / 2, dermoscopy.height / 2], angleDeg: 0, widthPx };
}

/** The field's corner that turns and scales it (the mosaic's top-right corner), on the dermoscopy. */
export function placementCornerHandle(placement: FieldPlacement, mosaic: Size): Point {
  return applyMatrix(invertMatrix(placementMatrix(placement, mosaic)), [mosaic.width, 0]);
}

/** Dragging the corner handle to `to`: the field turns about its centre and scales so that its
 * top-right corner follows the pointer. */
export function placementDragCorner(placement: FieldPlacement, to: Point, mosaic: Size): FieldPlacement {
  const [vx, vy] = [to[0] - placement.centre[0], to[1] - placement.centre[1]];
  const length = Math.hypot(vx, vy);
  if (length < 1e-6) return placement;
  const half = Math.hypot(mosaic.width / 2, mosaic.height / 2);
  const nominal = Math.atan2(-mosaic.height / 2, mosaic.width / 2);
  const angleDeg = ((Math.atan2(vy, vx) - nominal) * 180) / Math.PI;
  return { ...placement, angleDeg: ((angleDeg + 540) % 360) - 180, widthPx: (length / half) * mosaic.width };
}
