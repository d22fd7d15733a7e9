/** The technician's page for one case, used while the patient is still in the room: drop the
 * images, watch each one go stored → pyramid → analysed, see the quality verdict of every mosaic
 * with its overlay and lesional %, and where the problem lies on the dermoscopy when re-imaging is
 * recommended; replace a mosaic (the old one is kept as history), submit, read the signed report. */
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { api, bodyOf, errorMessage } from "../api/client";
import type {
  CaseAnalyses, CaseImage, CaseQuality, ClinicCase, LesionOutline, Me, MosaicQuality, Paginated, Registration, Report, ViewerDescriptor,
} from "../api/types";
import { DeepZoomViewer, type ViewerPolygon } from "../components/DeepZoomViewer";
import { OutlineEditor } from "../components/OutlineEditor";
import { Legend } from "../components/Panels";
import { RegistrationEditor } from "../components/RegistrationEditor";
import { useCaseStream } from "../hooks/useCaseStream";
import { lengthText, mosaicFootprint } from "../lib/registration";
import { STAGES, bytesText, imageProgress } from "../lib/capture";
import { DEPTH_TEXT, imageTitle, readingOrder } from "../lib/depth";
import { DEPTH_LABELS, KIND_LABELS, declarationProblem, guessImageFields, type DepthLevel, type ImageKind } from "../lib/filenames";
import { STATUS_TEXT, percent, problemWhere } from "../lib/format";
import { DIAGNOSES, MANAGEMENTS } from "../lib/report";
import { navigate } from "../lib/route";
import { startUpload } from "../lib/upload";
import { REPORT_TEXT } from "./ClinicCasesPage";
import { VerdictBadge } from "./WorklistPage";

const EDITABLE = new Set(["draft", "recall_requested"]);
const RECALLABLE = new Set(["submitted", "processing", "ready_for_reading"]);
const byId = (id: string) => ({ params: { path: { id } } });

type Replaced = CaseImage & { replaced_by?: string | null; replaced_at?: string | null };

interface UploadItem {
  key: string;
  file: File;
  kind: ImageKind | null;
  depth_level: DepthLevel | "";
  depth_um: number | null;
  pixel_spacing_um: number | null;
  reasons: string[];
  replaces: string | null;
  state: "waiting" | "uploading" | "stored" | "error";
  sent: number;
  image: string | null;
  error: string | null;
}

let uploadCounter = 0;
const SPACING_KEY = "dermrelay.pixelSpacingUm";

/** The spacing this browser last used: a clinic's device exports at one setting, typed once. */
function rememberedSpacing(): number | null {
  const value = Number(window.localStorage.getItem(SPACING_KEY));
  return value > 0 ? value : null;
}

function newItem(file: File, replaces: Replaced | null = null): UploadItem {
  const guess = guessImageFields(file.name);
  return {
    key: `u${++uploadCounter}`, file, replaces: replaces?.id ?? null,
    kind: replaces ? (replaces.kind as ImageKind) : guess.kind,
    depth_level: replaces ? ((replaces.depth_level || "") as DepthLevel | "") : guess.depth_level,
    depth_um: replaces ? replaces.depth_um ?? null : guess.depth_um,
    pixel_spacing_um: replaces ? replaces.pixel_spacing_um ?? null : rememberedSpacing(),
    reasons: replaces ? ["replaces the earlier capture"] : guess.reasons,
    state: "waiting", sent: 0, image: null, error: null,
  };
}

function StepBar({ done, failed }: { done: number; failed: boolean }) {
  return (
    <ol className={`steps${failed ? " failed" : ""}`} aria-label="Progress">
      {STAGES.map((stage, index) => <li key={stage} className={index < done ? "done" : ""}>{stage}</li>)}
    </ol>
  );
}

