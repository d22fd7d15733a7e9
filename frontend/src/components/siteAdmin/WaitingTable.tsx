/** The submitted cases no reader holds yet, each with its quality verdict and an assign control. */
import type { QueueCase, SiteReader, Verdict } from "../../api/types";
import { STATUS_TEXT } from "../../lib/format";
import { lesionText, whenText } from "../../lib/siteAdmin";
import { AssignControl } from "../AssignControl";
import { VerdictBadge } from "../VerdictBadge";

interface Props {
  rows: QueueCase[];
  readers: SiteReader[];
  onAssign: (row: QueueCase, reader: number, dueAt: string | null) => Promise<string | null>;
  onRerun: (caseId: string) => void;
}

export function WaitingTable({ rows, readers, onAssign, onRerun }: Props) {
  return (
    <table className="grid admin-table" aria-label="Cases waiting for a reader">
      <thead><tr><th>Patient</th><th>Lesion</th><th>Visit</th><th>Submitted</th><th>Status</th><th>Image quality</th><th>Assign</th></tr></thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.id} data-testid="queue-row" data-case={row.id}>
            <td>{row.patient_label}</td>
            <td>{lesionText(row)}</td>
            <td className="nowrap">{row.visit_date}</td>
            <td>{whenText(row.submitted_at)}</td>
            <td><span className={`badge status-${row.status}`}>{STATUS_TEXT[row.status] ?? row.status}</span></td>
            <td><VerdictBadge verdict={(row.quality_verdict as Verdict | null) ?? null} /></td>
            <td>
              <AssignControl caseId={row.id} readers={readers} label="Assign" onAssign={(reader, due) => onAssign(row, reader, due)} />
              <button type="button" className="link small" onClick={() => onRerun(row.id)}>Re-run analyses…</button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
