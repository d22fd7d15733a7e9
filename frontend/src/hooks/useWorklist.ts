/** The reader's worklist as the server sorts and filters it (GET /api/v1/worklist/); a change of
 * filter drops the answer of the request it replaces. */
import { useEffect, useState } from "react";
import { api, errorMessage } from "../api/client";
import type { Verdict, WorklistRow } from "../api/types";

export interface WorklistFilters {
  ordering: string;
  /** "open" is the server's default and is not sent. */
  status: string;
  verdict: "" | Verdict;
  site: string;
  overdueOnly: boolean;
}

export function useWorklist({ ordering, status, verdict, site, overdueOnly }: WorklistFilters): {
  rows: WorklistRow[] | null; error: string | null;
} {
  const [rows, setRows] = useState<WorklistRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stale = false;
    const query = {
      ordering: ordering as never,
      ...(status !== "open" ? { status } : {}),
      ...(verdict ? { verdict } : {}),
      ...(site ? { site } : {}),
      ...(overdueOnly ? { overdue: true } : {}),
      page_size: 100,
    };
    void api.GET("/api/v1/worklist/", { params: { query } }).then(({ data, error: failure }) => {
      if (stale) return;
      if (failure) setError(errorMessage(failure));
      else {
        setError(null);
        setRows(data?.results ?? []);
      }
    });
    return () => { stale = true; };
  }, [ordering, status, verdict, site, overdueOnly]);
  return { rows, error };
}
