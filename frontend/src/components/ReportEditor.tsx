/** The reader's report: structured fields, the platform's quality block (shown, never editable),
 * sign with password, amendments with a reason, versions with their hashes and the PDF. */
import { forwardRef, useEffect, useImperativeHandle, useState, type FormEvent } from "react";
import { api, errorMessage } from "../api/client";
import type { QualityBlock, Report } from "../api/types";
import { DEPTH_TEXT } from "../lib/depth";
import { percentRange, shortHash, verdictText } from "../lib/format";
import { DIAGNOSES, MANAGEMENTS, draftBody, emptyFields, signingProblems, type ReportFields } from "../lib/report";

export interface ReportHandle {
  save(): void;
  sign(): void;
}

interface Props {
  caseId: string;
  report: Report | null;
  mayWrite: boolean;
  onChanged: (report: Report | null) => void;
}

function fieldsOf(report: Report | null): ReportFields {
  if (!report) return emptyFields();
  return {
    diagnosis: (report.diagnosis || "") as ReportFields["diagnosis"],
    diagnosis_other: report.diagnosis_other ?? "",
    management: (report.management || "") as ReportFields["management"],
    follow_up_months: report.follow_up_months ?? null,
    findings: report.findings ?? "",
    comment: report.comment ?? "",
  };
}

type Dialog = null | "sign" | "amend";

/** The block the platform writes into the report: shown as it will be signed, never editable. */
function QualityBlockView({ quality, frozen }: { quality: QualityBlock | null; frozen: boolean }) {
  const judged = quality?.mosaics.filter((m) => m.state === "done") ?? [];
  return (
    <div className="quality-block" aria-label="Quality block" data-testid="quality-block">
      <b>Quality block</b> <span className="muted">filled by the platform{frozen ? ", frozen at signing" : ""}</span>
      <div>Verdict: <b>{verdictText(quality?.verdict ?? null)}</b>{quality?.state === "pending" ? " (analysis still running: signing waits)" : ""}</div>
      {judged.map((m) => (
        <div key={m.image}>{DEPTH_TEXT[m.depth_level ?? ""] ?? m.depth_level ?? "Mosaic"}: {percentRange(m.percent_whole, m.interval_whole)} whole, {percentRange(m.percent_lesion, m.interval_lesion)} lesional
          {m.model ? ` · ${m.model.name} ${m.model.version}` : ""}</div>
      ))}
    </div>
  );
}

