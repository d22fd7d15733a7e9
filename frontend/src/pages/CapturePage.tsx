/** The technician's page for one case, used while the patient is still in the room: drop the
 * images, watch each one go stored → pyramid → analysed, see the quality verdict of every mosaic
 * with its overlay and lesional %, and where the problem lies on the dermoscopy when re-imaging is
 * recommended; replace a mosaic (the old one is kept as history), submit, read the signed report. */
import { useEffect, useMemo, useRef, useState } from "react";
import { api, errorMessage } from "../api/client";
import { fetchRegistration } from "../api/reads";
import type { CaseImage, Me } from "../api/types";
import { AddImages } from "../components/capture/AddImages";
import { CaptureViewers } from "../components/capture/CaptureViewers";
import { CaseImageList } from "../components/capture/CaseImageList";
import { ClinicReport } from "../components/capture/ClinicReport";
import { RecallDialog } from "../components/capture/RecallDialog";
import { UploadsPanel } from "../components/capture/UploadsPanel";
import { VerdictPanel } from "../components/capture/VerdictPanel";
import { Link } from "../components/Link";
import { OutlineEditor } from "../components/OutlineEditor";
import { RegistrationEditor } from "../components/RegistrationEditor";
import { useCaptureCase } from "../hooks/useCaptureCase";
import { useCaptureViewers } from "../hooks/useCaptureViewers";
import { useLesionOutline } from "../hooks/useLesionOutline";
import { usePerImage } from "../hooks/usePerImage";
import { useUploads } from "../hooks/useUploads";
import { basisGuidance, shownMosaicOf } from "../lib/captureView";
import { imageTitle } from "../lib/depth";
import { REPORT_TEXT, STATUS_TEXT } from "../lib/format";
import { lengthText } from "../lib/registration";
import { navigate } from "../lib/route";
import { captureDermoscopyShapes, captureMosaicShapes } from "../lib/viewerShapes";

const EDITABLE = new Set(["draft", "recall_requested"]);
const RECALLABLE = new Set(["submitted", "processing", "ready_for_reading"]);
const byId = (id: string) => ({ params: { path: { id } } });

type Notice = { kind: "ok" | "error"; text: string };

