/** The controls every viewer with a model overlay shares: how opaque the overlay is, and what its
 * colours mean. The capture page and the reader's case page use the same two. */
import type { LegendEntry } from "../api/types";

interface OpacitySliderProps {
  opacity: number;
  onChange: (opacity: number) => void;
  /** The word in front of the slider ("Opacity", or "overlay" in a panel's heading). */
  caption?: string;
  /** Show the value as a percentage after the slider. */
  withPercent?: boolean;
  small?: boolean;
}

export function OpacitySlider({ opacity, onChange, caption = "Opacity", withPercent = false, small = false }: OpacitySliderProps) {
  return (
    <label className={small ? "opacity small" : "opacity"}>{caption} <input type="range" min={0} max={1} step={0.05} value={opacity}
      aria-label="Overlay opacity" onChange={(event) => onChange(Number(event.target.value))} />
      {withPercent ? <span className="num">{Math.round(opacity * 100)}%</span> : null}</label>
  );
}

export function Legend({ entries }: { entries: LegendEntry[] }) {
  return (
    <ul className="legend" aria-label="Overlay legend">
      {entries.map((entry) => (
        <li key={entry.label}><span className="swatch" style={{ background: entry.colour, opacity: entry.alpha ?? 1 }} />{entry.label}</li>
      ))}
    </ul>
  );
}
