/** The body picker's map: clickable regions of a front and a back figure, each an ISIC
 * hierarchical anatomic site with its general site (the two fields a lesion stores) and the side.
 * The ISIC vocabulary has no laterality, so the side goes into the lesion's location note. */

export type View = "front" | "back";
export type Side = "left" | "right" | null;

export interface BodyRegion {
  id: string;
  view: View;
  side: Side;
  label: string;
  anatom_site: string;
  anatom_site_general: string;
  /** SVG shape in a 200 x 440 viewBox, the figure facing the viewer (its left on the viewer's right). */
  shape: { rect: [number, number, number, number] } | { ellipse: [number, number, number, number] } | { points: string };
}

type Limb = { label: string; site: string; general: string; left: BodyRegion["shape"]; right: BodyRegion["shape"] };

function paired(view: View, id: string, limb: Limb): BodyRegion[] {
  return (["right", "left"] as const).map((side) => ({
    id: `${view}-${id}-${side}`, view, side, label: `${side === "left" ? "Left" : "Right"} ${limb.label}`,
    anatom_site: limb.site, anatom_site_general: limb.general, shape: side === "left" ? limb.left : limb.right,
  }));
}

// The figure's right side is on the viewer's left in the front view and on the viewer's right in
// the back view: mirror the x of each shape for the back.
function mirrored(shape: BodyRegion["shape"]): BodyRegion["shape"] {
  if ("rect" in shape) { const [x, y, w, h] = shape.rect; return { rect: [200 - x - w, y, w, h] }; }
  if ("ellipse" in shape) { const [cx, cy, rx, ry] = shape.ellipse; return { ellipse: [200 - cx, cy, rx, ry] }; }
  return { points: shape.points.split(" ").map((pair) => { const [x, y] = pair.split(",").map(Number); return `${200 - x},${y}`; }).join(" ") };
}

const LIMBS: Record<string, { front: Limb; back: Limb }> = {
  shoulder: {
    front: { label: "shoulder", site: "Upper extremity:Shoulder:Anterior shoulder", general: "upper extremity", right: { ellipse: [56, 96, 14, 11] }, left: { ellipse: [144, 96, 14, 11] } },
    back: { label: "shoulder", site: "Upper extremity:Shoulder:Posterior shoulder", general: "upper extremity", right: { ellipse: [56, 96, 14, 11] }, left: { ellipse: [144, 96, 14, 11] } },
  },
  upperArm: {
    front: { label: "upper arm", site: "Upper extremity:Upper arm:Anterior upper arm", general: "upper extremity", right: { rect: [38, 108, 20, 56] }, left: { rect: [142, 108, 20, 56] } },
    back: { label: "upper arm", site: "Upper extremity:Upper arm:Posterior upper arm", general: "upper extremity", right: { rect: [38, 108, 20, 56] }, left: { rect: [142, 108, 20, 56] } },
  },
  forearm: {
    front: { label: "forearm", site: "Upper extremity:Forearm:Volar forearm", general: "upper extremity", right: { rect: [30, 166, 20, 56] }, left: { rect: [150, 166, 20, 56] } },
    back: { label: "forearm", site: "Upper extremity:Forearm:Dorsal forearm", general: "upper extremity", right: { rect: [30, 166, 20, 56] }, left: { rect: [150, 166, 20, 56] } },
  },
  hand: {
    front: { label: "palm", site: "Upper extremity:Hand:Palm of hand", general: "palms/soles", right: { ellipse: [38, 236, 11, 15] }, left: { ellipse: [162, 236, 11, 15] } },
    back: { label: "back of hand", site: "Upper extremity:Hand:Dorsum of hand", general: "upper extremity", right: { ellipse: [38, 236, 11, 15] }, left: { ellipse: [162, 236, 11, 15] } },
  },
  thigh: {
    front: { label: "thigh", site: "Lower extremity:Thigh:Anterior thigh", general: "lower extremity", right: { rect: [70, 228, 28, 70] }, left: { rect: [102, 228, 28, 70] } },
    back: { label: "thigh", site: "Lower extremity:Thigh:Posterior thigh", general: "lower extremity", right: { rect: [70, 244, 28, 54] }, left: { rect: [102, 244, 28, 54] } },
  },
  knee: {
    front: { label: "knee", site: "Lower extremity:Knee:Patellar region", general: "lower extremity", right: { ellipse: [84, 308, 13, 10] }, left: { ellipse: [116, 308, 13, 10] } },
    back: { label: "back of knee", site: "Lower extremity:Knee:Popliteal fossa", general: "lower extremity", right: { ellipse: [84, 308, 13, 10] }, left: { ellipse: [116, 308, 13, 10] } },
  },
  lowerLeg: {
    front: { label: "shin", site: "Lower extremity:Lower leg:Shin", general: "lower extremity", right: { rect: [72, 318, 24, 70] }, left: { rect: [104, 318, 24, 70] } },
    back: { label: "calf", site: "Lower extremity:Lower leg:Calf", general: "lower extremity", right: { rect: [72, 318, 24, 70] }, left: { rect: [104, 318, 24, 70] } },
  },
  foot: {
    front: { label: "foot", site: "Lower extremity:Foot:Dorsum of foot", general: "lower extremity", right: { ellipse: [82, 404, 13, 14] }, left: { ellipse: [118, 404, 13, 14] } },
    back: { label: "sole", site: "Lower extremity:Foot:Sole of foot", general: "palms/soles", right: { ellipse: [82, 404, 13, 14] }, left: { ellipse: [118, 404, 13, 14] } },
  },
};

