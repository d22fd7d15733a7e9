/** Where the uninformative area that decided a review or re-image verdict lies, in words. */
import type { MosaicQuality } from "../../api/types";
import { percent, problemWhere } from "../../lib/format";

export function ProblemNote({ mosaic }: { mosaic: MosaicQuality }) {
  if (!mosaic.verdict || mosaic.verdict === "acceptable") return null;
  const region = mosaic.problem_region;
  return (
    <p className="problem" data-testid="problem-region">
      {mosaic.verdict === "reimage" ? "Re-image recommended: " : "Worth a look: "}
      {region ? <>uninformative area <strong>{problemWhere(region.description)}</strong>
        {region.share_percent != null ? ` (${percent(region.share_percent)} of the area judged)` : ""}.</> : "see the overlay."}
      {region?.bbox ? " Outlined in red on the dermoscopy." : ""}
    </p>
  );
}
