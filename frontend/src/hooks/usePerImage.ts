/** One record per image (its viewer descriptor, its registration, its expert annotation), asked for
 * once and kept: `ensure` asks unless it was asked already, `reload` asks again, `put` keeps what a
 * save returned, `forget` drops it so the next `ensure` asks again. "None yet" is kept as null. */
import { useCallback, useRef, useState } from "react";

export interface PerImage<T> {
  records: Record<string, T | null>;
  ensure: (imageId: string) => void;
  reload: (imageId: string) => Promise<void>;
  put: (imageId: string, record: T | null) => void;
  forget: (imageId: string) => void;
}

/** `fetchOne` must be stable (a module-level function): it is what the loaders are made from. */
export function usePerImage<T>({ fetchOne }: { fetchOne: (imageId: string) => Promise<T | null> }): PerImage<T> {
  const [records, setRecords] = useState<Record<string, T | null>>({});
  const asked = useRef(new Set<string>());

  const put = useCallback((imageId: string, record: T | null) => setRecords((all) => ({ ...all, [imageId]: record })), []);
  const reload = useCallback(async (imageId: string) => {
    asked.current.add(imageId);
    put(imageId, await fetchOne(imageId));
  }, [fetchOne, put]);
  const ensure = useCallback((imageId: string) => { if (!asked.current.has(imageId)) void reload(imageId); }, [reload]);
  const forget = useCallback((imageId: string) => {
    asked.current.delete(imageId);
    setRecords(({ [imageId]: _dropped, ...others }) => others);
  }, []);

  return { records, ensure, reload, put, forget };
}
