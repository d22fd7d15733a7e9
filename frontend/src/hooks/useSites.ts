/** The sites the signed-in person may see (GET /api/v1/sites/), loaded once per page that names them. */
import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { Site } from "../api/types";

export function useSites(): Site[] {
  const [sites, setSites] = useState<Site[]>([]);
  useEffect(() => {
    let stale = false;
    void api.GET("/api/v1/sites/").then(({ data }) => { if (!stale) setSites(data ?? []); });
    return () => { stale = true; };
  }, []);
  return sites;
}
