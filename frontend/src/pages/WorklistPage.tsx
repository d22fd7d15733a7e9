/** The reader's worklist: assigned cases with waiting time, site, quality verdict and status,
 * sorted and filtered on the server; arrow keys (or j/k) move, Enter opens. */
import { useEffect, useMemo, useRef, useState } from "react";
import type { Verdict, WorklistRow } from "../api/types";
import { VerdictBadge } from "../components/VerdictBadge";
import { useSites } from "../hooks/useSites";
import { useWorklist } from "../hooks/useWorklist";
import { STATUS_TEXT, waitingText } from "../lib/format";
import { navigate } from "../lib/route";

type Ordering = "waiting" | "due_at" | "visit_date" | "status" | "verdict" | "site";
const COLUMNS: { key: Ordering | null; label: string }[] = [
  { key: "waiting", label: "Waiting" }, { key: "site", label: "Site" }, { key: null, label: "Lesion" },
  { key: "visit_date", label: "Visit" }, { key: "verdict", label: "Image quality" }, { key: "status", label: "Status" },
  { key: "due_at", label: "Due" },
];
const STATUS_FILTERS: Record<string, string> = {
  open: "Open (to read)", ready_for_reading: "Ready for reading", in_reading: "In reading",
  "signed,amended": "Signed", "ready_for_reading,in_reading,signed,amended,processing,submitted": "All",
};

export function WorklistPage() {
  const [ordering, setOrdering] = useState<string>("-waiting");
  const [status, setStatus] = useState("open");
  const [verdict, setVerdict] = useState<"" | Verdict>("");
  const [site, setSite] = useState("");
  const [overdueOnly, setOverdueOnly] = useState(false);
  const [cursor, setCursor] = useState(0);
  const sites = useSites();
  const { rows, error } = useWorklist({ ordering, status, verdict, site, overdueOnly });
  const table = useRef<HTMLTableElement>(null);
  useEffect(() => { setCursor(0); }, [rows]);  // a new answer starts at its first row

  const sortBy = (key: Ordering) => setOrdering((current) => (current === `-${key}` ? key : `-${key}`));
  const open = (row: WorklistRow) => navigate(`/cases/${row.case}`);
  const counts = useMemo(() => ({
    reimage: rows?.filter((row) => row.quality.verdict === "reimage").length ?? 0,
    overdue: rows?.filter((row) => row.overdue).length ?? 0,
  }), [rows]);

  // The keys work from the moment the page shows (not only once the table has been clicked), except
  // while the person types or picks in a filter.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (!rows?.length || event.ctrlKey || event.metaKey || event.altKey) return;
      if ((event.target as HTMLElement | null)?.closest?.("input,textarea,select,button")) return;
      if (event.key === "ArrowDown" || event.key === "j") setCursor((c) => Math.min(rows.length - 1, c + 1));
      else if (event.key === "ArrowUp" || event.key === "k") setCursor((c) => Math.max(0, c - 1));
      else if (event.key === "Enter") open(rows[cursor]);
      else return;
      event.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });
  useEffect(() => { if (rows?.length) table.current?.focus(); }, [rows]);

  return (
    <section className="worklist" aria-label="Worklist">
      <div className="toolbar">
        <h1>Worklist</h1>
        <span className="muted">{rows ? `${rows.length} case${rows.length === 1 ? "" : "s"}` : ""}
          {counts.overdue ? ` · ${counts.overdue} overdue` : ""}{counts.reimage ? ` · ${counts.reimage} with re-imaging recommended` : ""}</span>
        <span className="spacer" />
        <label>Status <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label="Status filter">
          {Object.entries(STATUS_FILTERS).map(([value, label]) => <option key={value} value={value}>{label}</option>)}
        </select></label>
        <label>Quality <select value={verdict} onChange={(e) => setVerdict(e.target.value as "" | Verdict)} aria-label="Quality filter">
          <option value="">Any</option><option value="reimage">Re-image recommended</option>
          <option value="review">Review</option><option value="acceptable">Acceptable</option>
        </select></label>
        <label>Site <select value={site} onChange={(e) => setSite(e.target.value)} aria-label="Site filter">
          <option value="">All sites</option>
          {sites.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
        </select></label>
        <label className="check"><input type="checkbox" checked={overdueOnly} onChange={(e) => setOverdueOnly(e.target.checked)} /> Overdue</label>
      </div>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {rows && !rows.length ? <p className="empty">No cases match. New assignments appear here.</p> : null}
      {rows?.length ? (
        <table ref={table} className="grid" tabIndex={0} aria-label="Assigned cases">
          <thead>
            <tr>{COLUMNS.map((column) => (
              <th key={column.label} aria-sort={column.key && ordering.replace("-", "") === column.key
                ? (ordering.startsWith("-") ? "descending" : "ascending") : undefined}>
                {column.key ? (
                  <button type="button" className="sort" onClick={() => sortBy(column.key!)}>
                    {column.label}{ordering.replace("-", "") === column.key ? (ordering.startsWith("-") ? " ▼" : " ▲") : ""}
                  </button>
                ) : column.label}
              </th>
            ))}</tr>
          </thead>
          <tbody>
            {rows.map((row, index) => (
              <tr key={row.case} className={index === cursor ? "cursor" : ""} onClick={() => open(row)}
                data-testid="worklist-row" data-case={row.case}>
                <td className="num">{waitingText(row.waiting_seconds)}</td>
                <td>{row.site.name}</td>
                <td>{row.lesion.label} · {row.lesion.anatom_site || row.lesion.anatom_site_general || "site not recorded"}</td>
                <td>{row.visit_date}</td>
                <td><VerdictBadge verdict={row.quality.verdict} final={row.quality.verdict_is_final} /></td>
                <td>{STATUS_TEXT[row.status] ?? row.status}{row.assignment?.claimed_at ? " · claimed" : ""}</td>
                <td className={row.overdue ? "overdue" : ""}>{row.assignment?.due_at ? new Date(row.assignment.due_at).toLocaleString() : "—"}
                  {row.overdue ? " · overdue" : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <p className="hint muted">↑/↓ or j/k move · Enter opens · click a column to sort</p>
    </section>
  );
}
