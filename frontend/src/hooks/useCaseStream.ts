/** Follow a case live through the platform's Server-Sent Events (`/cases/{id}/quality/stream/`):
 * `quality` carries the quality gate's answer, `progress` the case's status and each image's and
 * run's state. The stream ends itself (`done`) once nothing is on its way; `timeout` asks the page to
 * reconnect (a new `epoch` opens a new connection). While `active` is false no connection is held. */
import { useEffect, useRef } from "react";
import type { CaseQuality } from "../api/types";

export interface CaseProgress {
  case_status: string;
  case_moving: boolean;
  images: [string, string][];
  runs: [string, string, number][];
}

export function useCaseStream(caseId: string, active: boolean, epoch: number, handlers: {
  onQuality: (quality: CaseQuality) => void;
  onProgress: (progress: CaseProgress) => void;
  onEnd: () => void;
}): void {
  const latest = useRef(handlers);
  latest.current = handlers;
  useEffect(() => {
    if (!active || typeof EventSource === "undefined") return;
    const source = new EventSource(`/api/v1/cases/${caseId}/quality/stream/`, { withCredentials: true });
    const finish = () => { source.close(); latest.current.onEnd(); };
    source.addEventListener("quality", (event) => latest.current.onQuality(JSON.parse((event as MessageEvent).data)));
    source.addEventListener("progress", (event) => latest.current.onProgress(JSON.parse((event as MessageEvent).data)));
    source.addEventListener("done", finish);
    source.addEventListener("timeout", finish);
    return () => source.close();
  }, [caseId, active, epoch]);
}
