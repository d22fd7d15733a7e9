/** A case as a reader works on it: the image rail (RCM mosaics by depth, stacks, dermoscopy,
 * clinical photo), the deep-zoom viewer with its overlays and outlines, the dermoscopy panel that
 * steers the mosaic through the registration, the quality block, model results and the report. */
import { useEffect, useMemo, useRef, useState } from "react";
import { api, errorMessage } from "../api/client";
import { fetchAnnotation, fetchRegistration, fetchViewer } from "../api/reads";
import type { Me } from "../api/types";
import type { DeepZoomHandle, ViewState, ViewerMarker } from "../components/DeepZoomViewer";
import { FindingsPanel } from "../components/FindingsPanel";
import { Link } from "../components/Link";
import { QualityPanel } from "../components/QualityPanel";
import { AnnotateBar } from "../components/reading/AnnotateBar";
import { CaseBar } from "../components/reading/CaseBar";
import { DermoscopyPanel } from "../components/reading/DermoscopyPanel";
import { ImageRail } from "../components/reading/ImageRail";
import { ShortcutsHelp } from "../components/reading/ShortcutsHelp";
import { StageFoot } from "../components/reading/StageFoot";
import { StageToolbar } from "../components/reading/StageToolbar";
import { StageViewers } from "../components/reading/StageViewers";
import { RegistrationEditor } from "../components/RegistrationEditor";
import { ReportEditor, type ReportHandle } from "../components/ReportEditor";
import { useLesionOutline } from "../hooks/useLesionOutline";
import { useOverlaySettings } from "../hooks/useOverlaySettings";
import { usePerImage } from "../hooks/usePerImage";
import { useReaderCase } from "../hooks/useReaderCase";
import { useReadingShortcuts } from "../hooks/useReadingShortcuts";
import { useShapeDrawing } from "../hooks/useShapeDrawing";
import { imageTitle, readingOrder, stepDepth } from "../lib/depth";
import { RCM_KINDS, overlayChoicesFor, overlayFamily, priorMosaicOf } from "../lib/readingView";
import { distanceUm, lengthText, type Point } from "../lib/registration";
import { navigate } from "../lib/route";
import { clampOpacity, type Action } from "../lib/shortcuts";
import { RULER_COLOUR, readerMainShapes, readerPanelShapes } from "../lib/viewerShapes";

