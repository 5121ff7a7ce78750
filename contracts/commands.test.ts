import { describe, expect, it } from "vitest";
import {
  ACTIONS,
  allowedActions,
  COMMAND_PARTIES,
  type CommandType,
  type ContractCommand,
  type ContractSnapshot,
  decide,
  type MilestoneKind,
  nextStep,
} from "./commands.js";
import { CONTRACT_STATES, type ContractState, PARTIES, type Party } from "./lifecycle.js";

/** 2026-12-04 12:00 in Shanghai. */
const clock = () => new Date("2026-12-04T04:00:00Z");
const TODAY = "2026-12-04";

const confirmed = (occurredOn: string) => ({ occurredOn, confirmed: true });

/**
 * A contract in `state` with everything that state normally has: a version submitted on
 * 2026-11-01, a passing vote on it once voted, signed on 2026-11-10, construction confirmed from
 * 2026-11-12, operating since 2026-11-20 with a transfer date that has passed and no open handback.
 */
function at(state: ContractState, overrides: Partial<ContractSnapshot> = {}): ContractSnapshot {
  const reviewing = ["draft", "submitted", "changes_requested", "approved"].includes(state);
  const built = ["operating", "transferred"].includes(state);
  return {
    state,
    version: {
      versionNo: 1,
      status: reviewing ? (state as "draft") : "signed",
      isAmendment: false,
      submittedOn: state === "draft" ? null : "2026-11-01",
      guidanceFunds: "0.00",
    },
    hasStreetOffice: true,
    signedBy:
      state === "approved" ? [] : reviewing ? [] : ["enterprise", "owners_committee", "property_company"],
    vote: state === "submitted" || !reviewing ? { heldOn: "2026-11-05", passed: true } : null,
    signedOn: reviewing ? null : "2026-11-10",
    milestones: {
      ...(state === "signed" ? { construction_start: { occurredOn: "2026-11-12", confirmed: false } } : {}),
      ...(["under_construction", "operating", "transferred", "terminated"].includes(state)
        ? { construction_start: confirmed("2026-11-12") }
        : {}),
      ...(built
        ? { completion_acceptance: confirmed("2026-11-18"), operation_start: confirmed("2026-11-20") }
        : {}),
    },
    operationStartDate: built ? "2026-11-20" : null,
    transferDate: built ? "2026-12-01" : null,
    transferredOn: state === "transferred" ? "2026-12-02" : null,
    openHandback: 0,
    ...overrides,
  };
}

/** One command of each type, with dates that are fine in the snapshots above. */
function sample(type: CommandType): ContractCommand {
  switch (type) {
    case "edit_draft":
      return { type, versionNo: 1 };
    case "record_vote":
      return { type, heldOn: TODAY };
    case "record_milestone":
      return { type, kind: "construction_start", occurredOn: TODAY };
    case "confirm_milestone":
      return { type, kind: "construction_start" };
    case "check_handback":
      return { type, checkedOn: TODAY };
    case "transfer":
      return { type, on: TODAY };
    case "amend":
      return { type, effectiveDate: TODAY };
    case "run_billing":
      return { type, period: "2026-11" };
    default:
      return { type } as ContractCommand;
  }
}

const ALL = CONTRACT_STATES;
const RUNNING: ContractState[] = ["signed", "under_construction", "operating"];

/** The table spelled out independently of the code: who may, and in which states (snapshots above). */
const EXPECTED: Record<CommandType, { by: Party[]; in: readonly ContractState[] }> = {
  edit_draft: { by: ["enterprise"], in: ["draft"] },
  submit: { by: ["enterprise"], in: ["draft"] },
  comment: { by: [...PARTIES], in: ALL },
  request_changes: { by: ["owners_committee"], in: ["submitted"] },
  revise: { by: ["enterprise"], in: ["changes_requested"] },
  record_vote: { by: ["owners_committee"], in: ["submitted"] },
  approve: { by: ["owners_committee"], in: ["submitted"] },
  sign: { by: ["enterprise", "owners_committee", "property_company"], in: ["approved"] },
  record_milestone: { by: ["enterprise"], in: ["signed"] },
  confirm_milestone: { by: ["owners_committee"], in: ["signed"] },
  check_handback: { by: ["owners_committee"], in: ["operating"] },
  transfer: { by: ["owners_committee", "enterprise"], in: ["operating"] },
  terminate: { by: ["owners_committee", "enterprise", "street_office"], in: RUNNING },
  amend: { by: ["enterprise"], in: RUNNING },
  run_billing: { by: ["enterprise"], in: ["operating"] },
  record_usage: { by: ["enterprise"], in: ["operating"] },
  subscribe: { by: ["enterprise"], in: ["operating"] },
  change_subscription: { by: ["enterprise"], in: ALL },
  record_payment: { by: ["enterprise"], in: ALL },
  issue_credit_note: { by: ["enterprise"], in: ALL },
  refund_credit_note: { by: ["enterprise"], in: ALL },
  set_financial_assumptions: {
    by: ["enterprise"],
    in: ALL.filter((s) => s !== "transferred" && s !== "terminated"),
  },
  record_guidance_disbursement: { by: ["street_office"], in: [...RUNNING, "transferred"] },
  file_report: { by: ["enterprise"], in: ["operating", "transferred"] },
  review_report: { by: ["owners_committee"], in: ALL },
};

