/** The clinic's cases: what was captured, where each stands (draft, with the reader, signed) and
 * how good its images are; a new case starts here. Patients appear by name only to the clinic. */
import { useEffect, useState } from "react";
import type { Me } from "../api/types";
import { VerdictBadge } from "../components/VerdictBadge";
import { useClinicCases } from "../hooks/useClinicCases";
import { REPORT_TEXT, STATUS_TEXT } from "../lib/format";
import { navigate } from "../lib/route";

const STATUS_FILTERS: Record<string, string> = {
  "": "All", draft: "Draft", recall_requested: "Recall requested", submitted: "Submitted", processing: "Processing",
  ready_for_reading: "Ready for reading", in_reading: "In reading", signed: "Signed", amended: "Amended",
};

/** The device the synthetic QA-history cases carry (cases.models.SYNTHETIC_QA_HISTORY_DEVICE). */
const SYNTHETIC_QA_HISTORY_DEVICE = "QA history (synthetic)";

export function ClinicCasesPage({ me }: { me: Me }) {
  const [status, setStatus] = useState("");
  const [mine, setMine] = useState(false);
  const [synthetic, setSynthetic] = useState(false);
  const [typed, setTyped] = useState("");
  const [search, setSearch] = useState("");

  useEffect(() => {  // search as the person types, once they pause
    const timer = setTimeout(() => setSearch(typed.trim()), 250);
    return () => clearTimeout(timer);
  }, [typed]);

  const { rows, count, error } = useClinicCases({ status, technician: mine ? me.id : null, search, includeSynthetic: synthetic });
  const filtered = Boolean(status || mine || search);

  return (
    <section className="worklist" aria-label="Clinic cases">
      <div className="toolbar">
        <h1>Cases</h1>
        <span className="muted">{rows ? `${count} case${count === 1 ? "" : "s"}` : ""}</span>
        <span className="spacer" />
        <input type="search" value={typed} onChange={(e) => setTyped(e.target.value)} placeholder="MRN or name"
          aria-label="Search by MRN or patient name" title="The start of an MRN, or part of a name" maxLength={200} />
        <label>Status <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label="Status filter">
          {Object.entries(STATUS_FILTERS).map(([value, label]) => <option key={value} value={value}>{label}</option>)}
        </select></label>
        <label className="check"><input type="checkbox" checked={mine} onChange={(e) => setMine(e.target.checked)} /> Imaged by me</label>
        <label className="check" title="Generated visits that feed the quality dashboards, not real patients">
          <input type="checkbox" checked={synthetic} onChange={(e) => setSynthetic(e.target.checked)} /> Show synthetic QA history</label>
        <button type="button" className="primary" onClick={() => navigate("/clinic/new")}>New case</button>
      </div>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {rows && !rows.length ? (
        <p className="empty">{filtered ? "No cases match these filters." : "No cases yet. Start one with “New case”."}</p>
      ) : null}
      {rows?.length ? (
        <table className="grid" aria-label="Cases of your sites">
          <thead><tr><th>Visit</th><th>Patient</th><th>Lesion</th><th>Site</th><th>Images</th><th>Image quality</th>
            <th>Status</th><th>Report</th></tr></thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id} onClick={() => navigate(`/clinic/cases/${row.id}`)} data-testid="clinic-case-row" data-case={row.id}
                className={row.device === SYNTHETIC_QA_HISTORY_DEVICE ? "synthetic" : undefined}>
                <td>{row.visit_date}</td>
                <td>{row.patient_label ?? "—"}{row.device === SYNTHETIC_QA_HISTORY_DEVICE ? <>{" "}<span className="badge">synthetic</span></> : null}</td>
                <td>{row.lesion_site.label || "Lesion"} · {row.lesion_site.anatom_site || row.lesion_site.anatom_site_general || "site not recorded"}</td>
                <td>{row.site_name}</td>
                <td className="num">{row.image_count}</td>
                <td>{row.image_count ? <VerdictBadge verdict={row.quality_verdict ?? null} /> : <span className="muted">no images</span>}</td>
                <td><span className={`badge status-${row.status}`}>{STATUS_TEXT[row.status] ?? row.status}</span></td>
                <td>{REPORT_TEXT[row.report_status ?? "none"] ?? row.report_status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
