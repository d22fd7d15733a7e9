import { describe, expect, it } from "vitest";
import { csrfToken, errorMessage } from "../api/client";
import { readingOrder, stepDepth } from "./depth";
import { percent, verdictText, waitingText } from "./format";
import { draftBody, emptyFields, signingProblems } from "./report";
import { actionFor, clampOpacity } from "./shortcuts";

const image = (id: string, kind: string, depth_level = "", depth_um: number | null = null) =>
  ({ id, kind, depth_level, depth_um, created_at: `2026-11-24T00:00:0${id.length}Z`, frames: 1 });

describe("reading order", () => {
  it("descends from stratum granulosum to papillary dermis, then stacks, dermoscopy, clinical", () => {
    const ordered = readingOrder([
      image("clin", "clinical"), image("derm", "dermoscopy"), image("pd", "rcm_mosaic", "papillary_dermis", 120),
      image("stack", "rcm_stack", "dej", 60), image("sg", "rcm_mosaic", "stratum_granulosum", 20),
      image("dej", "rcm_mosaic", "dej", 80), image("other", "rcm_mosaic", "other", 200),
    ]);
    expect(ordered.map((i) => i.id)).toEqual(["sg", "dej", "pd", "other", "stack", "derm", "clin"]);
  });

  it("steps through RCM images only and stops at both ends", () => {
    const ordered = readingOrder([image("sg", "rcm_mosaic", "stratum_granulosum"), image("dej", "rcm_mosaic", "dej"),
      image("derm", "dermoscopy")]);
    expect(stepDepth(ordered, "sg", 1).id).toBe("dej");
    expect(stepDepth(ordered, "dej", 1).id).toBe("dej");
    expect(stepDepth(ordered, "sg", -1).id).toBe("sg");
    expect(stepDepth(ordered, "derm", 1).id).toBe("sg");
  });
});

describe("format", () => {
  it("says how long a case has waited", () => {
    expect(waitingText(null)).toBe("—");
    expect(waitingText(30)).toBe("< 1 min");
    expect(waitingText(61 * 60)).toBe("1 h 1 min");
    expect(waitingText(3 * 86400 + 7200)).toBe("3 d 2 h");
  });

  it("names verdicts and pending ones", () => {
    expect(verdictText("reimage")).toBe("Re-image recommended");
    expect(verdictText(null)).toBe("Pending");
    expect(verdictText("review", false)).toBe("Review (provisional)");
    expect(percent(9.5332)).toBe("9.5%");
    expect(percent(null)).toBe("—");
  });
});

describe("report rules", () => {
  it("lists what stops signing", () => {
    expect(signingProblems(emptyFields())).toEqual(["Choose a diagnosis.", "Choose a management recommendation."]);
    const followUp = { ...emptyFields(), diagnosis: "other" as const, management: "follow_up" as const };
    expect(signingProblems(followUp)).toEqual([
      "Describe the other diagnosis.", "Give the follow-up interval in months (1–120).",
    ]);
    expect(signingProblems({ ...followUp, diagnosis_other: "Seborrhoeic keratosis", follow_up_months: 6 })).toEqual([]);
    expect(signingProblems({ ...followUp, diagnosis_other: "x", follow_up_months: 121 })).toHaveLength(1);
  });

  it("drops fields that do not belong to the choice", () => {
    const body = draftBody({ ...emptyFields(), diagnosis: "mel", diagnosis_other: "left over", management: "biopsy",
      follow_up_months: 3 });
    expect(body.diagnosis_other).toBe("");
    expect(body.follow_up_months).toBeNull();
  });
});

describe("shortcuts", () => {
  it("maps keys to actions", () => {
    expect(actionFor({ key: "]" })).toBe("depth_down");
    expect(actionFor({ key: "PageUp" })).toBe("depth_up");
    expect(actionFor({ key: "O" })).toBe("toggle_overlay");
    expect(actionFor({ key: "+" })).toBe("opacity_up");
    expect(actionFor({ key: "x" })).toBeNull();
  });

  it("ignores plain keys while typing but keeps Ctrl combinations", () => {
    const field = { tagName: "textarea" };
    expect(actionFor({ key: "o", target: field })).toBeNull();
    expect(actionFor({ key: "s", ctrlKey: true, target: field })).toBe("save_draft");
    expect(actionFor({ key: "Enter", metaKey: true, target: field })).toBe("sign");
    expect(actionFor({ key: "o", target: { tagName: "INPUT", type: "text" } })).toBeNull();
    expect(actionFor({ key: ",", target: { tagName: "INPUT", type: "range" } })).toBe("frame_previous");
  });

  it("keeps opacity within 0..1", () => {
    expect(clampOpacity(1.2)).toBe(1);
    expect(clampOpacity(-0.1)).toBe(0);
    expect(clampOpacity(0.35000001)).toBe(0.35);
  });
});

describe("api helpers", () => {
  it("reads the CSRF cookie", () => {
    expect(csrfToken("sessionid=abc; csrftoken=t0k%3Den; theme=dark")).toBe("t0k=en");
    expect(csrfToken("sessionid=abc")).toBeNull();
  });

  it("turns error bodies into one sentence", () => {
    expect(errorMessage({ detail: "Not found.", code: "not_found" })).toBe("Not found.");
    expect(errorMessage({ follow_up_months: ["Ensure this value is less than or equal to 120."] }))
      .toBe("follow_up_months: Ensure this value is less than or equal to 120.");
    expect(errorMessage(null, "fallback")).toBe("fallback");
  });
});

import { parseRoute } from "./route";

describe("routes", () => {
  it("knows the worklist and case pages", () => {
    expect(parseRoute("/")).toEqual({ page: "home" });
    expect(parseRoute("/worklist/")).toEqual({ page: "worklist" });
    expect(parseRoute("/cases/CC64EBBE-E2D5-4BE5-9AEE-D85ECF76F81C/")).toEqual(
      { page: "case", caseId: "cc64ebbe-e2d5-4be5-9aee-d85ecf76f81c" });
    expect(parseRoute("/cases/../etc")).toEqual({ page: "missing", path: "/cases/../etc" });
  });

  it("knows the clinic, QA and models pages", () => {
    expect(parseRoute("/clinic/")).toEqual({ page: "clinic" });
    expect(parseRoute("/clinic/new")).toEqual({ page: "clinic-new" });
    expect(parseRoute("/clinic/cases/cc64ebbe-e2d5-4be5-9aee-d85ecf76f81c")).toEqual(
      { page: "capture", caseId: "cc64ebbe-e2d5-4be5-9aee-d85ecf76f81c" });
    expect(parseRoute("/clinic/cases/not-a-uuid-at-all-but-36-characters-xx")).toMatchObject({ page: "missing" });
    expect(parseRoute("/qa")).toEqual({ page: "qa" });
    expect(parseRoute("/models/")).toEqual({ page: "models" });
  });
});
