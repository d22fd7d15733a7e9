import { describe, expect, it } from "vitest";
import type { ExpertAnnotation, LesionOutline, ProblemRegion, Registration } from "../api/types";
import {
  EXPERT_COLOUR, FOOTPRINT_COLOUR, PROBLEM_COLOUR, captureDermoscopyShapes, captureMosaicShapes, readerMainShapes, readerPanelShapes,
} from "./viewerShapes";

const outline: LesionOutline = {
  image: "derm", source: "person", polygon: [[0, 0], [10, 0], [10, 10]], has_model_outline: false, updated_at: "2026-12-01T10:00:00Z",
};
const problem: ProblemRegion = {
  description: "upper left", dermoscopy_image: "derm", bbox: [1, 2, 3, 4], mosaic_bbox: [10, 20, 30, 40], share_percent: 12,
  within: "lesion", centroid: [2, 3], mosaic_centroid: [20, 30],
};
const halfScale: Registration = {
  dermoscopy: "derm", matrix: [[2, 0, 0], [0, 2, 0], [0, 0, 1]], landmarks: [], source: "landmarks", rms_error_px: 1,
  rms_error_um: 2, created_by: "reader", updated_at: "2026-12-01T10:00:00Z",
};
const mosaic = { width: 100, height: 50 };

describe("shapes on the capture page's viewers", () => {
  it("draws the lesion, the problem box and the mosaic's field on the dermoscopy", () => {
    const shapes = captureDermoscopyShapes({ outline, problem, dermoscopyId: "derm", registration: halfScale, mosaic });
    expect(shapes.map((s) => s.label)).toEqual(["Lesion", "Problem area", "The mosaic's field"]);
    expect(shapes[1]).toMatchObject({ points: [[1, 2], [3, 2], [3, 4], [1, 4]], colour: PROBLEM_COLOUR, dashed: true });
    expect(shapes[2]).toMatchObject({ points: [[0, 0], [50, 0], [50, 25], [0, 25]], colour: FOOTPRINT_COLOUR });
  });

  it("leaves out a problem box on another dermoscopy image, and a field it cannot compute", () => {
    const singular: Registration = { ...halfScale, matrix: [[0, 0, 0], [0, 0, 0], [0, 0, 1]] };
    const shapes = captureDermoscopyShapes({ outline: null, problem, dermoscopyId: "other", registration: singular, mosaic });
    expect(shapes).toEqual([]);
    expect(captureDermoscopyShapes({ outline: null, problem: null, dermoscopyId: "derm", registration: halfScale, mosaic: null })).toEqual([]);
  });

  it("draws the problem box on the mosaic in its own pixels", () => {
    expect(captureMosaicShapes({ problem })).toEqual([
      { points: [[10, 20], [30, 20], [30, 40], [10, 40]], colour: PROBLEM_COLOUR, closed: true, dashed: true }]);
    expect(captureMosaicShapes({ problem: { ...problem, mosaic_bbox: null } })).toEqual([]);
  });
});

describe("shapes on the reader's viewers", () => {
  const annotation: ExpertAnnotation = { image: "m", polygons: [[[0, 0], [1, 0], [1, 1]]], author: 3, updated_at: "2026-12-01T10:00:00Z" };

  it("shows expert outlines on a mosaic only, and the lesion on the dermoscopy only", () => {
    const onMosaic = readerMainShapes({ rcm: true, dermoscopy: false, annotation, outline, ruler: [], drawn: [], draft: [] });
    expect(onMosaic).toEqual([{ points: annotation.polygons[0], colour: EXPERT_COLOUR, dashed: true, label: "Expert: uninformative" }]);
    const onDermoscopy = readerMainShapes({ rcm: false, dermoscopy: true, annotation, outline, ruler: [], drawn: [], draft: [] });
    expect(onDermoscopy.map((s) => s.label)).toEqual(["Lesion (person)"]);
  });

  it("adds a finished ruler, the closed shapes and the open one", () => {
    const shapes = readerMainShapes({ rcm: false, dermoscopy: false, annotation: null, outline: null,
      ruler: [[0, 0], [5, 5]], drawn: [[[0, 0], [2, 0], [2, 2]]], draft: [[7, 7]] });
    expect(shapes.map((s) => [s.label ?? "", s.closed ?? true])).toEqual([["Measurement", false], ["", true], ["", false]]);
    expect(readerMainShapes({ rcm: false, dermoscopy: false, annotation: null, outline: null, ruler: [[0, 0]], drawn: [], draft: [] })).toEqual([]);
  });

  it("draws the lesion and the last mosaic's field on the dermoscopy panel", () => {
    expect(readerPanelShapes({ outline, registration: halfScale, mosaic }).map((s) => s.label)).toEqual(["Lesion outline", "Mosaic field"]);
    expect(readerPanelShapes({ outline: null, registration: halfScale, mosaic: null })).toEqual([]);
  });
});