describe("the command table: every state × command × party", () => {
  it("names the same commands and parties as the independent table", () => {
    expect(Object.keys(COMMAND_PARTIES).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [type, rule] of Object.entries(EXPECTED)) {
      if (type !== "sign")
        expect([...COMMAND_PARTIES[type as CommandType]].sort()).toEqual([...rule.by].sort());
    }
  });

  for (const state of ALL) {
    for (const type of Object.keys(EXPECTED) as CommandType[]) {
      it(`${type} on a ${state} contract`, () => {
        const s = at(state);
        const rule = EXPECTED[type];
        for (const by of [...PARTIES, null]) {
          const d = decide(s, { ...sample(type), by }, clock);
          if (by === null || !rule.by.includes(by)) {
            // The party is checked before the state: a 403 whatever the state.
            expect(d, `${by}`).toMatchObject({ ok: false, refusal: { status: 403, code: "forbidden" } });
          } else if (rule.in.includes(state)) {
            expect(d.ok, `${by}: ${d.ok ? "" : d.refusal.reason}`).toBe(true);
          } else {
            expect(d, `${by}`).toMatchObject({ ok: false, refusal: { status: 409 } });
            if (!d.ok) expect(d.refusal.reason.length).toBeGreaterThan(20);
          }
        }
      });
    }
  }
});

