/** What came of a save: a status line when it worked, an alert in the server's words when not. */

export interface Outcome { ok: boolean; text: string }

export function OutcomeMessage({ outcome }: { outcome: Outcome | null }) {
  if (!outcome) return null;
  return <p className={outcome.ok ? "ok" : "error"} role={outcome.ok ? "status" : "alert"}>{outcome.text}</p>;
}
