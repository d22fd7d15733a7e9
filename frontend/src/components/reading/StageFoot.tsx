/** Under the reader's viewer: a stack's frame slider, the overlay's legend and the model that drew it. */
import type { OverlayDescriptor } from "../../api/types";
import { EXPERT_COLOUR } from "../../lib/viewerShapes";
import { Legend } from "../OverlayControls";

interface Props {
  frame: number;
  frames: number;
  onFrame: (frame: number) => void;
  /** The overlay shown, or null when it is off or there is none. */
  overlay: OverlayDescriptor | null;
  /** Model of the overlay, shown even while the overlay is hidden. */
  model: OverlayDescriptor["model"] | undefined;
  expertOutlined: boolean;
}

export function StageFoot({ frame, frames, onFrame, overlay, model, expertOutlined }: Props) {
  return (
    <div className="stage-foot">
      {frames > 1 ? (
        <label className="zslider">Frame {frame + 1}/{frames}
          <input type="range" min={0} max={frames - 1} step={1} value={frame} aria-label="Stack depth"
            onChange={(e) => onFrame(Number(e.target.value))} />
          <span className="muted small">, and . step</span>
        </label>
      ) : null}
      {overlay ? <Legend entries={overlay.legend} /> : null}
      {expertOutlined ? <Legend entries={[{ colour: EXPERT_COLOUR, label: "Expert outline (uninformative)" }]} /> : null}
      {model ? <span className="muted small">{model.name} {model.version}</span> : null}
    </div>
  );
}
