/** The mosaics behind a number on the dashboards, 50 at a time, with their thumbnails (for those
 * who may open the cases), verdicts and a CSV of the same rows. */
import { useCallback, useEffect, useMemo, useRef, type ImgHTMLAttributes } from "react";
import { useQaMosaics } from "../../hooks/useQa";
import { DEPTH_TEXT } from "../../lib/depth";
import { dateTimeText, percent } from "../../lib/format";
import { queryString, type Drill, type Filters } from "../../lib/qa";
import { Link } from "../Link";
import { VerdictBadge } from "../VerdictBadge";

/** A lazily loaded thumbnail whose request is dropped when it leaves the page: a drill-down left
 * while its 50 thumbnails are still drawn would keep the server drawing them, and after a sign-out
 * each would fail with a 401 the browser logs as an error. */
function Thumbnail(props: ImgHTMLAttributes<HTMLImageElement> & { "data-testid"?: string }) {
  const dropOnUnmount = useCallback((img: HTMLImageElement | null) => () => {
    if (img && !img.complete) img.removeAttribute("src");
  }, []);
  return <img ref={dropOnUnmount} loading="lazy" {...props} />;
}

export function MosaicsPanel({ drill, period, onClose }: { drill: Drill; period: Filters; onClose: () => void }) {
  const params = useMemo(() => ({ ...period, ...drill.params }), [period, drill]);
  const { rows, count, error, showMore } = useQaMosaics({ params });
  const thumbnails = rows.some((row) => row.thumbnail_url);  // only for those who may open the cases
  const panel = useRef<HTMLElement>(null);
  useEffect(() => { panel.current?.scrollIntoView?.({ behavior: "smooth", block: "start" }); }, [drill]);

  return (
    <section ref={panel} className="panel drill-panel" aria-label="Mosaics behind the number" data-testid="qa-drill">
      <h2>{drill.title} <span className="muted small">{count ?? "…"} mosaic{count === 1 ? "" : "s"}</span>
        <span className="spacer" />
        <a className="button small" href={`/api/v1/qa/export/?${queryString({ ...params, table: "mosaics" })}`} download>CSV</a>
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
              <td>{row.can_open ? <Link to={`/clinic/cases/${row.case}`}>open</Link>
                : <code className="small muted" title="Case id (you see aggregates of this site, not its cases)">{row.case.slice(0, 8)}</code>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {count != null && rows.length < count ? <button type="button" onClick={showMore}>Show more</button> : null}
    </section>
  );
}
