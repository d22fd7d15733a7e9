/** Quality assurance: per site and per technician, how much of each mosaic was diagnostically
 * uninformative (over the mosaic and within the lesion), in the paper's bins and week by week;
 * who differs from the pool (Mann–Whitney, Holm-corrected, with the effect size); how many mosaics
 * each re-imaging rule would recall. Every number opens the mosaics behind it; every table exports. */
import type { ChartConfiguration } from "chart.js";
import { useCallback, useEffect, useMemo, useRef, useState, type ImgHTMLAttributes } from "react";
import { api, errorMessage } from "../api/client";
import type {
  Me, Paginated, QaDescribe, QaGroup, QaMosaicRow, QaRecall, QaScope, QaSummary, QaTrend,
} from "../api/types";
import { BIN_COLOURS, ChartView, SERIES_COLOURS } from "../components/ChartView";
import { DEPTH_TEXT } from "../lib/depth";
import { dateTimeText, percent } from "../lib/format";
import { navigate, queryParams, replaceQuery } from "../lib/route";
import { VerdictBadge } from "./WorklistPage";

type Filters = Record<string, string>;
interface Drill { title: string; params: Filters }

const BIN_KEYS = ["0-5", "5-10", "10-15", "15-25", "25-100"];

/** The filters as the typed client's query (ids and dates are strings in the address; the server checks them). */
const query = (params: Filters) => ({ params: { query: Object.fromEntries(Object.entries(params).filter(([, v]) => v)) as never } });

function qs(params: Filters): string {
  return new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();
}

function num(value: number | null | undefined, digits = 1): string {
  return value == null ? "—" : value.toFixed(digits);
}

function pText(p: number | null | undefined): string {
  if (p == null) return "—";
  return p < 0.0001 ? "< 0.0001" : p.toFixed(4);
}

function Count({ n, onDrill, label }: { n: number; onDrill: () => void; label: string }) {
  if (!n) return <span className="muted">0</span>;
  return <button type="button" className="drill" onClick={onDrill} aria-label={label} title="Show these mosaics">{n}</button>;
}

function Stats({ stats }: { stats: QaDescribe }) {
  return <><td className="num">{num(stats.mean)}</td><td className="num">{num(stats.median)}</td><td className="num">{num(stats.sd)}</td></>;
}

