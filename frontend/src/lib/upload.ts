/** Resumable uploads (the tus protocol) to /api/v1/uploads/: a mosaic of hundreds of megabytes
 * survives a dropped connection or a reloaded page and goes on from the last byte the server has.
 * The server checks the declared fields when the upload is created, so a mistake is reported
 * before any byte is sent, and checks the bytes themselves when the last one arrives. */
import { DetailedError, Upload } from "tus-js-client";
import { csrfToken } from "../api/client";

export const UPLOAD_ENDPOINT = "/api/v1/uploads/";
export const CHUNK_BYTES = 8 * 1024 * 1024;

export interface UploadFields {
  case: string;
  kind: string;
  depth_level?: string;
  depth_um?: number | null;
  pixel_spacing_um?: number | null;
  replaces?: string | null;
}

export interface UploadCallbacks {
  onProgress(sent: number, total: number): void;
  /** The server has every byte and has stored the image (its id) or refused the file. */
  onStored(image: string): void;
  onError(message: string): void;
}

/** tus metadata values are strings; empty and missing fields are left out. */
export function uploadMetadata(fields: UploadFields, filename: string): Record<string, string> {
  const metadata: Record<string, string> = { filename, case: fields.case, kind: fields.kind };
  if (fields.depth_level) metadata.depth_level = fields.depth_level;
  if (fields.depth_um !== null && fields.depth_um !== undefined) metadata.depth_um = String(fields.depth_um);
  if (fields.pixel_spacing_um) metadata.pixel_spacing_um = String(fields.pixel_spacing_um);
  if (fields.replaces) metadata.replaces = fields.replaces;
  return metadata;
}

/** One sentence from a failed tus request: the platform's {"detail"} when it answered, else why not. */
export function uploadErrorMessage(error: Error): string {
  const response = error instanceof DetailedError ? error.originalResponse : null;
  if (response) {
    try {
      const body = JSON.parse(response.getBody()) as { detail?: unknown };
      if (typeof body.detail === "string") return body.detail;
    } catch {
      /* not JSON: fall through */
    }
    return `The server refused the upload (HTTP ${response.getStatus()}).`;
  }
  return "The connection was lost; the upload resumes from where it stopped when you retry.";
}

/** Starts (or resumes, after a reload) the upload of one file; returns a function that pauses it. */
export function startUpload(file: File, fields: UploadFields, callbacks: UploadCallbacks): () => void {
  let image: string | null = null;
  const upload = new Upload(file, {
    endpoint: UPLOAD_ENDPOINT,
    chunkSize: CHUNK_BYTES,
    retryDelays: [0, 1000, 3000, 5000, 10000],
    metadata: uploadMetadata(fields, file.name),
    // The same file for another case, kind or replacement is another upload.
    fingerprint: async () => ["dermrelay", fields.case, fields.kind, fields.depth_level ?? "", fields.replaces ?? "",
      file.name, file.size, file.lastModified].join("|"),
    removeFingerprintOnSuccess: true,
    onBeforeRequest(request) {
      const token = csrfToken();
      if (token) request.setHeader("X-CSRFToken", token);
    },
    onAfterResponse(_request, response) {
      const stored = response.getHeader("DermRelay-Image");
      if (stored) image = stored;
    },
    onProgress: (sent, total) => callbacks.onProgress(sent, total),
    onSuccess: () => {
      if (image) callbacks.onStored(image);
      else callbacks.onError("The upload finished but the server did not say which image it stored.");
    },
    onError: (error) => callbacks.onError(uploadErrorMessage(error)),
  });
  void upload.findPreviousUploads().then((previous) => {
    if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
    upload.start();
  });
  return () => { void upload.abort(); };
}
