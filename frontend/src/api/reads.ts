/** Reads of one case's or one image's blocks, each through the typed client; null where the
 * platform has none yet (a 404) or refuses. The hooks keep what these return. */
import { api, bodyOf } from "./client";
import type {
  CaseAnalyses, CaseAssignment, CaseFindings, CaseQuality, ExpertAnnotation, LesionHistory, LesionOutline, Registration, Report,
  ViewerDescriptor,
} from "./types";

const byId = (id: string) => ({ params: { path: { id } } });

export const fetchQuality = (caseId: string) => bodyOf<CaseQuality>(api.GET("/api/v1/cases/{id}/quality/", byId(caseId)));
export const fetchAnalyses = (caseId: string) => bodyOf<CaseAnalyses>(api.GET("/api/v1/cases/{id}/analyses/", byId(caseId)));
export const fetchFindings = (caseId: string) => bodyOf<CaseFindings>(api.GET("/api/v1/cases/{id}/findings/", byId(caseId)));
export const fetchAssignment = (caseId: string) => bodyOf<CaseAssignment>(api.GET("/api/v1/cases/{id}/assignment/", byId(caseId)));
export const fetchReport = (caseId: string) => bodyOf<Report>(api.GET("/api/v1/cases/{id}/report/", byId(caseId)));
export const fetchLesionHistory = (caseId: string) =>
  bodyOf<LesionHistory>(api.GET("/api/v1/cases/{id}/lesion-history/", byId(caseId)));

export const fetchViewer = (imageId: string) => bodyOf<ViewerDescriptor>(api.GET("/api/v1/images/{id}/viewer/", byId(imageId)));
export const fetchRegistration = (imageId: string) =>
  bodyOf<Registration>(api.GET("/api/v1/images/{id}/registration/", byId(imageId)));
export const fetchOutline = (imageId: string) => bodyOf<LesionOutline>(api.GET("/api/v1/images/{id}/lesion-outline/", byId(imageId)));
export const fetchAnnotation = (imageId: string) =>
  bodyOf<ExpertAnnotation>(api.GET("/api/v1/images/{id}/expert-annotation/", byId(imageId)));
