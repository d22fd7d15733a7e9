import { useEffect, useState, type FormEvent } from "react";

/** Asks why the case is recalled (the reader and the site admin see the reason): a recall without
 * one is refused here and by the platform. The dialog stays open with the server's refusal. */
export function RecallDialog({ onRecall, onCancel }: { onRecall: (reason: string) => Promise<string | null>; onCancel: () => void }) {
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
