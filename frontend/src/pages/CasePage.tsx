/** A case as a reader works on it: the image rail (RCM mosaics by depth, stacks, dermoscopy,
 * clinical photo), the deep-zoom viewer with its overlays and outlines, the dermoscopy panel that
 * steers the mosaic through the registration, the quality block, model results and the report. */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, bodyOf, errorMessage } from "../api/client";
import type {
  Case, CaseAssignment, CaseFindings, CaseImage, CaseQuality, ExpertAnnotation, LesionHistory, LesionOutline, Me, OverlayDescriptor,
  Paginated, Registration, Report, ViewerDescriptor,
} from "../api/types";
import { DeepZoomViewer, type DeepZoomHandle, type ViewState, type ViewerMarker, type ViewerPolygon } from "../components/DeepZoomViewer";
import { FindingsPanel, Legend, QualityPanel } from "../components/Panels";
import { RegistrationEditor } from "../components/RegistrationEditor";
import { ReportEditor, type ReportHandle } from "../components/ReportEditor";
import { imageTitle, readingOrder, stepDepth } from "../lib/depth";
import { STATUS_TEXT } from "../lib/format";
import { dermoscopyToMosaic, distanceUm, lengthText, mosaicFootprint, type Point } from "../lib/registration";
import { navigate } from "../lib/route";
import { SHORTCUTS, actionFor, clampOpacity } from "../lib/shortcuts";

const RCM = new Set(["rcm_mosaic", "rcm_stack"]);
const EXPERT_COLOUR = "#ff00ff";
const OUTLINE_COLOUR = "#ffe14d";
const FOOTPRINT_COLOUR = "#00d0ff";

// Reads of one case's or image's blocks, each through the typed client (see bodyOf).
const byId = (id: string) => ({ params: { path: { id } } });
const fetchQuality = (caseId: string) => bodyOf<CaseQuality>(api.GET("/api/v1/cases/{id}/quality/", byId(caseId)));
const fetchViewer = (imageId: string) => bodyOf<ViewerDescriptor>(api.GET("/api/v1/images/{id}/viewer/", byId(imageId)));
const fetchOutline = (imageId: string) => bodyOf<LesionOutline>(api.GET("/api/v1/images/{id}/lesion-outline/", byId(imageId)));
const fetchAnnotation = (imageId: string) =>
  bodyOf<ExpertAnnotation>(api.GET("/api/v1/images/{id}/expert-annotation/", byId(imageId)));

