import { describe, expect, it } from "vitest";
import { caseText, lesionText, problemText, whenText } from "./siteAdmin";

describe("the site administrator's words", () => {
  it("names the fields the server refused, else gives its sentence", () => {
    expect(problemText({ detail: "Some fields are invalid.", code: "invalid",
      fields: { review_at_percent: ["Thresholds must satisfy 0 < review ≤ re-image ≤ 100."] } }))
      .toBe("Review at: Thresholds must satisfy 0 < review ≤ re-image ≤ 100.");
    expect(problemText({ detail: "The case is being read; its reader must release it first.", code: "assignment_conflict" }))
      .toBe("The case is being read; its reader must release it first.");
    expect(problemText(undefined, "The case was not assigned.")).toBe("The case was not assigned.");
  });

  it("says a queued case as patient, lesion and visit, naming what is not recorded", () => {
    const row = { patient_label: "Doe, Jane · MRN-1", visit_date: "2026-11-24",
      lesion: { label: "L1", anatom_site: "", anatom_site_general: "upper extremity" } };
    expect(lesionText(row)).toBe("L1 · upper extremity");
    expect(caseText(row)).toBe("Doe, Jane · MRN-1 — L1 · upper extremity — 2026-11-24");
    expect(lesionText({ lesion: { label: "", anatom_site: "", anatom_site_general: "" } })).toBe("Lesion · site not recorded");
  });

  it("shows a missing moment as a dash", () => {
    expect(whenText(null)).toBe("—");
    expect(whenText(undefined)).toBe("—");
    expect(whenText("2026-11-24T10:00:00Z")).not.toBe("—");
  });
});
