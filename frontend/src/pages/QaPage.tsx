/** Quality assurance: per site and per technician, how much of each mosaic was diagnostically
 * uninformative (over the mosaic and within the lesion), in the paper's bins and week by week;
 * who differs from the pool (Mann–Whitney, Holm-corrected, with the effect size); how many mosaics
 * each re-imaging rule would recall. Every number opens the mosaics behind it; every table exports. */
import { useEffect, useMemo, useState } from "react";
import type { Me } from "../api/types";
import { BinsPanel } from "../components/qa/BinsPanel";
import { GroupTable } from "../components/qa/GroupTable";
import { MosaicsPanel } from "../components/qa/MosaicsPanel";
import { RecallSection } from "../components/qa/RecallSection";
import { TrendPanel } from "../components/qa/TrendPanel";
import { useQaDashboard, useQaScope } from "../hooks/useQa";
import { numberText, queryString, type Drill, type Filters, type TrendMeasure } from "../lib/qa";
import { queryParams, replaceQuery } from "../lib/route";

export function QaPage(_props: { me: Me }) {
  const initial = queryParams();
  const { scope, error: scopeError } = useQaScope();
  const [period, setPeriod] = useState<{ date_from: string; date_to: string } | null>(
    initial.date_from && initial.date_to ? { date_from: initial.date_from, date_to: initial.date_to } : null);
  const [site, setSite] = useState(initial.site ?? "");
  const [drill, setDrill] = useState<Drill | null>(null);
  const [trendMeasure, setTrendMeasure] = useState<TrendMeasure>("mean_whole");
  const [trendGroup, setTrendGroup] = useState<"site" | "technician">("site");
  useEffect(() => { if (scope) setPeriod((current) => current ?? scope.default_period); }, [scope]);

  const filters = useMemo<Filters>(() => (period ? { ...period, ...(site ? { site } : {}) } : {}), [period, site]);
  useEffect(() => { if (period) replaceQuery(filters); }, [period, filters]);  // the address reopens this view
  const { summary, trend, recall, error } = useQaDashboard({ filters, trendGroup, enabled: period !== null });

  if (scopeError && !scope) return <div className="notice" role="alert" data-testid="qa-denied">{scopeError}</div>;
  if (!scope || !period) return <div className="splash">Loading…</div>;

  const flagged = [...(summary?.sites ?? []), ...(summary?.technicians ?? [])].filter((g) => g.outlier.flagged);
  const exportLink = (table: string) => `/api/v1/qa/export/?${queryString({ ...filters, table })}`;

  return (
    <section className="worklist qa" aria-label="Quality assurance">
      <div className="toolbar">
        <h1>Image quality</h1>
        <label>From <input type="date" value={period.date_from} onChange={(e) => e.target.value && setPeriod({ ...period, date_from: e.target.value })} aria-label="From" /></label>
        <label>To <input type="date" value={period.date_to} onChange={(e) => e.target.value && setPeriod({ ...period, date_to: e.target.value })} aria-label="To" /></label>
        <label>Site <select value={site} onChange={(e) => setSite(e.target.value)} aria-label="Site">
          <option value="">{scope.sites.length > 1 ? "All my sites" : scope.sites[0]?.name}</option>
          {scope.sites.length > 1 ? scope.sites.map((s) => <option key={s.id} value={s.id}>{s.name}</option>) : null}
        </select></label>
        <span className="spacer" />
        <span className="small muted">CSV:</span>
        <a className="button small" href={exportLink("groups")} download>groups</a>
        <a className="button small" href={exportLink("trend")} download>trend</a>
        <a className="button small" href={exportLink("recall")} download>recall</a>
        <a className="button small" href={exportLink("mosaics")} download>mosaics</a>
      </div>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {summary ? (
        <p className="muted small">{summary.pool.n} judged mosaic{summary.pool.n === 1 ? "" : "s"} from {summary.period.date_from} to {summary.period.date_to}
          {summary.pool.n ? ` · pooled median ${numberText(summary.pool.whole.median)}% uninformative over the mosaic, ${numberText(summary.pool.lesion.median)}% within the lesion (${summary.pool.lesion.n} with a lesion)` : ""}.</p>
      ) : null}
      {flagged.length ? (
        <div className="flags" role="alert" aria-label="Flagged">
          {flagged.map((group) => (
            <p key={`${group.site_id}-${group.key}`} data-testid="qa-flag-reason">
              <span className="badge verdict-reimage">Outlier</span> {[group.outlier.whole, group.outlier.lesion].filter((e) => e.flagged).map((e) => e.reason).join(" ")}
            </p>
          ))}
        </div>
      ) : summary?.pool.n ? <p className="ok small">No site or technician differs from the others by more than chance and a small effect.</p> : null}
      {summary && !summary.pool.n ? <p className="empty">No judged mosaics in this period.</p> : null}
      {summary?.pool.n ? (
        <>
          <h2 className="section-title">Sites</h2>
          <GroupTable groups={summary.sites} kind="site" onDrill={setDrill} />
          <div className="qa-charts">
            <BinsPanel summary={summary} onDrill={setDrill} />
            <TrendPanel trend={trend} measure={trendMeasure} onMeasure={setTrendMeasure} group={trendGroup} onGroup={setTrendGroup} onDrill={setDrill} />
          </div>
          <h2 className="section-title">Technicians</h2>
          <GroupTable groups={summary.technicians} kind="technician" onDrill={setDrill} />
          {recall ? <RecallSection recall={recall} onDrill={setDrill} /> : null}
        </>
      ) : null}
      {drill ? <MosaicsPanel drill={drill} period={filters} onClose={() => setDrill(null)} /> : null}
    </section>
  );
}
