import { describe, expect, it } from "vitest";
import { type VersionDates, versionInForceOn } from "./versions.js";

const original = (status: VersionDates["status"] = "signed"): VersionDates => ({
  versionNo: 1,
  status,
  isAmendment: false,
  effectiveDate: null,
});
const amendment = (versionNo: number, status: VersionDates["status"], effectiveDate: string | null) => ({
  versionNo,
  status,
  isAmendment: true,
  effectiveDate,
});

describe("the version in force on a date", () => {
  it("is nothing before the original is signed", () => {
    for (const status of ["draft", "submitted", "changes_requested", "approved"] as const) {
      expect(versionInForceOn([original(status)], "2026-01-01")).toBeNull();
    }
    expect(versionInForceOn([], "2026-01-01")).toBeNull();
  });

  it("is the signed original whatever the date", () => {
    expect(versionInForceOn([original()], "1990-01-01")?.versionNo).toBe(1);
  });

  it("is a signed amendment from its effective date on, the superseded original before it", () => {
    const versions = [original("superseded"), amendment(2, "signed", "2026-03-01")];
    expect(versionInForceOn(versions, "2026-02-28")?.versionNo).toBe(1);
    expect(versionInForceOn(versions, "2026-03-01")?.versionNo).toBe(2);
    expect(versionInForceOn(versions, "2027-01-01")?.versionNo).toBe(2);
  });

  it("skips an amendment still under review, or without an effective date", () => {
    expect(
      versionInForceOn([original(), amendment(2, "approved", "2026-03-01")], "2026-04-01")?.versionNo,
    ).toBe(1);
    expect(versionInForceOn([original(), amendment(2, "signed", null)], "2026-04-01")?.versionNo).toBe(1);
  });

  it("takes the highest-numbered of those that apply, in any order given", () => {
    const versions = [
      amendment(3, "signed", "2026-02-01"),
      original("superseded"),
      amendment(2, "superseded", "2026-01-01"),
    ];
    expect(versionInForceOn(versions, "2026-01-15")?.versionNo).toBe(2);
    expect(versionInForceOn(versions, "2026-02-01")?.versionNo).toBe(3);
  });
});
