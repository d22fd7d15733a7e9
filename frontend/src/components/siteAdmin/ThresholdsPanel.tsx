/** The site's quality thresholds (GET|PUT /api/v1/sites/{id}/quality-policy/): the % uninformative
 * at which a mosaic is flagged for review and at which re-imaging is recommended. */
import { useEffect, useState } from "react";
import { api, errorMessage } from "../../api/client";
import type { QualityPolicy } from "../../api/types";
import { problemText } from "../../lib/siteAdmin";
import { OutcomeMessage, type Outcome } from "../OutcomeMessage";


export function ThresholdsPanel({ siteId }: { siteId: string }) {
  const [review, setReview] = useState("");
  const [reimage, setReimage] = useState("");
  const [isDefault, setIsDefault] = useState(false);
  const [message, setMessage] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);

  const show = (policy: QualityPolicy) => {
    setReview(String(policy.review_at_percent));
    setReimage(String(policy.reimage_at_percent));
    setIsDefault(Boolean(policy.is_default));
  };
  useEffect(() => {
    setMessage(null);
    void api.GET("/api/v1/sites/{id}/quality-policy/", { params: { path: { id: siteId } } }).then(({ data, error }) => {
      if (data) show(data);
      else setMessage({ ok: false, text: errorMessage(error, "The thresholds could not be loaded.") });
    });
  }, [siteId]);

  const save = async () => {
    setBusy(true);
    const { data, error } = await api.PUT("/api/v1/sites/{id}/quality-policy/", {
      params: { path: { id: siteId } },
      // Sent as typed (an empty or odd value too): the server names what is wrong with it.
      body: { review_at_percent: review.trim() === "" ? (null as never) : Number(review),
              reimage_at_percent: reimage.trim() === "" ? (null as never) : Number(reimage) },
    });
    setBusy(false);
    if (data) {
      show(data);
      setMessage({ ok: true, text: "Thresholds saved. Open cases are judged again with them within seconds; signed cases keep theirs." });
    } else setMessage({ ok: false, text: problemText(error, "The thresholds were not saved.") });
  };

  return (
    <section className="panel" aria-label="Quality thresholds" data-testid="thresholds">
      <h2>Quality thresholds {isDefault ? <span className="badge">platform defaults</span> : null}</h2>
      <p className="small muted">A mosaic whose uninformative area (within the lesion when it is outlined and registered,
        else over the whole mosaic) reaches “review at” is flagged for review; at “re-image at” the technician is told to re-image.</p>
      <form className="form-grid" onSubmit={(e) => { e.preventDefault(); void save(); }}>
        <label>Review at (%) <input type="number" step="0.1" min="0.1" max="100" value={review}
          onChange={(e) => setReview(e.target.value)} /></label>
        <label>Re-image at (%) <input type="number" step="0.1" min="0.1" max="100" value={reimage}
          onChange={(e) => setReimage(e.target.value)} /></label>
        <div className="actions"><button type="submit" className="primary" disabled={busy}>Save thresholds</button></div>
        <OutcomeMessage outcome={message} />
      </form>
    </section>
  );
}
