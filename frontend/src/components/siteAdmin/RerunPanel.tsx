/** Re-run a case's analyses with a chosen model version (POST /api/v1/cases/{id}/analyses/rerun/):
 * another version, or the same one after a fix; the case's results follow when the runs finish. */
import { useEffect, useState } from "react";
import { api } from "../../api/client";
import type { QueueCase, Schemas } from "../../api/types";
import { caseText, problemText } from "../../lib/siteAdmin";
import { OutcomeMessage, type Outcome } from "../OutcomeMessage";

type ModelVersion = Schemas["ModelVersion"];

export function RerunPanel({ cases, chosen, setChosen }: { cases: QueueCase[]; chosen: string; setChosen: (id: string) => void }) {
  const [models, setModels] = useState<ModelVersion[] | null>(null);
  const [model, setModel] = useState("");
  const [message, setMessage] = useState<Outcome | null>(null);
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
          <OutcomeMessage outcome={message} />
        </div>
      )}
    </section>
  );
}
