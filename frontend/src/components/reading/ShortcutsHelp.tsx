/** The keyboard shortcuts of the case viewer, from the same table the key handler reads. */
import { SHORTCUTS } from "../../lib/shortcuts";

export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  return (
    <div className="modal" role="dialog" aria-label="Keyboard shortcuts" onClick={onClose}>
      <div className="modal-card">
        <h3>Keyboard shortcuts</h3>
        <table className="compact"><tbody>
          {SHORTCUTS.map((s) => <tr key={s.action}><td><kbd>{s.keys.join(" / ")}</kbd></td><td>{s.description}</td></tr>)}
        </tbody></table>
      </div>
    </div>
  );
}