describe("moves", () => {
  const move = (s: ContractSnapshot, c: ContractCommand, by: Party) => decide(s, { ...c, by }, clock);

  it("review moves the contract with its first version", () => {
    expect(move(at("draft"), { type: "submit" }, "enterprise")).toEqual({
      ok: true,
      contractState: "submitted",
      versionStatus: "submitted",
    });
    expect(move(at("submitted"), { type: "request_changes" }, "owners_committee")).toMatchObject({
      contractState: "changes_requested",
    });
    expect(move(at("changes_requested"), { type: "revise" }, "enterprise")).toMatchObject({
      contractState: "draft",
      versionStatus: "draft",
    });
    expect(move(at("submitted"), { type: "approve" }, "owners_committee")).toMatchObject({
      contractState: "approved",
    });
  });

  it("an amendment moves only its version; the contract keeps operating", () => {
    const s = at("operating", {
      version: {
        versionNo: 2,
        status: "submitted",
        isAmendment: true,
        submittedOn: "2026-12-01",
        guidanceFunds: "0",
      },
      vote: { heldOn: "2026-12-02", passed: true },
      signedBy: [],
    });
    expect(move(s, { type: "approve" }, "owners_committee")).toEqual({
      ok: true,
      contractState: "operating",
      versionStatus: "approved",
    });
    expect(move(s, { type: "amend", effectiveDate: TODAY }, "enterprise")).toMatchObject({
      ok: false,
      refusal: { status: 409, code: "amendment_open" },
    });
  });

  it("the last required signature signs the contract; earlier ones leave it approved", () => {
    const s = at("approved", { signedBy: ["enterprise"] });
    expect(move(s, { type: "sign" }, "owners_committee")).toEqual({
      ok: true,
      contractState: "approved",
      versionStatus: "approved",
      signatureCompletes: false,
    });
    const last = at("approved", { signedBy: ["enterprise", "owners_committee"] });
    expect(move(last, { type: "sign" }, "property_company")).toMatchObject({
      contractState: "signed",
      versionStatus: "signed",
      signatureCompletes: true,
    });
    expect(move(s, { type: "sign" }, "enterprise")).toMatchObject({
      refusal: { status: 409, code: "already_signed" },
    });
  });

  it("the street office signs when it puts in guidance funds, and not otherwise", () => {
    const funded = at("approved", {
      version: {
        versionNo: 1,
        status: "approved",
        isAmendment: false,
        submittedOn: "2026-11-01",
        guidanceFunds: "1.00",
      },
    });
    expect(move(funded, { type: "sign" }, "street_office").ok).toBe(true);
    expect(move(at("approved"), { type: "sign" }, "street_office")).toMatchObject({
      refusal: { status: 403, reason: expect.stringContaining("does not sign this contract") },
    });
  });

  it("approval needs a vote, and a passing one", () => {
    expect(move(at("submitted", { vote: null }), { type: "approve" }, "owners_committee")).toMatchObject({
      refusal: { status: 409, code: "vote_required" },
    });
    expect(
      move(
        at("submitted", { vote: { heldOn: "2026-11-05", passed: false } }),
        { type: "approve" },
        "owners_committee",
      ),
    ).toMatchObject({ refusal: { status: 409, code: "vote_failed" } });
  });

  it("milestones follow each other, each confirmed by the owners committee", () => {
    const signed = at("signed", { milestones: {} });
    expect(
      move(signed, { type: "confirm_milestone", kind: "construction_start" }, "owners_committee"),
    ).toMatchObject({
      refusal: { status: 404, reason: expect.stringContaining("records it first") },
    });
    expect(
      move(at("signed"), { type: "confirm_milestone", kind: "construction_start" }, "owners_committee"),
    ).toMatchObject({
      contractState: "under_construction",
    });
    const building = at("under_construction");
    const op: ContractCommand = { type: "record_milestone", kind: "operation_start", occurredOn: TODAY };
    expect(move(building, op, "enterprise")).toMatchObject({
      refusal: { status: 409, code: "milestone_out_of_order" },
    });
    const accepted = at("under_construction", {
      milestones: {
        construction_start: confirmed("2026-11-12"),
        completion_acceptance: confirmed("2026-11-18"),
      },
    });
    expect(move(accepted, op, "enterprise").ok).toBe(true);
    expect(
      move(
        at("operating"),
        { type: "record_milestone", kind: "construction_start", occurredOn: TODAY },
        "enterprise",
      ),
    ).toMatchObject({ refusal: { status: 409, code: "illegal_transition" } });
    const recorded = {
      ...accepted.milestones,
      operation_start: { occurredOn: "2026-11-20", confirmed: false },
    };
    expect(
      move(
        at("under_construction", { milestones: recorded }),
        { type: "confirm_milestone", kind: "operation_start" },
        "owners_committee",
      ),
    ).toMatchObject({ contractState: "operating" });
  });

  it("a 409 says what comes next", () => {
    const d = move(
      at("approved", { signedBy: ["enterprise", "owners_committee"] }),
      { type: "record_milestone", kind: "operation_start", occurredOn: TODAY },
      "enterprise",
    );
    expect(d).toMatchObject({ ok: false, refusal: { status: 409, code: "illegal_transition" } });
    if (!d.ok) {
      expect(d.refusal.reason).toBe(
        "The operation start is recorded while the contract is under construction; it is approved. Next: the remaining parties sign version 1 (still to sign: property company).",
      );
    }
  });

  it("termination from each running state, and not after", () => {
    for (const state of RUNNING) {
      expect(move(at(state), { type: "terminate" }, "street_office")).toMatchObject({
        contractState: "terminated",
      });
    }
    expect(move(at("transferred"), { type: "terminate" }, "enterprise")).toMatchObject({
      refusal: { status: 409, reason: expect.stringContaining("nothing more moves") },
    });
  });
});

