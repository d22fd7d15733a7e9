/** The open cases a reader holds: who, due when, since when being read; reassign, take back, re-run. */
import type { QueueCase, SiteReader } from "../../api/types";
import { STATUS_TEXT } from "../../lib/format";
import { lesionText, whenText } from "../../lib/siteAdmin";
import { AssignControl } from "../AssignControl";

interface Props {
  rows: QueueCase[];
  readers: SiteReader[];
  /** The server's refusal of a take-back, per case. */
  rowErrors: Record<string, string>;
  onAssign: (row: QueueCase, reader: number, dueAt: string | null) => Promise<string | null>;
  onUnassign: (row: QueueCase) => void;
  onRerun: (caseId: string) => void;
}

export function HeldTable({ rows, readers, rowErrors, onAssign, onUnassign, onRerun }: Props) {
  return (
    <table className="grid admin-table" aria-label="Cases with a reader">
      <thead><tr><th>Patient</th><th>Lesion</th><th>Visit</th><th>Reader</th><th>Due</th><th>Status</th><th>Reassign or take back</th></tr></thead>
      <tbody>
        {rows.map((row) => {
          const assignment = row.assignment;
          return (
            <tr key={row.id} data-testid="held-row" data-case={row.id}>
              <td>{row.patient_label}</td>
              <td>{lesionText(row)}</td>
              <td className="nowrap">{row.visit_date}</td>
              <td>{assignment ? (assignment.reader.name || assignment.reader.username) : "—"}</td>
              <td>{whenText(assignment?.due_at)}</td>
              <td>
                <span className={`badge status-${row.status}`}>{STATUS_TEXT[row.status] ?? row.status}</span>
                {assignment?.claimed_at ? <span className="small muted"> being read since {whenText(assignment.claimed_at)}</span> : null}
              </td>
              <td>
                <AssignControl caseId={row.id} readers={readers} current={assignment?.reader.id ?? null} label="Reassign"
                  onAssign={(reader, due) => onAssign(row, reader, due)} />
                <div className="row-actions">
                  <button type="button" onClick={() => onUnassign(row)}>Unassign</button>
                  <button type="button" className="link small" onClick={() => onRerun(row.id)}>Re-run analyses…</button>
                </div>
                {rowErrors[row.id] ? <p className="error small" role="alert">{rowErrors[row.id]}</p> : null}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
