/** Give one case to a reader with an optional due date: the reader picker shows each reader's open
 * load at the site so the admin can spread the work; the server's refusal is shown as it says it. */
import { useState } from "react";
import type { SiteReader } from "../api/types";

/** The end of the chosen day in the admin's own time zone, as the API's due_at. */
export function dueAtFromDate(date: string): string | null {
  if (!date) return null;
  const due = new Date(`${date}T23:59:00`);
  return Number.isNaN(due.getTime()) ? null : due.toISOString();
}

export function readerText(reader: SiteReader): string {
  const load = reader.open_assignments === 1 ? "1 open case" : `${reader.open_assignments} open cases`;
  return `${reader.full_name} (${reader.username}) · ${load}`;
}

interface Props {
  caseId: string;
  readers: SiteReader[];
  /** The reader holding the case now (reassigning picks someone else by default). */
  current?: number | null;
  label: string;
  onAssign: (reader: number, dueAt: string | null) => Promise<string | null>;
}

export function AssignControl({ caseId, readers, current, label, onAssign }: Props) {
  const [reader, setReader] = useState<string>("");
  const [due, setDue] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (!readers.length) return <span className="muted small">No reader at this site yet.</span>;

  const submit = async () => {
    if (!reader) { setError("Choose a reader first."); return; }
    setBusy(true);
    setError(await onAssign(Number(reader), dueAtFromDate(due)));
    setBusy(false);
  };

  return (
    <div className="assign-control" data-testid="assign-control" data-case={caseId}>
      <select aria-label="Reader" value={reader} onChange={(e) => { setReader(e.target.value); setError(null); }}>
        <option value="">Choose a reader…</option>
        {readers.map((r) => (
          <option key={r.id} value={r.id} disabled={r.id === current}>{readerText(r)}{r.id === current ? " — holds it" : ""}</option>
        ))}
      </select>
      <label className="small">Due <input type="date" aria-label="Due date" value={due} onChange={(e) => setDue(e.target.value)} /></label>
      <button type="button" className="primary" disabled={busy} onClick={() => void submit()}>{label}</button>
      {error ? <span className="error small" role="alert">{error}</span> : null}
    </div>
  );
}