export function CasePage({ caseId, me }: { caseId: string; me: Me }) {
  const [caseData, setCaseData] = useState<Case | null>(null);
  const [missing, setMissing] = useState<string | null>(null);
  const [images, setImages] = useState<CaseImage[]>([]);
  const [quality, setQuality] = useState<CaseQuality | null>(null);
  const [findings, setFindings] = useState<CaseFindings | null>(null);
  const [assignment, setAssignment] = useState<CaseAssignment | null>(null);
  const [report, setReport] = useState<Report | null>(null);
  const [viewers, setViewers] = useState<Record<string, ViewerDescriptor | null>>({});
  const [registrations, setRegistrations] = useState<Record<string, Registration | null>>({});
  const [outline, setOutline] = useState<LesionOutline | null>(null);
  const [annotations, setAnnotations] = useState<Record<string, ExpertAnnotation | null>>({});
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [lastMosaicId, setLastMosaicId] = useState<string | null>(null);
  const [frame, setFrame] = useState(0);
  // Overlay state and the view are kept per image family: mosaics of one case share a field (and so a
  // view), the dermoscopy and each photo keep their own.
  const [overlayStates, setOverlayStates] = useState<Record<string, { on: boolean; opacity: number }>>({});
  const views = useRef<Record<string, ViewState>>({});
  const [showHistory, setShowHistory] = useState(false);
  const [measuring, setMeasuring] = useState(false);
  const [ruler, setRuler] = useState<Point[]>([]);
  const [registering, setRegistering] = useState(false);
  const [history, setHistory] = useState<LesionHistory | null>(null);
  const [comparing, setComparing] = useState(false);
  const prior = useRef<DeepZoomHandle>(null);
  const [overlayKind, setOverlayKind] = useState<string>("quality");
  const [annotating, setAnnotating] = useState(false);
  const [draft, setDraft] = useState<Point[]>([]);
  const [drawn, setDrawn] = useState<Point[][]>([]);
  const [notice, setNotice] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [help, setHelp] = useState(false);
  const main = useRef<DeepZoomHandle>(null);
  const reportRef = useRef<ReportHandle>(null);

  const ordered = useMemo(() => readingOrder(images.filter((image) => !image.replaced_by)), [images]);
  const replaced = useMemo(() => readingOrder(images.filter((image) => image.replaced_by)), [images]);
  const selected = ordered.find((image) => image.id === selectedId) ?? replaced.find((image) => image.id === selectedId) ?? null;
  const family = selected ? (RCM.has(selected.kind) ? `rcm:${selected.width}x${selected.height}` : selected.id) : "";
  const overlayState = overlayStates[family] ?? { on: true, opacity: selected?.kind === "dermoscopy" ? 0.35 : 0.5 };
  const overlayOn = overlayState.on;
  const opacity = overlayState.opacity;
  const setOverlayOn = (on: boolean | ((was: boolean) => boolean)) => setOverlayStates((all) => {
    const was = all[family] ?? overlayState;
    return { ...all, [family]: { ...was, on: typeof on === "function" ? on(was.on) : on } };
  });
  const setOpacity = (value: number | ((was: number) => number)) => setOverlayStates((all) => {
    const was = all[family] ?? overlayState;
    return { ...all, [family]: { ...was, opacity: typeof value === "function" ? value(was.opacity) : value } };
  });
  const dermoscopy = ordered.find((image) => image.kind === "dermoscopy" && image.status === "ready") ?? null;
  const descriptor = selected ? viewers[selected.id] : undefined;
  const mayWrite = assignment?.active?.reader.id === me.id;
  const claimed = Boolean(assignment?.active?.claimed_at);
  const caseOpen = caseData ? !["signed", "amended"].includes(caseData.status) : false;

  const loadCase = useCallback(async () => {
    const { data, error, response } = await api.GET("/api/v1/cases/{id}/", byId(caseId));
    if (!response.ok || !data) {
      setMissing(response.status === 404 ? "This case does not exist or is not assigned to you." : errorMessage(error));
      return;
    }
    setCaseData(data);
    const [imageList, qualityData, findingsData, assignmentData, reportData] = await Promise.all([
      bodyOf<Paginated<CaseImage>>(api.GET("/api/v1/images/", { params: { query: { case: caseId, page_size: 200 } } })),
      fetchQuality(caseId),
      bodyOf<CaseFindings>(api.GET("/api/v1/cases/{id}/findings/", byId(caseId))),
      bodyOf<CaseAssignment>(api.GET("/api/v1/cases/{id}/assignment/", byId(caseId))),
      // No report before the reader claims the case (the case says so): not asked for, so no 404.
      data.report_status === "none" ? Promise.resolve({ data: undefined }) : api.GET("/api/v1/cases/{id}/report/", byId(caseId)),
    ]);
    setImages(imageList?.results ?? []);
    setQuality(qualityData);
    setFindings(findingsData);
    setAssignment(assignmentData);
    setReport(reportData.data ?? null);
    setHistory(await bodyOf<LesionHistory>(api.GET("/api/v1/cases/{id}/lesion-history/", byId(caseId))));
  }, [caseId]);

  useEffect(() => { void loadCase(); }, [loadCase]);

  // Start on the dermal-epidermal junction (what the quality gate judges), else the first image.
  useEffect(() => {
    if (selectedId || !ordered.length) return;
    const start = ordered.find((image) => image.depth_level === "dej" && image.kind === "rcm_mosaic") ?? ordered[0];
    setSelectedId(start.id);
  }, [ordered, selectedId]);

  const loadViewer = useCallback(async (imageId: string, force = false) => {
    if (!force && viewers[imageId] !== undefined) return;
    const data = await fetchViewer(imageId);
    setViewers((current) => ({ ...current, [imageId]: data }));
  }, [viewers]);

  useEffect(() => {
    if (!selected) return;
    void loadViewer(selected.id);
    if (RCM.has(selected.kind)) {
      setLastMosaicId(selected.id);
      if (registrations[selected.id] === undefined) {
        void bodyOf<Registration>(api.GET("/api/v1/images/{id}/registration/", byId(selected.id))).then((data) =>
          setRegistrations((current) => ({ ...current, [selected.id]: data })));
      }
      if (annotations[selected.id] === undefined) {
        void fetchAnnotation(selected.id).then((data) =>
          setAnnotations((current) => ({ ...current, [selected.id]: data })));
      }
    }
    setFrame(0);
    setDraft([]);
    setDrawn([]);
  }, [selected?.id]); // eslint-disable-line react-hooks/exhaustive-deps

  // The outline is asked for only when the quality answer says there is one: a 404 "none yet" would
  // be logged by the browser as an error on every case the lesion was never outlined on.
  const outlinedOn = quality?.lesion_outline?.image ?? null;
  useEffect(() => {
    if (!dermoscopy) return;
    void loadViewer(dermoscopy.id);
    if (outlinedOn === dermoscopy.id) void fetchOutline(dermoscopy.id).then(setOutline);
    else setOutline(null);
  }, [dermoscopy?.id, outlinedOn]); // eslint-disable-line react-hooks/exhaustive-deps

  // The overlays this image can show; the chosen kind is kept across images when it exists.
  const overlayChoices: OverlayDescriptor[] = useMemo(() => {
    if (!descriptor) return [];
    if (selected?.kind === "dermoscopy") {
      return descriptor.overlays.filter((o) => o.kind !== "projection" || o.source_image === lastMosaicId || !lastMosaicId);
    }
    return descriptor.overlays;
  }, [descriptor, selected?.kind, lastMosaicId]);
  const overlay = overlayChoices.find((o) => o.kind === overlayKind) ?? overlayChoices[0] ?? null;

  const registration = lastMosaicId ? registrations[lastMosaicId] : null;
  const mosaicDescriptor = lastMosaicId ? viewers[lastMosaicId] : null;
  const dermoscopyDescriptor = dermoscopy ? viewers[dermoscopy.id] : null;
  const projection = dermoscopyDescriptor?.overlays.find((o) => o.kind === "projection" && o.source_image === lastMosaicId) ?? null;

  // The same lesion's previous visit, and its mosaic at the depth shown now (for side-by-side reading).
  const visits = history?.visits ?? [];
  const currentIndex = visits.findIndex((visit) => visit.is_current);
  const previousVisit = currentIndex > 0 ? visits[currentIndex - 1] : null;
  const priorMosaic = previousVisit && selected && RCM.has(selected.kind)
    ? previousVisit.mosaics.find((m) => m.depth_level === selected.depth_level) ?? null : null;
  const priorDescriptor = priorMosaic ? viewers[priorMosaic.image] : undefined;
  useEffect(() => {
    if (comparing && priorMosaic && viewers[priorMosaic.image] === undefined) void loadViewer(priorMosaic.image);
  }, [comparing, priorMosaic?.image]); // eslint-disable-line react-hooks/exhaustive-deps

  const mainPolygons: ViewerPolygon[] = [];
  if (selected && RCM.has(selected.kind)) {
    for (const polygon of annotations[selected.id]?.polygons ?? []) {
      mainPolygons.push({ points: polygon, colour: EXPERT_COLOUR, dashed: true, label: "Expert: uninformative" });
    }
  }
  if (selected?.kind === "dermoscopy" && outline?.polygon?.length) {
    mainPolygons.push({ points: outline.polygon, colour: OUTLINE_COLOUR, label: `Lesion (${outline.source})` });
  }
  if (ruler.length === 2) mainPolygons.push({ points: ruler, colour: "#ffcc00", closed: false, label: "Measurement" });
  const rulerMarkers: ViewerMarker[] = ruler.map((point, index) => ({ point, label: index ? "B" : "A", colour: "#ffcc00" }));
  const measuredUm = ruler.length === 2 ? distanceUm(ruler[0], ruler[1], descriptor?.pixel_spacing_um) : null;
  for (const polygon of drawn) mainPolygons.push({ points: polygon, colour: "#ffffff", fill: "rgba(255,255,255,0.12)" });
  if (draft.length) mainPolygons.push({ points: draft, colour: "#ffffff", closed: false });

  const panelPolygons: ViewerPolygon[] = [];
  if (outline?.polygon?.length) panelPolygons.push({ points: outline.polygon, colour: OUTLINE_COLOUR, label: "Lesion outline" });
  if (registration && mosaicDescriptor) {
    panelPolygons.push({ points: mosaicFootprint(registration.matrix, mosaicDescriptor), colour: FOOTPRINT_COLOUR,
      dashed: true, label: "Mosaic field" });
  }

  const selectImage = (id: string) => {
    const view = main.current?.getView();
    if (view && family) views.current[family] = view; // come back to this image (or its field) as it was left
    setSelectedId(id); setAnnotating(false); setRuler([]);
  };
  const finishShape = () => {
    if (draft.length >= 3) setDrawn((current) => [...current, draft]);
    setDraft([]);
  };

  const saveShapes = async () => {
    if (!selected) return;
    const shapes = draft.length >= 3 ? [...drawn, draft] : drawn;
    if (!shapes.length) { setNotice({ kind: "error", text: "Outline at least one area (3 or more points) first." }); return; }
    let failure: unknown = null;
    if (selected.kind === "dermoscopy") {
      const { error } = await api.PUT("/api/v1/images/{id}/lesion-outline/", {
        params: { path: { id: selected.id } }, body: { polygon: shapes[shapes.length - 1] } as never });
      failure = error;
    } else {
      const existing = annotations[selected.id]?.polygons ?? [];
      const { error } = await api.PUT("/api/v1/images/{id}/expert-annotation/", {
        params: { path: { id: selected.id } }, body: { polygons: [...existing, ...shapes] } as never });
      failure = error;
    }
    if (failure) { setNotice({ kind: "error", text: errorMessage(failure, "The outline was not saved.") }); return; }
    setNotice({ kind: "ok", text: selected.kind === "dermoscopy" ? "Lesion outline saved; quality is re-judged." : "Expert annotation saved; agreement with the model follows." });
    setDraft([]); setDrawn([]); setAnnotating(false);
    if (selected.kind === "dermoscopy") {
      void fetchOutline(selected.id).then(setOutline);
    } else {
      void fetchAnnotation(selected.id).then((data) =>
        setAnnotations((current) => ({ ...current, [selected.id]: data })));
      setOverlayKind("agreement");
    }
    await loadViewer(selected.id, true);
    setQuality(await fetchQuality(caseId));
  };

  const claim = async (action: "claim" | "release") => {
    const path = action === "claim" ? "/api/v1/cases/{id}/claim/" : "/api/v1/cases/{id}/release/";
    const { error } = await api.POST(path, byId(caseId));
    if (error) setNotice({ kind: "error", text: errorMessage(error) });
    else setNotice({ kind: "ok", text: action === "claim" ? "Case claimed: you are reading it." : "Case released." });
    await loadCase();
  };

  // Keyboard shortcuts (see lib/shortcuts.ts; ? shows them).
  const frames = descriptor?.frames.length ?? 1;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (help && event.key === "Escape") { setHelp(false); event.preventDefault(); return; }
      if (annotating && !(event.target as HTMLElement)?.closest?.("input,textarea,select")) {
        if (event.key === "Enter") { finishShape(); event.preventDefault(); return; }
        if (event.key === "Escape") { setDraft([]); event.preventDefault(); return; }
      }
      const action = actionFor({ key: event.key, ctrlKey: event.ctrlKey, metaKey: event.metaKey, altKey: event.altKey,
        target: event.target as HTMLElement });
      if (!action) return;
      event.preventDefault();
      switch (action) {
        case "depth_up": case "depth_down":
          if (selected) selectImage(stepDepth(ordered, selected.id, action === "depth_up" ? -1 : 1).id);
          break;
        case "frame_next": setFrame((f) => Math.min(frames - 1, f + 1)); break;
        case "frame_previous": setFrame((f) => Math.max(0, f - 1)); break;
        case "toggle_overlay": setOverlayOn((on) => !on); break;
        case "opacity_up": setOpacity((o) => clampOpacity(o + 0.1)); setOverlayOn(true); break;
        case "opacity_down": setOpacity((o) => clampOpacity(o - 0.1)); break;
        case "home": main.current?.home(); break;
        case "annotate": if (mayWrite && caseOpen) setAnnotating((on) => !on); break;
        case "save_draft": reportRef.current?.save(); break;
        case "sign": reportRef.current?.sign(); break;
        case "worklist": navigate("/"); break;
        case "help": setHelp((on) => !on); break;
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  if (missing) {
    return <div className="notice" role="alert">{missing} <a href="/" onClick={(e) => { e.preventDefault(); navigate("/"); }}>Back to the worklist</a></div>;
  }
  if (!caseData) return <div className="splash">Loading case…</div>;

  const frameInfo = descriptor?.frames[Math.min(frame, frames - 1)];
  const depthUm = frameInfo?.depth_um;
  return (
    <div className="case">
      <div className="case-bar">
        <button type="button" className="link" onClick={() => navigate("/")} title="w">← Worklist</button>
        <span className="case-title" data-testid="case-title">{caseData.site_name} · lesion {caseData.lesion_site.label}:{" "}
          {caseData.lesion_site.anatom_site || caseData.lesion_site.anatom_site_general || "site not recorded"}</span>
        <span className="muted small">visit {caseData.visit_date} · {caseData.device || "device not recorded"} · case {caseId.slice(0, 8)}</span>
        <span className={`badge status-${caseData.status}`} data-testid="case-status">{STATUS_TEXT[caseData.status] ?? caseData.status}</span>
        <span className="spacer" />
        {notice ? <span className={notice.kind === "error" ? "error" : "ok"} role={notice.kind === "error" ? "alert" : "status"}>{notice.text}</span> : null}
        {mayWrite && caseOpen && !claimed ? <button type="button" className="primary" onClick={() => claim("claim")}>Claim case</button> : null}
        {mayWrite && caseOpen && claimed ? <button type="button" onClick={() => claim("release")}>Release</button> : null}
        {!mayWrite && assignment?.active ? <span className="muted small">Assigned to {assignment.active.reader.name || assignment.active.reader.username}</span> : null}
        <button type="button" className="link" onClick={() => setHelp((on) => !on)} title="?">Shortcuts</button>
      </div>
      <div className="case-header" data-testid="case-header">
        <span><b>Clinical question:</b> {caseData.clinical_question || <span className="muted">none given</span>}</span>
        <span>{caseData.patient_age_years != null ? `${caseData.patient_age_years} years` : "age not recorded"} ·{" "}
          {caseData.patient_sex && caseData.patient_sex !== "unknown" ? caseData.patient_sex : "sex not recorded"}</span>
        {visits.length > 1 ? (
          <span data-testid="lesion-history"><b>This lesion:</b>{" "}
            {visits.map((visit) => (
              <span key={visit.case} className={visit.is_current ? "strong" : ""}>
                {visit.is_current ? `this visit (${visit.visit_date})` : (
                  <a href={`/cases/${visit.case}`} onClick={(e) => { e.preventDefault(); navigate(`/cases/${visit.case}`); }}>{visit.visit_date}</a>)}
                {visit.signed_report ? ` · ${visit.signed_report.diagnosis_label}` : ""}{" "}
              </span>
            ))}
          </span>
        ) : <span className="muted">first visit of this lesion</span>}
      </div>
      {registering && dermoscopy && dermoscopyDescriptor && lastMosaicId && mosaicDescriptor ? (
        <RegistrationEditor mosaicId={lastMosaicId} mosaicTitle={imageTitle(ordered.find((i) => i.id === lastMosaicId) ?? { kind: "rcm_mosaic" })}
          mosaic={mosaicDescriptor} dermoscopyId={dermoscopy.id} dermoscopy={dermoscopyDescriptor}
          existing={registration ?? null} onClose={() => setRegistering(false)}
          onSaved={(saved) => {
            setRegistrations((current) => ({ ...current, [lastMosaicId]: saved }));
            setRegistering(false);
            setNotice({ kind: "ok", text: `Registration saved${saved.rms_error_um != null ? ` (RMS error ${lengthText(saved.rms_error_um)})` : ""}; quality is re-judged.` });
            void loadViewer(dermoscopy.id, true);
            void fetchQuality(caseId).then(setQuality);
          }} />
      ) : null}
      <div className="case-layout" hidden={registering}>
        <nav className="rail" aria-label="Images">
          {[...ordered, ...(showHistory ? replaced : [])].map((image) => (
            <button type="button" key={image.id} className={`rail-item ${image.id === selectedId ? "active" : ""}${image.replaced_by ? " replaced" : ""}`}
              onClick={() => selectImage(image.id)} data-testid="rail-item" data-kind={image.kind} data-depth={image.depth_level}
              aria-pressed={image.id === selectedId}>
              {image.thumbnail_url && image.status === "ready" ? <img src={image.thumbnail_url} alt="" loading="lazy" /> : <span className="thumb-missing">{image.status}</span>}
              <span>{imageTitle(image)}{image.replaced_by ? <em className="small"> · replaced{image.replaced_at
                ? ` ${new Date(image.replaced_at).toLocaleDateString()}` : ""} (history)</em> : null}</span>
              {quality?.mosaics.find((m) => m.image === image.id)?.verdict ? (
                <span className={`dot verdict-${quality.mosaics.find((m) => m.image === image.id)!.verdict}`} />
              ) : null}
            </button>
          ))}
          {replaced.length ? (
            <button type="button" className="link small" aria-pressed={showHistory} onClick={() => setShowHistory((on) => !on)}
              data-testid="history-toggle">
              {showHistory ? "Hide" : "Show"} {replaced.length} replaced image{replaced.length === 1 ? "" : "s"} (history)</button>
          ) : null}
        </nav>
        <section className="stage" aria-label="Viewer">
          <div className="stage-bar">
            <b data-testid="viewer-title">{selected ? imageTitle(selected) : ""}</b>
            {frames > 1 && depthUm != null ? <span className="muted">frame at {depthUm} µm</span> : null}
            {descriptor?.pixel_spacing_um ? <span className="muted">{descriptor.pixel_spacing_um} µm/px</span> : null}
            <span className="spacer" />
            {overlayChoices.length ? (
              <>
                {overlayChoices.length > 1 ? (
                  <select aria-label="Overlay" value={overlay?.kind} onChange={(e) => setOverlayKind(e.target.value)}>
                    {overlayChoices.map((o) => <option key={o.id} value={o.kind}>{o.label}</option>)}
                  </select>
                ) : null}
                <label className="check"><input type="checkbox" checked={overlayOn} onChange={(e) => setOverlayOn(e.target.checked)}
                  aria-label="Show overlay" /> Overlay</label>
                <label className="opacity">Opacity <input type="range" min={0} max={1} step={0.05} value={opacity}
                  aria-label="Overlay opacity" onChange={(e) => { setOpacity(Number(e.target.value)); setOverlayOn(true); }} />
                  <span className="num">{Math.round(opacity * 100)}%</span></label>
              </>
            ) : <span className="muted small">No overlay for this image</span>}
            <button type="button" onClick={() => main.current?.zoomBy(1.5)} aria-label="Zoom in">+</button>
            <button type="button" onClick={() => main.current?.zoomBy(1 / 1.5)} aria-label="Zoom out">−</button>
            <button type="button" onClick={() => main.current?.home()} title="h">Fit</button>
            {descriptor?.pixel_spacing_um ? (
              <button type="button" className={measuring ? "primary" : ""} aria-pressed={measuring}
                onClick={() => { setMeasuring((on) => !on); setRuler([]); setAnnotating(false); }}
                title="Click two points to measure the distance between them">Measure</button>) : null}
            {priorMosaic ? (
              <button type="button" className={comparing ? "primary" : ""} aria-pressed={comparing}
                onClick={() => setComparing((on) => !on)} title="The previous visit's mosaic at this depth, side by side">
                Compare with {previousVisit!.visit_date}</button>) : null}
            {measuring ? (
              <span className="num" data-testid="measurement" data-um={measuredUm != null ? measuredUm.toFixed(1) : ""}>
                {measuredUm != null ? lengthText(measuredUm) : ruler.length ? "click the second point" : "click the first point"}</span>) : null}
            {mayWrite && caseOpen && selected && (RCM.has(selected.kind) || selected.kind === "dermoscopy") ? (
              <button type="button" className={annotating ? "primary" : ""} onClick={() => setAnnotating((on) => !on)}
                title={selected.kind === "dermoscopy" ? "Outline the lesion (a)" : "Outline uninformative areas, as an expert annotation (a)"}>
                {annotating ? "Stop outlining" : selected.kind === "dermoscopy" ? "Outline lesion" : "Outline"}
              </button>
            ) : null}
          </div>
          <div className="stage-view">
            {selected && selected.status !== "ready" ? (
              <p className="notice">This image is {selected.status}{selected.status_detail ? `: ${selected.status_detail}` : ""}.</p>
            ) : descriptor === null ? (
              <p className="notice">The image pyramid is not ready yet.</p>
            ) : descriptor && frameInfo ? (
              <div className={comparing && priorMosaic ? "compare" : "single"}>
              {comparing && priorMosaic ? (
                <div className="compare-prior">
                  <span className="compare-label">{previousVisit!.visit_date} (previous visit)</span>
                  {priorDescriptor ? (
                    <DeepZoomViewer ref={prior} testId="prior-viewer" label="Previous visit" dzi={priorDescriptor.frames[0].dzi}
                      imageSize={priorDescriptor} overlays={[]} overlayOpacity={0} pixelSpacingUm={priorDescriptor.pixel_spacing_um}
                      initialView={main.current?.getView() ?? null}
                      onViewChange={(view) => { const here = main.current?.getView(); if (here && (Math.abs(here.zoom - view.zoom) > 1e-6 || Math.hypot(here.centre.x - view.centre.x, here.centre.y - view.centre.y) > 1e-6)) main.current?.setView(view); }} />
                  ) : <p className="splash">Loading the previous visit…</p>}
                </div>
              ) : null}
              <DeepZoomViewer ref={main} testId="main-viewer" label={selected ? imageTitle(selected) : "image"}
                dzi={frameInfo.dzi} imageSize={descriptor} navigator keepView={frames > 1}
                initialView={views.current[family] ?? null}
                onViewChange={(view) => {
                  if (family) views.current[family] = view;
                  const there = prior.current?.getView(); // pan and zoom together with the previous visit
                  if (comparing && there && (Math.abs(there.zoom - view.zoom) > 1e-6 || Math.hypot(there.centre.x - view.centre.x, there.centre.y - view.centre.y) > 1e-6)) prior.current?.setView(view);
                }}
                overlays={overlay ? [{ id: overlay.id, dzi: overlay.dzi }] : []}
                overlayOpacity={overlayOn ? opacity : 0} polygons={mainPolygons} markers={rulerMarkers}
                pixelSpacingUm={descriptor.pixel_spacing_um}
                onImageClick={annotating ? (point) => setDraft((d) => [...d, point])
                  : measuring ? (point) => setRuler((r) => (r.length >= 2 ? [point] : [...r, point])) : undefined}
                onImageDoubleClick={annotating ? () => finishShape() : undefined} />
              </div>
            ) : <p className="splash">Loading image…</p>}
            {annotating ? (
              <div className="annotate-bar" role="toolbar" aria-label="Outlining">
                <span>Click to add points · double-click or Enter closes a shape · Esc drops it</span>
                <span className="num">{drawn.length} shape(s){draft.length ? `, ${draft.length} point(s) open` : ""}</span>
                <button type="button" onClick={finishShape} disabled={draft.length < 3}>Close shape</button>
                <button type="button" className="primary" onClick={() => void saveShapes()}>Save</button>
                <button type="button" onClick={() => { setDraft([]); setDrawn([]); setAnnotating(false); }}>Discard</button>
              </div>
            ) : null}
          </div>
          <div className="stage-foot">
            {frames > 1 ? (
              <label className="zslider">Frame {frame + 1}/{frames}
                <input type="range" min={0} max={frames - 1} step={1} value={frame} aria-label="Stack depth"
                  onChange={(e) => setFrame(Number(e.target.value))} />
                <span className="muted small">, and . step</span>
              </label>
            ) : null}
            {overlay && overlayOn ? <Legend entries={overlay.legend} /> : null}
            {selected && RCM.has(selected.kind) && annotations[selected.id] ? <Legend entries={[{ colour: EXPERT_COLOUR, label: "Expert outline (uninformative)" }]} /> : null}
            {overlay?.model ? <span className="muted small">{overlay.model.name} {overlay.model.version}</span> : null}
          </div>
        </section>
        <aside className="side" aria-label="Case details">
          {dermoscopy && dermoscopyDescriptor && selected && RCM.has(selected.kind) ? (
            <section className="panel derm" aria-label="Dermoscopy">
              <h2>Dermoscopy <span className="muted small">click to move the mosaic there</span>
                {mayWrite && caseOpen && selected && !selected.replaced_by && mosaicDescriptor ? (
                  <button type="button" className="link small" onClick={() => setRegistering(true)}>
                    {registration ? "Register again" : "Register this mosaic"}</button>) : null}</h2>
              <DeepZoomViewer testId="dermoscopy-panel" label="Dermoscopy" dzi={dermoscopyDescriptor.frames[0].dzi}
                imageSize={dermoscopyDescriptor} overlays={projection ? [{ id: projection.id, dzi: projection.dzi }] : []}
                overlayOpacity={overlayOn ? Math.max(opacity, 0.35) : 0} polygons={panelPolygons}
                onImageClick={(point) => {
                  if (!registration || !mosaicDescriptor) { setNotice({ kind: "error", text: "This mosaic has no registration to the dermoscopy: register it to steer it from here." }); return; }
                  const target = dermoscopyToMosaic(registration.matrix, point, mosaicDescriptor);
                  if (!target) { setNotice({ kind: "error", text: "That point is outside this mosaic's field." }); return; }
                  setNotice(null);
                  main.current?.panTo(target, 256);
                }} />
              <Legend entries={[
                ...(projection?.legend ?? []),
                { colour: OUTLINE_COLOUR, label: outline?.polygon?.length ? `Lesion outline (${outline.source === "model" ? "segmented by the model" : "outlined by a person"})` : "No lesion outline yet" },
                ...(registration ? [{ colour: FOOTPRINT_COLOUR, label: "This mosaic's field" }] : []),
              ]} />
            </section>
          ) : null}
          <QualityPanel quality={quality} selectedImage={selectedId} />
          <FindingsPanel findings={findings} />
          <ReportEditor ref={reportRef} caseId={caseId} report={report} mayWrite={mayWrite && claimed || (mayWrite && report != null && !caseOpen)}
            onChanged={(next) => { setReport(next); void api.GET("/api/v1/cases/{id}/", byId(caseId)).then(({ data }) => data && setCaseData(data)); }} />
        </aside>
      </div>
      {help ? (
        <div className="modal" role="dialog" aria-label="Keyboard shortcuts" onClick={() => setHelp(false)}>
          <div className="modal-card">
            <h3>Keyboard shortcuts</h3>
            <table className="compact"><tbody>
              {SHORTCUTS.map((s) => <tr key={s.action}><td><kbd>{s.keys.join(" / ")}</kbd></td><td>{s.description}</td></tr>)}
            </tbody></table>
          </div>
        </div>
      ) : null}
    </div>
  );
}
