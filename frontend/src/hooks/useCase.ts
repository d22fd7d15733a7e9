/** One case as every case page shows it: the case itself, its images (current and replaced) and
 * the quality gate's answer. Each part has its own loader so a page asks again for just what
 * changed; a case the person may not see is `missing`, with a sentence that says so. */
import { useCallback, useState } from "react";
import { api, bodyOf, errorMessage } from "../api/client";
import { fetchQuality } from "../api/reads";
import type { Case, CaseImage, CaseQuality, Paginated } from "../api/types";

export interface CaseState<T extends Case> {
  caseData: T | null;
  missing: string | null;
  images: CaseImage[];
  quality: CaseQuality | null;
  setCaseData: (found: T) => void;
  setQuality: (quality: CaseQuality | null) => void;
  /** The case, or null (and `missing` set) when it cannot be shown. */
  loadCase: () => Promise<T | null>;
  loadImages: () => Promise<void>;
  loadQuality: () => Promise<void>;
}

export function useCase<T extends Case = Case>({ caseId, notFound }: { caseId: string; notFound: string }): CaseState<T> {
  const [caseData, setCaseData] = useState<T | null>(null);
  const [missing, setMissing] = useState<string | null>(null);
  const [images, setImages] = useState<CaseImage[]>([]);
  const [quality, setQuality] = useState<CaseQuality | null>(null);

  const loadCase = useCallback(async () => {
    const { data, error, response } = await api.GET("/api/v1/cases/{id}/", { params: { path: { id: caseId } } });
    if (!response.ok || !data) {
      setMissing(response.status === 404 ? notFound : errorMessage(error, "The case could not be loaded."));
      return null;
    }
    setCaseData(data as T);
    return data as T;
  }, [caseId, notFound]);

  const loadImages = useCallback(async () => {
    const found = await bodyOf<Paginated<CaseImage>>(api.GET("/api/v1/images/", { params: { query: { case: caseId, page_size: 200 } } }));
    setImages(found?.results ?? []);
  }, [caseId]);

  const loadQuality = useCallback(async () => { setQuality(await fetchQuality(caseId)); }, [caseId]);

  return { caseData, missing, images, quality, setCaseData, setQuality, loadCase, loadImages, loadQuality };
}
