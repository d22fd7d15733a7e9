/** A site administrator's desk: the submitted cases no reader holds yet (assign each with a due
 * date), the cases readers hold (reassign, take back), the site's quality thresholds, and re-running
 * a case's analyses with another model version. Everything goes through the same API the Swagger
 * page shows; the server decides, and its refusals are shown in its own words. */
import { useCallback, useEffect, useMemo, useState } from "react";
import { api, errorMessage } from "../api/client";
import type { Me, QueueCase, ReportPolicy, Schemas, Site, SiteReader, Verdict } from "../api/types";
import { AssignControl } from "../components/AssignControl";
import { STATUS_TEXT } from "../lib/format";
import { VerdictBadge } from "./WorklistPage";

type ModelVersion = Schemas["ModelVersion"];
type Thresholds = { review_at_percent: number; reimage_at_percent: number; is_default?: boolean };

const PAGE_SIZE = 25;
const FIELD_LABELS: Record<string, string> = {
  review_at_percent: "Review at", reimage_at_percent: "Re-image at", reader: "Reader", due_at: "Due date",
  model_version: "Model version",
};

/** The server's answer as one sentence, naming the fields it refused ({detail, fields} or {detail}). */
export function problemText(error: unknown, fallback = "The request failed."): string {
  const body = (error ?? {}) as { fields?: Record<string, unknown> };
  if (body.fields && typeof body.fields === "object") {
    const parts = Object.entries(body.fields).map(([field, value]) => {
      const text = Array.isArray(value) ? value.join(" ") : String(value);
      return field === "non_field_errors" ? text : `${FIELD_LABELS[field] ?? field}: ${text}`;
    });
    if (parts.length) return parts.join(" ");
  }
  return errorMessage(error, fallback);
}

function when(value: string | null | undefined): string {
  return value ? new Date(value).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "—";
}

function lesionText(row: QueueCase): string {
  const where = row.lesion.anatom_site || row.lesion.anatom_site_general || "site not recorded";
  return `${row.lesion.label || "Lesion"} · ${where}`;
}

function caseText(row: QueueCase): string {
  return `${row.patient_label} — ${lesionText(row)} — ${row.visit_date}`;
}

interface Page { rows: QueueCase[]; count: number; page: number }

function useQueue(siteId: string, assigned: boolean, version: number) {
  const [page, setPage] = useState(1);
  const [data, setData] = useState<Page | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => { setPage(1); }, [siteId]);
  useEffect(() => {
    let stale = false;
    void api.GET("/api/v1/sites/{id}/reading-queue/", {
      params: { path: { id: siteId }, query: { assigned, page, page_size: PAGE_SIZE } },
    }).then(({ data: body, error: failure }) => {
      if (stale) return;
      if (failure || !body) { setError(errorMessage(failure, "The queue could not be loaded.")); return; }
      if (!body.results.length && page > 1) { setPage(page - 1); return; }  // the last row of a page was handed out
      setData({ rows: body.results, count: body.count, page });
      setError(null);
    });
    return () => { stale = true; };
  }, [siteId, assigned, page, version]);
  return { data, error, setPage };
}

function Pager({ data, setPage }: { data: Page; setPage: (page: number) => void }) {
  const pages = Math.max(1, Math.ceil(data.count / PAGE_SIZE));
  if (pages === 1) return null;
  return (
    <div className="actions small">
      <button type="button" disabled={data.page <= 1} onClick={() => setPage(data.page - 1)}>Previous</button>
      <span className="muted">Page {data.page} of {pages}</span>
      <button type="button" disabled={data.page >= pages} onClick={() => setPage(data.page + 1)}>Next</button>
    </div>
  );
}