function UploadRow({ item, onChange, onRemove }: { item: UploadItem; onChange: (patch: Partial<UploadItem>) => void; onRemove: () => void }) {
  const problem = declarationProblem(item.kind, item.depth_level, item.pixel_spacing_um);
  const share = item.file.size ? Math.round((100 * item.sent) / item.file.size) : 100;
  const rcm = item.kind === "rcm_mosaic" || item.kind === "rcm_stack";
  return (
    <li className={`upload-item upload-${item.state}`} data-testid="upload-item" data-state={item.state}>
      <div className="upload-head">
        <strong className="file-name" title={item.file.name}>{item.file.name}</strong>
        <span className="muted small">{bytesText(item.file.size)}</span>
        <span className="spacer" />
        {item.state === "waiting" || item.state === "error" ? <button type="button" className="link" onClick={onRemove}>remove</button> : null}
      </div>
      {item.state === "waiting" && !item.replaces ? (
        <div className="declare">
          <select value={item.kind ?? ""} aria-label={`Kind of ${item.file.name}`}
            onChange={(e) => onChange({ kind: (e.target.value || null) as ImageKind | null, ...(e.target.value === "rcm_mosaic" || e.target.value === "rcm_stack" ? {} : { depth_level: "", depth_um: null }) })}>
            <option value="">Kind…</option>
            {Object.entries(KIND_LABELS).map(([value, label]) => <option key={value} value={value}>{label}</option>)}
          </select>
          {rcm ? (
            <select value={item.depth_level} aria-label={`Depth of ${item.file.name}`} onChange={(e) => onChange({ depth_level: e.target.value as DepthLevel | "" })}>
              <option value="">Depth…</option>
              {Object.entries(DEPTH_LABELS).map(([value, label]) => <option key={value} value={value}>{label}</option>)}
            </select>
          ) : null}
          {rcm ? (
            <label className="small">depth µm <input type="number" min={0} max={1000} step={1} className="depth-um" value={item.depth_um ?? ""}
              aria-label={`Depth in µm of ${item.file.name}`}
              onChange={(e) => onChange({ depth_um: e.target.value === "" ? null : Number(e.target.value) })} /></label>
          ) : null}
          {rcm ? (
            <label className="small">µm/px <input type="number" min={0.01} max={1000} step={0.01} className="depth-um" value={item.pixel_spacing_um ?? ""}
              aria-label={`Pixel spacing of ${item.file.name}`}
              onChange={(e) => onChange({ pixel_spacing_um: e.target.value === "" ? null : Number(e.target.value) })} /></label>
          ) : null}
        </div>
      ) : null}
      {item.replaces && item.state === "waiting" ? <p className="small muted">Replaces the earlier capture at this depth.</p> : null}
      {item.reasons.length && item.state === "waiting" ? <p className="small muted">Guessed from the name: {item.reasons.join(", ")}</p> : null}
      {item.state === "waiting" && problem ? <p className="small warn-text">{problem}</p> : null}
      {item.state !== "waiting" ? (
        <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={share}
          aria-label={`Upload of ${item.file.name}`}>
          <div className="progress-bar" style={{ width: `${share}%` }} />
          <span className="progress-text">{item.state === "stored" ? "Uploaded" : item.state === "error" ? "Not stored" : `${share}%`}</span>
        </div>
      ) : null}
      {item.error ? <p className="error small" role="alert">{item.error}</p> : null}
    </li>
  );
}

function ProblemNote({ mosaic }: { mosaic: MosaicQuality }) {
  if (!mosaic.verdict || mosaic.verdict === "acceptable") return null;
  const region = mosaic.problem_region;
  return (
    <p className="problem" data-testid="problem-region">
      {mosaic.verdict === "reimage" ? "Re-image recommended: " : "Worth a look: "}
      {region ? <>uninformative area <strong>{problemWhere(region.description)}</strong>
        {region.share_percent != null ? ` (${percent(region.share_percent)} of the area judged)` : ""}.</> : "see the overlay."}
      {region?.bbox ? " Outlined in red on the dermoscopy." : ""}
    </p>
  );
}

function ReportView({ report, caseId }: { report: Report; caseId: string }) {
  const diagnosis = DIAGNOSES.find((d) => d.value === report.diagnosis)?.label ?? report.diagnosis_other ?? "—";
  const management = MANAGEMENTS.find((m) => m.value === report.management)?.label ?? "—";
  return (
    <section className="panel" aria-label="Report" data-testid="clinic-report">
      <h2>Report <span className={`badge status-${report.status}`}>{report.status}</span>
        <span className="muted small">version {report.current_version}{report.signed_at ? ` · signed ${new Date(report.signed_at).toLocaleString()}` : ""}</span></h2>
      <table className="compact"><tbody>
        <tr><th>Diagnosis</th><td>{diagnosis}</td></tr>
        <tr><th>Management</th><td>{management}{report.follow_up_months ? ` · follow-up in ${report.follow_up_months} months` : ""}</td></tr>
        <tr><th>Findings</th><td className="prewrap">{report.findings || "—"}</td></tr>
        <tr><th>Comment</th><td className="prewrap">{report.comment || "—"}</td></tr>
      </tbody></table>
      <p><a className="button" href={`/api/v1/cases/${caseId}/report/pdf/`} download>Download the signed PDF</a></p>
    </section>
  );
}

const REGISTRATION_TEXT: Record<string, string> = {
  device: "registered by the device", landmarks: "registered by landmarks", placed: "placed by a person",
  automatic: "proposed automatically, accepted",
};

