import { describe, expect, it } from "vitest";
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
});
