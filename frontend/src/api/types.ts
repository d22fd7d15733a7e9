/** Shapes of the responses the OpenAPI schema describes only as free-form objects (the platform's
 * quality, findings, viewer and worklist blocks). Request paths, parameters, bodies and the typed
 * responses come from the generated schema.d.ts; keep these in step with the selectors that build them. */
import type { components } from "./schema";

export type Schemas = components["schemas"];
export type Diagnosis = Schemas["DiagnosisEnum"];
export type Management = Schemas["ManagementEnum"];
export type Report = Schemas["Report"];
export type ReportVersion = Schemas["ReportVersion"];
export type CaseImage = Schemas["Image"];
export type Verdict = "acceptable" | "review" | "reimage";

export type Me = Schemas["Me"];
export type Case = Schemas["Case"];
/** GET /api/v1/cases/{id}/lesion-history/ and GET|PUT /api/v1/sites/{id}/report-policy/ (typed by the schema). */
export type LesionHistory = Schemas["LesionHistory"];
export type LesionVisit = Schemas["LesionVisit"];
export type ReportPolicy = Schemas["ReportPolicy"];

export interface ModelIdentity {
  name: string;
  version: string;
  weights_sha256: string;
}

export interface WorklistRow {
  case: string;
  status: string;
  site: { id: string; name: string };
  visit_date: string;
  submitted_at: string | null;
  waiting_seconds: number | null;
  lesion: { label: string; anatom_site_general: string; anatom_site: string };
  quality: { state: string; verdict: Verdict | null; verdict_is_final: boolean };
  assignment: { id: string; assigned_by: string; assigned_at: string; due_at: string | null; claimed_at: string | null } | null;
  overdue: boolean;
}

export interface Paginated<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export interface LegendEntry {
  colour: string;
  label: string;
  alpha?: number;
}

export interface OverlayDescriptor {
  id: string;
  kind: "quality" | "projection" | "agreement" | "body_region";
  label: string;
  source_image: string;
  width: number;
  height: number;
  level_offset: number;
  legend: LegendEntry[];
  dzi: string;
  model: ModelIdentity | null;
}

export interface ViewerFrame {
  index: number;
  depth_um: number | null;
  dzi: string;
}

export interface ViewerDescriptor {
  image: string;
  kind: string;
  depth_level: string;
  width: number;
  height: number;
  pixel_spacing_um: number | null;
  frames: ViewerFrame[];
  thumbnail: string;
  expires_at: string;
  overlays: OverlayDescriptor[];
}

export interface MosaicQuality {
  image: string;
  depth_level: string;
  depth_um: number | null;
  state: string;
  error: string | null;
  verdict: Verdict | null;
  note: string | null;
  basis?: string;
  basis_note?: string | null;
  percent_whole?: number;
  percent_lesion?: number | null;
  lesion_imaged_percent?: number | null;
  agreement?: Record<string, number> | null;
  model?: ModelIdentity | null;
  problem_region?: ProblemRegion | null;
}

/** Where the uninformative area that decided a review or re-image verdict lies. */
export interface ProblemRegion {
  description: string;
  dermoscopy_image: string | null;
  bbox: [number, number, number, number] | null;
  mosaic_bbox: [number, number, number, number] | null;
  share_percent: number | null;
}

export interface CaseQuality {
  case: string;
  state: string;
  verdict: Verdict | null;
  verdict_is_final: boolean;
  basis: string | null;
  thresholds: { review_at_percent: number; reimage_at_percent: number };
  lesion_outline: { image: string; source: string } | null;
  mosaics: MosaicQuality[];
  failed: number;
  pending: number;
}

export interface RankedLabel {
  label: string;
  probability: number;
  name?: string;
}

export interface Finding {
  image: string;
  image_kind: string;
  step: string;
  state: string;
  model: ModelIdentity | null;
  confidence: number | null;
  finished_at: string | null;
  result: {
    top?: string;
    region?: string;
    ranked?: RankedLabel[];
    location?: { location: string; source: string; anatom_site?: string; note?: string };
    note?: string;
    suggested_site?: { anatom_site_general: string; anatom_site: string } | null;
    [key: string]: unknown;
  } | null;
}

export interface CaseFindings {
  case: string;
  findings: Finding[];
}

export interface Registration {
  dermoscopy: string;
  matrix: number[][];
  source: "device" | "landmarks" | "placed" | "automatic" | string;
  landmarks?: { dermoscopy: [number, number]; mosaic: [number, number] }[] | null;
  rms_error_px: number | null;
  rms_error_um?: number | null;
  created_by?: string;
  updated_at?: string;
}

/** POST /images/{mosaic}/registration/proposal/: not saved; matrix only when confident. */
export interface RegistrationProposal {
  dermoscopy: string;
  confident: boolean;
  matrix: number[][] | null;
  score: number | null;
  margin: number | null;
  method: string;
  method_description: string;
  statement: string;
}

export interface LesionOutline {
  image: string;
  source: string;
  /** A person's polygon, or the model's mask traced as one (empty only if nothing could be traced). */
  polygon: [number, number][];
  has_model_outline?: boolean;
  updated_at?: string;
}

export interface ExpertAnnotation {
  image: string;
  polygons: [number, number][][];
}

export interface Person {
  id: number;
  username: string;
  name: string;
}

export interface AssignmentRecord {
  id: string;
  case: string;
  reader: Person;
  assigned_by: Person;
  due_at: string | null;
  created_at: string;
  claimed_at: string | null;
  ended_at: string | null;
  end_reason: string;
}

export interface CaseAssignment {
  active: AssignmentRecord | null;
  history: AssignmentRecord[];
}

export interface AnalysisRunRow {
  id: string;
  image: string;
  step: string;
  state: string;
  error: string | null;
  model: ModelIdentity;
  finished_at: string | null;
}

export interface CaseAnalyses {
  case: string;
  runs: AnalysisRunRow[];
}

export type AnatomSiteGroup = Schemas["AnatomSiteGroup"];

/** A case as the clinic lists it (the patient label is only ever given to the clinic's own users). */
export type ClinicCase = Case & {
  patient_label?: string | null;
  quality_verdict?: Verdict | null;
  report_status?: string;
};

export type Patient = Schemas["Patient"];
export type Lesion = Schemas["Lesion"];
export type Site = Schemas["Site"];

/* Quality assurance (/api/v1/qa/...): typed by the schema's serializers. */
export type QaDescribe = Schemas["QaDescribe"];
export type QaEvidence = Schemas["QaEvidence"];
export type QaGroup = Schemas["QaGroup"];
export type QaSummary = Schemas["QaSummary"];
export type QaTrend = Schemas["QaTrend"];
export type QaRecall = Schemas["QaRecall"];
export type QaMosaicRow = Schemas["QaMosaic"];
export type QaScope = Schemas["QaScope"];

/* Site administration (/api/v1/sites/{id}/readers/ and /reading-queue/): typed by the schema's serializers. */
export type SiteReader = Schemas["SiteReader"];
export type QueueCase = Schemas["QueueCase"];

/** MosaicQuality.agreement as analysis.selectors.case_quality sends it: the figures, the expert's
 * id and name, and when they annotated (ISO). */
export interface ExpertAgreement {
  sensitivity: number | null;
  specificity: number | null;
  dice: number | null;
  expert: string;
  expert_name?: string | null;
  annotated_at: string;
}
