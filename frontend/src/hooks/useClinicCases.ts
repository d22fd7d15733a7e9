/** The clinic's cases as the server filters them (GET /api/v1/cases/, newest visit first); a
 * change of filter drops the answer of the request it replaces. */
import { useEffect, useState } from "react";
import { api, errorMessage } from "../api/client";
import type { ClinicCase } from "../api/types";

export interface ClinicCaseFilters {
  status: string;
  /** Only the cases this technician imaged (their user id), or every case. */
  technician: number | null;
  search: string;
  includeSynthetic: boolean;
}

export function useClinicCases({ status, technician, search, includeSynthetic }: ClinicCaseFilters): {
  rows: ClinicCase[] | null; count: number; error: string | null;
} {
  const [rows, setRows] = useState<ClinicCase[] | null>(null);
  const [count, setCount] = useState(0);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stale = false;
    const query = {
      ...(status ? { status: status as never } : {}),
      ...(technician != null ? { technician } : {}),
      ...(search ? { search } : {}),
      ...(includeSynthetic ? { include_synthetic: "true" as const } : {}),
      ordering: "-visit_date" as never,
      page_size: 100,
    };
    void api.GET("/api/v1/cases/", { params: { query } }).then(({ data, error: failure }) => {
      if (stale) return;
      if (failure) setError(errorMessage(failure));
      else {
        setRows(data?.results ?? []);
        setCount(data?.count ?? 0);
        setError(null);
      }
    });
    return () => { stale = true; };
  }, [status, technician, search, includeSynthetic]);
  return { rows, count, error };
}
