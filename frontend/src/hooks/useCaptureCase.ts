/** The case as the technician's capture page follows it: the case, its images and analysis runs,
 * the quality verdict, and the signed report once there is one. While anything is on its way
 * (an upload, a pyramid, an analysis, a judgement, a submitted case on its way to the reading
 * list) the page follows the platform's event stream instead of asking again and again. */
import { useCallback, useEffect, useMemo, useState } from "react";
import { fetchAnalyses, fetchReport } from "../api/reads";
import type { CaseAnalyses, CaseImage, ClinicCase, Report } from "../api/types";
import { imageProgress, type Progress } from "../lib/capture";
import { readingOrder } from "../lib/depth";
import { useCase, type CaseState } from "./useCase";
import { useQualityStream } from "./useQualityStream";

const SIGNED = new Set(["signed", "amended"]);
const MOVING = new Set(["submitted", "processing"]);

export interface CaptureCase extends CaseState<ClinicCase> {
  analyses: CaseAnalyses | null;
  report: Report | null;
  /** The images in reading order, replaced ones left out; `history` holds those. */
  current: CaseImage[];
  history: CaseImage[];
  progressOf: (image: CaseImage) => Progress;
  /** Something is still on its way: the case should not be submitted yet. */
  unsettled: boolean;
  refresh: () => Promise<void>;
}

export function useCaptureCase({ caseId, uploading }: { caseId: string; uploading: boolean }): CaptureCase {
  const state = useCase<ClinicCase>({ caseId, notFound: "This case does not exist or is not one of your sites' cases." });
  const { caseData, images, quality, loadCase, loadImages, loadQuality, setQuality } = state;
  const [analyses, setAnalyses] = useState<CaseAnalyses | null>(null);
  const [report, setReport] = useState<Report | null>(null);

  const loadAnalyses = useCallback(async () => { setAnalyses(await fetchAnalyses(caseId)); }, [caseId]);
  const refresh = useCallback(async () => {
    await Promise.all([loadCase(), loadImages(), loadAnalyses(), loadQuality()]);
  }, [loadCase, loadImages, loadAnalyses, loadQuality]);
  useEffect(() => { void refresh(); }, [refresh]);

  useEffect(() => {
    if (caseData && SIGNED.has(caseData.status)) void fetchReport(caseId).then(setReport);
  }, [caseData, caseId]);

  const current = useMemo(() => readingOrder(images.filter((image) => !image.replaced_by)), [images]);
  const history = useMemo(() => images.filter((image) => image.replaced_by), [images]);
  const qualityOf = useMemo(() => new Map((quality?.mosaics ?? []).map((m) => [m.image, m])), [quality]);
  const progressOf = useCallback((image: CaseImage) => imageProgress(image, analyses?.runs ?? [], qualityOf.get(image.id)?.state),
    [analyses, qualityOf]);
  const unsettled = current.some((image) => !progressOf(image).settled) || quality?.state === "pending" || uploading;

  useQualityStream({
    caseId, active: unsettled || (caseData ? MOVING.has(caseData.status) : false),
    onQuality: setQuality,
    onProgress: () => { void Promise.all([loadCase(), loadImages(), loadAnalyses()]); },
    onEnd: refresh,
  });

  return { ...state, analyses, report, current, history, progressOf, unsettled, refresh };
}
