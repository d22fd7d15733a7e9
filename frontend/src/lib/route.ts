/** The app's few routes, on the History API so links and the back button work. */
import { useEffect, useState } from "react";

export type Route =
  | { page: "home" }
  | { page: "worklist" }
  | { page: "case"; caseId: string }
  | { page: "clinic" }
  | { page: "clinic-new" }
  | { page: "capture"; caseId: string }
  | { page: "qa" }
  | { page: "models" }
  | { page: "site-admin" }
  | { page: "devices" }
  | { page: "security" }
  | { page: "missing"; path: string };

const UUID = "([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})";
const FIXED: Record<string, Route> = {
  "/": { page: "home" }, "/worklist": { page: "worklist" }, "/clinic": { page: "clinic" },
  "/clinic/new": { page: "clinic-new" }, "/qa": { page: "qa" }, "/models": { page: "models" },
  "/site-admin": { page: "site-admin" }, "/account/devices": { page: "devices" },
  "/account/security": { page: "security" },
};

export function parseRoute(path: string): Route {
  const clean = path.replace(/\/+$/, "") || "/";
  if (FIXED[clean]) return FIXED[clean];
  const reading = new RegExp(`^/cases/${UUID}$`).exec(clean);
  if (reading) return { page: "case", caseId: reading[1].toLowerCase() };
  const capture = new RegExp(`^/clinic/cases/${UUID}$`).exec(clean);
  if (capture) return { page: "capture", caseId: capture[1].toLowerCase() };
  return { page: "missing", path };
}

/** The query string of the current address as a plain object (the QA page keeps its filters there,
 * so a link to a dashboard view can be shared). */
export function queryParams(search: string = window.location.search): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(search).entries());
}

export function replaceQuery(params: Record<string, string | null | undefined>): void {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) query.set(key, value);
  const text = query.toString();
  window.history.replaceState(null, "", `${window.location.pathname}${text ? `?${text}` : ""}`);
}

export function navigate(path: string): void {
  window.history.pushState(null, "", path);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.pathname));
    window.addEventListener("popstate", update);
    return () => window.removeEventListener("popstate", update);
  }, []);
  return route;
}
