/** The quality dashboards' data: what the person may see (scope), the period's summary, trend and
 * recall simulation, and the mosaics behind a number, page by page. */
import { useEffect, useState } from "react";
import { api, errorMessage } from "../api/client";
import type { Paginated, QaMosaicRow, QaRecall, QaScope, QaSummary, QaTrend } from "../api/types";
import { qaQuery, type Filters } from "../lib/qa";

/** The sites and default period of the dashboards, or why they are not open to this person. */
export function useQaScope(): { scope: QaScope | null; error: string | null } {
  const [scope, setScope] = useState<QaScope | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void api.GET("/api/v1/qa/scope/").then(({ data, error: failure }) => {
      if (failure || !data) { setError(errorMessage(failure, "The quality dashboards are not open to you.")); return; }
      setScope(data);
    });
  }, []);
  return { scope, error };
}

/** Summary, trend (per site or per technician) and recall simulation of the filtered period; nothing
 * is asked for until there is a period. */
export function useQaDashboard({ filters, trendGroup, enabled }: {
  filters: Filters; trendGroup: "site" | "technician"; enabled: boolean;
}): { summary: QaSummary | null; trend: QaTrend | null; recall: QaRecall | null; error: string | null } {
  const [summary, setSummary] = useState<QaSummary | null>(null);
  const [trend, setTrend] = useState<QaTrend | null>(null);
  const [recall, setRecall] = useState<QaRecall | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!enabled) return;
    const answer = <T,>({ data, error: failure }: { data?: T; error?: unknown }): T | null => {
      if (failure || !data) { setError(errorMessage(failure)); return null; }
      return data;
    };
    setError(null);
    void Promise.all([
      api.GET("/api/v1/qa/summary/", qaQuery(filters)).then(answer),
      api.GET("/api/v1/qa/trend/", qaQuery({ ...filters, group: trendGroup })).then(answer),
      api.GET("/api/v1/qa/recall/", qaQuery(filters)).then(answer),
    ]).then(([s, t, r]) => { setSummary(s); setTrend(t); setRecall(r); });
  }, [enabled, filters, trendGroup]);
  return { summary, trend, recall, error };
}

/** The mosaics that match `params`, 50 a page; `showMore` appends the next page. A change of
 * params starts again at the first page and drops answers to the old ones. */
export function useQaMosaics({ params }: { params: Filters }): {
  rows: QaMosaicRow[]; count: number | null; error: string | null; showMore: () => void;
} {
  const [rows, setRows] = useState<QaMosaicRow[]>([]);
  const [count, setCount] = useState<number | null>(null);
  const [page, setPage] = useState(1);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => { setRows([]); setPage(1); setCount(null); }, [params]);
  useEffect(() => {
    let stale = false;
    void api.GET("/api/v1/qa/mosaics/", qaQuery({ ...params, page: String(page), page_size: "50" })).then(({ data, error: failure }) => {
      if (stale) return;
      if (failure || !data) { setError(errorMessage(failure)); return; }
      const found = data as Paginated<QaMosaicRow>;
      setRows((all) => (page === 1 ? found.results : [...all, ...found.results]));
      setCount(found.count);
    });
    return () => { stale = true; };
  }, [params, page]);
  return { rows, count, error, showMore: () => setPage(page + 1) };
}
