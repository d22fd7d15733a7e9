/** Where the technician adds images: drop them, or choose files. The hidden replacement input is
 * here too; the page opens it for "Replace image". */
import { useRef, useState, type RefObject } from "react";

const ACCEPT = ".tif,.tiff,.png,.jpg,.jpeg,.bmp,image/*";

interface Props {
  onFiles: (files: FileList) => void;
  replaceInput: RefObject<HTMLInputElement | null>;
  onReplacement: (file: File) => void;
}

export function AddImages({ onFiles, replaceInput, onReplacement }: Props) {
  const [dragging, setDragging] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  return (
    <section className={`dropzone${dragging ? " over" : ""}`} aria-label="Add images"
      onDragOver={(e) => { e.preventDefault(); setDragging(true); }} onDragLeave={() => setDragging(false)}
      onDrop={(e) => { e.preventDefault(); setDragging(false); onFiles(e.dataTransfer.files); }}>
      <p><strong>Drop images here</strong> or <button type="button" className="link" onClick={() => fileInput.current?.click()}>choose files</button></p>
      <p className="small muted">RCM mosaics and stacks, dermoscopy, clinical photos (TIFF, PNG, JPEG, BMP). Large files resume after a dropped connection.</p>
      <input ref={fileInput} type="file" multiple hidden data-testid="file-input" accept={ACCEPT}
        onChange={(e) => { if (e.target.files) onFiles(e.target.files); e.target.value = ""; }} />
      <input ref={replaceInput} type="file" hidden data-testid="replace-input" accept={ACCEPT}
        onChange={(e) => { if (e.target.files?.length) onReplacement(e.target.files[0]); e.target.value = ""; }} />
    </section>
  );
}
