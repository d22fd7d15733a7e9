/** The readers of a site with their open load (GET /api/v1/sites/{id}/readers/), reloaded with `version`. */
import { useEffect, useState } from "react";
import { api, errorMessage } from "../api/client";
import type { SiteReader } from "../api/types";

export function useSiteReaders({ siteId, version }: { siteId: string; version: number }): {
  readers: SiteReader[]; error: string | null;
} {
  const [readers, setReaders] = useState<SiteReader[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!siteId) return;
    void api.GET("/api/v1/sites/{id}/readers/", { params: { path: { id: siteId } } }).then(({ data, error: failure }) => {
      setReaders((data as SiteReader[] | undefined) ?? []);
      setError(data ? null : errorMessage(failure, "The site's readers could not be loaded."));
    });
  }, [siteId, version]);
  return { readers, error };
}
