/** One page of a site's reading queue (GET /api/v1/sites/{id}/reading-queue/): the submitted cases
 * no reader holds, or (assigned) those a reader holds. A new `version` reloads it after a change;
 * a page left empty by handing out its last row steps back one page. */
import { useEffect, useState } from "react";
import { api, errorMessage } from "../api/client";
import type { QueueCase } from "../api/types";

export const QUEUE_PAGE_SIZE = 25;

export interface QueuePage { rows: QueueCase[]; count: number; page: number }

export function useReadingQueue({ siteId, assigned, version }: { siteId: string; assigned: boolean; version: number }): {
  data: QueuePage | null; error: string | null; setPage: (page: number) => void;
} {
  const [page, setPage] = useState(1);
  const [data, setData] = useState<QueuePage | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => { setPage(1); }, [siteId]);
  useEffect(() => {
    let stale = false;
    void api.GET("/api/v1/sites/{id}/reading-queue/", {
      params: { path: { id: siteId }, query: { assigned, page, page_size: QUEUE_PAGE_SIZE } },
    }).then(({ data: body, error: failure }) => {
      if (stale) return;
      if (failure || !body) { setError(errorMessage(failure, "The queue could not be loaded.")); return; }
      if (!body.results.length && page > 1) { setPage(page - 1); return; }  // the last row of a page was handed out
      setData({ rows: body.results, count: body.count, page });
      setError(null);
    });
    return () => { stale = true; };
  }, [siteId, assigned, page, version]);
  return { data, error, setPage };
}
