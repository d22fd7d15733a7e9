/** The top of the reader's case: where the lesion is, the visit, the case's status, claiming and
 * releasing it, and the clinic's question with the patient's age and sex and the lesion's other visits. */
import type { Case, CaseAssignment, LesionVisit } from "../../api/types";
import { STATUS_TEXT } from "../../lib/format";
import { navigate } from "../../lib/route";
import { Link } from "../Link";

interface Props {
  caseData: Case;
  caseId: string;
  notice: { kind: "ok" | "error"; text: string } | null;
  assignment: CaseAssignment | null;
  /** This reader holds the case; `claimed`: and has claimed it. */
  mayWrite: boolean;
  claimed: boolean;
  caseOpen: boolean;
  visits: LesionVisit[];
  onClaim: (action: "claim" | "release") => void;
  onHelp: () => void;
}

export function CaseBar({ caseData, caseId, notice, assignment, mayWrite, claimed, caseOpen, visits, onClaim, onHelp }: Props) {
  return (
    <>
      <div className="case-bar">
        <button type="button" className="link" onClick={() => navigate("/")} title="w">← Worklist</button>
        <span className="case-title" data-testid="case-title">{caseData.site_name} · lesion {caseData.lesion_site.label}:{" "}
          {caseData.lesion_site.anatom_site || caseData.lesion_site.anatom_site_general || "site not recorded"}</span>
        <span className="muted small">visit {caseData.visit_date} · {caseData.device || "device not recorded"} · case {caseId.slice(0, 8)}</span>
        <span className={`badge status-${caseData.status}`} data-testid="case-status">{STATUS_TEXT[caseData.status] ?? caseData.status}</span>
        <span className="spacer" />
        {notice ? <span className={notice.kind === "error" ? "error" : "ok"} role={notice.kind === "error" ? "alert" : "status"}>{notice.text}</span> : null}
        {mayWrite && caseOpen && !claimed ? <button type="button" className="primary" onClick={() => onClaim("claim")}>Claim case</button> : null}
        {mayWrite && caseOpen && claimed ? <button type="button" onClick={() => onClaim("release")}>Release</button> : null}
        {!mayWrite && assignment?.active ? <span className="muted small">Assigned to {assignment.active.reader.name || assignment.active.reader.username}</span> : null}
        <button type="button" className="link" onClick={onHelp} title="?">Shortcuts</button>
      </div>
      <div className="case-header" data-testid="case-header">
        <span><b>Clinical question:</b> {caseData.clinical_question || <span className="muted">none given</span>}</span>
        <span>{caseData.patient_age_years != null ? `${caseData.patient_age_years} years` : "age not recorded"} ·{" "}
          {caseData.patient_sex && caseData.patient_sex !== "unknown" ? caseData.patient_sex : "sex not recorded"}</span>
        {visits.length > 1 ? (
          <span data-testid="lesion-history"><b>This lesion:</b>{" "}
            {visits.map((visit) => (
              <span key={visit.case} className={visit.is_current ? "strong" : ""}>
                {visit.is_current ? `this visit (${visit.visit_date})` : <Link to={`/cases/${visit.case}`}>{visit.visit_date}</Link>}
                {visit.signed_report ? ` · ${visit.signed_report.diagnosis_label}` : ""}{" "}
              </span>
            ))}
          </span>
        ) : <span className="muted">first visit of this lesion</span>}
      </div>
    </>
  );
}