describe("dates, at their boundaries", () => {
  const d = (s: ContractSnapshot, c: ContractCommand, by: Party) => decide(s, { ...c, by }, clock);
  const field = (f: string) => ({ ok: false, refusal: { status: 400, code: "validation_failed", field: f } });

  it("a vote is held on or after the version was submitted, and not in the future", () => {
    const s = at("submitted", { vote: null });
    expect(d(s, { type: "record_vote", heldOn: "2026-11-01" }, "owners_committee").ok).toBe(true);
    expect(d(s, { type: "record_vote", heldOn: "2026-10-31" }, "owners_committee")).toMatchObject(
      field("body.heldOn"),
    );
    expect(d(s, { type: "record_vote", heldOn: "2020-01-01" }, "owners_committee")).toMatchObject(
      field("body.heldOn"),
    );
    expect(d(s, { type: "record_vote", heldOn: TODAY }, "owners_committee").ok).toBe(true);
    expect(d(s, { type: "record_vote", heldOn: "2026-12-05" }, "owners_committee")).toMatchObject(
      field("body.heldOn"),
    );
  });

  it("construction starts on or after the signature; each milestone on or after the one before; none in the future", () => {
    const signed = at("signed", { milestones: {} });
    const start = (occurredOn: string): ContractCommand => ({
      type: "record_milestone",
      kind: "construction_start",
      occurredOn,
    });
    expect(d(signed, start("2026-11-10"), "enterprise").ok).toBe(true);
    expect(d(signed, start("2026-11-09"), "enterprise")).toMatchObject(field("body.occurredOn"));
    expect(d(signed, start("2026-12-05"), "enterprise")).toMatchObject(field("body.occurredOn"));
    const completion = (occurredOn: string): ContractCommand => ({
      type: "record_milestone",
      kind: "completion_acceptance" satisfies MilestoneKind,
      occurredOn,
    });
    expect(d(at("under_construction"), completion("2026-11-12"), "enterprise").ok).toBe(true);
    expect(d(at("under_construction"), completion("2026-11-11"), "enterprise")).toMatchObject(
      field("body.occurredOn"),
    );
  });

  it("ownership passes on or after the transfer date, with every handback condition checked, not in the future", () => {
    const s = at("operating");
    expect(d(s, { type: "transfer", on: "2026-12-01" }, "owners_committee").ok).toBe(true);
    expect(d(s, { type: "transfer", on: "2026-11-30" }, "owners_committee")).toMatchObject({
      refusal: { status: 409, code: "transfer_not_due" },
    });
    expect(d(s, { type: "transfer", on: "2026-12-05" }, "owners_committee")).toMatchObject(
      field("body.transferredOn"),
    );
    expect(
      d(at("operating", { openHandback: 2 }), { type: "transfer", on: TODAY }, "enterprise"),
    ).toMatchObject({
      refusal: { status: 409, code: "handback_incomplete" },
    });
  });

  it("a billing run is for a month that has begun, from the operation start month, before the transfer", () => {
    const s = at("operating", { transferDate: "2030-11-20" });
    const run = (period: string): ContractCommand => ({ type: "run_billing", period });
    expect(d(s, run("2026-12"), "enterprise").ok).toBe(true);
    expect(d(s, run("2026-11"), "enterprise").ok).toBe(true);
    expect(d(s, run("2027-01"), "enterprise")).toMatchObject({
      refusal: {
        status: 409,
        code: "billing_period_refused",
        reason: expect.stringContaining("has not begun"),
      },
    });
    expect(d(s, run("2026-10"), "enterprise")).toMatchObject({
      refusal: { status: 409, code: "billing_period_refused" },
    });
    expect(d(at("operating"), run("2026-12"), "enterprise")).toMatchObject({
      refusal: { status: 409, code: "billing_period_refused" },
    });
  });

  it("an amendment takes effect today or later", () => {
    expect(d(at("operating"), { type: "amend", effectiveDate: TODAY }, "enterprise").ok).toBe(true);
    expect(d(at("operating"), { type: "amend", effectiveDate: "2026-12-03" }, "enterprise")).toMatchObject(
      field("body.effectiveDate"),
    );
  });
});

describe("allowedActions: what the party may do now", () => {
  it("a signed contract: the enterprise records the construction start; the committee has nothing to confirm yet", () => {
    const s = at("signed", { milestones: {} });
    expect(allowedActions(s, "enterprise", clock)).toEqual([
      "record_construction_start",
      "amend",
      "terminate",
      "comment",
      "set_financial_assumptions",
    ]);
    expect(allowedActions(s, "owners_committee", clock)).toEqual(["terminate", "comment"]);
    expect(allowedActions(at("signed"), "owners_committee", clock)).toContain("confirm_construction_start");
  });

  it("approval is offered only once a passing vote is recorded", () => {
    expect(allowedActions(at("submitted", { vote: null }), "owners_committee", clock)).toEqual([
      "request_changes",
      "record_vote",
      "comment",
    ]);
    expect(allowedActions(at("submitted"), "owners_committee", clock)).toContain("approve");
  });

  it("transfer is offered only when it may happen today; nothing to a non-party", () => {
    expect(allowedActions(at("operating"), "owners_committee", clock)).toContain("transfer");
    expect(
      allowedActions(at("operating", { transferDate: "2030-01-01" }), "owners_committee", clock),
    ).not.toContain("transfer");
    expect(allowedActions(at("operating", { openHandback: 1 }), "owners_committee", clock)).toEqual(
      expect.arrayContaining(["check_handback"]),
    );
    expect(allowedActions(at("operating"), null, clock)).toEqual([]);
  });

  it("every action is one the table can decide", () => {
    for (const state of ALL) {
      for (const party of PARTIES) {
        const actions = allowedActions(at(state), party, clock);
        expect(actions.every((a) => ACTIONS.includes(a))).toBe(true);
      }
    }
  });
});

describe("nextStep", () => {
  it("names the next step in every state", () => {
    for (const state of ALL) expect(nextStep(at(state)).length, state).toBeGreaterThan(20);
    expect(nextStep(at("signed", { milestones: {} }))).toBe(
      "Next: the enterprise records the construction start.",
    );
  });
});
