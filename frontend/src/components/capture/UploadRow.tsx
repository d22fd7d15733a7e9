/** One dropped file: its declaration (kind, depth, pixel spacing; guessed from the name, checked
 * before it may start), then its upload's progress, or why it was not stored. */
import { bytesText } from "../../lib/capture";
import { DEPTH_LABELS, KIND_LABELS, declarationProblem, type DepthLevel, type ImageKind } from "../../lib/filenames";
import { isRcm, type UploadItem } from "../../lib/uploadItem";

export function UploadRow({ item, onChange, onRemove }: { item: UploadItem; onChange: (patch: Partial<UploadItem>) => void; onRemove: () => void }) {
  const problem = declarationProblem(item.kind, item.depth_level, item.pixel_spacing_um);
  const share = item.file.size ? Math.round((100 * item.sent) / item.file.size) : 100;
  const rcm = isRcm(item.kind);
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
            onChange={(e) => onChange({ kind: (e.target.value || null) as ImageKind | null, ...(isRcm(e.target.value) ? {} : { depth_level: "", depth_um: null }) })}>
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
