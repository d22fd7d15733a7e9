/** A new case in three steps: find or register the patient, pick or add the lesion (body picker),
 * then the visit. Every record goes through the same API a capture device uses. */
import { useEffect, useMemo, useState } from "react";
import { api, errorMessage, requestKey } from "../api/client";
import type { Lesion, Me, Patient, Site } from "../api/types";
import { BodyPicker, type SitePick } from "../components/BodyPicker";
import { useSites } from "../hooks/useSites";
import { navigate } from "../lib/route";

const DEVICES = ["VivaScope 1500", "VivaScope 1500 + VivaCam", "VivaScope 3000", "Handheld RCM"];

interface Technician { id: number; full_name: string; username: string }

function today(): string {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

function PatientStep({ sites, onChosen }: { sites: Site[]; onChosen: (patient: Patient) => void }) {
  const [search, setSearch] = useState("");
  const [found, setFound] = useState<Patient[] | null>(null);
  const [creating, setCreating] = useState(false);
  const [form, setForm] = useState({ site: "", mrn: "", given_name: "", family_name: "", birth_date: "", sex: "unknown" });
  const [error, setError] = useState<string | null>(null);

  useEffect(() => { if (sites.length && !form.site) setForm((f) => ({ ...f, site: sites[0].id })); }, [sites, form.site]);
  useEffect(() => {
    if (search.trim().length < 2) { setFound(null); return; }
    let stale = false;
    const timer = window.setTimeout(() => {
      void api.GET("/api/v1/patients/", { params: { query: { search: search.trim(), page_size: 20 } as never } }).then(({ data }) => {
        if (!stale) setFound(data?.results ?? []);
      });
    }, 250);
    return () => { stale = true; window.clearTimeout(timer); };
  }, [search]);

  const create = async (event: React.FormEvent) => {
    event.preventDefault();
    // The patient belongs to a site: never send the form before the user's sites have loaded.
    if (!form.site) return;
    const { data, error: failure } = await api.POST("/api/v1/patients/", {
      body: { ...form, birth_date: form.birth_date || null, sex: form.sex as Patient["sex"] } as never,
    });
    if (failure) setError(errorMessage(failure));
    else onChosen(data as Patient);
  };
  const field = (name: keyof typeof form) => ({
    value: form[name], onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => {
      const value = e.target.value;
      setForm((f) => ({ ...f, [name]: value }));
    },
  });

  return (
    <section className="panel step" aria-label="Patient">
      <h2>1 · Patient</h2>
      <label>Find by MRN or name <input value={search} onChange={(e) => setSearch(e.target.value)} autoFocus
        placeholder="MRN, family or given name" aria-label="Patient search" /></label>
      {found && !found.length ? <p className="muted small">No patient matches.</p> : null}
      {found?.length ? (
        <table className="compact" aria-label="Matching patients"><tbody>
          {found.map((patient) => (
            <tr key={patient.id}><td>{patient.family_name}, {patient.given_name}</td><td>{patient.mrn}</td>
              <td>{patient.birth_date ?? ""}</td>
              <td><button type="button" onClick={() => onChosen(patient)}>Select</button></td></tr>
          ))}
        </tbody></table>
      ) : null}
      {!creating ? <p><button type="button" className="link" onClick={() => setCreating(true)}>Register a new patient</button></p> : (
        <form className="form-grid" onSubmit={create} aria-label="New patient">
          {sites.length > 1 ? <label>Site <select {...field("site")}>{sites.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}</select></label> : null}
          <label>MRN <input {...field("mrn")} required maxLength={64} /></label>
          <label>Family name <input {...field("family_name")} required maxLength={120} /></label>
          <label>Given name <input {...field("given_name")} required maxLength={120} /></label>
          <label>Birth date <input type="date" {...field("birth_date")} /></label>
          <label>Sex <select {...field("sex")}>
            <option value="unknown">Unknown</option><option value="female">Female</option><option value="male">Male</option><option value="other">Other</option>
          </select></label>
          <div className="actions"><button type="submit" className="primary" disabled={!form.site}
            title={form.site ? undefined : "Loading your sites…"}>Register patient</button>
            <button type="button" onClick={() => setCreating(false)}>Cancel</button></div>
          {error ? <p className="error" role="alert">{error}</p> : null}
        </form>
      )}
    </section>
  );
}

function LesionStep({ patient, onChosen }: { patient: Patient; onChosen: (lesion: Lesion) => void }) {
  const [lesions, setLesions] = useState<Lesion[] | null>(null);
  const [creating, setCreating] = useState(false);
  const [label, setLabel] = useState("");
  const [pick, setPick] = useState<SitePick | null>(null);
  const [note, setNote] = useState("");
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void api.GET("/api/v1/lesions/", { params: { query: { patient: patient.id, page_size: 100 } as never } }).then(({ data }) => {
      const list = data?.results ?? [];
      setLesions(list);
      setCreating(list.length === 0);
      setLabel(`L${list.length + 1}`);
    });
  }, [patient.id]);

  const create = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!pick) { setError("Pick where the lesion is on the figure or from the list."); return; }
    const location_note = [pick.side_note, note].filter(Boolean).join(" · ");
    const { data, error: failure } = await api.POST("/api/v1/lesions/", {
      body: { patient: patient.id, label, anatom_site: pick.anatom_site, anatom_site_general: pick.anatom_site_general, location_note } as never,
    });
    if (failure) setError(errorMessage(failure));
    else onChosen(data as Lesion);
  };

  return (
    <section className="panel step" aria-label="Lesion">
      <h2>2 · Lesion <span className="muted small">of {patient.family_name}, {patient.given_name} ({patient.mrn})</span></h2>
      {lesions?.length ? (
        <table className="compact" aria-label="Lesions of the patient"><tbody>
          {lesions.map((lesion) => (
            <tr key={lesion.id}><td>{lesion.label || "Lesion"}</td><td>{lesion.anatom_site || lesion.anatom_site_general || "—"}</td>
              <td>{lesion.location_note}</td><td><button type="button" onClick={() => onChosen(lesion)}>Select</button></td></tr>
          ))}
        </tbody></table>
      ) : null}
      {!creating ? <p><button type="button" className="link" onClick={() => setCreating(true)}>Add a new lesion</button></p> : (
        <form onSubmit={create} aria-label="New lesion">
          <div className="form-grid">
            <label>Label <input value={label} onChange={(e) => setLabel(e.target.value)} maxLength={80} /></label>
            <label>Location note <input value={note} onChange={(e) => setNote(e.target.value)} maxLength={250}
              placeholder="e.g. 3 cm above the navel" /></label>
          </div>
          <BodyPicker value={pick} onChange={setPick} />
          <div className="actions"><button type="submit" className="primary">Add lesion</button></div>
          {error ? <p className="error" role="alert">{error}</p> : null}
        </form>
      )}
    </section>
  );
}