/** Why a mosaic's verdict is what it is, in words the technician can act on, and which tools help. */
export function basisGuidance({ mosaic, hasDermoscopy, registration, outline, mayDraw, mayRegister }: {
  mosaic: MosaicQuality | null; hasDermoscopy: boolean; registration: Registration | null | undefined;
  outline: LesionOutline | null; mayDraw: boolean; mayRegister: boolean;
}): { text: string; actions: ("register" | "outline")[] } | null {
  if (!mosaic || !["done", "judging"].includes(mosaic.state) || !mosaic.verdict) return null;
  const actions: ("register" | "outline")[] = [];
  if (mayRegister) actions.push("register");
  if (mayDraw) actions.push("outline");
  if (!hasDermoscopy) {
    return { text: "Judged on the whole mosaic: add the dermoscopy image so the lesion can be found on the mosaic.", actions: [] };
  }
  if (registration === null) {
    return { text: "Judged on the whole mosaic: this mosaic is not registered to the dermoscopy image, so the platform cannot "
      + "tell where the lesion lies on it. Register the mosaic (three landmark pairs or more).", actions };
  }
  const hasOutline = Boolean(outline?.polygon?.length);
  if (!hasOutline) {
    return { text: "Judged on the whole mosaic: there is no lesion outline on the dermoscopy image yet. Outline the lesion.", actions };
  }
  if (mosaic.basis === "whole_mosaic") {
    return { text: `${mosaic.basis_note ?? "Judged on the whole mosaic."} Check the registration, or the outline.`, actions };
  }
  const by = outline?.source === "model" ? "as the model segmented it: correct the outline if the border is off" : "as a person outlined it";
  return { text: `Judged within the lesion, ${by}.`, actions };
}

