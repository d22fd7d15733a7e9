/** The signed report as the clinic reads it, with its PDF. */
import type { Report } from "../../api/types";
import { DIAGNOSES, MANAGEMENTS } from "../../lib/report";

export function ClinicReport({ report, caseId }: { report: Report; caseId: string }) {
  const diagnosis = DIAGNOSES.find((d) => d.value === report.diagnosis)?.label ?? report.diagnosis_other ?? "—";
  const management = MANAGEMENTS.find((m) => m.value === report.management)?.label ?? "—";
  return (
    <section className="panel" aria-label="Report" data-testid="clinic-report">
      <h2>Report <span className={`badge status-${report.status}`}>{report.status}</span>
        <span className="muted small">version {report.current_version}{report.signed_at ? ` · signed ${new Date(report.signed_at).toLocaleString()}` : ""}</span></h2>
      <table className="compact"><tbody>
        <tr><th>Diagnosis</th><td>{diagnosis}</td></tr>
        <tr><th>Management</th><td>{management}{report.follow_up_months ? ` · follow-up in ${report.follow_up_months} months` : ""}</td></tr>
        <tr><th>Findings</th><td className="prewrap">{report.findings || "—"}</td></tr>
        <tr><th>Comment</th><td className="prewrap">{report.comment || "—"}</td></tr>
      </tbody></table>
      <p><a className="button" href={`/api/v1/cases/${caseId}/report/pdf/`} download>Download the signed PDF</a></p>
    </section>
  );
}
