/** Follow a case live through the platform's Server-Sent Events (`/cases/{id}/quality/stream/`):
 * `quality` carries the quality gate's answer, `progress` the case's status and each image's and
 * run's state. The stream ends itself (`done`) once nothing is on its way, or asks to be reopened
 * (`timeout`); either way `onEnd` runs, and once it has finished a new connection opens while the
 * page is still `active`. While `active` is false no connection is held. */
import { useEffect, useRef, useState } from "react";
import type { CaseQuality } from "../api/types";

export interface CaseProgress {
  case_status: string;
  case_moving: boolean;
  images: [string, string][];
  runs: [string, string, number][];
}

interface Handlers {
  onQuality: (quality: CaseQuality) => void;
  onProgress: (progress: CaseProgress) => void;
  /** Brings the page up to date when a stream ends; the next connection waits for it. */
  onEnd: () => Promise<unknown>;
}

export function useQualityStream({ caseId, active, ...handlers }: { caseId: string; active: boolean } & Handlers): void {
  const [epoch, setEpoch] = useState(0);
  const latest = useRef(handlers);
  latest.current = handlers;
  useEffect(() => {
    if (!active || typeof EventSource === "undefined") return;
    const source = new EventSource(`/api/v1/cases/${caseId}/quality/stream/`, { withCredentials: true });
    const finish = () => { source.close(); void latest.current.onEnd().then(() => setEpoch((n) => n + 1)); };
    source.addEventListener("quality", (event) => latest.current.onQuality(JSON.parse((event as MessageEvent).data)));
    source.addEventListener("progress", (event) => latest.current.onProgress(JSON.parse((event as MessageEvent).data)));
    source.addEventListener("done", finish);
    source.addEventListener("timeout", finish);
    return () => source.close();
  }, [caseId, active, epoch]);
}