function ThresholdsPanel({ siteId }: { siteId: string }) {
  const [review, setReview] = useState("");
  const [reimage, setReimage] = useState("");
  const [isDefault, setIsDefault] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const show = (policy: Thresholds) => {
    setReview(String(policy.review_at_percent));
    setReimage(String(policy.reimage_at_percent));
    setIsDefault(Boolean(policy.is_default));
  };
  useEffect(() => {
    setMessage(null);
    void api.GET("/api/v1/sites/{id}/quality-policy/", { params: { path: { id: siteId } } }).then(({ data, error }) => {
      if (data) show(data as Thresholds);
      else setMessage({ ok: false, text: errorMessage(error, "The thresholds could not be loaded.") });
    });
  }, [siteId]);

  const save = async () => {
    setBusy(true);
    const { data, error } = await api.PUT("/api/v1/sites/{id}/quality-policy/", {
      params: { path: { id: siteId } },
      // Sent as typed (an empty or odd value too): the server names what is wrong with it.
      body: { review_at_percent: review.trim() === "" ? (null as never) : Number(review),
              reimage_at_percent: reimage.trim() === "" ? (null as never) : Number(reimage) },
    });
    setBusy(false);
    if (data) {
      show(data as Thresholds);
      setMessage({ ok: true, text: "Thresholds saved. Open cases are judged again with them within seconds; signed cases keep theirs." });
    } else setMessage({ ok: false, text: problemText(error, "The thresholds were not saved.") });
  };

  return (
    <section className="panel" aria-label="Quality thresholds" data-testid="thresholds">
      <h2>Quality thresholds {isDefault ? <span className="badge">platform defaults</span> : null}</h2>
      <p className="small muted">A mosaic whose uninformative area (within the lesion when it is outlined and registered,
        else over the whole mosaic) reaches “review at” is flagged for review; at “re-image at” the technician is told to re-image.</p>
      <form className="form-grid" onSubmit={(e) => { e.preventDefault(); void save(); }}>
        <label>Review at (%) <input type="number" step="0.1" min="0.1" max="100" value={review}
          onChange={(e) => setReview(e.target.value)} /></label>
        <label>Re-image at (%) <input type="number" step="0.1" min="0.1" max="100" value={reimage}
          onChange={(e) => setReimage(e.target.value)} /></label>
        <div className="actions"><button type="submit" className="primary" disabled={busy}>Save thresholds</button></div>
        {message ? <p className={message.ok ? "ok" : "error"} role={message.ok ? "status" : "alert"}>{message.text}</p> : null}
      </form>
    </section>
  );
}

/** Whether the PDFs this site's readers download name the patient (name, MRN, birth date, sex):
 * off for external readers who must not see identifiers. The clinic's own staff always get them. */
function ReportPolicyPanel({ siteId }: { siteId: string }) {
  const [policy, setPolicy] = useState<ReportPolicy | null>(null);
  const [identifiers, setIdentifiers] = useState(true);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
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
          {policy && !policy.is_default && policy.updated_at ? <span className="small muted">set {when(policy.updated_at)}</span> : null}
        </div>
        {message ? <p className={message.ok ? "ok" : "error"} role={message.ok ? "status" : "alert"}>{message.text}</p> : null}
      </form>
    </section>
  );
}

function RerunPanel({ cases, chosen, setChosen }: { cases: QueueCase[]; chosen: string; setChosen: (id: string) => void }) {
  const [models, setModels] = useState<ModelVersion[] | null>(null);
  const [model, setModel] = useState("");
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    void api.GET("/api/v1/models/").then(({ data }) => setModels((data as ModelVersion[] | undefined) ?? []));
  }, []);
  useEffect(() => { setMessage(null); }, [chosen, model]);

  const rerun = async () => {
    if (!chosen || !model) { setMessage({ ok: false, text: "Choose a case and a model version." }); return; }
    setBusy(true);
    const { data, error } = await api.POST("/api/v1/cases/{id}/analyses/rerun/", {
      params: { path: { id: chosen } }, body: { model_version: Number(model) },
    });
    setBusy(false);
    if (data) {
      const runs = ((data as { runs?: string[] }).runs ?? []).length;
      setMessage({ ok: true, text: `${runs} analysis run${runs === 1 ? "" : "s"} queued; the case's results follow when they finish.` });
    } else setMessage({ ok: false, text: problemText(error, "The analyses were not re-run.") });
  };

  return (
    <section className="panel" aria-label="Re-run analyses" data-testid="rerun">
      <h2>Re-run a case's analyses</h2>
      <p className="small muted">Runs the chosen model version again on the case's current images (another version, or the same one after a fix).</p>
      {!cases.length ? <p className="empty small">No open case to re-run: the lists above are empty.</p> : (
        <div className="form-grid">
          <label className="wide">Case <select aria-label="Case to re-run" value={chosen} onChange={(e) => setChosen(e.target.value)}>
            <option value="">Choose a case…</option>
            {cases.map((row) => <option key={row.id} value={row.id}>{caseText(row)}</option>)}
          </select></label>
          <label className="wide">Model version <select aria-label="Model version" value={model} onChange={(e) => setModel(e.target.value)}>
            <option value="">{models === null ? "Loading…" : models.length ? "Choose a model version…" : "No model is registered"}</option>
            {models?.map((m) => (
              <option key={m.id} value={m.id} disabled={m.status !== "ready"}>
                {m.name} {m.version}{m.is_active ? " (active)" : ""}{m.status !== "ready" ? ` — weights ${m.status}` : ""}
              </option>
            ))}
          </select></label>
          <div className="actions"><button type="button" className="primary" disabled={busy} onClick={() => void rerun()}>Re-run</button></div>
          {message ? <p className={message.ok ? "ok" : "error"} role={message.ok ? "status" : "alert"}>{message.text}</p> : null}
        </div>
      )}
    </section>
  );
}

