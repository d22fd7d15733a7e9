/** The app's few routes, on the History API so links and the back button work. */
import { useEffect, useState } from "react";

export type Route = { page: "worklist" } | { page: "case"; caseId: string } | { page: "missing"; path: string };

export function parseRoute(path: string): Route {
  const clean = path.replace(/\/+$/, "") || "/";
  if (clean === "/" || clean === "/worklist") return { page: "worklist" };
  const match = /^\/cases\/([0-9a-fA-F-]{36})$/.exec(clean);
  if (match) return { page: "case", caseId: match[1].toLowerCase() };
  return { page: "missing", path };
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
