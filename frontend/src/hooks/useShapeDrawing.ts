/** Outlining areas on the reader's viewer, point by point: the open shape (`draft`), the shapes
 * already closed (`drawn`), and whether outlining is on. A shape closes with 3 points or more. */
import { useState } from "react";
import type { Point } from "../lib/registration";

export interface ShapeDrawing {
  annotating: boolean;
  setAnnotating: (on: boolean | ((was: boolean) => boolean)) => void;
  draft: Point[];
  drawn: Point[][];
  addPoint: (point: Point) => void;
  finishShape: () => void;
  /** Drops the open shape only (Esc). */
  dropDraft: () => void;
  /** Drops every shape, keeping outlining as it is (another image was chosen). */
  clear: () => void;
  /** Drops every shape and stops outlining. */
  discard: () => void;
  /** The closed shapes, with the open one when it could close. */
  shapes: () => Point[][];
}

export function useShapeDrawing(): ShapeDrawing {
  const [annotating, setAnnotating] = useState(false);
  const [draft, setDraft] = useState<Point[]>([]);
  const [drawn, setDrawn] = useState<Point[][]>([]);
  const clear = () => { setDraft([]); setDrawn([]); };
  return {
    annotating, setAnnotating, draft, drawn,
    addPoint: (point) => setDraft((d) => [...d, point]),
    finishShape: () => {
      if (draft.length >= 3) setDrawn((current) => [...current, draft]);
      setDraft([]);
    },
    dropDraft: () => setDraft([]),
    clear,
    discard: () => { clear(); setAnnotating(false); },
    shapes: () => (draft.length >= 3 ? [...drawn, draft] : drawn),
  };
}
