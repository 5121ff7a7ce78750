import { describe, expect, it } from "vitest";
import {
  allowedActions,
  applySignature,
  CONTRACT_ACTIONS,
  CONTRACT_STATES,
  type ContractAction,
  type ContractState,
  isTerminal,
  PARTIES,
  type Party,
  REVIEW_ACTIONS,
  requiredSigners,
  reviewTransition,
  signatureStatus,
  TRANSITIONS,
  transition,
  VERSION_STATUSES,
  type VersionStatus,
} from "./lifecycle.js";

/** The table from the brief, spelled out independently of TRANSITIONS. */
const EXPECTED: [ContractAction, ContractState[], ContractState, Party[]][] = [
  ["submit", ["draft"], "submitted", ["enterprise"]],
  ["request_changes", ["submitted"], "changes_requested", ["owners_committee"]],
  ["revise", ["changes_requested"], "draft", ["enterprise"]],
  ["approve", ["submitted"], "approved", ["owners_committee"]],
  ["sign", ["approved"], "signed", ["enterprise", "owners_committee", "property_company", "street_office"]],
  ["start_construction", ["signed"], "under_construction", ["owners_committee"]],
  ["start_operation", ["under_construction"], "operating", ["owners_committee"]],
  ["transfer", ["operating"], "transferred", ["owners_committee", "enterprise"]],
  [
    "terminate",
    ["signed", "under_construction", "operating"],
    "terminated",
    ["owners_committee", "enterprise", "street_office"],
  ],
];

function expectedAllowed(state: ContractState): ContractAction[] {
  return EXPECTED.filter(([, from]) => from.includes(state)).map(([a]) => a);
}

describe("the contract lifecycle table", () => {
  it("has exactly the rows of the brief", () => {
    expect(Object.keys(TRANSITIONS)).toEqual(EXPECTED.map(([a]) => a));
    for (const [action, from, to, by] of EXPECTED) {
      expect(TRANSITIONS[action]).toEqual({ from, to, by });
    }
  });

  describe.each(EXPECTED)("%s", (action, from, to, by) => {
    for (const state of CONTRACT_STATES) {
      for (const party of PARTIES) {
        if (!from.includes(state)) {
          it(`is illegal from ${state}, even for ${party}`, () => {
            expect(transition(state, action, party)).toEqual({
              ok: false,
              error: "illegal_transition",
              current: state,
              allowed: expectedAllowed(state),
            });
          });
        } else if (by.includes(party)) {
          it(`moves ${state} → ${to} when the ${party} does it`, () => {
            expect(transition(state, action, party)).toEqual({ ok: true, to });
          });
        } else {
          it(`is forbidden to the ${party} from ${state}`, () => {
            expect(transition(state, action, party)).toEqual({
              ok: false,
              error: "forbidden",
              current: state,
              allowedParties: by,
            });
          });
        }
      }
    }
  });

  it("an illegal action is reported as illegal, not forbidden, for a party that could never do it", () => {
    const r = transition("draft", "approve", "enterprise");
    expect(r).toMatchObject({ ok: false, error: "illegal_transition", allowed: ["submit"] });
  });

  it("lists the actions possible from each state, in table order, optionally for one party", () => {
    expect(allowedActions("submitted")).toEqual(["request_changes", "approve"]);
    expect(allowedActions("submitted", "enterprise")).toEqual([]);
    expect(allowedActions("operating")).toEqual(["transfer", "terminate"]);
    expect(allowedActions("operating", "street_office")).toEqual(["terminate"]);
    expect(allowedActions("operating", "property_company")).toEqual([]);
    expect(allowedActions("transferred")).toEqual([]);
    expect(allowedActions("terminated")).toEqual([]);
    for (const s of CONTRACT_STATES) {
      for (const p of PARTIES) {
        const okFor = CONTRACT_ACTIONS.filter((a) => transition(s, a, p).ok);
        expect(allowedActions(s, p)).toEqual(okFor);
      }
    }
  });

  it("transferred and terminated contracts are final", () => {
    expect(CONTRACT_STATES.filter(isTerminal)).toEqual(["transferred", "terminated"]);
  });

  it("a contract goes from draft to transfer through one round of changes", () => {
    const steps: [ContractAction, Party][] = [
      ["submit", "enterprise"],
      ["request_changes", "owners_committee"],
      ["revise", "enterprise"],
      ["submit", "enterprise"],
      ["approve", "owners_committee"],
      ["sign", "street_office"],
      ["start_construction", "owners_committee"],
      ["start_operation", "owners_committee"],
      ["transfer", "enterprise"],
    ];
    let state: ContractState = "draft";
    for (const [action, party] of steps) {
      const r = transition(state, action, party);
      if (!r.ok) throw new Error(`${action} by ${party} from ${state}: ${r.error}`);
      state = r.to;
    }
    expect(state).toBe("transferred");
  });
});

