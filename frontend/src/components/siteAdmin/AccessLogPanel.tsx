/** The privacy officer's question, answered: who saw or changed one patient's data. Find the
 * patient by MRN or name, read the log (newest first) or download all of it as a CSV. Reading it
 * is itself recorded in the audit trail. */
import { useState, type FormEvent } from "react";
import { api, errorMessage } from "../../api/client";
import type { AccessEvent, Patient } from "../../api/types";
import { dateTimeText } from "../../lib/format";

export function AccessLogPanel({ siteId }: { siteId: string }) {
  const [search, setSearch] = useState("");
  const [patients, setPatients] = useState<Patient[] | null>(null);
  const [chosen, setChosen] = useState<Patient | null>(null);
  const [events, setEvents] = useState<{ count: number; rows: AccessEvent[] } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const find = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const { data, error: failure } = await api.GET("/api/v1/patients/", { params: { query: { site: siteId, search } } });
    if (failure || !data) return setError(errorMessage(failure, "The patients could not be searched."));
    setPatients(data.results);
  };

  const open = async (patient: Patient) => {
    setChosen(patient);
    setEvents(null);
    const { data, error: failure } = await api.GET("/api/v1/sites/{id}/patients/{patient}/access-log/", {
      params: { path: { id: siteId, patient: patient.id } },
    });
    if (failure || !data) return setError(errorMessage(failure, "The access log could not be loaded."));
    setEvents({ count: data.count, rows: data.results });
  };

  return (
    <section className="panel" aria-label="Patient access log">
      <h3>Patient access log</h3>
      <p className="muted small">Who read, changed or downloaded one patient's data, from the audit trail.</p>
      <form onSubmit={find} className="inline-form">
        <input aria-label="Patient MRN or name" value={search} required placeholder="MRN or name"
          onChange={(e) => setSearch(e.target.value)} />
        <button type="submit">Find</button>
      </form>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {patients && !patients.length ? <p className="muted small">No patient of this site matches.</p> : null}
      {patients?.length ? (
        <ul className="plain">{patients.map((p) => (
          <li key={p.id}><button type="button" className="link" onClick={() => void open(p)}>
            {p.family_name}, {p.given_name} · {p.mrn}</button></li>))}
        </ul>
      ) : null}
      {chosen && events ? (
        <div data-testid="access-log">
          <p className="small">{events.count} events about {chosen.family_name}, {chosen.given_name} ·{" "}
            <a href={`/api/v1/sites/${siteId}/patients/${chosen.id}/access-log/?download=csv`}>download all as CSV</a></p>
          <table className="compact" aria-label="Access log">
            <thead><tr><th>When</th><th>Who</th><th>What</th><th>On</th><th>Outcome</th><th>From</th></tr></thead>
            <tbody>{events.rows.map((row, index) => (
              <tr key={index} data-testid="access-event">
                <td>{dateTimeText(row.occurred_at)}</td><td>{row.actor || "—"}</td><td>{row.action.replace(/_/g, " ")}</td>
                <td>{row.object_type}{row.list_page ? " (a list page)" : ""}</td><td>{row.outcome}</td><td>{row.client_address ?? ""}</td>
              </tr>))}
            </tbody>
          </table>
          {events.count > events.rows.length ? <p className="muted small">The newest {events.rows.length} are shown; the CSV holds all.</p> : null}
        </div>
      ) : null}
    </section>
  );
}
