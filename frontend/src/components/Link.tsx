/** An in-app link: a real href (open in a new tab, copy the address) that navigates without a reload. */
import type { ReactNode } from "react";
import { navigate } from "../lib/route";

export function Link({ to, children, className }: { to: string; children: ReactNode; className?: string }) {
  return <a className={className} href={to} onClick={(event) => { event.preventDefault(); navigate(to); }}>{children}</a>;
}
