/** The contract lifecycle: who may do what, from which state. */

export type ContractAction =
  | "submit"
  | "request_changes"
  | "revise"
  | "approve"
  | "sign"
  | "start_construction"
  | "start_operation"
  | "transfer"
  | "terminate";

export const CONTRACT_STATES = [
  "draft",
  "submitted",
  "changes_requested",
  "approved",
  "signed",
  "under_construction",
  "operating",
  "transferred",
  "terminated",
] as const;
export type ContractState = (typeof CONTRACT_STATES)[number];
/** The parties to a contract: also the kinds of organization. */
export const PARTIES = ["enterprise", "owners_committee", "property_company", "street_office"] as const;
export type Party = (typeof PARTIES)[number];
export const CONTRACT_ACTIONS: readonly ContractAction[] = [
  "submit",
  "request_changes",
  "revise",
  "approve",
  "sign",
  "start_construction",
  "start_operation",
  "transfer",
  "terminate",
];

/**
 * The transition table.
 * - `sign` moves approved → signed only once every required party has signed (see
 *   signatureStatus / applySignature); one party's signature alone leaves it `approved`.
 * - `start_construction` / `start_operation`: the owners committee confirms the milestone the
 *   enterprise recorded.
 */
export const TRANSITIONS: Record<ContractAction, { from: ContractState[]; to: ContractState; by: Party[] }> =
  {
    submit: { from: ["draft"], to: "submitted", by: ["enterprise"] },
    request_changes: { from: ["submitted"], to: "changes_requested", by: ["owners_committee"] },
    revise: { from: ["changes_requested"], to: "draft", by: ["enterprise"] },
    approve: { from: ["submitted"], to: "approved", by: ["owners_committee"] },
    sign: {
      from: ["approved"],
      to: "signed",
      by: ["enterprise", "owners_committee", "property_company", "street_office"],
    },
    start_construction: { from: ["signed"], to: "under_construction", by: ["owners_committee"] },
    start_operation: { from: ["under_construction"], to: "operating", by: ["owners_committee"] },
    transfer: { from: ["operating"], to: "transferred", by: ["owners_committee", "enterprise"] },
    terminate: {
      from: ["signed", "under_construction", "operating"],
      to: "terminated",
      by: ["owners_committee", "enterprise", "street_office"],
    },
  };

export const TERMINAL_STATES: readonly ContractState[] = ["transferred", "terminated"];

export function isTerminal(state: ContractState): boolean {
  return TERMINAL_STATES.includes(state);
}

export type TransitionResult =
  | { ok: true; to: ContractState }
  | { ok: false; error: "illegal_transition"; current: ContractState; allowed: ContractAction[] }
  | { ok: false; error: "forbidden"; current: ContractState; allowedParties: Party[] };

/**
 * Apply `action` by `actor` to a contract in `current`. An action that is not possible from the
 * current state is `illegal_transition` (listing the actions possible from it, for any party),
 * which takes precedence over `forbidden` (the actor's party may not take this action).
 */
export function transition(current: ContractState, action: ContractAction, actor: Party): TransitionResult {
  const rule = TRANSITIONS[action];
  if (!rule?.from.includes(current)) {
    return { ok: false, error: "illegal_transition", current, allowed: allowedActions(current) };
  }
  if (!rule.by.includes(actor)) {
    return { ok: false, error: "forbidden", current, allowedParties: [...rule.by] };
  }
  return { ok: true, to: rule.to };
}

/** Actions possible from `current` (for `actor` when given), in TRANSITIONS order. */
export function allowedActions(current: ContractState, actor?: Party): ContractAction[] {
  return CONTRACT_ACTIONS.filter((a) => {
    const rule = TRANSITIONS[a];
    return rule.from.includes(current) && (actor === undefined || rule.by.includes(actor));
  });
}

// ---------------------------------------------------------------------------------------------
// Versions: amendments after signing go through the same review path on a version while the
// contract itself stays in its state.

