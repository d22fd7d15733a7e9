/** The case as a reader works on it: the case, its images and quality (see useCase), the model
 * findings, who holds the case, the report, and the same lesion's other visits. The case is asked
 * for first: a case the reader may not open is one 404, not one for each of its parts. */
import { useCallback, useEffect, useState } from "react";
import { fetchAssignment, fetchFindings, fetchLesionHistory, fetchReport } from "../api/reads";
import type { Case, CaseAssignment, CaseFindings, LesionHistory, Report } from "../api/types";
import { useCase, type CaseState } from "./useCase";

export interface ReaderCase extends CaseState<Case> {
  findings: CaseFindings | null;
  assignment: CaseAssignment | null;
  report: Report | null;
  setReport: (report: Report | null) => void;
  history: LesionHistory | null;
  /** Everything again (after claiming or releasing the case). */
  load: () => Promise<void>;
}

export function useReaderCase({ caseId }: { caseId: string }): ReaderCase {
  const state = useCase<Case>({ caseId, notFound: "This case does not exist or is not assigned to you." });
  const { loadCase, loadImages, loadQuality } = state;
  const [findings, setFindings] = useState<CaseFindings | null>(null);
  const [assignment, setAssignment] = useState<CaseAssignment | null>(null);
  const [report, setReport] = useState<Report | null>(null);
  const [history, setHistory] = useState<LesionHistory | null>(null);

  const load = useCallback(async () => {
    const found = await loadCase();
    if (!found) return;
    const [, , findingsData, assignmentData, reportData] = await Promise.all([
      loadImages(), loadQuality(), fetchFindings(caseId), fetchAssignment(caseId),
      // No report before the reader claims the case (the case says so): not asked for, so no 404.
      found.report_status === "none" ? Promise.resolve(null) : fetchReport(caseId),
    ]);
    setFindings(findingsData);
    setAssignment(assignmentData);
    setReport(reportData);
    setHistory(await fetchLesionHistory(caseId));
  }, [caseId, loadCase, loadImages, loadQuality]);
  useEffect(() => { void load(); }, [load]);

  return { ...state, findings, assignment, report, setReport, history, load };
}