export function SiteAdminPage({ me }: { me: Me }) {
  const adminSites = useMemo(
    () => Object.entries(me.roles).filter(([, roles]) => roles.includes("site_admin")).map(([id]) => id), [me.roles]);
  const [sites, setSites] = useState<Site[]>([]);
  const [siteId, setSiteId] = useState(adminSites[0] ?? "");
  const [readers, setReaders] = useState<SiteReader[]>([]);
  const [readersError, setReadersError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);  // bumped after every change: the lists and loads reload
  const [notice, setNotice] = useState<string | null>(null);
  const [rowErrors, setRowErrors] = useState<Record<string, string>>({});
  const [rerunCase, setRerunCase] = useState("");
  const queue = useQueue(siteId, false, version);
  const held = useQueue(siteId, true, version);

  useEffect(() => {
    void api.GET("/api/v1/sites/").then(({ data }) => setSites((data as Site[] | undefined) ?? []));
  }, []);
  useEffect(() => {
    if (!siteId) return;
    void api.GET("/api/v1/sites/{id}/readers/", { params: { path: { id: siteId } } }).then(({ data, error }) => {
      setReaders((data as SiteReader[] | undefined) ?? []);
      setReadersError(data ? null : errorMessage(error, "The site's readers could not be loaded."));
    });
  }, [siteId, version]);
  useEffect(() => { setNotice(null); setRowErrors({}); setRerunCase(""); }, [siteId]);

  const readerName = useCallback((id: number) => readers.find((r) => r.id === id)?.full_name ?? "the reader", [readers]);

  const assign = async (row: QueueCase, reader: number, dueAt: string | null): Promise<string | null> => {
    const { error } = await api.POST("/api/v1/cases/{id}/assignment/", {
      params: { path: { id: row.id } }, body: { reader, due_at: dueAt },
    });
    if (error) return problemText(error, "The case was not assigned.");
    setNotice(`${row.patient_label} (${row.visit_date}) is now with ${readerName(reader)}${dueAt ? `, due ${when(dueAt)}` : ""}.`);
    setVersion((v) => v + 1);
    return null;
  };

  const unassign = async (row: QueueCase) => {
    const { error, response } = await api.DELETE("/api/v1/cases/{id}/assignment/", { params: { path: { id: row.id } } });
    if (!response.ok) {
      setRowErrors((errors) => ({ ...errors, [row.id]: problemText(error, "The case was not taken back.") }));
      return;
    }
    setRowErrors((errors) => { const rest = { ...errors }; delete rest[row.id]; return rest; });
    setNotice(`${row.patient_label} (${row.visit_date}) is back in the queue.`);
    setVersion((v) => v + 1);
  };

  if (!adminSites.length) return <div className="notice">You are not a site administrator at any site.</div>;
  const siteName = sites.find((s) => s.id === siteId)?.name ?? "your site";
  const openCases = [...(queue.data?.rows ?? []), ...(held.data?.rows ?? [])];

  return (
    <section className="worklist site-admin" aria-label="Site administration">
      <div className="toolbar">
        <h1>Site admin</h1>
        <span className="muted">{siteName}</span>
        <span className="spacer" />
        {adminSites.length > 1 ? (
          <label>Site <select aria-label="Site" value={siteId} onChange={(e) => setSiteId(e.target.value)}>
            {adminSites.map((id) => <option key={id} value={id}>{sites.find((s) => s.id === id)?.name ?? id}</option>)}
          </select></label>
        ) : null}
      </div>
      {notice ? <p className="ok" role="status" data-testid="admin-notice">{notice}</p> : null}
      {readersError ? <p className="error" role="alert">{readersError}</p> : null}

      <h2 className="section-title">Waiting for a reader {queue.data ? <span className="muted">({queue.data.count})</span> : null}</h2>
      {queue.error ? <p className="error" role="alert">{queue.error}</p> : null}
      {queue.data && !queue.data.rows.length ? (
        <p className="empty" data-testid="queue-empty">No submitted case is waiting for a reader at {siteName}.</p>
      ) : null}
      {queue.data?.rows.length ? (
        <table className="grid admin-table" aria-label="Cases waiting for a reader">
          <thead><tr><th>Patient</th><th>Lesion</th><th>Visit</th><th>Submitted</th><th>Status</th><th>Image quality</th><th>Assign</th></tr></thead>
          <tbody>
            {queue.data.rows.map((row) => (
              <tr key={row.id} data-testid="queue-row" data-case={row.id}>
                <td>{row.patient_label}</td>
                <td>{lesionText(row)}</td>
                <td className="nowrap">{row.visit_date}</td>
                <td>{when(row.submitted_at)}</td>
                <td><span className={`badge status-${row.status}`}>{STATUS_TEXT[row.status] ?? row.status}</span></td>
                <td><VerdictBadge verdict={(row.quality_verdict as Verdict | null) ?? null} /></td>
                <td>
                  <AssignControl caseId={row.id} readers={readers} label="Assign" onAssign={(reader, due) => assign(row, reader, due)} />
                  <button type="button" className="link small" onClick={() => setRerunCase(row.id)}>Re-run analyses…</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {queue.data ? <Pager data={queue.data} setPage={queue.setPage} /> : null}

      <h2 className="section-title">With a reader {held.data ? <span className="muted">({held.data.count})</span> : null}</h2>
      {held.error ? <p className="error" role="alert">{held.error}</p> : null}
      {held.data && !held.data.rows.length ? <p className="empty" data-testid="held-empty">No open case is with a reader.</p> : null}
      {held.data?.rows.length ? (
        <table className="grid admin-table" aria-label="Cases with a reader">
          <thead><tr><th>Patient</th><th>Lesion</th><th>Visit</th><th>Reader</th><th>Due</th><th>Status</th><th>Reassign or take back</th></tr></thead>
          <tbody>
            {held.data.rows.map((row) => {
              const assignment = row.assignment;
              return (
                <tr key={row.id} data-testid="held-row" data-case={row.id}>
                  <td>{row.patient_label}</td>
                  <td>{lesionText(row)}</td>
                  <td className="nowrap">{row.visit_date}</td>
                  <td>{assignment ? (assignment.reader.name || assignment.reader.username) : "—"}</td>
                  <td>{when(assignment?.due_at)}</td>
                  <td>
                    <span className={`badge status-${row.status}`}>{STATUS_TEXT[row.status] ?? row.status}</span>
                    {assignment?.claimed_at ? <span className="small muted"> being read since {when(assignment.claimed_at)}</span> : null}
                  </td>
                  <td>
                    <AssignControl caseId={row.id} readers={readers} current={assignment?.reader.id ?? null} label="Reassign"
                      onAssign={(reader, due) => assign(row, reader, due)} />
                    <div className="row-actions">
                      <button type="button" onClick={() => void unassign(row)}>Unassign</button>
                      <button type="button" className="link small" onClick={() => setRerunCase(row.id)}>Re-run analyses…</button>
                    </div>
                    {rowErrors[row.id] ? <p className="error small" role="alert">{rowErrors[row.id]}</p> : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {held.data ? <Pager data={held.data} setPage={held.setPage} /> : null}

      <div className="admin-panels">
        <ThresholdsPanel siteId={siteId} />
        <ReportPolicyPanel siteId={siteId} />
        <RerunPanel cases={openCases} chosen={rerunCase} setChosen={setRerunCase} />
      </div>
    </section>
  );
}