export function CapturePage({ caseId }: { caseId: string; me: Me }) {
  const uploads = useUploads({ caseId, onStored: () => { void capture.refresh(); } });
  const capture = useCaptureCase({ caseId, uploading: uploads.uploading });
  const { caseData, missing, quality, current, history, report, refresh } = capture;
  const [selectedMosaic, setSelectedMosaic] = useState<string | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [editing, setEditing] = useState<{ tool: "register"; mosaicId: string } | { tool: "outline" } | null>(null);
  const [recalling, setRecalling] = useState(false);
  const replaceInput = useRef<HTMLInputElement>(null);
  const replacing = useRef<CaseImage | null>(null);

  const qualityOf = useMemo(() => new Map((quality?.mosaics ?? []).map((m) => [m.image, m])), [quality]);
  const shownMosaic = shownMosaicOf({ mosaics: current.filter((image) => image.kind === "rcm_mosaic"),
    judged: quality?.mosaics ?? [], picked: selectedMosaic });
  const dermoscopy = current.find((image) => image.kind === "dermoscopy") ?? null;
  const shownQuality = shownMosaic ? qualityOf.get(shownMosaic.id) ?? null : null;
  const { viewers, refetch } = useCaptureViewers({ mosaic: shownMosaic, dermoscopy, judged: shownQuality, quality });
  const registrations = usePerImage({ fetchOne: fetchRegistration });
  const { ensure: ensureRegistration } = registrations;
  const shownMosaicId = shownMosaic?.id ?? null;
  useEffect(() => { if (shownMosaicId) ensureRegistration(shownMosaicId); }, [shownMosaicId, ensureRegistration]);
  const { outline, setOutline } = useLesionOutline({ dermoscopyId: dermoscopy?.status === "ready" ? dermoscopy.id : null, quality });
  const editable = caseData ? EDITABLE.has(caseData.status) : false;

  const remove = async (image: CaseImage) => {
    if (!window.confirm(`Remove ${imageTitle(image)} from this case?`)) return;
    const { error } = await api.DELETE("/api/v1/images/{id}/", byId(image.id));
    setNotice(error ? { kind: "error", text: errorMessage(error) } : { kind: "ok", text: "Image removed." });
    void refresh();
  };

  const replace = (image: CaseImage) => {
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

  if (missing) return <div className="notice" role="alert">{missing} <Link to="/clinic">Back to the cases</Link></div>;
  if (!caseData) return <div className="splash">Loading the case…</div>;

  const mosaicViewer = shownMosaic ? viewers[shownMosaic.id] : null;
  const dermoscopyViewer = dermoscopy ? viewers[dermoscopy.id] : null;
  const qualityOverlay = mosaicViewer?.overlays.find((o) => o.kind === "quality") ?? null;
  const projection = dermoscopyViewer?.overlays.find((o) => o.kind === "projection" && o.source_image === shownMosaic?.id) ?? null;
  const problem = shownQuality?.problem_region;
  const registration = shownMosaic ? registrations.records[shownMosaic.id] : undefined;
  const dermoscopyShapes = captureDermoscopyShapes({ outline, problem, dermoscopyId: dermoscopy?.id ?? null, registration,
    mosaic: mosaicViewer && dermoscopyViewer ? mosaicViewer : null });
  const mayDraw = editable && Boolean(dermoscopy && dermoscopyViewer);
  const guidance = basisGuidance({ mosaic: shownQuality, hasDermoscopy: Boolean(dermoscopy), registration,
    outline, mayDraw, mayRegister: mayDraw && Boolean(mosaicViewer) });

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
        {editable ? <button type="button" className="primary" onClick={submit} disabled={!current.length || capture.unsettled}
          title={capture.unsettled ? "Wait until every image is stored and analysed" : undefined}>Submit for reading</button> : null}
        {RECALLABLE.has(caseData.status) ? <button type="button" onClick={() => setRecalling(true)}>Recall from reading…</button> : null}
      </div>
      {notice ? <p className={notice.kind === "error" ? "error banner" : "ok banner"} role="status">{notice.text}</p> : null}
      <div className="capture-layout">
        <aside className="capture-side">
          {editable ? (
            <AddImages onFiles={(files) => uploads.add(files)} replaceInput={replaceInput}
              onReplacement={(file) => { if (replacing.current) uploads.add([file], replacing.current); }} />
          ) : <p className="muted small panel">This case is {STATUS_TEXT[caseData.status]?.toLowerCase()}: its images can no longer change.</p>}
          <UploadsPanel uploads={uploads} />
          <CaseImageList current={current} history={history} shownMosaicId={shownMosaicId} progressOf={capture.progressOf}
            qualityOf={qualityOf} editable={editable} onShowMosaic={setSelectedMosaic} onReplace={replace} onRemove={(image) => void remove(image)} />
        </aside>
        <div className="capture-main">
          <VerdictPanel quality={quality} shownMosaicId={shownMosaicId} shownQuality={shownQuality} guidance={guidance}
            registration={registration} outline={outline} editable={editable} onShowMosaic={setSelectedMosaic}
            onReplace={(imageId) => { const image = current.find((i) => i.id === imageId); if (image) replace(image); }}
            onRegister={() => shownMosaic && setEditing({ tool: "register", mosaicId: shownMosaic.id })}
            onOutline={() => setEditing({ tool: "outline" })} />
          {editing?.tool === "register" && mosaicViewer && dermoscopyViewer && dermoscopy && shownMosaic ? (
            <RegistrationEditor mosaicId={shownMosaic.id} mosaicTitle={imageTitle(shownMosaic)} mosaic={mosaicViewer}
              dermoscopyId={dermoscopy.id} dermoscopy={dermoscopyViewer} existing={registration ?? null}
              onClose={() => setEditing(null)}
              onSaved={(saved) => {
                registrations.put(shownMosaic.id, saved);
                setEditing(null);
                setNotice({ kind: "ok", text: `Registration saved${saved.rms_error_um != null ? ` (RMS error ${lengthText(saved.rms_error_um)})` : ""}: the mosaic is judged within the lesion again.` });
                refetch(dermoscopy.id); // its projection overlay follows the new registration
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
          <CaptureViewers mosaic={shownMosaic} mosaicViewer={mosaicViewer} qualityOverlay={qualityOverlay}
            mosaicShapes={captureMosaicShapes({ problem })} dermoscopy={dermoscopy} dermoscopyViewer={dermoscopyViewer}
            projection={projection} dermoscopyShapes={dermoscopyShapes} outline={outline} registration={registration}
            problem={problem} hidden={editing !== null} />
          {report ? <ClinicReport report={report} caseId={caseId} /> : null}
        </div>
      </div>
      {recalling ? <RecallDialog onRecall={recall} onCancel={() => setRecalling(false)} /> : null}
    </section>
  );
}