export function CapturePage({ caseId }: { caseId: string; me: Me }) {
  const [caseData, setCaseData] = useState<ClinicCase | null>(null);
  const [missing, setMissing] = useState<string | null>(null);
  const [images, setImages] = useState<Replaced[]>([]);
  const [analyses, setAnalyses] = useState<CaseAnalyses | null>(null);
  const [quality, setQuality] = useState<CaseQuality | null>(null);
  const [report, setReport] = useState<Report | null>(null);
  const [items, setItems] = useState<UploadItem[]>([]);
  const [selectedMosaic, setSelectedMosaic] = useState<string | null>(null);
  const [viewers, setViewers] = useState<Record<string, ViewerDescriptor | null>>({});
  const [outline, setOutline] = useState<LesionOutline | null>(null);
  const [notice, setNotice] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [dragging, setDragging] = useState(false);
  const [showHistory, setShowHistory] = useState(false);
  const [overlayOpacity, setOverlayOpacity] = useState(0.55);
  const [registrations, setRegistrations] = useState<Record<string, Registration | null>>({});
  const [editing, setEditing] = useState<{ tool: "register"; mosaicId: string } | { tool: "outline" } | null>(null);
  const [streamEpoch, setStreamEpoch] = useState(0);
  const [recalling, setRecalling] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const replaceInput = useRef<HTMLInputElement>(null);
  const replacing = useRef<Replaced | null>(null);
  const pausers = useRef(new Map<string, () => void>());

  const loadCase = useCallback(async () => {
    const { data, response } = await api.GET("/api/v1/cases/{id}/", byId(caseId));
    if (!response.ok) { setMissing(response.status === 404 ? "This case does not exist or is not one of your sites' cases." : "The case could not be loaded."); return null; }
    setCaseData(data as ClinicCase);
    return data as ClinicCase;
  }, [caseId]);

  const loadImages = useCallback(async () => {
    const { data } = await api.GET("/api/v1/images/", { params: { query: { case: caseId, page_size: 200 } as never } });
    setImages(((data as unknown as Paginated<Replaced> | undefined)?.results) ?? []);
  }, [caseId]);

  const refresh = useCallback(async () => {
    const [, , found, judged] = await Promise.all([
      loadCase(), loadImages(),
      bodyOf<CaseAnalyses>(api.GET("/api/v1/cases/{id}/analyses/", byId(caseId))),
      bodyOf<CaseQuality>(api.GET("/api/v1/cases/{id}/quality/", byId(caseId))),
    ]);
    setAnalyses(found);
    setQuality(judged);
  }, [caseId, loadCase, loadImages]);

  useEffect(() => { void refresh(); }, [refresh]);
  useEffect(() => () => { for (const pause of pausers.current.values()) pause(); }, []);

  const current = useMemo(() => readingOrder(images.filter((image) => !image.replaced_by)), [images]);
  const history = useMemo(() => images.filter((image) => image.replaced_by), [images]);
  const qualityOf = useMemo(() => new Map((quality?.mosaics ?? []).map((m) => [m.image, m])), [quality]);
  const progressOf = (image: Replaced) => imageProgress(image, analyses?.runs ?? [], qualityOf.get(image.id)?.state);
  const unsettled = current.some((image) => !progressOf(image).settled) || quality?.state === "pending"
    || items.some((item) => item.state === "uploading");

  // Live status through the platform's event stream while anything is on its way (uploads,
  // pyramids, analyses, judgements, a submitted case on its way to the reading list).
  const moving = caseData ? ["submitted", "processing"].includes(caseData.status) : false;
  useCaseStream(caseId, unsettled || moving, streamEpoch, {
    onQuality: setQuality,
    onProgress: () => { void Promise.all([loadCase(), loadImages(),
      bodyOf<CaseAnalyses>(api.GET("/api/v1/cases/{id}/analyses/", byId(caseId))).then(setAnalyses)]); },
    onEnd: () => { void refresh().then(() => setStreamEpoch((n) => n + 1)); },
  });

  useEffect(() => {
    if (caseData && ["signed", "amended"].includes(caseData.status)) {
      void bodyOf<Report>(api.GET("/api/v1/cases/{id}/report/", byId(caseId))).then(setReport);
    }
  }, [caseData, caseId]);

  // The mosaic shown: the one picked, else the worst judged one, else the first.
  const mosaics = current.filter((image) => image.kind === "rcm_mosaic");
  const worst = [...(quality?.mosaics ?? [])].filter((m) => m.verdict && mosaics.some((i) => i.id === m.image))
    .sort((a, b) => ["acceptable", "review", "reimage"].indexOf(b.verdict!) - ["acceptable", "review", "reimage"].indexOf(a.verdict!))[0];
  const shownMosaic = mosaics.find((m) => m.id === selectedMosaic) ?? mosaics.find((m) => m.id === worst?.image) ?? mosaics[0] ?? null;
  const dermoscopy = current.find((image) => image.kind === "dermoscopy") ?? null;
  const shownQuality = shownMosaic ? qualityOf.get(shownMosaic.id) ?? null : null;

  // Each viewer descriptor is fetched once per state of what draws its overlays (the mosaic's
  // judgement, the case's verdict): a new descriptor carries new signed tile URLs, so fetching it
  // again reopens the viewer, which must not happen while a person is placing points on it.
  const fetchedFor = useRef<Record<string, string>>({});
  const judgedKey = `${shownQuality?.state}|${shownQuality?.verdict}|${shownQuality?.percent_lesion}|${quality?.state}`;
  useEffect(() => {
    for (const image of [shownMosaic, dermoscopy]) {
      if (!image || image.status !== "ready") continue;
      const key = image.kind === "rcm_mosaic" ? `${shownQuality?.state}` : judgedKey;
      if (viewers[image.id] && fetchedFor.current[image.id] === key) continue;
      if (fetchedFor.current[image.id] === key) continue; // a fetch for this state is on its way
      fetchedFor.current[image.id] = key;
      void bodyOf<ViewerDescriptor>(api.GET("/api/v1/images/{id}/viewer/", byId(image.id)))
        .then((found) => setViewers((all) => ({ ...all, [image.id]: found })));
    }
  }, [shownMosaic, dermoscopy, shownQuality?.state, judgedKey, viewers]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    if (!shownMosaic || registrations[shownMosaic.id] !== undefined) return;
    void bodyOf<Registration>(api.GET("/api/v1/images/{id}/registration/", byId(shownMosaic.id)))
      .then((found) => setRegistrations((all) => ({ ...all, [shownMosaic.id]: found })));
  }, [shownMosaic?.id]); // eslint-disable-line react-hooks/exhaustive-deps

  // Asked for only when the quality answer names an outline on this image (model's or a person's):
  // a 404 "none yet" would be logged by the browser as an error on every new case.
  const outlinedOn = quality?.lesion_outline?.image ?? null;
  useEffect(() => {
    if (!dermoscopy || dermoscopy.status !== "ready") return;
    if (outlinedOn !== dermoscopy.id) { setOutline(null); return; }
    void bodyOf<LesionOutline>(api.GET("/api/v1/images/{id}/lesion-outline/", byId(dermoscopy.id))).then(setOutline);
  }, [dermoscopy?.id, dermoscopy?.status, outlinedOn, quality?.lesion_outline?.source]); // eslint-disable-line react-hooks/exhaustive-deps

  const editable = caseData ? EDITABLE.has(caseData.status) : false;

  const addFiles = (files: FileList | File[], replaces: Replaced | null = null) => {
    const added = Array.from(files).map((file) => newItem(file, replaces));
    setItems((all) => [...all, ...added]);
    if (replaces) added.forEach(begin);
  };
  const patchItem = (key: string, patch: Partial<UploadItem>) =>
    setItems((all) => all.map((item) => (item.key === key ? { ...item, ...patch } : item)));

  function begin(item: UploadItem) {
    if (declarationProblem(item.kind, item.depth_level, item.pixel_spacing_um)) return;
    patchItem(item.key, { state: "uploading", error: null });
    const rcm = item.kind === "rcm_mosaic" || item.kind === "rcm_stack";
    if (rcm && item.pixel_spacing_um) window.localStorage.setItem(SPACING_KEY, String(item.pixel_spacing_um));
    const pause = startUpload(item.file, {
      case: caseId, kind: item.kind!, depth_level: item.depth_level, depth_um: item.depth_um, replaces: item.replaces,
      pixel_spacing_um: rcm ? item.pixel_spacing_um : null,
    }, {
      onProgress: (sent) => patchItem(item.key, { sent }),
      onStored: (image) => {
        pausers.current.delete(item.key);
        patchItem(item.key, { state: "stored", image, sent: item.file.size });
        void refresh();
      },
      onError: (message) => {
        pausers.current.delete(item.key);
        patchItem(item.key, { state: "error", error: message });
      },
    });
    pausers.current.set(item.key, pause);
  }

  const startAll = () => items.filter((item) => item.state === "waiting" || item.state === "error").forEach(begin);
  const ready = items.filter((item) => (item.state === "waiting" || item.state === "error")
    && !declarationProblem(item.kind, item.depth_level, item.pixel_spacing_um));

  const remove = async (image: Replaced) => {
    if (!window.confirm(`Remove ${imageTitle(image)} from this case?`)) return;
    const { error } = await api.DELETE("/api/v1/images/{id}/", byId(image.id));
    setNotice(error ? { kind: "error", text: errorMessage(error) } : { kind: "ok", text: "Image removed." });
    void refresh();
  };

  const replace = (image: Replaced) => {
    replacing.current = image;
    replaceInput.current?.click();
  };

  const submit = async () => {
    const reimage = quality?.mosaics.filter((m) => m.verdict === "reimage").length ?? 0;
    if (reimage && !window.confirm(`Re-imaging is recommended for ${reimage} mosaic${reimage === 1 ? "" : "s"}. Submit for reading anyway?`)) return;
    const { error } = await api.POST("/api/v1/cases/{id}/submit/", byId(caseId));
    setNotice(error ? { kind: "error", text: errorMessage(error) } : { kind: "ok", text: "Submitted for reading." });
    void refresh();
  };

  /** Called by the recall dialog: null when the case was recalled, else the server's reason. */
  const recall = async (reason: string): Promise<string | null> => {
    const { error } = await api.POST("/api/v1/cases/{id}/recall/", { params: { path: { id: caseId } }, body: { reason } as never });
    if (error) return errorMessage(error, "The case was not recalled.");
    setRecalling(false);
    setNotice({ kind: "ok", text: "Recalled: the case is yours to change again." });
    void refresh();
    return null;
  };

  if (missing) return <div className="notice" role="alert">{missing} <a href="/clinic" onClick={(e) => { e.preventDefault(); navigate("/clinic"); }}>Back to the cases</a></div>;
  if (!caseData) return <div className="splash">Loading the case…</div>;

  const mosaicViewer = shownMosaic ? viewers[shownMosaic.id] : null;
  const dermoscopyViewer = dermoscopy ? viewers[dermoscopy.id] : null;
  const qualityOverlay = mosaicViewer?.overlays.find((o) => o.kind === "quality") ?? null;
  const projection = dermoscopyViewer?.overlays.find((o) => o.kind === "projection" && o.source_image === shownMosaic?.id) ?? null;
  const problem = shownQuality?.problem_region;
  const dermoscopyShapes: ViewerPolygon[] = [];
  if (outline?.polygon?.length) dermoscopyShapes.push({ points: outline.polygon, colour: "#ffe14d", closed: true, label: "Lesion" });
  if (problem?.bbox && problem.dermoscopy_image === dermoscopy?.id) {
    const [x0, y0, x1, y1] = problem.bbox;
    dermoscopyShapes.push({ points: [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], colour: "#ff3b30", closed: true, dashed: true, label: "Problem area" });
  }
  const registration = shownMosaic ? registrations[shownMosaic.id] : undefined;
  if (registration && mosaicViewer && dermoscopyViewer) {
    try {
      dermoscopyShapes.push({ points: mosaicFootprint(registration.matrix, mosaicViewer), colour: "#00d0ff", dashed: true,
        label: "The mosaic's field" });
    } catch { /* an invalid matrix is refused by the platform; nothing to draw */ }
  }
  const mayDraw = editable && Boolean(dermoscopy && dermoscopyViewer);
  const guidance = basisGuidance({ mosaic: shownQuality, hasDermoscopy: Boolean(dermoscopy), registration,
    outline, mayDraw, mayRegister: mayDraw && Boolean(mosaicViewer) });
  const mosaicShapes: ViewerPolygon[] = [];
  if (problem?.mosaic_bbox) {
    const [x0, y0, x1, y1] = problem.mosaic_bbox;
    mosaicShapes.push({ points: [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], colour: "#ff3b30", closed: true, dashed: true });
  }

  return (
    <section className="capture" aria-label="Case capture">
      <div className="case-bar">
        <button type="button" className="link" onClick={() => navigate("/clinic")}>← Cases</button>
        <span className="case-title">{caseData.patient_label ?? "Patient"} · {caseData.lesion_site.label || "Lesion"} ·{" "}
          {caseData.lesion_site.anatom_site || caseData.lesion_site.anatom_site_general || "site not recorded"}</span>
        <span className="muted">{caseData.site_name} · visit {caseData.visit_date}</span>
        <span className={`badge status-${caseData.status}`} data-testid="case-status">{STATUS_TEXT[caseData.status] ?? caseData.status}</span>
        <span className="muted small">Report: {REPORT_TEXT[caseData.report_status ?? "none"] ?? caseData.report_status}</span>
        <span className="spacer" />
        {editable ? <button type="button" className="primary" onClick={submit} disabled={!current.length || unsettled}
          title={unsettled ? "Wait until every image is stored and analysed" : undefined}>Submit for reading</button> : null}
        {RECALLABLE.has(caseData.status) ? <button type="button" onClick={() => setRecalling(true)}>Recall from reading…</button> : null}
      </div>
      {notice ? <p className={notice.kind === "error" ? "error banner" : "ok banner"} role="status">{notice.text}</p> : null}
      <div className="capture-layout">
        <aside className="capture-side">
          {editable ? (
            <section className={`dropzone${dragging ? " over" : ""}`} aria-label="Add images"
              onDragOver={(e) => { e.preventDefault(); setDragging(true); }} onDragLeave={() => setDragging(false)}
              onDrop={(e) => { e.preventDefault(); setDragging(false); addFiles(e.dataTransfer.files); }}>
              <p><strong>Drop images here</strong> or <button type="button" className="link" onClick={() => fileInput.current?.click()}>choose files</button></p>
              <p className="small muted">RCM mosaics and stacks, dermoscopy, clinical photos (TIFF, PNG, JPEG, BMP). Large files resume after a dropped connection.</p>
              <input ref={fileInput} type="file" multiple hidden data-testid="file-input" accept=".tif,.tiff,.png,.jpg,.jpeg,.bmp,image/*"
                onChange={(e) => { if (e.target.files) addFiles(e.target.files); e.target.value = ""; }} />
              <input ref={replaceInput} type="file" hidden data-testid="replace-input" accept=".tif,.tiff,.png,.jpg,.jpeg,.bmp,image/*"
                onChange={(e) => { if (e.target.files?.length && replacing.current) addFiles([e.target.files[0]], replacing.current); e.target.value = ""; }} />
            </section>
          ) : <p className="muted small panel">This case is {STATUS_TEXT[caseData.status]?.toLowerCase()}: its images can no longer change.</p>}
          {items.length ? (
            <section className="panel" aria-label="Uploads">
              <h2>Uploads <span className="spacer" />
                {ready.length ? <button type="button" className="primary" onClick={startAll}>Upload {ready.length} file{ready.length === 1 ? "" : "s"}</button> : null}
                {items.some((i) => i.state === "stored") ? <button type="button" className="link" onClick={() => setItems((all) => all.filter((i) => i.state !== "stored"))}>clear finished</button> : null}
              </h2>
              <ul className="uploads">
                {items.map((item) => <UploadRow key={item.key} item={item} onChange={(patch) => patchItem(item.key, patch)}
                  onRemove={() => setItems((all) => all.filter((i) => i.key !== item.key))} />)}
              </ul>
            </section>
          ) : null}
          <section className="panel" aria-label="Images of the case">
            <h2>Images <span className="muted small">{current.length}</span></h2>
            {!current.length ? <p className="muted small">No images yet.</p> : null}
            <ul className="image-list">
              {current.map((image) => {
                const progress = progressOf(image);
                const judged = qualityOf.get(image.id);
                return (
                  <li key={image.id} className={`image-row${image.id === shownMosaic?.id ? " selected" : ""}`} data-testid="case-image"
                    data-image={image.id} data-stage={progress.stage}>
                    <button type="button" className="thumb" onClick={() => image.kind === "rcm_mosaic" && setSelectedMosaic(image.id)}
                      aria-label={`Show ${imageTitle(image)}`}>
                      {image.thumbnail_url ? <img src={image.thumbnail_url} alt="" /> : <span className="thumb-missing">…</span>}
                    </button>
                    <div className="image-info">
                      <div><strong>{imageTitle(image)}</strong> {judged?.verdict ? <VerdictBadge verdict={judged.verdict} /> : null}</div>
                      <StepBar done={progress.done} failed={progress.stage === "failed"} />
                      <div className={`small ${progress.stage === "failed" ? "error" : "muted"}`}>{progress.text}</div>
                      {image.device_profile_code ? <div className="small muted">Device layout: {image.device_profile_code}</div> : null}
                      {editable ? (
                        <div className="row-actions">
                          {image.kind !== "clinical" ? <button type="button" className="link" onClick={() => replace(image)}>Replace image</button> : null}
                          <button type="button" className="link" onClick={() => remove(image)}>Remove</button>
                        </div>
                      ) : null}
                    </div>
                  </li>
                );
              })}
            </ul>
            {history.length ? (
              <>
                <button type="button" className="link small" onClick={() => setShowHistory(!showHistory)}>
                  {showHistory ? "Hide" : "Show"} {history.length} replaced image{history.length === 1 ? "" : "s"}</button>
                {showHistory ? (
                  <ul className="image-list history" aria-label="Replaced images">
                    {history.map((image) => (
                      <li key={image.id} className="image-row replaced" data-testid="replaced-image">
                        <span className="thumb">{image.thumbnail_url ? <img src={image.thumbnail_url} alt="" /> : null}</span>
                        <div className="image-info small"><strong>{imageTitle(image)}</strong>
                          <div className="muted">replaced {image.replaced_at ? new Date(image.replaced_at).toLocaleString() : ""}</div></div>
                      </li>
                    ))}
                  </ul>
                ) : null}
              </>
            ) : null}
          </section>
        </aside>
        <div className="capture-main">
          <section className="panel verdict-panel" aria-label="Quality verdict" data-testid="capture-verdict">
            <div className="verdict-head">
              <span className="verdict-title">Image quality</span>
              {quality?.state === "no_mosaics" ? <span className="muted">Add an RCM mosaic at the dermal-epidermal junction to get a verdict.</span> : (
                <span className={`big-verdict verdict-${quality?.verdict ?? "pending"}`} data-testid="case-verdict">
                  {quality?.verdict ? { acceptable: "Acceptable", review: "Review", reimage: "Re-image recommended" }[quality.verdict] : "Analysing…"}
                  {quality?.verdict && !quality.verdict_is_final ? " (so far)" : ""}
                </span>
              )}
              <span className="spacer" />
              {quality ? <span className="muted small">review from {quality.thresholds.review_at_percent}% · re-image from {quality.thresholds.reimage_at_percent}% uninformative{quality.lesion_outline ? "" : " · no lesion outline yet (judged on the whole mosaic)"}</span> : null}
            </div>
            {quality?.mosaics.length ? (
              <table className="compact mosaic-table">
                <thead><tr><th>Mosaic</th><th>State</th><th>Within lesion</th><th>Whole mosaic</th><th>Verdict</th><th>Where</th><th /></tr></thead>
                <tbody>
                  {quality.mosaics.map((mosaic) => (
                    <tr key={mosaic.image} className={mosaic.image === shownMosaic?.id ? "selected" : ""} onClick={() => setSelectedMosaic(mosaic.image)}
                      data-testid="mosaic-verdict" data-verdict={mosaic.verdict ?? ""}>
                      <td>{DEPTH_TEXT[mosaic.depth_level] ?? mosaic.depth_level}{mosaic.depth_um != null ? ` · ${mosaic.depth_um} µm` : ""}</td>
                      <td className="small">{mosaic.state === "done" ? "judged" : mosaic.state.replace("_", " ")}</td>
                      <td className="num strong">{percent(mosaic.percent_lesion)}</td>
                      <td className="num">{percent(mosaic.percent_whole)}</td>
                      <td>{mosaic.verdict ? <VerdictBadge verdict={mosaic.verdict} /> : mosaic.state === "not_applicable" ? <span className="muted small">not judged at this depth</span> : "…"}</td>
                      <td className="small">{mosaic.problem_region?.description ?? ""}</td>
                      <td>{editable && mosaic.verdict && mosaic.verdict !== "acceptable" ? (
                        <button type="button" onClick={(e) => { e.stopPropagation(); const image = current.find((i) => i.id === mosaic.image); if (image) replace(image); }}>Replace image</button>
                      ) : null}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
            {shownQuality ? <ProblemNote mosaic={shownQuality} /> : null}
            {guidance ? (
              <div className="basis-help" data-testid="basis-help">
                <p className="small">{guidance.text}</p>
                {guidance.actions.includes("register") && shownMosaic ? (
                  <button type="button" className="primary" onClick={() => setEditing({ tool: "register", mosaicId: shownMosaic.id })}>
                    {registration ? "Register the mosaic again" : "Register the mosaic"}</button>) : null}
                {guidance.actions.includes("outline") ? (
                  <button type="button" className={registration ? "primary" : ""} onClick={() => setEditing({ tool: "outline" })}>
                    {outline?.source === "person" ? "Edit the lesion outline" : outline ? "Correct the model's outline" : "Outline the lesion"}</button>) : null}
              </div>
            ) : null}
          </section>
          {editing?.tool === "register" && mosaicViewer && dermoscopyViewer && dermoscopy && shownMosaic ? (
            <RegistrationEditor mosaicId={shownMosaic.id} mosaicTitle={imageTitle(shownMosaic)} mosaic={mosaicViewer}
              dermoscopyId={dermoscopy.id} dermoscopy={dermoscopyViewer} existing={registration ?? null}
              onClose={() => setEditing(null)}
              onSaved={(saved) => {
                setRegistrations((all) => ({ ...all, [shownMosaic.id]: saved }));
                setEditing(null);
                setNotice({ kind: "ok", text: `Registration saved${saved.rms_error_um != null ? ` (RMS error ${lengthText(saved.rms_error_um)})` : ""}: the mosaic is judged within the lesion again.` });
                delete fetchedFor.current[dermoscopy.id]; // its projection overlay follows the new registration
                setViewers(({ [dermoscopy.id]: _stale, ...others }) => others);
                void refresh();
              }} />
          ) : null}
          {editing?.tool === "outline" && dermoscopyViewer && dermoscopy ? (
            <OutlineEditor dermoscopyId={dermoscopy.id} dermoscopy={dermoscopyViewer} outline={outline}
              extraShapes={dermoscopyShapes.filter((shape) => shape.label !== "Lesion")}
              onClose={() => setEditing(null)}
              onSaved={(saved) => {
                setOutline(saved);
                setEditing(null);
                setNotice({ kind: "ok", text: saved?.source === "person" ? "Lesion outline saved: the mosaics are judged within it again."
                  : "Your outline was removed: the model's outline counts again." });
                void refresh();
              }} />
          ) : null}
          <div className="capture-viewers" hidden={editing !== null}>
            <section className="panel viewer-panel" aria-label="Mosaic with quality overlay">
              <h2>{shownMosaic ? imageTitle(shownMosaic) : "Mosaic"}
                {qualityOverlay ? <label className="opacity small">overlay <input type="range" min={0} max={1} step={0.05} value={overlayOpacity}
                  onChange={(e) => setOverlayOpacity(Number(e.target.value))} aria-label="Overlay opacity" /></label> : null}</h2>
              {mosaicViewer ? (
                <DeepZoomViewer dzi={mosaicViewer.frames[0].dzi} imageSize={{ width: mosaicViewer.width, height: mosaicViewer.height }}
                  overlays={qualityOverlay ? [qualityOverlay] : []} overlayOpacity={overlayOpacity} polygons={mosaicShapes}
                  label="Mosaic" testId="capture-mosaic" />
              ) : <div className="viewer-empty muted">{shownMosaic ? "The mosaic appears here once its pyramid is built." : "No mosaic yet."}</div>}
              {qualityOverlay ? <Legend entries={qualityOverlay.legend} /> : null}
            </section>
            <section className="panel viewer-panel" aria-label="Dermoscopy with the mosaic's uninformative areas">
              <h2>Dermoscopy {projection ? <span className="muted small">with the mosaic's uninformative areas</span> : null}</h2>
              {dermoscopyViewer ? (
                <DeepZoomViewer dzi={dermoscopyViewer.frames[0].dzi} imageSize={{ width: dermoscopyViewer.width, height: dermoscopyViewer.height }}
                  overlays={projection ? [projection] : []} overlayOpacity={overlayOpacity} polygons={dermoscopyShapes}
                  label="Dermoscopy" testId="capture-dermoscopy" />
              ) : <div className="viewer-empty muted">{dermoscopy ? "Preparing the dermoscopy image…" : "Add the dermoscopy image to judge quality within the lesion."}</div>}
              <ul className="legend small">
                {outline?.polygon?.length ? <li><span className="swatch" style={{ background: "#ffe14d" }} /> Lesion ({outline.source === "person" ? "outlined by a person" : "segmented by the model"})</li> : null}
                {registration ? <li><span className="swatch" style={{ background: "#00d0ff" }} /> This mosaic's field ({REGISTRATION_TEXT[registration.source] ?? registration.source})</li> : null}
                {problem?.bbox ? <li><span className="swatch" style={{ background: "#ff3b30" }} /> Problem area</li> : null}
              </ul>
              {projection ? <Legend entries={projection.legend} /> : null}
            </section>
          </div>
          {report ? <ReportView report={report} caseId={caseId} /> : null}
        </div>
      </div>
      {recalling ? <RecallDialog onRecall={recall} onCancel={() => setRecalling(false)} /> : null}
    </section>
  );
}

/** Asks why the case is recalled (the reader and the site admin see the reason): a recall without
 * one is refused here and by the platform. The dialog stays open with the server's refusal. */
function RecallDialog({ onRecall, onCancel }: { onRecall: (reason: string) => Promise<string | null>; onCancel: () => void }) {
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => { if (event.key === "Escape") onCancel(); };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onCancel]);
  const confirm = async (event: FormEvent) => {
    event.preventDefault();
    if (!reason.trim()) { setProblem("A recall needs a reason."); return; }
    setBusy(true);
    const refused = await onRecall(reason.trim());
    setBusy(false);
    setProblem(refused);
  };
  return (
    <div className="modal" role="dialog" aria-modal="true" aria-label="Recall from reading">
      <form className="modal-card" onSubmit={(event) => void confirm(event)}>
        <h3>Recall from reading</h3>
        <p className="small">The case comes back to the clinic to change its images; the reader and the site admin see why.</p>
        <label>Reason for the recall<textarea name="recall-reason" rows={3} value={reason} required autoFocus maxLength={500}
          onChange={(event) => setReason(event.target.value)} /></label>
        {problem ? <p className="error" role="alert">{problem}</p> : null}
        <div className="actions">
          <button type="button" onClick={onCancel}>Cancel</button>
          <button type="submit" className="primary" disabled={busy}>{busy ? "Recalling…" : "Recall"}</button>
        </div>
      </form>
    </div>
  );
}
