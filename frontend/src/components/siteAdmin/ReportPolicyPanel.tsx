/** The site's report policy (GET|PUT /api/v1/sites/{id}/report-policy/). */
import { useEffect, useState } from "react";
import { api, errorMessage } from "../../api/client";
import type { ReportPolicy } from "../../api/types";
import { problemText, whenText } from "../../lib/siteAdmin";
import { OutcomeMessage, type Outcome } from "../OutcomeMessage";

/** Whether the PDFs this site's readers download name the patient (name, MRN, birth date, sex):
 * off for external readers who must not see identifiers. The clinic's own staff always get them. */
export function ReportPolicyPanel({ siteId }: { siteId: string }) {
  const [policy, setPolicy] = useState<ReportPolicy | null>(null);
  const [identifiers, setIdentifiers] = useState(true);
  const [message, setMessage] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);
  const show = (found: ReportPolicy) => { setPolicy(found); setIdentifiers(found.patient_identifiers_for_readers); };
  useEffect(() => {
    setMessage(null);
    setPolicy(null);
    void api.GET("/api/v1/sites/{id}/report-policy/", { params: { path: { id: siteId } } }).then(({ data, error }) => {
      if (data) show(data);
      else setMessage({ ok: false, text: errorMessage(error, "The report policy could not be loaded.") });
    });
  }, [siteId]);

  const save = async () => {
    setBusy(true);
    const { data, error } = await api.PUT("/api/v1/sites/{id}/report-policy/", {
      params: { path: { id: siteId } }, body: { patient_identifiers_for_readers: identifiers },
    });
    setBusy(false);
    if (data) {
      show(data);
      setMessage({ ok: true, text: data.patient_identifiers_for_readers
        ? "Saved: readers' PDFs name the patient."
        : "Saved: readers' PDFs leave out the patient's name, MRN, birth date and sex." });
    } else setMessage({ ok: false, text: problemText(error, "The report policy was not saved.") });
  };

  return (
    <section className="panel" aria-label="Report policy" data-testid="report-policy">
      <h2>Report PDFs {policy?.is_default ? <span className="badge">platform default</span> : null}</h2>
      <p className="small muted">The clinic's own technicians and administrators always get the patient's identifiers on the PDF;
        this decides whether the readers' copies carry them too.</p>
      <form className="form-grid" onSubmit={(e) => { e.preventDefault(); void save(); }}>
        <label className="wide check"><input type="checkbox" checked={identifiers} disabled={!policy}
          onChange={(e) => setIdentifiers(e.target.checked)} /> Readers' PDFs name the patient</label>
        <div className="actions">
          <button type="submit" className="primary" disabled={busy || !policy}>Save report policy</button>
          {policy && !policy.is_default && policy.updated_at ? <span className="small muted">set {whenText(policy.updated_at)}</span> : null}
        </div>
        <OutcomeMessage outcome={message} />
      </form>
    </section>
  );
}
