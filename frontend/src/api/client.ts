/** The one way the app talks to the platform: openapi-fetch typed by the generated schema, the
 * browser's session cookie, and Django's CSRF token on every unsafe request. */
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";

export function csrfToken(cookie: string = typeof document === "undefined" ? "" : document.cookie): string | null {
  for (const part of cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === "csrftoken") return decodeURIComponent(rest.join("="));
  }
  return null;
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (!["GET", "HEAD", "OPTIONS"].includes(request.method)) {
      const token = csrfToken();
      if (token) request.headers.set("X-CSRFToken", token);
    }
    return request;
  },
};

/** Said when the platform answers 401 to a signed-in page (the session expired or was ended
 * elsewhere): the app shows the sign-in form instead of pages that would only fail. */
export const SESSION_ENDED = "dermrelay:session-ended";

const sessionWatch: Middleware = {
  onResponse({ request, response }) {
    if (response.status === 401 && !new URL(request.url).pathname.startsWith("/api/v1/auth/")) {
      window.dispatchEvent(new Event(SESSION_ENDED));
    }
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(csrf);
api.use(sessionWatch);

/** The body of a successful request as T, or null (a 404 "none yet" included). For the endpoints
 * the schema types only as free-form objects (see types.ts): the path and parameters stay checked. */
export async function bodyOf<T>(request: Promise<{ data?: unknown; response: Response }>): Promise<T | null> {
  const { data, response } = await request;
  return response.ok ? (data as T) : null;
}

/** The platform's error body ({detail, code} or field errors) as one sentence for the person. */
export function errorMessage(error: unknown, fallback = "The request failed."): string {
  if (!error || typeof error !== "object") return fallback;
  const body = error as Record<string, unknown>;
  if (typeof body.detail === "string") return body.detail;
  const parts: string[] = [];
  for (const [field, value] of Object.entries(body)) {
    if (field === "code") continue;
    const text = Array.isArray(value) ? value.join(" ") : typeof value === "string" ? value : "";
    if (text) parts.push(field === "non_field_errors" ? text : `${field}: ${text}`);
  }
  return parts.length ? parts.join(" ") : fallback;
}

/** A fresh Idempotency-Key for a create request (crypto.getRandomValues works on plain http too,
 * where crypto.randomUUID does not). `_for` only ties the key's lifetime to what it is for. */
export function requestKey(_for?: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