export type ReviewAction = "submit" | "request_changes" | "revise" | "approve" | "sign";
export const REVIEW_ACTIONS: readonly ReviewAction[] = [
  "submit",
  "request_changes",
  "revise",
  "approve",
  "sign",
];
export const VERSION_STATUSES = [
  "draft",
  "submitted",
  "changes_requested",
  "approved",
  "signed",
  "superseded",
] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

export type ReviewTransitionResult =
  | { ok: true; to: VersionStatus }
  | { ok: false; error: "illegal_transition"; current: VersionStatus; allowed: string[] }
  | { ok: false; error: "forbidden"; current: VersionStatus; allowedParties: Party[] };

function reviewRule(action: ReviewAction): { from: VersionStatus[]; to: VersionStatus; by: Party[] } {
  const rule = TRANSITIONS[action];
  // The first five rows only move between states that are also version statuses.
  return { from: rule.from as VersionStatus[], to: rule.to as VersionStatus, by: rule.by };
}

/** Actions possible on a version in `current` (for `actor` when given), in table order. */
export function allowedReviewActions(current: VersionStatus, actor?: Party): ReviewAction[] {
  return REVIEW_ACTIONS.filter((a) => {
    const rule = reviewRule(a);
    return rule.from.includes(current) && (actor === undefined || rule.by.includes(actor));
  });
}

/** The review path of a version: the same rules as the first five rows of TRANSITIONS. */
export function reviewTransition(
  current: VersionStatus,
  action: ReviewAction,
  actor: Party,
): ReviewTransitionResult {
  if (!REVIEW_ACTIONS.includes(action)) {
    return { ok: false, error: "illegal_transition", current, allowed: allowedReviewActions(current) };
  }
  const rule = reviewRule(action);
  if (!rule.from.includes(current)) {
    return { ok: false, error: "illegal_transition", current, allowed: allowedReviewActions(current) };
  }
  if (!rule.by.includes(actor)) {
    return { ok: false, error: "forbidden", current, allowedParties: [...rule.by] };
  }
  return { ok: true, to: rule.to };
}

// ---------------------------------------------------------------------------------------------
// Signatures

/** Whether every required party has signed; `missing` keeps the order of `required`. */
export function signatureStatus(required: Party[], signed: Party[]): { complete: boolean; missing: Party[] } {
  const have = new Set(signed);
  const missing = [...new Set(required)].filter((p) => !have.has(p));
  return { complete: missing.length === 0, missing };
}

/**
 * The parties that must sign: enterprise, owners committee, property company, and the street
 * office when it is a party and contributes guidance funds (> 0).
 */
export function requiredSigners(opts: { guidanceFunds: string; hasStreetOffice: boolean }): Party[] {
  const parties: Party[] = ["enterprise", "owners_committee", "property_company"];
  if (opts.hasStreetOffice && hasPositiveAmount(opts.guidanceFunds)) parties.push("street_office");
  return parties;
}

function hasPositiveAmount(s: string): boolean {
  // Positive when some digit is non-zero; no Decimal needed for a sign test on "123.45"-style input.
  return typeof s === "string" && /^\d+(\.\d+)?$/.test(s) && /[1-9]/.test(s);
}

export type SignatureResult =
  | { ok: true; to: ContractState; complete: boolean; missing: Party[] }
  | Extract<TransitionResult, { ok: false }>
  | { ok: false; error: "not_required"; current: ContractState; required: Party[] }
  | { ok: false; error: "already_signed"; current: ContractState };

/**
 * One party signs an approved contract. The contract becomes `signed` only when this signature
 * completes the required set; otherwise it stays `approved` (`complete: false`, `missing`).
 */
export function applySignature(
  current: ContractState,
  actor: Party,
  required: Party[],
  alreadySigned: Party[],
): SignatureResult {
  const t = transition(current, "sign", actor);
  if (!t.ok) return t;
  if (!required.includes(actor))
    return { ok: false, error: "not_required", current, required: [...required] };
  if (alreadySigned.includes(actor)) return { ok: false, error: "already_signed", current };
  const status = signatureStatus(required, [...alreadySigned, actor]);
  return {
    ok: true,
    to: status.complete ? t.to : current,
    complete: status.complete,
    missing: status.missing,
  };
}
