/** RCM images in the order a reader descends through the skin: stratum granulosum → papillary
 * dermis, then stacks, then the dermoscopy and clinical photos. */

export const DEPTH_ORDER = ["stratum_granulosum", "spinosum", "dej", "papillary_dermis", "other"] as const;

export const DEPTH_TEXT: Record<string, string> = {
  stratum_granulosum: "Stratum granulosum",
  spinosum: "Stratum spinosum",
  dej: "Dermal-epidermal junction",
  papillary_dermis: "Papillary dermis",
  other: "Other depth",
};

/** The same, short enough for a narrow table column (the full name goes in its title). */
export const DEPTH_SHORT: Record<string, string> = {
  stratum_granulosum: "Str. granulosum",
  spinosum: "Str. spinosum",
  dej: "DEJ",
  papillary_dermis: "Papillary dermis",
  other: "Other depth",
};

/** What ordering needs of an image (the API's Image has these fields). */
export interface Layered {
  kind: string;
  depth_level?: string;
  depth_um?: number | null;
  created_at: string;
  frames?: number;
}

const KIND_ORDER: Record<string, number> = { rcm_mosaic: 0, rcm_stack: 1, dermoscopy: 2, clinical: 3 };

function depthRank(image: Layered): [number, number] {
  const level = DEPTH_ORDER.indexOf((image.depth_level || "other") as (typeof DEPTH_ORDER)[number]);
  return [level < 0 ? DEPTH_ORDER.length : level, image.depth_um ?? Number.POSITIVE_INFINITY];
}

export function readingOrder<T extends Layered>(images: T[]): T[] {
  return [...images].sort((a, b) => {
    const kind = (KIND_ORDER[a.kind] ?? 9) - (KIND_ORDER[b.kind] ?? 9);
    if (kind) return kind;
    const [la, da] = depthRank(a);
    const [lb, db] = depthRank(b);
    return la - lb || da - db || a.created_at.localeCompare(b.created_at);
  });
}

export function imageTitle(image: Omit<Layered, "created_at">): string {
  if (image.kind === "rcm_mosaic") {
    const depth = image.depth_um != null ? ` · ${image.depth_um} µm` : "";
    return `${DEPTH_TEXT[image.depth_level ?? ""] ?? "Mosaic"}${depth}`;
  }
  if (image.kind === "rcm_stack") return `Stack · ${image.frames ?? 1} frames`;
  return image.kind === "dermoscopy" ? "Dermoscopy" : "Clinical photo";
}

/** The next image of the same family (RCM or not) up or down, for the depth keys. */
export function stepDepth<T extends { id: string; kind: string }>(ordered: T[], currentId: string, step: 1 | -1): T {
  const rcm = ordered.filter((image) => image.kind === "rcm_mosaic" || image.kind === "rcm_stack");
  const index = rcm.findIndex((image) => image.id === currentId);
  if (index < 0) return rcm[0] ?? ordered.find((image) => image.id === currentId) ?? ordered[0];
  return rcm[Math.min(rcm.length - 1, Math.max(0, index + step))];
}

/** A name for each mosaic that tells it from the case's others: its depth level and depth in µm
 * ("Dermal-epidermal junction · 80 µm"); where that still leaves two alike (no depth recorded, or
 * the same depth twice), an ordinal in the given order ("Dermal-epidermal junction (2 of 2)").
 * Keyed by image id; `short` names the level for a narrow column ("DEJ · 80 µm"). */
export function mosaicLabels(
  mosaics: { image: string; depth_level?: string | null; depth_um?: number | null }[],
  { short = false }: { short?: boolean } = {},
): Record<string, string> {
  const names = short ? DEPTH_SHORT : DEPTH_TEXT;
  const base = mosaics.map((m) => {
    const level = names[m.depth_level ?? ""] ?? (m.depth_level || "Mosaic");
    return m.depth_um != null ? `${level} · ${Number(m.depth_um.toFixed(1))} µm` : level;
  });
  const total: Record<string, number> = {};
  for (const label of base) total[label] = (total[label] ?? 0) + 1;
  const seen: Record<string, number> = {};
  const labels: Record<string, string> = {};
  mosaics.forEach((m, index) => {
    const label = base[index];
    seen[label] = (seen[label] ?? 0) + 1;
    labels[m.image] = total[label] > 1 ? `${label} (${seen[label]} of ${total[label]})` : label;
  });
  return labels;
}