describe("reviewing an amendment version", () => {
  const REVIEW_ROWS = EXPECTED.slice(0, 5);

  describe.each(REVIEW_ROWS)("%s on a version", (action, from, to, by) => {
    for (const status of VERSION_STATUSES) {
      for (const party of PARTIES) {
        const legal = (from as string[]).includes(status);
        it(`${legal ? (by.includes(party) ? "succeeds" : "is forbidden") : "is illegal"} from ${status} by ${party}`, () => {
          const r = reviewTransition(status, action as Parameters<typeof reviewTransition>[1], party);
          if (!legal) {
            expect(r).toMatchObject({ ok: false, error: "illegal_transition", current: status });
          } else if (by.includes(party)) {
            expect(r).toEqual({ ok: true, to });
          } else {
            expect(r).toEqual({ ok: false, error: "forbidden", current: status, allowedParties: by });
          }
        });
      }
    }
  });

  it("a signed or superseded version cannot be reviewed again", () => {
    for (const status of ["signed", "superseded"] as VersionStatus[]) {
      for (const action of REVIEW_ACTIONS) {
        expect(reviewTransition(status, action, "owners_committee")).toEqual({
          ok: false,
          error: "illegal_transition",
          current: status,
          allowed: [],
        });
      }
    }
  });

  it("an illegal review step names the steps that are possible", () => {
    expect(reviewTransition("submitted", "sign", "enterprise")).toEqual({
      ok: false,
      error: "illegal_transition",
      current: "submitted",
      allowed: ["request_changes", "approve"],
    });
  });
});

describe("signatures", () => {
  it("the street office signs only when it is a party and puts in guidance funds", () => {
    const base: Party[] = ["enterprise", "owners_committee", "property_company"];
    expect(requiredSigners({ guidanceFunds: "150000.00", hasStreetOffice: true })).toEqual([
      ...base,
      "street_office",
    ]);
    expect(requiredSigners({ guidanceFunds: "0.00", hasStreetOffice: true })).toEqual(base);
    expect(requiredSigners({ guidanceFunds: "0", hasStreetOffice: true })).toEqual(base);
    expect(requiredSigners({ guidanceFunds: "0.01", hasStreetOffice: true })).toEqual([
      ...base,
      "street_office",
    ]);
    expect(requiredSigners({ guidanceFunds: "150000.00", hasStreetOffice: false })).toEqual(base);
  });

  it("a contract is fully signed only when every required party has signed", () => {
    const required: Party[] = ["enterprise", "owners_committee", "property_company"];
    expect(signatureStatus(required, ["enterprise"])).toEqual({
      complete: false,
      missing: ["owners_committee", "property_company"],
    });
    expect(signatureStatus(required, ["property_company", "owners_committee", "enterprise"])).toEqual({
      complete: true,
      missing: [],
    });
    expect(signatureStatus(required, [...required, "street_office"]).complete).toBe(true);
  });

  it("the contract stays approved until the last required signature, then becomes signed", () => {
    const required: Party[] = ["enterprise", "owners_committee", "property_company"];
    expect(applySignature("approved", "enterprise", required, [])).toEqual({
      ok: true,
      to: "approved",
      complete: false,
      missing: ["owners_committee", "property_company"],
    });
    expect(
      applySignature("approved", "property_company", required, ["enterprise", "owners_committee"]),
    ).toEqual({
      ok: true,
      to: "signed",
      complete: true,
      missing: [],
    });
  });

  it("a party signs once, only if required, and only an approved contract", () => {
    const required: Party[] = ["enterprise", "owners_committee", "property_company"];
    expect(applySignature("approved", "enterprise", required, ["enterprise"])).toMatchObject({
      ok: false,
      error: "already_signed",
    });
    expect(applySignature("approved", "street_office", required, [])).toMatchObject({
      ok: false,
      error: "not_required",
    });
    expect(applySignature("submitted", "enterprise", required, [])).toMatchObject({
      ok: false,
      error: "illegal_transition",
    });
  });
});
