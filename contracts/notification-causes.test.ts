import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ContractSnapshot } from "./commands.js";
import { addDays } from "./dates.js";
import { committeeTurn, digestDayDue, transferReminderDue } from "./notification-causes.js";

describe("the transfer reminder due on a day", () => {
  it("is 90 from 90 days before, 30 from 30 days before, none beyond 90 or after the date", () => {
    expect(transferReminderDue("2026-12-01", "2027-03-01")).toBe(90);
    expect(transferReminderDue("2026-11-30", "2027-03-01")).toBeNull();
    expect(transferReminderDue("2027-01-29", "2027-03-01")).toBe(90);
    expect(transferReminderDue("2027-01-30", "2027-03-01")).toBe(30);
    expect(transferReminderDue("2027-03-01", "2027-03-01")).toBe(30);
    expect(transferReminderDue("2027-03-02", "2027-03-01")).toBeNull();
  });

  it("is the nearest step reached, for any number of days left", () => {
    fc.assert(
      fc.property(fc.integer({ min: -400, max: 400 }), (left) => {
        const due = transferReminderDue("2026-06-15", addDays("2026-06-15", left));
        expect(due).toBe(left < 0 || left > 90 ? null : left <= 30 ? 30 : 90);
      }),
    );
  });
});

describe("the digest day due at an instant", () => {
  it("is yesterday in Shanghai from 08:00 Shanghai time, nothing before", () => {
    expect(digestDayDue(new Date("2026-12-04T23:59:59Z"))).toBeNull(); // 07:59:59 on the 5th
    expect(digestDayDue(new Date("2026-12-05T00:00:00Z"))).toBe("2026-12-04");
    expect(digestDayDue(new Date("2026-12-05T15:59:59Z"))).toBe("2026-12-04"); // 23:59:59
    expect(digestDayDue(new Date("2026-12-05T16:00:00Z"))).toBeNull(); // 00:00 on the 6th
    expect(digestDayDue(new Date("2027-01-01T01:30:00Z"))).toBe("2026-12-31");
  });
});

describe("whose turn a command makes it", () => {
  const snapshot = (over: Partial<ContractSnapshot> = {}): ContractSnapshot => ({
    state: "approved",
    version: {
      versionNo: 1,
      status: "approved",
      isAmendment: false,
      submittedOn: "2026-01-05",
      guidanceFunds: "0.00",
    },
    hasStreetOffice: true,
    signedBy: [],
    vote: { heldOn: "2026-01-10", passed: true },
    signedOn: null,
    milestones: {},
    operationStartDate: null,
    transferDate: null,
    transferredOn: null,
    openHandback: 0,
    ...over,
  });
  const moved = {
    ok: true as const,
    contractState: "submitted" as const,
    versionStatus: "submitted" as const,
  };
  const signs = (completes: boolean) => ({
    ok: true as const,
    contractState: "approved" as const,
    versionStatus: "approved" as const,
    signatureCompletes: completes,
  });

  it("is the committee's review after a submission", () => {
    const draft = snapshot({ state: "draft", version: { ...snapshot().version, status: "draft" } });
    expect(committeeTurn(draft, { type: "submit" }, "enterprise", moved)).toBe("review");
  });

  it("is the committee's signature after another party signs before it", () => {
    expect(committeeTurn(snapshot(), { type: "sign" }, "enterprise", signs(false))).toBe("sign");
    expect(
      committeeTurn(
        snapshot({ signedBy: ["owners_committee"] }),
        { type: "sign" },
        "enterprise",
        signs(false),
      ),
    ).toBeNull();
    expect(committeeTurn(snapshot(), { type: "sign" }, "owners_committee", signs(false))).toBeNull();
    expect(
      committeeTurn(
        snapshot({ signedBy: ["owners_committee", "enterprise"] }),
        { type: "sign" },
        "property_company",
        signs(true),
      ),
    ).toBeNull();
  });

  it("is never for the committee's own commands or for commands that hand nothing over", () => {
    const approved = {
      ok: true as const,
      contractState: "approved" as const,
      versionStatus: "approved" as const,
    };
    expect(committeeTurn(snapshot(), { type: "approve" }, "owners_committee", approved)).toBeNull();
    expect(committeeTurn(snapshot(), { type: "comment" }, "enterprise", approved)).toBeNull();
    expect(committeeTurn(snapshot(), { type: "terminate" }, "street_office", approved)).toBeNull();
  });
});