function CaseStep({ lesion, patient, me }: { lesion: Lesion; patient: Patient; me: Me }) {
  const [technicians, setTechnicians] = useState<Technician[]>([]);
  const [form, setForm] = useState({ visit_date: today(), device: DEVICES[1], technician: "", clinical_question: "", clinical_note: "" });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // One key per form content: sending the same visit again (a lost answer, a double click) gives
  // the case already made instead of a second draft; an edited form is a new request.
  const formText = JSON.stringify(form);
  const idempotencyKey = useMemo(() => requestKey(formText), [formText]);

  useEffect(() => {
    void api.GET("/api/v1/sites/{id}/technicians/", { params: { path: { id: patient.site } } }).then(({ data }) => {
      const list: Technician[] = data ?? [];
      setTechnicians(list);
      if (list.some((t) => t.id === me.id)) setForm((f) => ({ ...f, technician: String(me.id) }));
    });
  }, [patient.site, me.id]);

  const create = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const { data, error: failure } = await api.POST("/api/v1/cases/", {
      params: { header: { "Idempotency-Key": idempotencyKey } },
      body: { lesion: lesion.id, visit_date: form.visit_date, device: form.device, clinical_note: form.clinical_note,
        clinical_question: form.clinical_question.trim(),
        technician: form.technician ? Number(form.technician) : null } as never,
    });
    setBusy(false);
    if (failure) setError(errorMessage(failure));
    else navigate(`/clinic/cases/${(data as { id: string }).id}`);
  };
  const field = (name: keyof typeof form) => ({
    value: form[name],
    onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) => setForm({ ...form, [name]: e.target.value }),
  });

  return (
    <section className="panel step" aria-label="Visit">
      <h2>3 · Visit <span className="muted small">lesion {lesion.label || ""} · {lesion.anatom_site || lesion.anatom_site_general}</span></h2>
      <form className="form-grid" onSubmit={create} aria-label="New case">
        <label>Visit date <input type="date" {...field("visit_date")} required /></label>
        <label>Device <input list="devices" {...field("device")} maxLength={120} /></label>
        <datalist id="devices">{DEVICES.map((d) => <option key={d} value={d} />)}</datalist>
        <label>Technician <select {...field("technician")} aria-label="Technician">
          <option value="">Not recorded</option>
          {technicians.map((t) => <option key={t.id} value={t.id}>{t.full_name}</option>)}
        </select></label>
        <label className="wide">Clinical question <input {...field("clinical_question")} maxLength={500}
          placeholder="What should the reader answer? e.g. melanoma? please assess the junction" /></label>
        <label className="wide">Clinical note <textarea rows={2} {...field("clinical_note")} /></label>
        <div className="actions"><button type="submit" className="primary" disabled={busy}>Create case and add images</button></div>
        {error ? <p className="error" role="alert">{error}</p> : null}
      </form>
    </section>
  );
}

export function NewCasePage({ me }: { me: Me }) {
  const [patient, setPatient] = useState<Patient | null>(null);
  const [lesion, setLesion] = useState<Lesion | null>(null);
  const clinicalSites = useMemo(
    () => new Set(Object.entries(me.roles).filter(([, roles]) => roles.some((r) => r === "technician" || r === "site_admin")).map(([id]) => id)),
    [me.roles]);

  const allSites = useSites();
  const sites = useMemo(() => allSites.filter((site) => clinicalSites.has(site.id)), [allSites, clinicalSites]);

  return (
    <section className="new-case" aria-label="New case">
      <div className="toolbar"><h1>New case</h1><span className="spacer" />
        <button type="button" className="link" onClick={() => navigate("/clinic")}>Back to the cases</button></div>
      {!patient ? <PatientStep sites={sites} onChosen={setPatient} /> : (
        <p className="chosen">Patient: <strong>{patient.family_name}, {patient.given_name}</strong> ({patient.mrn})
          <button type="button" className="link" onClick={() => { setPatient(null); setLesion(null); }}>change</button></p>
      )}
      {patient && !lesion ? <LesionStep patient={patient} onChosen={setLesion} /> : null}
      {patient && lesion ? (
        <>
          <p className="chosen">Lesion: <strong>{lesion.label || "Lesion"}</strong> · {lesion.anatom_site || lesion.anatom_site_general}
            {lesion.location_note ? ` · ${lesion.location_note}` : ""}
            <button type="button" className="link" onClick={() => setLesion(null)}>change</button></p>
          <CaseStep lesion={lesion} patient={patient} me={me} />
        </>
      ) : null}
    </section>
  );
}