export const ReportEditor = forwardRef<ReportHandle, Props>(function ReportEditor({ caseId, report, mayWrite, onChanged }, ref) {
  const [fields, setFields] = useState<ReportFields>(() => fieldsOf(report));
  const [dirty, setDirty] = useState(false);
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [password, setPassword] = useState("");
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [amending, setAmending] = useState(false);

  useEffect(() => { setFields(fieldsOf(report)); setDirty(false); }, [report]);

  const signed = report != null && report.status !== "draft";
  const editable = mayWrite && report != null && (!signed || amending);
  const problems = signingProblems(fields);
  const set = <K extends keyof ReportFields>(key: K, value: ReportFields[K]) => {
    setFields((current) => ({ ...current, [key]: value }));
    setDirty(true);
  };

  const save = async (): Promise<Report | null> => {
    if (!report || signed || !mayWrite) return null;
    setBusy(true);
    const { data, error } = await api.PUT("/api/v1/cases/{id}/report/", {
      params: { path: { id: caseId } }, body: draftBody(fields) as never,
    });
    setBusy(false);
    if (error || !data) {
      setMessage({ kind: "error", text: errorMessage(error, "The draft was not saved.") });
      return null;
    }
    setMessage({ kind: "ok", text: "Draft saved." });
    setDirty(false);
    onChanged(data);
    return data;
  };

  const openSign = () => {
    if (!report || !mayWrite) return;
    if (signed) return;
    if (problems.length) {
      setMessage({ kind: "error", text: problems.join(" ") });
      return;
    }
    setPassword("");
    setDialog("sign");
  };

  useImperativeHandle(ref, () => ({ save: () => void save(), sign: openSign }));

  const confirm = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    if (dialog === "sign") {
      if (dirty && !(await save())) { setBusy(false); return; }
      const { error } = await api.POST("/api/v1/cases/{id}/report/sign/", { params: { path: { id: caseId } }, body: { password } });
      if (error) { setBusy(false); setMessage({ kind: "error", text: errorMessage(error, "Not signed.") }); return; }
      setMessage({ kind: "ok", text: "Signed. The report is now frozen; later changes are amendments." });
    } else if (dialog === "amend") {
      const { error } = await api.POST("/api/v1/cases/{id}/report/amend/", {
        params: { path: { id: caseId } }, body: { ...draftBody(fields), reason, password } as never,
      });
      if (error) { setBusy(false); setMessage({ kind: "error", text: errorMessage(error, "Not amended.") }); return; }
      setMessage({ kind: "ok", text: "Amendment signed as a new version." });
      setAmending(false);
    }
    setBusy(false);
    setDialog(null);
    setPassword("");
    const { data } = await api.GET("/api/v1/cases/{id}/report/", { params: { path: { id: caseId } } });
    onChanged(data ?? null);
  };

  if (!report) {
    return (
      <section className="panel" aria-label="Report">
        <h2>Report</h2>
        <p className="muted">{mayWrite ? "Claim the case to start its report." : "No report has been started."}</p>
      </section>
    );
  }

  return (
    <section className="panel report" aria-label="Report" data-testid="report" data-status={report.status}>
      <h2>Report <span className={`badge status-${report.status}`}>{report.status}</span></h2>
      <form onSubmit={(event) => { event.preventDefault(); void save(); }}>
        <fieldset disabled={!editable || busy}>
          <label>Diagnosis
            <select name="diagnosis" value={fields.diagnosis} onChange={(e) => set("diagnosis", e.target.value as ReportFields["diagnosis"])}>
              <option value="">Choose…</option>
              {DIAGNOSES.map((d) => <option key={d.value} value={d.value}>{d.label}</option>)}
            </select>
          </label>
          {fields.diagnosis === "other" ? (
            <label>Other diagnosis<input name="diagnosis_other" value={fields.diagnosis_other} maxLength={200}
              onChange={(e) => set("diagnosis_other", e.target.value)} /></label>
          ) : null}
          <label>Management
            <select name="management" value={fields.management} onChange={(e) => set("management", e.target.value as ReportFields["management"])}>
              <option value="">Choose…</option>
              {MANAGEMENTS.map((m) => <option key={m.value} value={m.value}>{m.label}</option>)}
            </select>
          </label>
          {fields.management === "follow_up" ? (
            <label>Follow-up in (months)<input name="follow_up_months" type="number" min={1} max={120}
              value={fields.follow_up_months ?? ""} onChange={(e) => set("follow_up_months", e.target.value ? Number(e.target.value) : null)} /></label>
          ) : null}
          <label>Findings<textarea name="findings" rows={4} value={fields.findings} onChange={(e) => set("findings", e.target.value)} /></label>
          <label>Comment<textarea name="comment" rows={2} value={fields.comment} onChange={(e) => set("comment", e.target.value)} /></label>
        </fieldset>
        <QualityBlockView quality={report.quality} frozen={report.quality_frozen} />
        {message ? <p className={message.kind === "error" ? "error" : "ok"} role={message.kind === "error" ? "alert" : "status"}>{message.text}</p> : null}
        <div className="actions">
          {!signed && mayWrite ? (
            <>
              <button type="submit" disabled={busy || !dirty} title="Ctrl+S">Save draft</button>
              <button type="button" className="primary" disabled={busy} onClick={openSign} title="Ctrl+Enter">Sign…</button>
            </>
          ) : null}
          {signed && mayWrite && !amending ? <button type="button" onClick={() => { setAmending(true); setReason(""); }}>Amend…</button> : null}
          {amending ? (
            <>
              <button type="button" className="primary" disabled={busy} onClick={() => { setPassword(""); setDialog("amend"); }}>Sign amendment…</button>
              <button type="button" onClick={() => { setAmending(false); setFields(fieldsOf(report)); }}>Cancel</button>
            </>
          ) : null}
          {signed ? <a className="button" href={`/api/v1/cases/${caseId}/report/pdf/`} download data-testid="pdf-link">Download PDF</a> : null}
        </div>
      </form>
      {report.versions?.length ? (
        <div className="versions">
          <h3>Signed versions</h3>
          <ol>
            {report.versions.map((v) => (
              <li key={v.version} data-testid="report-version">
                v{v.version} {v.kind} · {v.signed_by?.name || v.signed_by?.username} · {new Date(v.signed_at).toLocaleString()} ·{" "}
                <code title={v.content_sha256}>SHA-256 {shortHash(v.content_sha256)}</code>{" "}
                <a href={`/api/v1/cases/${caseId}/report/pdf/?version=${v.version}`} download>PDF</a>
              </li>
            ))}
          </ol>
        </div>
      ) : null}
      {dialog ? (
        <div className="modal" role="dialog" aria-modal="true" aria-label={dialog === "sign" ? "Sign the report" : "Sign the amendment"}>
          <form className="modal-card" onSubmit={confirm}>
            <h3>{dialog === "sign" ? "Sign the report" : "Sign the amendment"}</h3>
            <p className="small">Signing freezes the report with the platform's quality block and model results; it cannot be edited afterwards.</p>
            {dialog === "amend" ? (
              <label>Reason for the amendment<textarea name="reason" rows={2} value={reason} required onChange={(e) => setReason(e.target.value)} /></label>
            ) : null}
            <label>Your password<input name="sign-password" type="password" autoComplete="current-password" autoFocus value={password}
              onChange={(e) => setPassword(e.target.value)} required /></label>
            {message?.kind === "error" ? <p className="error" role="alert">{message.text}</p> : null}
            <div className="actions">
              <button type="submit" className="primary" disabled={busy}>{busy ? "Signing…" : "Sign"}</button>
              <button type="button" onClick={() => setDialog(null)}>Cancel</button>
            </div>
          </form>
        </div>
      ) : null}
    </section>
  );
});
