import { describe, expect, it } from "vitest";
import { problemText } from "../pages/SiteAdminPage";
import { dueAtFromDate, readerText } from "./AssignControl";

describe("assigning", () => {
  it("takes a due date as the end of that day in the admin's time zone", () => {
    const due = new Date(dueAtFromDate("2030-01-15")!);
    expect([due.getFullYear(), due.getMonth(), due.getDate(), due.getHours(), due.getMinutes()]).toEqual([2030, 0, 15, 23, 59]);
    expect(dueAtFromDate("")).toBeNull();
    expect(dueAtFromDate("not a date")).toBeNull();
  });

  it("shows each reader's open load", () => {
    expect(readerText({ id: 1, full_name: "Rita Reader", username: "rita", open_assignments: 1 })).toBe("Rita Reader (rita) · 1 open case");
    expect(readerText({ id: 2, full_name: "sam", username: "sam", open_assignments: 0 })).toBe("sam (sam) · 0 open cases");
  });

  it("names the fields the server refused, else gives its sentence", () => {
    expect(problemText({ detail: "Some fields are invalid.", code: "invalid",
      fields: { review_at_percent: ["Thresholds must satisfy 0 < review ≤ re-image ≤ 100."] } }))
      .toBe("Review at: Thresholds must satisfy 0 < review ≤ re-image ≤ 100.");
    expect(problemText({ detail: "The case is being read; its reader must release it first.", code: "assignment_conflict" }))
      .toBe("The case is being read; its reader must release it first.");
    expect(problemText(undefined, "The case was not assigned.")).toBe("The case was not assigned.");
  });
});
