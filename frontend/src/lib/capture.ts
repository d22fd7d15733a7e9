/** Where each image of a case stands on its way from the technician's disk to a verdict:
 * uploading → stored → pyramid → analysing → analysed (or failed, with the reason). */

export type Stage = "stored" | "pyramid" | "analysing" | "analysed" | "ready" | "failed";

export interface ImageState {
  id: string;
  status: string; // stored | processing | ready | failed
  status_detail?: string;
}

export interface RunState {
  image: string;
  step: string;
  state: string; // queued | running | succeeded | failed
  error?: string | null;
}

export interface Progress {
  stage: Stage;
  text: string;
  /** Steps done of the four a technician sees (stored, pyramid, analysed), for a small step bar. */
  done: number;
  settled: boolean;
}

export const STAGES = ["Uploaded", "Stored", "Pyramid", "Analysed"] as const;

export function imageProgress(image: ImageState, runs: RunState[], qualityState?: string): Progress {
  if (image.status === "failed") {
    return { stage: "failed", text: image.status_detail || "Processing failed.", done: 1, settled: true };
  }
  if (image.status === "stored") return { stage: "stored", text: "Stored · pyramid queued", done: 2, settled: false };
  if (image.status === "processing") return { stage: "pyramid", text: "Building the pyramid", done: 2, settled: false };
  const mine = runs.filter((run) => run.image === image.id);
  if (mine.some((run) => run.state === "queued" || run.state === "running") || qualityState === "analysing") {
    const steps = mine.filter((run) => run.state === "queued" || run.state === "running").map((run) => run.step);
    return { stage: "analysing", text: `Analysing${steps.length ? ` (${[...new Set(steps)].join(", ")})` : ""}`, done: 3, settled: false };
  }
  if (qualityState === "judging" || qualityState === "preparing") {
    return { stage: "analysing", text: "Judging quality", done: 3, settled: false };
  }
  const failed = mine.filter((run) => run.state === "failed");
  if (failed.length) {
    return { stage: "failed", text: `Analysis failed: ${failed.map((run) => `${run.step}${run.error ? ` (${run.error})` : ""}`).join("; ")}`, done: 3, settled: true };
  }
  if (mine.length) return { stage: "analysed", text: "Analysed", done: 4, settled: true };
  if (qualityState === "not_analysed") return { stage: "analysing", text: "Waiting for analysis", done: 3, settled: false };
  return { stage: "ready", text: "Ready (no model runs on this kind of image)", done: 4, settled: true };
}

/** Human size of a file: 1.2 MB, 830 kB. */
export function bytesText(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} kB`;
  return `${bytes} B`;
}
