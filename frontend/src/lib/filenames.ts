/** What a file's name says about the image: its kind and, for RCM, its depth. Capture devices name
 * their exports predictably (VivaScope: VivaBlock mosaics, VivaStack stacks, VivaCam dermoscopy;
 * technicians add "DEJ" or "50um"), so most files need no choosing. A guess is only a default: the
 * technician sees it and can change it before the upload starts; the server checks the bytes. */

export type ImageKind = "rcm_mosaic" | "rcm_stack" | "dermoscopy" | "clinical";
export type DepthLevel = "stratum_granulosum" | "spinosum" | "dej" | "papillary_dermis" | "other";

export interface ImageGuess {
  kind: ImageKind | null;
  depth_level: DepthLevel | "";
  depth_um: number | null;
  /** Which words of the name led to the guess, shown beside it so a wrong guess is easy to spot. */
  reasons: string[];
}

export const KIND_LABELS: Record<ImageKind, string> = {
  rcm_mosaic: "RCM mosaic", rcm_stack: "RCM stack", dermoscopy: "Dermoscopy", clinical: "Clinical photo",
};

export const DEPTH_LABELS: Record<DepthLevel, string> = {
  stratum_granulosum: "Stratum granulosum", spinosum: "Stratum spinosum", dej: "Dermal-epidermal junction",
  papillary_dermis: "Papillary dermis", other: "Other depth",
};

// Ordered: the first rule that matches decides. Words are matched on the name split at separators,
// so "dej" matches "L1_DEJ_mosaic.png" but not "adejo.png".
const KIND_RULES: { kind: ImageKind; words: RegExp; why: string }[] = [
  { kind: "rcm_stack", words: /^(vivastack|stack|zstack|z-stack|stk)$/, why: "stack" },
  { kind: "rcm_mosaic", words: /^(vivablock|mosaic|block|rcm|confocal|vivablk)$/, why: "mosaic" },
  { kind: "dermoscopy", words: /^(vivacam|dermoscopy|dermoscopic|dermatoscope|dermatoscopy|derm|dermo|dsc|dscope)$/, why: "dermoscopy" },
  { kind: "clinical", words: /^(clinical|clinic|overview|photo|macro|closeup|close-up|body)$/, why: "clinical photo" },
];

const DEPTH_RULES: { level: DepthLevel; words: RegExp; why: string }[] = [
  { level: "dej", words: /^(dej|junction|dej\d+|basal)$/, why: "DEJ" },
  { level: "stratum_granulosum", words: /^(sg|granulosum|granular|granulosa|epidermis)$/, why: "stratum granulosum" },
  { level: "spinosum", words: /^(ss|spinosum|spinous|suprabasal)$/, why: "stratum spinosum" },
  { level: "papillary_dermis", words: /^(pd|papillary|dermis|dermal)$/, why: "papillary dermis" },
];

const DEPTH_UM = /(\d{1,3}(?:[.,]\d+)?)\s*(?:um|µm|μm|micron|microns|mu)(?![a-z])/i;

/** The name without folders and extension, lower case, split into words at separators and at
 * letter/digit boundaries ("VivaBlock2" → "vivablock", "2"). */
export function nameWords(filename: string): string[] {
  const base = filename.split(/[\\/]/).pop() ?? "";
  const stem = base.replace(/\.[a-z0-9]{1,5}$/i, "").toLowerCase();
  return stem.split(/[\s_.\-()[\]]+/).flatMap((word) => word.split(/(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])/)).filter(Boolean);
}

export function guessImageFields(filename: string): ImageGuess {
  const base = filename.split(/[\\/]/).pop() ?? "";
  const words = nameWords(filename);
  const reasons: string[] = [];
  let kind: ImageKind | null = null;
  for (const rule of KIND_RULES) {
    const hit = words.find((word) => rule.words.test(word));
    if (hit) {
      kind = rule.kind;
      reasons.push(`"${hit}" → ${rule.why}`);
      break;
    }
  }
  let depth_level: DepthLevel | "" = "";
  for (const rule of DEPTH_RULES) {
    const hit = words.find((word) => rule.words.test(word));
    if (hit) {
      depth_level = rule.level;
      reasons.push(`"${hit}" → ${rule.why}`);
      break;
    }
  }
  const micrometres = DEPTH_UM.exec(base.replace(/\.[a-z0-9]{1,5}$/i, ""));
  const depth_um = micrometres ? Number(micrometres[1].replace(",", ".")) : null;
  if (depth_um !== null) reasons.push(`"${micrometres![0]}" → depth ${depth_um} µm`);
  // A depth only makes sense for RCM: a named depth without a kind is an RCM mosaic.
  if (kind === null && (depth_level || depth_um !== null)) {
    kind = "rcm_mosaic";
    reasons.push("a depth → RCM mosaic");
  }
  if (kind !== null && kind !== "rcm_mosaic" && kind !== "rcm_stack") {
    depth_level = "";
    return { kind, depth_level, depth_um: null, reasons };
  }
  if (kind === "rcm_mosaic" && !depth_level && depth_um !== null) {
    depth_level = depthLevelFor(depth_um);
    reasons.push(`${depth_um} µm → ${DEPTH_LABELS[depth_level]}`);
  }
  return { kind, depth_level, depth_um, reasons };
}

/** Typical depths below the stratum corneum in RCM of trunk and limb skin: a default only. */
export function depthLevelFor(depth_um: number): DepthLevel {
  if (depth_um < 30) return "stratum_granulosum";
  if (depth_um < 60) return "spinosum";
  if (depth_um < 110) return "dej";
  return "papillary_dermis";
}

/** Why the upload cannot start yet, or null when the declared fields are complete. */
export function declarationProblem(kind: ImageKind | null, depth_level: string, pixel_spacing_um: number | null = 1): string | null {
  if (kind === null) return "Choose what kind of image this is.";
  if (kind === "rcm_mosaic" && !depth_level) return "Choose the depth of this mosaic.";
  // The quality model works at a fixed spacing in micrometres: without it a mosaic cannot be judged.
  if ((kind === "rcm_mosaic" || kind === "rcm_stack") && !(pixel_spacing_um && pixel_spacing_um > 0)) {
    return "Enter the pixel spacing (µm per pixel) from the device's export settings.";
  }
  return null;
}