export function CasePage({ caseId, me }: { caseId: string; me: Me }) {
  const reading = useReaderCase({ caseId });
  const { caseData, missing, images, quality, assignment, report } = reading;
  const viewers = usePerImage({ fetchOne: fetchViewer });
  const registrations = usePerImage({ fetchOne: fetchRegistration });
  const annotations = usePerImage({ fetchOne: fetchAnnotation });
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [lastMosaicId, setLastMosaicId] = useState<string | null>(null);
  const [frame, setFrame] = useState(0);
  const views = useRef<Record<string, ViewState>>({});  // kept per image family, as the overlay settings
  const [measuring, setMeasuring] = useState(false);
  const [ruler, setRuler] = useState<Point[]>([]);
  const [registering, setRegistering] = useState(false);
  const [comparing, setComparing] = useState(false);
  const [overlayKind, setOverlayKind] = useState<string>("quality");
  const drawing = useShapeDrawing();
  const [notice, setNotice] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [help, setHelp] = useState(false);
  const main = useRef<DeepZoomHandle>(null);
  const prior = useRef<DeepZoomHandle>(null);
  const reportRef = useRef<ReportHandle>(null);

  const ordered = useMemo(() => readingOrder(images.filter((image) => !image.replaced_by)), [images]);
  const replaced = useMemo(() => readingOrder(images.filter((image) => image.replaced_by)), [images]);
  const selected = ordered.find((image) => image.id === selectedId) ?? replaced.find((image) => image.id === selectedId) ?? null;
  const rcm = Boolean(selected && RCM_KINDS.has(selected.kind));
  const family = overlayFamily({ image: selected });
  const overlaySettings = useOverlaySettings({ family, kind: selected?.kind });
  const { on: overlayOn, opacity, setOn: setOverlayOn, setOpacity } = overlaySettings;
  const dermoscopy = ordered.find((image) => image.kind === "dermoscopy" && image.status === "ready") ?? null;
  const descriptor = selected ? viewers.records[selected.id] : undefined;
  const mayWrite = assignment?.active?.reader.id === me.id;
  const claimed = Boolean(assignment?.active?.claimed_at);
  const caseOpen = caseData ? !["signed", "amended"].includes(caseData.status) : false;
  const { outline, reloadOutline } = useLesionOutline({ dermoscopyId: dermoscopy?.id ?? null, quality });

  // Start on the dermal-epidermal junction (what the quality gate judges), else the first image.
  useEffect(() => {
    if (selectedId || !ordered.length) return;
    const start = ordered.find((image) => image.depth_level === "dej" && image.kind === "rcm_mosaic") ?? ordered[0];
    setSelectedId(start.id);
  }, [ordered, selectedId]);

  useEffect(() => {
    if (!selected) return;
    viewers.ensure(selected.id);
    if (RCM_KINDS.has(selected.kind)) {
      setLastMosaicId(selected.id);
      registrations.ensure(selected.id);
      annotations.ensure(selected.id);
    }
    setFrame(0);
    drawing.clear();
  }, [selected?.id]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => { if (dermoscopy) viewers.ensure(dermoscopy.id); }, [dermoscopy?.id]); // eslint-disable-line react-hooks/exhaustive-deps

  // The overlays this image can show; the chosen kind is kept across images when it exists.
  const overlayChoices = useMemo(() => overlayChoicesFor({ overlays: descriptor?.overlays ?? [], kind: selected?.kind, lastMosaicId }),
    [descriptor, selected?.kind, lastMosaicId]);
  const overlay = overlayChoices.find((o) => o.kind === overlayKind) ?? overlayChoices[0] ?? null;

  const registration = lastMosaicId ? registrations.records[lastMosaicId] : null;
  const mosaicDescriptor = lastMosaicId ? viewers.records[lastMosaicId] : null;
  const dermoscopyDescriptor = dermoscopy ? viewers.records[dermoscopy.id] : null;
  const projection = dermoscopyDescriptor?.overlays.find((o) => o.kind === "projection" && o.source_image === lastMosaicId) ?? null;

  // The same lesion's previous visit, and its mosaic at the depth shown now (for side-by-side reading).
  const { previousVisit, priorMosaic } = priorMosaicOf({ history: reading.history, image: selected });
  useEffect(() => {
    if (comparing && priorMosaic) viewers.ensure(priorMosaic.image);
  }, [comparing, priorMosaic?.image]); // eslint-disable-line react-hooks/exhaustive-deps

  const annotation = selected ? annotations.records[selected.id] : undefined;
  const mainPolygons = readerMainShapes({ rcm, dermoscopy: selected?.kind === "dermoscopy", annotation, outline, ruler,
    drawn: drawing.drawn, draft: drawing.draft });
  const rulerMarkers: ViewerMarker[] = ruler.map((point, index) => ({ point, label: index ? "B" : "A", colour: RULER_COLOUR }));
  const measuredUm = ruler.length === 2 ? distanceUm(ruler[0], ruler[1], descriptor?.pixel_spacing_um) : null;

  const selectImage = (id: string) => {
    const view = main.current?.getView();
    if (view && family) views.current[family] = view; // come back to this image (or its field) as it was left
    setSelectedId(id); drawing.setAnnotating(false); setRuler([]);
  };

  const saveShapes = async () => {
    if (!selected) return;
    const shapes = drawing.shapes();
    if (!shapes.length) { setNotice({ kind: "error", text: "Outline at least one area (3 or more points) first." }); return; }
    const path = { params: { path: { id: selected.id } } };
    const { error } = selected.kind === "dermoscopy"
      ? await api.PUT("/api/v1/images/{id}/lesion-outline/", { ...path, body: { polygon: shapes[shapes.length - 1] } as never })
      : await api.PUT("/api/v1/images/{id}/expert-annotation/", { ...path,
        body: { polygons: [...(annotations.records[selected.id]?.polygons ?? []), ...shapes] } as never });
    if (error) { setNotice({ kind: "error", text: errorMessage(error, "The outline was not saved.") }); return; }
    setNotice({ kind: "ok", text: selected.kind === "dermoscopy" ? "Lesion outline saved; quality is re-judged." : "Expert annotation saved; agreement with the model follows." });
    drawing.discard();
    if (selected.kind === "dermoscopy") void reloadOutline();
    else { void annotations.reload(selected.id); setOverlayKind("agreement"); }
    await viewers.reload(selected.id);
    await reading.loadQuality();
  };

  const claim = async (action: "claim" | "release") => {
    const path = action === "claim" ? "/api/v1/cases/{id}/claim/" : "/api/v1/cases/{id}/release/";
    const { error } = await api.POST(path, { params: { path: { id: caseId } } });
    if (error) setNotice({ kind: "error", text: errorMessage(error) });
    else setNotice({ kind: "ok", text: action === "claim" ? "Case claimed: you are reading it." : "Case released." });
    await reading.load();
  };

  // Keyboard shortcuts (see lib/shortcuts.ts; ? shows them).
  const frames = descriptor?.frames.length ?? 1;
  const runShortcut = (action: Action) => {
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
      case "annotate": if (mayWrite && caseOpen) drawing.setAnnotating((on) => !on); break;
      case "save_draft": reportRef.current?.save(); break;
      case "sign": reportRef.current?.sign(); break;
      case "worklist": navigate("/"); break;
      case "help": setHelp((on) => !on); break;
    }
  };
  useReadingShortcuts({ helpOpen: help, closeHelp: () => setHelp(false), outlining: drawing.annotating,
    finishShape: drawing.finishShape, dropDraft: drawing.dropDraft, onAction: runShortcut });

  if (missing) return <div className="notice" role="alert">{missing} <Link to="/">Back to the worklist</Link></div>;
  if (!caseData) return <div className="splash">Loading case…</div>;

  const frameInfo = descriptor?.frames[Math.min(frame, frames - 1)];
  const mayOutline = mayWrite && caseOpen && selected && (rcm || selected.kind === "dermoscopy");
  return (
    <div className="case">
      <CaseBar caseData={caseData} caseId={caseId} notice={notice} assignment={assignment} mayWrite={mayWrite} claimed={claimed}
        caseOpen={caseOpen} visits={reading.history?.visits ?? []} onClaim={(action) => void claim(action)} onHelp={() => setHelp((on) => !on)} />
      {registering && dermoscopy && dermoscopyDescriptor && lastMosaicId && mosaicDescriptor ? (
        <RegistrationEditor mosaicId={lastMosaicId} mosaicTitle={imageTitle(ordered.find((i) => i.id === lastMosaicId) ?? { kind: "rcm_mosaic" })}
          mosaic={mosaicDescriptor} dermoscopyId={dermoscopy.id} dermoscopy={dermoscopyDescriptor}
          existing={registration ?? null} onClose={() => setRegistering(false)}
          onSaved={(saved) => {
            registrations.put(lastMosaicId, saved);
            setRegistering(false);
            setNotice({ kind: "ok", text: `Registration saved${saved.rms_error_um != null ? ` (RMS error ${lengthText(saved.rms_error_um)})` : ""}; quality is re-judged.` });
            void viewers.reload(dermoscopy.id);
            void reading.loadQuality();
          }} />
      ) : null}
      <div className="case-layout" hidden={registering}>
        <ImageRail ordered={ordered} replaced={replaced} selectedId={selectedId} quality={quality} onSelect={selectImage} />
        <section className="stage" aria-label="Viewer">
          <StageToolbar title={selected ? imageTitle(selected) : ""} frameDepthUm={frames > 1 ? frameInfo?.depth_um : null}
            pixelSpacingUm={descriptor?.pixel_spacing_um} overlayChoices={overlayChoices} overlay={overlay} onOverlayKind={setOverlayKind}
            overlayOn={overlayOn} onOverlayOn={setOverlayOn} opacity={opacity} onOpacity={(value) => { setOpacity(value); setOverlayOn(true); }}
            onZoom={(factor) => main.current?.zoomBy(factor)} onHome={() => main.current?.home()}
            measuring={measuring} onMeasure={() => { setMeasuring((on) => !on); setRuler([]); drawing.setAnnotating(false); }}
            measuredUm={measuredUm} rulerPoints={ruler.length}
            compareWith={priorMosaic ? previousVisit!.visit_date : null} comparing={comparing} onCompare={() => setComparing((on) => !on)}
            outlineTool={mayOutline ? (selected.kind === "dermoscopy" ? "lesion" : "expert") : null}
            annotating={drawing.annotating} onAnnotate={() => drawing.setAnnotating((on) => !on)} />
          <div className="stage-view">
            <StageViewers selected={selected} descriptor={descriptor} frameInfo={frameInfo} keepView={frames > 1} main={main} prior={prior}
              initialView={views.current[family] ?? null} onViewChange={(view) => { if (family) views.current[family] = view; }}
              overlays={overlay ? [{ id: overlay.id, dzi: overlay.dzi }] : []} overlayOpacity={overlayOn ? opacity : 0}
              polygons={mainPolygons} markers={rulerMarkers}
              onImageClick={drawing.annotating ? drawing.addPoint
                : measuring ? (point) => setRuler((r) => (r.length >= 2 ? [point] : [...r, point])) : undefined}
              onImageDoubleClick={drawing.annotating ? () => drawing.finishShape() : undefined}
              comparison={comparing && priorMosaic && previousVisit ? { visit: previousVisit, descriptor: viewers.records[priorMosaic.image] } : null} />
            {drawing.annotating ? <AnnotateBar drawing={drawing} onSave={() => void saveShapes()} /> : null}
          </div>
          <StageFoot frame={frame} frames={frames} onFrame={setFrame} overlay={overlay && overlayOn ? overlay : null} model={overlay?.model}
            expertOutlined={rcm && Boolean(annotation)} />
        </section>
        <aside className="side" aria-label="Case details">
          {dermoscopy && dermoscopyDescriptor && rcm ? (
            <DermoscopyPanel dermoscopy={dermoscopyDescriptor} mosaic={mosaicDescriptor} registration={registration} projection={projection}
              outline={outline} polygons={readerPanelShapes({ outline, registration, mosaic: mosaicDescriptor })}
              overlayOpacity={overlayOn ? Math.max(opacity, 0.35) : 0}
              mayRegister={Boolean(mayWrite && caseOpen && selected && !selected.replaced_by && mosaicDescriptor)}
              onRegister={() => setRegistering(true)}
              onSteer={(target, problem) => {
                setNotice(problem ? { kind: "error", text: problem } : null);
                if (target) main.current?.panTo(target, 256);
              }} />
          ) : null}
          <QualityPanel quality={quality} selectedImage={selectedId} />
          <FindingsPanel findings={reading.findings} />
          <ReportEditor ref={reportRef} caseId={caseId} report={report} mayWrite={mayWrite && claimed || (mayWrite && report != null && !caseOpen)}
            onChanged={(next) => { reading.setReport(next); void reading.loadCase(); }} />
        </aside>
      </div>
      {help ? <ShortcutsHelp onClose={() => setHelp(false)} /> : null}
    </div>
  );
}
