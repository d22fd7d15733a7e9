/** A count on a dashboard that opens the mosaics behind it; a zero opens nothing. */

export function DrillCount({ n, onDrill, label }: { n: number; onDrill: () => void; label: string }) {
  if (!n) return <span className="muted">0</span>;
  return <button type="button" className="drill" onClick={onDrill} aria-label={label} title="Show these mosaics">{n}</button>;
}