const CENTRAL: BodyRegion[] = [
  { id: "front-face", view: "front", side: null, label: "Face", anatom_site: "Head and neck:Head:Face", anatom_site_general: "head/neck", shape: { ellipse: [100, 38, 20, 26] } },
  { id: "front-neck", view: "front", side: null, label: "Front of neck", anatom_site: "Head and neck:Neck:Front of neck", anatom_site_general: "head/neck", shape: { rect: [90, 64, 20, 18] } },
  { id: "front-chest", view: "front", side: null, label: "Chest", anatom_site: "Trunk:Anterior trunk:Anterior chest", anatom_site_general: "anterior torso", shape: { rect: [70, 84, 60, 62] } },
  { id: "front-abdomen", view: "front", side: null, label: "Abdomen", anatom_site: "Trunk:Anterior trunk:Anterior abdomen", anatom_site_general: "anterior torso", shape: { rect: [70, 146, 60, 62] } },
  { id: "front-genital", view: "front", side: null, label: "Genital region", anatom_site: "Anogenital region:Genital region", anatom_site_general: "oral/genital", shape: { points: "74,208 126,208 100,228" } },
  { id: "back-scalp", view: "back", side: null, label: "Scalp", anatom_site: "Head and neck:Head:Scalp", anatom_site_general: "head/neck", shape: { ellipse: [100, 38, 20, 26] } },
  { id: "back-nape", view: "back", side: null, label: "Nape of neck", anatom_site: "Head and neck:Neck:Nape of neck", anatom_site_general: "head/neck", shape: { rect: [90, 64, 20, 18] } },
  { id: "back-upper", view: "back", side: null, label: "Upper back", anatom_site: "Trunk:Posterior trunk:Upper back", anatom_site_general: "posterior torso", shape: { rect: [70, 84, 60, 44] } },
  { id: "back-mid", view: "back", side: null, label: "Mid back", anatom_site: "Trunk:Posterior trunk:Mid back", anatom_site_general: "posterior torso", shape: { rect: [70, 128, 60, 40] } },
  { id: "back-lower", view: "back", side: null, label: "Lower back", anatom_site: "Trunk:Posterior trunk:Lower back", anatom_site_general: "posterior torso", shape: { rect: [70, 168, 60, 40] } },
  { id: "back-buttock", view: "back", side: null, label: "Buttocks", anatom_site: "Lower extremity:Buttock", anatom_site_general: "lower extremity", shape: { rect: [70, 208, 60, 36] } },
];

export const BODY_REGIONS: BodyRegion[] = [
  ...CENTRAL,
  ...Object.entries(LIMBS).flatMap(([id, limb]) => [
    ...paired("front", id, limb.front),
    ...paired("back", id, { ...limb.back, left: mirrored(limb.back.left), right: mirrored(limb.back.right) }),
  ]),
];

/** The lesion's location note for a picked region: the side, which ISIC terms cannot hold. */
export function sideNote(region: BodyRegion): string {
  return region.side ? `${region.side === "left" ? "Left" : "Right"} side` : "";
}
