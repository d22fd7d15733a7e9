/** Whether the overlay shows and how opaque it is, kept per image family (see overlayFamily): the
 * mosaics of one field share them, the dermoscopy and each photo keep their own. */
import { useState } from "react";
import { defaultOverlaySettings, type OverlaySettings } from "../lib/readingView";

type Change<T> = T | ((was: T) => T);

const applied = <T,>(change: Change<T>, was: T): T => (typeof change === "function" ? (change as (was: T) => T)(was) : change);

export function useOverlaySettings({ family, kind }: { family: string; kind: string | undefined }): OverlaySettings & {
  setOn: (on: Change<boolean>) => void; setOpacity: (opacity: Change<number>) => void;
} {
  const [byFamily, setByFamily] = useState<Record<string, OverlaySettings>>({});
  const settings = byFamily[family] ?? defaultOverlaySettings({ kind });
  const update = (change: (was: OverlaySettings) => OverlaySettings) =>
    setByFamily((all) => ({ ...all, [family]: change(all[family] ?? settings) }));
  return {
    ...settings,
    setOn: (on) => update((was) => ({ ...was, on: applied(on, was.on) })),
    setOpacity: (opacity) => update((was) => ({ ...was, opacity: applied(opacity, was.opacity) })),
  };
}
