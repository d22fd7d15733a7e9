/** Keyboard shortcuts of the case viewer: one table drives both the key handler and the help panel. */

export type Action =
  | "depth_up" | "depth_down" | "frame_next" | "frame_previous"
  | "toggle_overlay" | "opacity_up" | "opacity_down"
  | "save_draft" | "sign" | "help" | "worklist" | "annotate" | "home";

export interface Shortcut {
  action: Action;
  keys: string[];
  description: string;
}

export const SHORTCUTS: Shortcut[] = [
  { action: "depth_up", keys: ["PageUp", "["], description: "Shallower image (towards stratum granulosum)" },
  { action: "depth_down", keys: ["PageDown", "]"], description: "Deeper image (towards papillary dermis)" },
  { action: "frame_previous", keys: [","], description: "Previous frame of a stack" },
  { action: "frame_next", keys: ["."], description: "Next frame of a stack" },
  { action: "toggle_overlay", keys: ["o"], description: "Show or hide the overlay" },
  { action: "opacity_up", keys: ["="], description: "Overlay more opaque" },
  { action: "opacity_down", keys: ["-"], description: "Overlay more transparent" },
  { action: "home", keys: ["h"], description: "Fit the image to the screen" },
  { action: "annotate", keys: ["a"], description: "Start or stop outlining an area" },
  { action: "save_draft", keys: ["Ctrl+s"], description: "Save the report draft" },
  { action: "sign", keys: ["Ctrl+Enter"], description: "Sign the report (asks for your password)" },
  { action: "worklist", keys: ["w"], description: "Back to the worklist" },
  { action: "help", keys: ["?"], description: "Show these shortcuts" },
];

export interface KeyPress {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  target?: { tagName?: string; type?: string; isContentEditable?: boolean } | null;
}

const NOT_TEXT = new Set(["range", "checkbox", "radio", "button", "submit"]);

/** A text field has the focus (a slider or checkbox does not count: the viewer keys still work). */
function typing(target: KeyPress["target"]): boolean {
  const tag = target?.tagName?.toUpperCase();
  if (tag === "INPUT") return !NOT_TEXT.has((target?.type ?? "text").toLowerCase());
  return Boolean(target?.isContentEditable || tag === "TEXTAREA" || tag === "SELECT");
}

/** The action a key press asks for, or null. Plain keys are ignored while typing in a field;
 * Ctrl (or ⌘) combinations work everywhere, so a reader can save or sign from the text box. */
export function actionFor(press: KeyPress): Action | null {
  const modifier = press.ctrlKey || press.metaKey;
  if (modifier) {
    if (press.key.toLowerCase() === "s") return "save_draft";
    if (press.key === "Enter") return "sign";
    return null;
  }
  if (press.altKey || typing(press.target)) return null;
  const key = press.key.length === 1 ? press.key.toLowerCase() : press.key;
  for (const shortcut of SHORTCUTS) {
    if (shortcut.keys.some((k) => !k.includes("Ctrl") && !k.includes(" ") && (k.length === 1 ? k.toLowerCase() : k) === key)) {
      return shortcut.action;
    }
  }
  if (key === "+") return "opacity_up";
  return null;
}

export function clampOpacity(value: number): number {
  return Math.round(Math.min(1, Math.max(0, value)) * 100) / 100;
}
