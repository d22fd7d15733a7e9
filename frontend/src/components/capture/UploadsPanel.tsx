/** The dropped files of this visit, each with its declaration and upload, and the button that starts them. */
import type { Uploads } from "../../hooks/useUploads";
import { UploadRow } from "./UploadRow";

export function UploadsPanel({ uploads }: { uploads: Uploads }) {
  const { items, ready } = uploads;
  if (!items.length) return null;
  return (
    <section className="panel" aria-label="Uploads">
      <h2>Uploads <span className="spacer" />
        {ready.length ? <button type="button" className="primary" onClick={uploads.startAll}>Upload {ready.length} file{ready.length === 1 ? "" : "s"}</button> : null}
        {items.some((i) => i.state === "stored") ? <button type="button" className="link" onClick={uploads.clearFinished}>clear finished</button> : null}
      </h2>
      <ul className="uploads">
        {items.map((item) => <UploadRow key={item.key} item={item} onChange={(patch) => uploads.patch(item.key, patch)}
          onRemove={() => uploads.remove(item.key)} />)}
      </ul>
    </section>
  );
}
