/** A quality verdict as a coloured badge, the same on every page that shows one. */
import type { Verdict } from "../api/types";
import { verdictText } from "../lib/format";

export function VerdictBadge({ verdict, final = true }: { verdict: Verdict | null; final?: boolean }) {
  return <span className={`badge verdict-${verdict ?? "pending"}`}>{verdictText(verdict, final)}</span>;
}