function GroupTable({ groups, kind, onDrill }: { groups: QaGroup[]; kind: "site" | "technician"; onDrill: (d: Drill) => void }) {
  const scope = (group: QaGroup): Filters => (kind === "site" ? { site: group.site_id ?? "" } : { technician: group.key });
  return (
    <table className="grid qa-table" aria-label={kind === "site" ? "Sites" : "Technicians"}>
      <thead>
        <tr><th rowSpan={2}>{kind === "site" ? "Site" : "Technician"}</th><th rowSpan={2}>Mosaics</th>
          <th colSpan={3}>% uninformative, whole mosaic</th><th colSpan={3}>% uninformative, within lesion</th>
          <th colSpan={5}>Mosaics per bin (whole, %)</th><th rowSpan={2}>Re-image</th><th rowSpan={2}>Compared with the others</th></tr>
        <tr><th>mean</th><th>median</th><th>SD</th><th>mean</th><th>median</th><th>SD</th>
          {BIN_KEYS.map((bin) => <th key={bin}>{bin.replace("-", "–")}</th>)}</tr>
      </thead>
      <tbody>
        {groups.map((group) => (
          <tr key={`${group.site_id}-${group.key}`} className={group.outlier.flagged ? "flagged" : ""} data-testid={`qa-${kind}-row`}
            data-label={group.label} data-flagged={group.outlier.flagged ? "true" : "false"}>
            <td>{group.label}{kind === "technician" ? <div className="muted small">{group.site_name}</div> : null}</td>
            <td className="num"><Count n={group.n_mosaics} label={`Mosaics of ${group.label}`}
              onDrill={() => onDrill({ title: `${group.label}: all mosaics`, params: scope(group) })} /></td>
            <Stats stats={group.whole} /><Stats stats={group.lesion} />
            {group.whole.bins.map((bin, index) => (
              <td key={bin.label} className="num"><Count n={bin.count} label={`${group.label}, ${bin.label}%`}
                onDrill={() => onDrill({ title: `${group.label}: ${bin.label}% uninformative (whole mosaic)`, params: { ...scope(group), measure: "whole", bin: BIN_KEYS[index] } })} /></td>
            ))}
            <td className="num"><Count n={group.verdicts.reimage ?? 0} label={`${group.label}, re-image verdicts`}
              onDrill={() => onDrill({ title: `${group.label}: re-image recommended`, params: { ...scope(group), verdict: "reimage" } })} /></td>
            <td className="evidence small">
              {group.outlier.flagged ? <span className="badge verdict-reimage" data-testid="qa-flag">Outlier</span> : null}{" "}
              {[group.outlier.whole, group.outlier.lesion].filter((e) => e.status === "tested").map((e) => (
                <span key={e.measure} className={e.flagged ? "" : "muted"}>
                  {e.measure === "whole" ? "whole" : "lesion"}: p<sub>Holm</sub> {pText(e.p_adjusted)}, r = {num(e.effect_size, 2)} ({e.magnitude}{e.direction ? `, ${e.direction}` : ""}).{" "}
                </span>
              ))}
              {group.outlier.whole.status !== "tested" ? <span className="muted">too few mosaics to test ({group.outlier.whole.n} vs {group.outlier.whole.pool_n})</span> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A lazily loaded thumbnail whose request is dropped when it leaves the page: a drill-down left
 * while its 50 thumbnails are still drawn would keep the server drawing them, and after a sign-out
 * each would fail with a 401 the browser logs as an error. */
function Thumbnail(props: ImgHTMLAttributes<HTMLImageElement> & { "data-testid"?: string }) {
  const dropOnUnmount = useCallback((img: HTMLImageElement | null) => () => {
    if (img && !img.complete) img.removeAttribute("src");
  }, []);
  return <img ref={dropOnUnmount} loading="lazy" {...props} />;
}

function MosaicsPanel({ drill, period, onClose }: { drill: Drill; period: Filters; onClose: () => void }) {
  const [rows, setRows] = useState<QaMosaicRow[]>([]);
  const [count, setCount] = useState<number | null>(null);
  const [page, setPage] = useState(1);
  const [error, setError] = useState<string | null>(null);
  const params = useMemo(() => ({ ...period, ...drill.params }), [period, drill]);
  const thumbnails = rows.some((row) => row.thumbnail_url);  // only for those who may open the cases
  const panel = useRef<HTMLElement>(null);
  useEffect(() => { panel.current?.scrollIntoView?.({ behavior: "smooth", block: "start" }); }, [drill]);

  useEffect(() => { setRows([]); setPage(1); setCount(null); }, [params]);
  useEffect(() => {
    let stale = false;
    void api.GET("/api/v1/qa/mosaics/", query({ ...params, page: String(page), page_size: "50" })).then(({ data, error: failure }) => {
      if (stale) return;
      if (failure || !data) { setError(errorMessage(failure)); return; }
      const found = data as Paginated<QaMosaicRow>;
      setRows((all) => (page === 1 ? found.results : [...all, ...found.results]));
      setCount(found.count);
    });
    return () => { stale = true; };
  }, [params, page]);

  return (
    <section ref={panel} className="panel drill-panel" aria-label="Mosaics behind the number" data-testid="qa-drill">
      <h2>{drill.title} <span className="muted small">{count ?? "…"} mosaic{count === 1 ? "" : "s"}</span>
        <span className="spacer" />
        <a className="button small" href={`/api/v1/qa/export/?${qs({ ...params, table: "mosaics" })}`} download>CSV</a>
        <button type="button" className="link" onClick={onClose}>close</button></h2>
      {error ? <p className="error">{error}</p> : null}
      {thumbnails ? (
        <p className="small muted">Thumbnails: the model's uninformative areas in <span className="swatch" style={{ background: "#ff4000" }} /> orange-red.
          {" "}“Re-captured”: a later capture replaced the mosaic; it still counts here.</p>
      ) : rows.some((row) => row.replaced) ? <p className="small muted">“Re-captured”: a later capture replaced the mosaic; it still counts here.</p> : null}
      <table className="compact">
        <thead><tr>{thumbnails ? <th>Mosaic</th> : null}<th>Visit</th><th>Site</th><th>Technician</th><th>Depth</th><th>Whole</th><th>Lesion</th><th>Verdict</th><th>Case</th></tr></thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.image} data-testid="qa-mosaic-row" data-recaptured={row.replaced ? "true" : "false"}>
              {thumbnails ? (
                <td className="thumb">{row.thumbnail_url ? (
                  <Thumbnail src={row.thumbnail_url} data-testid="qa-thumbnail"
                    alt={`Mosaic of ${row.visit_date}${row.quality_overlay ? ", uninformative areas in orange-red" : ""}`} />
                ) : <span className="muted small">—</span>}</td>
              ) : null}
              <td>{row.visit_date}</td><td>{row.site_name}</td><td>{row.technician_name ?? "—"}</td>
              <td>{DEPTH_TEXT[row.depth_level] ?? row.depth_level}
                {row.replaced ? <>{" "}<span className="badge recaptured" data-testid="qa-recaptured"
                  title={row.replaced_at ? `Replaced by a later capture, ${dateTimeText(row.replaced_at)}` : "Replaced by a later capture"}>re-captured</span></> : null}</td>
              <td className="num">{percent(row.percent_whole)}</td><td className="num">{percent(row.percent_lesion)}</td>
              <td><VerdictBadge verdict={row.verdict} /></td>
              <td>{row.can_open ? <a href={`/clinic/cases/${row.case}`} onClick={(e) => { e.preventDefault(); navigate(`/clinic/cases/${row.case}`); }}>open</a>
                : <code className="small muted" title="Case id (you see aggregates of this site, not its cases)">{row.case.slice(0, 8)}</code>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {count != null && rows.length < count ? <button type="button" onClick={() => setPage(page + 1)}>Show more</button> : null}
    </section>
  );
}

export function QaPage(_props: { me: Me }) {
  const initial = queryParams();
  const [scope, setScope] = useState<QaScope | null>(null);
  const [period, setPeriod] = useState<{ date_from: string; date_to: string } | null>(
    initial.date_from && initial.date_to ? { date_from: initial.date_from, date_to: initial.date_to } : null);
  const [site, setSite] = useState(initial.site ?? "");
  const [summary, setSummary] = useState<QaSummary | null>(null);
  const [trend, setTrend] = useState<QaTrend | null>(null);
  const [recall, setRecall] = useState<QaRecall | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [drill, setDrill] = useState<Drill | null>(null);
  const [trendMeasure, setTrendMeasure] = useState<"mean_whole" | "mean_lesion">("mean_whole");
  const [trendGroup, setTrendGroup] = useState<"site" | "technician">("site");

  useEffect(() => {
    void api.GET("/api/v1/qa/scope/").then(({ data, error: failure }) => {
      if (failure || !data) { setError(errorMessage(failure, "The quality dashboards are not open to you.")); return; }
      setScope(data);
      setPeriod((current) => current ?? data.default_period);
    });
  }, []);

  const filters = useMemo<Filters>(() => (period ? { ...period, ...(site ? { site } : {}) } : {}), [period, site]);

  const load = useCallback(async () => {
    if (!period) return;
    replaceQuery(filters);
    const answer = <T,>({ data, error: failure }: { data?: T; error?: unknown }): T | null => {
      if (failure || !data) { setError(errorMessage(failure)); return null; }
      return data;
    };
    setError(null);
    const [s, t, r] = await Promise.all([
      api.GET("/api/v1/qa/summary/", query(filters)).then(answer),
      api.GET("/api/v1/qa/trend/", query({ ...filters, group: trendGroup })).then(answer),
      api.GET("/api/v1/qa/recall/", query(filters)).then(answer),
    ]);
    setSummary(s); setTrend(t); setRecall(r);
  }, [period, filters, trendGroup]);
  useEffect(() => { void load(); }, [load]);

  const binChart = useMemo<ChartConfiguration | null>(() => {
    if (!summary?.sites.length) return null;
    return {
      type: "bar",
      data: {
        labels: summary.sites.map((g) => g.label),
        datasets: summary.bins.map((bin, index) => ({
          label: `${bin.label}%`, backgroundColor: BIN_COLOURS[index],
          data: summary.sites.map((g) => (g.whole.n ? (100 * g.whole.bins[index].count) / g.whole.n : 0)),
        })),
      },
      options: {
        indexAxis: "y",
        scales: { x: { stacked: true, max: 100, title: { display: true, text: "% of the site's mosaics" } }, y: { stacked: true } },
        plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${Number(item.raw).toFixed(1)}% of mosaics` } } },
      },
    };
  }, [summary]);

  const trendChart = useMemo<ChartConfiguration | null>(() => {
    if (!trend?.series.length) return null;
    return {
      type: "line",
      data: {
        labels: trend.weeks,
        datasets: trend.series.map((series, index) => ({
          label: series.label, borderColor: SERIES_COLOURS[index % SERIES_COLOURS.length], backgroundColor: SERIES_COLOURS[index % SERIES_COLOURS.length],
          data: series.points.map((p) => p[trendMeasure]), spanGaps: true, tension: 0.2,
        })),
      },
      options: {
        scales: { y: { beginAtZero: true, title: { display: true, text: trendMeasure === "mean_whole" ? "mean % uninformative (whole)" : "mean % uninformative (lesion)" } },
          x: { title: { display: true, text: "week starting" } } },
        plugins: { legend: { position: "bottom" } },
      },
    };
  }, [trend, trendMeasure]);

  const recallChart = useMemo<ChartConfiguration | null>(() => {
    if (!recall?.overall.length) return null;
    return {
      type: "bar",
      data: {
        labels: recall.overall.map((row) => `≥ ${row.threshold}%`),
        datasets: [
          { label: "Whole-mosaic rule", backgroundColor: "#ff6b5a", data: recall.overall.map((row) => row.whole_recalls) },
          { label: "Lesional rule", backgroundColor: "#4ea1ff", data: recall.overall.map((row) => row.lesion_recalls) },
        ],
      },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: "mosaics recalled" } } }, plugins: { legend: { position: "bottom" } } },
    };
  }, [recall]);

  if (error && !scope) return <div className="notice" role="alert" data-testid="qa-denied">{error}</div>;
  if (!scope || !period) return <div className="splash">Loading…</div>;

  const flagged = [...(summary?.sites ?? []), ...(summary?.technicians ?? [])].filter((g) => g.outlier.flagged);
  const exportLink = (table: string) => `/api/v1/qa/export/?${qs({ ...filters, table })}`;

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
          {summary.pool.n ? ` · pooled median ${num(summary.pool.whole.median)}% uninformative over the mosaic, ${num(summary.pool.lesion.median)}% within the lesion (${summary.pool.lesion.n} with a lesion)` : ""}.</p>
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
            {binChart ? (
              <section className="panel"><h2>Distribution in the paper's bins (whole mosaic)</h2>
                <ChartView config={binChart} label="Share of mosaics per bin and site" height={Math.max(160, 50 + 34 * summary.sites.length)} testId="qa-bins-chart"
                  onPick={(bin, index) => { const g = summary.sites[index]; setDrill({ title: `${g.label}: ${summary.bins[bin].label}% uninformative (whole mosaic)`, params: { site: g.site_id ?? "", measure: "whole", bin: BIN_KEYS[bin] } }); }} />
              </section>
            ) : null}
            {trendChart ? (
              <section className="panel"><h2>Weekly trend
                <select value={trendMeasure} onChange={(e) => setTrendMeasure(e.target.value as typeof trendMeasure)} aria-label="Trend measure">
                  <option value="mean_whole">whole mosaic</option><option value="mean_lesion">within lesion</option></select>
                <select value={trendGroup} onChange={(e) => setTrendGroup(e.target.value as typeof trendGroup)} aria-label="Trend per">
                  <option value="site">per site</option><option value="technician">per technician</option></select></h2>
                <ChartView config={trendChart} label="Mean % uninformative per week and site" testId="qa-trend-chart"
                  onPick={(series, index) => { const s = trend!.series[series]; setDrill({ title: `${s.label}: week of ${trend!.weeks[index]}`, params: { [s.kind === "technician" ? "technician" : "site"]: s.key, week: trend!.weeks[index] } }); }} />
              </section>
            ) : null}
          </div>
          <h2 className="section-title">Technicians</h2>
          <GroupTable groups={summary.technicians} kind="technician" onDrill={setDrill} />
          {recall ? (
            <>
              <h2 className="section-title">Recall simulation <span className="muted small">re-image when % uninformative ≥ threshold; {recall.overall[0]?.n ?? 0} mosaics with a lesional %{recall.n_without_lesion ? `, ${recall.n_without_lesion} without (not counted)` : ""}</span></h2>
              <div className="qa-charts">
                <table className="grid qa-table" aria-label="Recall simulation">
                  <thead><tr><th>Threshold</th><th>Whole-mosaic rule</th><th>Lesional rule</th><th>Recalls saved</th></tr></thead>
                  <tbody>
                    {recall.overall.map((row) => (
                      <tr key={row.threshold} data-testid="qa-recall-row">
                        <td>≥ {row.threshold}%</td>
                        <td className="num"><Count n={row.whole_recalls} label={`Whole-mosaic recalls at ${row.threshold}%`}
                          onDrill={() => setDrill({ title: `Recalled by the whole-mosaic rule at ${row.threshold}%`, params: { recalled_at: String(row.threshold), rule: "whole" } })} /></td>
                        <td className="num"><Count n={row.lesion_recalls} label={`Lesional recalls at ${row.threshold}%`}
                          onDrill={() => setDrill({ title: `Recalled by the lesional rule at ${row.threshold}%`, params: { recalled_at: String(row.threshold), rule: "lesion" } })} /></td>
                        <td className="num strong">{row.saved} {row.saved_percent != null ? <span className="muted">({num(row.saved_percent, 0)}%)</span> : null}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                {recallChart ? <section className="panel"><ChartView config={recallChart} label="Mosaics recalled per rule and threshold" testId="qa-recall-chart"
                  onPick={(rule, index) => { const row = recall.overall[index]; setDrill({ title: `Recalled by the ${rule === 0 ? "whole-mosaic" : "lesional"} rule at ${row.threshold}%`, params: { recalled_at: String(row.threshold), rule: rule === 0 ? "whole" : "lesion" } }); }} /></section> : null}
              </div>
            </>
          ) : null}
        </>
      ) : null}
      {drill ? <MosaicsPanel drill={drill} period={filters} onClose={() => setDrill(null)} /> : null}
    </section>
  );
}
