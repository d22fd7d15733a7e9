/** Names for the API's shapes, every one taken from the generated schema.d.ts (`make api-client`),
 * so the app's types are the platform's OpenAPI schema and cannot drift from what it sends:
 * tests/test_response_contract.py checks real answers against that schema, key for key. */
import type { components } from "./schema";

export type Schemas = components["schemas"];

export type Me = Schemas["Me"];
export type Site = Schemas["Site"];
export type Patient = Schemas["Patient"];
export type Lesion = Schemas["Lesion"];
/** A case as the clinic lists it (the patient label is only ever given to the clinic's own users). */
export type Case = Schemas["Case"];
export type ClinicCase = Case;
export type CaseImage = Schemas["Image"];
export type AnatomSiteGroup = Schemas["AnatomSiteGroup"];
export type LesionHistory = Schemas["LesionHistory"];
export type LesionVisit = Schemas["LesionVisit"];

/** One page of a list endpoint (the shape every Paginated* component shares). */
export interface Paginated<T> {
  count: number;
  next?: string | null;
  previous?: string | null;
  results: T[];
}

/* The quality gate (/cases/{id}/quality/, lesion outlines, expert annotations, site thresholds). */
export type Verdict = Schemas["VerdictEnum"];
export type CaseQuality = Schemas["CaseQuality"];
export type MosaicQuality = Schemas["MosaicQuality"];
export type ProblemRegion = Schemas["ProblemRegion"];
export type ExpertAgreement = Schemas["ExpertAgreement"];
export type LesionOutline = Schemas["LesionOutline"];
export type ExpertAnnotation = Schemas["ExpertAnnotation"];
export type QualityPolicy = Schemas["QualityPolicy"];

/* Imaging: the deep-zoom viewer and the dermoscopy → mosaic registration. */
export type ViewerDescriptor = Schemas["ViewerDescriptor"];
export type ViewerFrame = Schemas["ViewerFrame"];
export type OverlayDescriptor = Schemas["Overlay"];
export type LegendEntry = Schemas["LegendEntry"];
export type Registration = Schemas["Registration"];
export type RegistrationProposal = Schemas["RegistrationProposal"];

/* Analyses: runs, model findings beside the images, the anatomic-site suggestion. */
export type ModelIdentity = Schemas["ModelIdentity"];
export type CaseAnalyses = Schemas["CaseAnalyses"];
export type AnalysisRunRow = Schemas["AnalysisRunRow"];
export type CaseFindings = Schemas["CaseFindings"];
export type Finding = Schemas["Finding"];
export type RankedLabel = Schemas["RankedLabel"];
export type AnatomicSiteSuggestion = Schemas["AnatomicSiteSuggestion"];

/* Reading: the worklist, assignments, reports. */
export type WorklistRow = Schemas["WorklistRow"];
export type Person = Schemas["Person"];
export type AssignmentRecord = Schemas["Assignment"];
export type CaseAssignment = Schemas["CaseAssignment"];
export type Diagnosis = Schemas["DiagnosisEnum"];
export type Management = Schemas["ManagementEnum"];
export type Report = Schemas["Report"];
export type ReportVersion = Schemas["ReportVersion"];
export type QualityBlock = Schemas["QualityBlock"];
export type ReportPolicy = Schemas["ReportPolicy"];

/* Site administration (/sites/{id}/readers/ and /reading-queue/). */
export type SiteReader = Schemas["SiteReader"];
export type QueueCase = Schemas["QueueCase"];

/* Quality assurance (/qa/...). */
export type QaDescribe = Schemas["QaDescribe"];
export type QaEvidence = Schemas["QaEvidence"];
export type QaGroup = Schemas["QaGroup"];
export type QaSummary = Schemas["QaSummary"];
export type QaTrend = Schemas["QaTrend"];
export type QaRecall = Schemas["QaRecall"];
export type QaMosaicRow = Schemas["QaMosaic"];
export type QaScope = Schemas["QaScope"];

// Device tokens (the account's Devices page)
export type DeviceToken = Schemas["DeviceToken"];
export type IssuedToken = Schemas["IssuedToken"];
export type AccessEvent = Schemas["AccessEvent"];

// The second factor (sign-in, the Security page, the site admin's security panels)
export type AuthenticatorSetupData = Schemas["AuthenticatorSetup"];
export type Enrolled = Schemas["Enrolled"];
export type MfaDetail = Schemas["MfaDetail"];
export type SecurityPolicy = Schemas["SecurityPolicy"];
export type StaffMember = Schemas["StaffMember"];
export type BreakGlassGrant = Schemas["BreakGlassGrant"];
export type IssuedBreakGlass = Schemas["IssuedBreakGlass"];
