/** A site administrator's desk: the submitted cases no reader holds yet (assign each with a due
 * date), the cases readers hold (reassign, take back), the site's quality thresholds, and re-running
 * a case's analyses with another model version, the site's second-factor policy and emergency access. Everything goes through the same API the Swagger
 * page shows; the server decides, and its refusals are shown in its own words. */
import { useCallback, useEffect, useMemo, useState } from "react";
import { api } from "../api/client";
import type { Me, QueueCase } from "../api/types";
import { AccessLogPanel } from "../components/siteAdmin/AccessLogPanel";
import { BreakGlassPanel } from "../components/siteAdmin/BreakGlassPanel";
import { HeldTable } from "../components/siteAdmin/HeldTable";
import { Pager } from "../components/siteAdmin/Pager";
import { ReportPolicyPanel } from "../components/siteAdmin/ReportPolicyPanel";
import { RerunPanel } from "../components/siteAdmin/RerunPanel";
import { SecurityPolicyPanel } from "../components/siteAdmin/SecurityPolicyPanel";
import { ThresholdsPanel } from "../components/siteAdmin/ThresholdsPanel";
import { WaitingTable } from "../components/siteAdmin/WaitingTable";
import { useReadingQueue } from "../hooks/useReadingQueue";
import { useSiteReaders } from "../hooks/useSiteReaders";
import { useSites } from "../hooks/useSites";
import { problemText, whenText } from "../lib/siteAdmin";

export function SiteAdminPage({ me }: { me: Me }) {
  const adminSites = useMemo(
    () => Object.entries(me.roles).filter(([, roles]) => roles.includes("site_admin")).map(([id]) => id), [me.roles]);
  const sites = useSites();
  const [siteId, setSiteId] = useState(adminSites[0] ?? "");
  const [version, setVersion] = useState(0);  // bumped after every change: the lists and loads reload
  const [notice, setNotice] = useState<string | null>(null);
  const [rowErrors, setRowErrors] = useState<Record<string, string>>({});
  const [rerunCase, setRerunCase] = useState("");
  const { readers, error: readersError } = useSiteReaders({ siteId, version });
  const queue = useReadingQueue({ siteId, assigned: false, version });
  const held = useReadingQueue({ siteId, assigned: true, version });
  useEffect(() => { setNotice(null); setRowErrors({}); setRerunCase(""); }, [siteId]);

  const readerName = useCallback((id: number) => readers.find((r) => r.id === id)?.full_name ?? "the reader", [readers]);

  const assign = async (row: QueueCase, reader: number, dueAt: string | null): Promise<string | null> => {
    const { error } = await api.POST("/api/v1/cases/{id}/assignment/", {
      params: { path: { id: row.id } }, body: { reader, due_at: dueAt },
    });
    if (error) return problemText(error, "The case was not assigned.");
    setNotice(`${row.patient_label} (${row.visit_date}) is now with ${readerName(reader)}${dueAt ? `, due ${whenText(dueAt)}` : ""}.`);
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
      {queue.data?.rows.length ? <WaitingTable rows={queue.data.rows} readers={readers} onAssign={assign} onRerun={setRerunCase} /> : null}
      {queue.data ? <Pager data={queue.data} setPage={queue.setPage} /> : null}

      <h2 className="section-title">With a reader {held.data ? <span className="muted">({held.data.count})</span> : null}</h2>
      {held.error ? <p className="error" role="alert">{held.error}</p> : null}
      {held.data && !held.data.rows.length ? <p className="empty" data-testid="held-empty">No open case is with a reader.</p> : null}
      {held.data?.rows.length ? (
        <HeldTable rows={held.data.rows} readers={readers} rowErrors={rowErrors} onAssign={assign}
          onUnassign={(row) => void unassign(row)} onRerun={setRerunCase} />
      ) : null}
      {held.data ? <Pager data={held.data} setPage={held.setPage} /> : null}

      <div className="admin-panels">
        <ThresholdsPanel siteId={siteId} />
        <ReportPolicyPanel siteId={siteId} />
        <RerunPanel cases={openCases} chosen={rerunCase} setChosen={setRerunCase} />
        <AccessLogPanel key={siteId} siteId={siteId} />
        <SecurityPolicyPanel siteId={siteId} />
        <BreakGlassPanel siteId={siteId} me={me} />
      </div>
    </section>
  );
}
