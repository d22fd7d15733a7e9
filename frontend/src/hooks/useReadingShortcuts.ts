/** The case viewer's keyboard (see lib/shortcuts.ts): Esc closes the help first; while outlining,
 * Enter closes the open shape and Esc drops it (unless the person types in a field); every other
 * key that names an action is handed to `onAction`. */
import { useEffect, useRef } from "react";
import { actionFor, type Action } from "../lib/shortcuts";

interface Handlers {
  helpOpen: boolean;
  closeHelp: () => void;
  outlining: boolean;
  finishShape: () => void;
  dropDraft: () => void;
  onAction: (action: Action) => void;
}

export function useReadingShortcuts(handlers: Handlers): void {
  const latest = useRef(handlers);
  latest.current = handlers;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const now = latest.current;
      if (now.helpOpen && event.key === "Escape") { now.closeHelp(); event.preventDefault(); return; }
      if (now.outlining && !(event.target as HTMLElement)?.closest?.("input,textarea,select")) {
        if (event.key === "Enter") { now.finishShape(); event.preventDefault(); return; }
        if (event.key === "Escape") { now.dropDraft(); event.preventDefault(); return; }
      }
      const action = actionFor({ key: event.key, ctrlKey: event.ctrlKey, metaKey: event.metaKey, altKey: event.altKey,
        target: event.target as HTMLElement });
      if (!action) return;
      event.preventDefault();
      now.onAction(action);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
