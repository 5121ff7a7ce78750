/**
 * The command table: every command on a contract, the parties that may issue it, and in which
 * state — with, for a refusal, a reason code and a sentence that says what would make it allowed.
 * `decide` is pure: the application layer loads a snapshot, asks, and writes only on `ok`. The
 * contract's `allowedActions`, every 403 and every 409 on a contract come from here.
 */

import { billingRunRefusal } from "./billing.js";
import { compareDates, shanghaiDate } from "./dates.js";
import {
  type ContractState,
  isTerminal,
  PARTIES,
  type Party,
  requiredSigners,
  signatureStatus,
  type VersionStatus,
} from "./lifecycle.js";
import { comparePeriods, type Period, periodOf } from "./periods.js";

export const MILESTONE_KINDS = ["construction_start", "completion_acceptance", "operation_start"] as const;
export type MilestoneKind = (typeof MILESTONE_KINDS)[number];

/** Signed and not ended: the terms bind the parties; a contract in one may be amended or terminated. */
export const RUNNING_STATES = [
  "signed",
  "under_construction",
  "operating",
] as const satisfies ContractState[];
/** Every state after the signature, the transfer included: the signed terms (and their money) count. */
export const COMMITTED_STATES = [...RUNNING_STATES, "transferred"] as const satisfies ContractState[];
/** Whether the signed terms (and the money they commit) count in this state. */
export function isCommitted(state: ContractState): boolean {
  return (COMMITTED_STATES as readonly ContractState[]).includes(state);
}
/** The states in which an operator runs the facilities for the residents and reports on it. */
export const REPORTING_STATES = ["operating", "transferred"] as const satisfies ContractState[];

/**
 * When the enterprise operated the facilities: from the operation start, until the handover
 * (null while it still operates); null when it never did.
 */
export function operatedSpan(c: {
  state: ContractState;
  operationStartDate: string | null;
  transferredOn: string | null;
  transferDate: string | null;
}): { from: string; until: string | null } | null {
  if (!c.operationStartDate || !(REPORTING_STATES as readonly ContractState[]).includes(c.state)) return null;
  return {
    from: c.operationStartDate,
    until: c.state === "transferred" ? (c.transferredOn ?? c.transferDate) : null,
  };
}

/** Which milestone each one follows (confirmed first), and the contract state it is recorded in. */
export const MILESTONE_RULES: Record<
  MilestoneKind,
  { after: MilestoneKind | null; recordedIn: ContractState; confirmMoves: ContractState | null }
> = {
  construction_start: { after: null, recordedIn: "signed", confirmMoves: "under_construction" },
  completion_acceptance: {
    after: "construction_start",
    recordedIn: "under_construction",
    confirmMoves: null,
  },
  operation_start: {
    after: "completion_acceptance",
    recordedIn: "under_construction",
    confirmMoves: "operating",
  },
};

/** What `decide` needs to know about a contract; the application layer loads it in the command's transaction. */
export interface ContractSnapshot {
  state: ContractState;
  /** The current version: the one under review, or the one in force when no amendment is open. */
  version: {
    versionNo: number;
    status: VersionStatus;
    isAmendment: boolean;
    /** Asia/Shanghai date it was submitted for review (null while a draft). */
    submittedOn: string | null;
    guidanceFunds: string;
  };
  hasStreetOffice: boolean;
  /** Parties that signed the current version. */
  signedBy: readonly Party[];
  /** The latest owners' vote on the current version (latest held, then latest recorded). */
  vote: { heldOn: string; passed: boolean } | null;
  /** Asia/Shanghai date the contract was signed by its last required party (null before). */
  signedOn: string | null;
  milestones: Partial<Record<MilestoneKind, { occurredOn: string; confirmed: boolean }>>;
  operationStartDate: string | null;
  transferDate: string | null;
  transferredOn: string | null;
  /** Handback conditions not yet checked off. */
  openHandback: number;
}

export type ContractCommand =
  | { type: "edit_draft"; versionNo: number }
  | { type: "submit" }
  | { type: "comment" }
  | { type: "request_changes" }
  | { type: "revise" }
  | { type: "record_vote"; heldOn: string }
  | { type: "approve" }
  | { type: "sign" }
  | { type: "record_milestone"; kind: MilestoneKind; occurredOn: string }
  | { type: "confirm_milestone"; kind: MilestoneKind }
  | { type: "check_handback"; checkedOn: string }
  | { type: "transfer"; on: string }
  | { type: "terminate" }
  | { type: "amend"; effectiveDate: string }
  | { type: "run_billing"; period: Period }
  | { type: "record_usage" }
  | { type: "subscribe" }
  | { type: "change_subscription" }
  | { type: "record_payment" }
  | { type: "issue_credit_note" }
  | { type: "refund_credit_note" }
  | { type: "set_financial_assumptions" }
  | { type: "record_guidance_disbursement" }
  | { type: "file_report" }
  | { type: "review_report" };
export type CommandType = ContractCommand["type"];

/** Who may draft a new contract (there is no contract yet to ask the table about). */
export const DRAFTING_PARTIES = ["enterprise"] as const satisfies readonly Party[];

/** Who may issue each command (the contract's parties; a command may also need a state). */
export const COMMAND_PARTIES: Record<CommandType, readonly Party[]> = {
  edit_draft: ["enterprise"],
  submit: ["enterprise"],
  comment: PARTIES,
  request_changes: ["owners_committee"],
  revise: ["enterprise"],
  record_vote: ["owners_committee"],
  approve: ["owners_committee"],
  /** Every party may sign in principle; `decide` admits only the contract's required signers. */
  sign: PARTIES,
  record_milestone: ["enterprise"],
  confirm_milestone: ["owners_committee"],
  check_handback: ["owners_committee"],
  transfer: ["owners_committee", "enterprise"],
  terminate: ["owners_committee", "enterprise", "street_office"],
  amend: ["enterprise"],
  run_billing: ["enterprise"],
  record_usage: ["enterprise"],
  subscribe: ["enterprise"],
  change_subscription: ["enterprise"],
  record_payment: ["enterprise"],
  issue_credit_note: ["enterprise"],
  refund_credit_note: ["enterprise"],
  set_financial_assumptions: ["enterprise"],
  record_guidance_disbursement: ["street_office"],
  file_report: ["enterprise"],
  review_report: ["owners_committee"],
};

/** What a command says in a sentence ("may not <verb>"). */
const VERBS: Record<CommandType, string> = {
  edit_draft: "edit a draft",
  submit: "submit the draft",
  comment: "comment",
  request_changes: "request changes",
  revise: "revise the version",
  record_vote: "record the owners' vote",
  approve: "approve the version",
  sign: "sign",
  record_milestone: "record milestones",
  confirm_milestone: "confirm milestones",
  check_handback: "check off handback conditions",
  transfer: "transfer the facilities",
  terminate: "terminate the contract",
  amend: "amend the contract",
  run_billing: "run billing",
  record_usage: "record usage",
  subscribe: "subscribe residents",
  change_subscription: "change subscriptions",
  record_payment: "record payments",
  issue_credit_note: "issue credit notes",
  refund_credit_note: "refund credit notes",
  set_financial_assumptions: "set the financial assumptions",
  record_guidance_disbursement: "record guidance funds paid",
  file_report: "file operation reports",
  review_report: "accept or query operation reports",
};

/** Reason codes of a refused command (each an error code of the API). */
export type RefusalCode =
  | "forbidden"
  | "not_found"
  | "validation_failed"
  | "illegal_transition"
  | "vote_required"
  | "vote_failed"
  | "already_signed"
  | "amendment_open"
  | "version_frozen"
  | "milestone_confirmed"
  | "milestone_out_of_order"
  | "transfer_not_due"
  | "handback_incomplete"
  | "billing_period_refused"
  | "contract_not_operating";

export interface Refusal {
  /** 403 the party may not; 404 the thing addressed does not exist yet; 409 not in this state; 400 a value. */
  status: 400 | 403 | 404 | 409;
  code: RefusalCode;
  /** What is wrong and what would make it allowed, in a sentence or two. */
  reason: string;
  /** For a 400: the request field at fault (`body.heldOn`). */
  field?: string;
  /** For a 403: the parties that may. */
  allowedParties?: Party[];
}

export type Decision =
  | { ok: true; contractState: ContractState; versionStatus: VersionStatus; signatureCompletes?: boolean }
  | { ok: false; refusal: Refusal };

/** The party issuing a command: `null` when the caller is not a party to the contract. */
export type Issued = ContractCommand & { by: Party | null };

const words = (s: string) => s.replaceAll("_", " ");
const list = (parties: readonly Party[]) => parties.map(words).join(", ");

function refuse(status: Refusal["status"], code: RefusalCode, reason: string, extra: Partial<Refusal> = {}) {
  return { ok: false as const, refusal: { status, code, reason, ...extra } };
}
function invalid(field: string, reason: string) {
  return refuse(400, "validation_failed", reason, { field });
}

export function signersOf(s: ContractSnapshot): Party[] {
  return requiredSigners({ guidanceFunds: s.version.guidanceFunds, hasStreetOffice: s.hasStreetOffice });
}

function missingSigners(s: ContractSnapshot): Party[] {
  return signatureStatus(signersOf(s), [...s.signedBy]).missing;
}

const nextSteps = new WeakMap<ContractSnapshot, string>();

/** What would move the contract (or its open amendment) on from here, as a sentence. */
export function nextStep(s: ContractSnapshot): string {
  // Every refusal of one snapshot says the same next step (allowedActions asks ~20 of them).
  let step = nextSteps.get(s);
  if (step === undefined) {
    step = describeNextStep(s);
    nextSteps.set(s, step);
  }
  return step;
}

function describeNextStep(s: ContractSnapshot): string {
  const v = s.version;
  const review = v.isAmendment ? `amendment version ${v.versionNo}` : "the draft";
  if (!v.isAmendment || v.status !== "signed") {
    switch (v.status) {
      case "draft":
        return `Next: the enterprise submits ${review}.`;
      case "submitted":
        return s.vote?.passed
          ? `Next: the owners committee approves version ${v.versionNo} (its vote passed) or requests changes.`
          : `Next: the owners committee records the owners' vote on version ${v.versionNo}, then approves it or requests changes.`;
      case "changes_requested":
        return `Next: the enterprise revises version ${v.versionNo}.`;
      case "approved":
        return `Next: the remaining parties sign version ${v.versionNo} (still to sign: ${list(missingSigners(s))}).`;
    }
  }
  switch (s.state) {
    case "signed":
      return s.milestones.construction_start
        ? "Next: the owners committee confirms the construction start."
        : "Next: the enterprise records the construction start.";
    case "under_construction": {
      const kind: MilestoneKind = s.milestones.completion_acceptance?.confirmed
        ? "operation_start"
        : "completion_acceptance";
      return s.milestones[kind]
        ? `Next: the owners committee confirms the ${words(kind)}.`
        : `Next: the enterprise records the ${words(kind)}.`;
    }
    case "operating":
      return s.openHandback > 0
        ? `Next: the owners committee checks off the ${s.openHandback} open handback condition(s); ownership passes on or after the transfer date ${s.transferDate}.`
        : `Next: on or after the transfer date ${s.transferDate}, the owners committee or the enterprise transfers the facilities.`;
    case "transferred":
      return `The facilities passed to the owners on ${s.transferredOn}; nothing more moves on this contract.`;
    case "terminated":
      return "The contract is terminated; nothing more moves on it.";
    default:
      return "";
  }
}

/** 409: not in this state; the sentence says what the command needs and what comes next. */
function notNow(s: ContractSnapshot, needs: string) {
  return refuse(409, "illegal_transition", `${needs} ${nextStep(s)}`.trim());
}

const stay = (s: ContractSnapshot) =>
  ({ ok: true, contractState: s.state, versionStatus: s.version.status }) as const;

/** A review step (submit … approve) on the current version; the contract moves with it before signing. */
function reviewMove(s: ContractSnapshot, from: VersionStatus, to: VersionStatus, needs: string) {
  if (s.version.status !== from || (!s.version.isAmendment && s.state !== from)) return notNow(s, needs);
  return {
    ok: true as const,
    contractState: s.version.isAmendment ? s.state : (to as ContractState),
    versionStatus: to,
  };
}

/** The parties that may issue `type` on this contract: for a signature, its required signers. */
function partiesFor(s: ContractSnapshot, type: CommandType): readonly Party[] {
  return type === "sign" ? signersOf(s) : COMMAND_PARTIES[type];
}

/**
 * Whether `command`, issued by `command.by`, may run on the contract `s` now. Checks in order: a
 * party of the contract (403), a party the command admits (403), then the state and what the
 * command needs of it (409; 404 for a milestone not recorded), then its dates (400).
 */
export function decide(s: ContractSnapshot, command: Issued, clock: () => Date): Decision {
  const by = command.by;
  const verb = VERBS[command.type];
  if (by === null) return refuse(403, "forbidden", `Only a party to this contract may ${verb}.`);
  const parties = partiesFor(s, command.type);
  if (!parties.includes(by)) {
    const reason =
      command.type === "sign" && COMMAND_PARTIES.sign.includes(by)
        ? `A ${words(by)} does not sign this contract; signers: ${list(parties)}.`
        : `A ${words(by)} may not ${verb}; allowed: ${list(parties)}.`;
    return refuse(403, "forbidden", reason, { allowedParties: [...parties] });
  }
  const today = shanghaiDate(clock());
  const v = s.version;
  switch (command.type) {
    case "comment":
      return stay(s);
    case "edit_draft":
      if (command.versionNo > v.versionNo)
        return refuse(404, "not_found", `Version ${command.versionNo} was not found.`);
      if (command.versionNo !== v.versionNo || v.status !== "draft") {
        const status = command.versionNo === v.versionNo ? v.status : "frozen";
        return refuse(
          409,
          "version_frozen",
          `Version ${command.versionNo} is ${words(status)}; only a draft can be edited. ${nextStep(s)}`,
        );
      }
      return stay(s);
    case "submit":
      return reviewMove(
        s,
        "draft",
        "submitted",
        `Only a draft is submitted; version ${v.versionNo} is ${words(v.status)}.`,
      );
    case "request_changes":
      return reviewMove(
        s,
        "submitted",
        "changes_requested",
        `Changes are requested on a submitted version; version ${v.versionNo} is ${words(v.status)}.`,
      );
    case "revise":
      return reviewMove(
        s,
        "changes_requested",
        "draft",
        `A version is revised after changes were requested; version ${v.versionNo} is ${words(v.status)}.`,
      );
    case "record_vote": {
      if (v.status !== "submitted") {
        return notNow(s, `Owners vote on a submitted version; version ${v.versionNo} is ${words(v.status)}.`);
      }
      if (compareDates(command.heldOn, today) > 0)
        return invalid("body.heldOn", `is in the future (today is ${today})`);
      if (v.submittedOn && compareDates(command.heldOn, v.submittedOn) < 0) {
        return invalid("body.heldOn", `is before version ${v.versionNo} was submitted (${v.submittedOn})`);
      }
      return stay(s);
    }
    case "approve": {
      const move = reviewMove(
        s,
        "submitted",
        "approved",
        `Only a submitted version is approved; version ${v.versionNo} is ${words(v.status)}.`,
      );
      if (!move.ok) return move;
      if (!s.vote) {
        return refuse(
          409,
          "vote_required",
          `Record the owners' vote on version ${v.versionNo} before approving it.`,
        );
      }
      if (!s.vote.passed) {
        return refuse(
          409,
          "vote_failed",
          `The latest owners' vote on version ${v.versionNo} (held ${s.vote.heldOn}) did not pass art. 278: hold a new vote, or request changes.`,
        );
      }
      return move;
    }
    case "sign": {
      if (v.status !== "approved" || (!v.isAmendment && s.state !== "approved")) {
        return notNow(s, `Only an approved version is signed; version ${v.versionNo} is ${words(v.status)}.`);
      }
      if (s.signedBy.includes(by)) {
        return refuse(
          409,
          "already_signed",
          `Your organization already signed version ${v.versionNo}. ${nextStep(s)}`,
        );
      }
      const completes = signatureStatus(signersOf(s), [...s.signedBy, by]).complete;
      return {
        ok: true,
        contractState: completes && !v.isAmendment ? "signed" : s.state,
        versionStatus: completes ? "signed" : v.status,
        signatureCompletes: completes,
      };
    }
    case "record_milestone": {
      const rule = MILESTONE_RULES[command.kind];
      const name = words(command.kind);
      if (s.state !== rule.recordedIn) {
        return notNow(
          s,
          `The ${name} is recorded while the contract is ${words(rule.recordedIn)}; it is ${words(s.state)}.`,
        );
      }
      const existing = s.milestones[command.kind];
      if (existing?.confirmed) {
        return refuse(
          409,
          "milestone_confirmed",
          `The ${name} was already confirmed on ${existing.occurredOn}. ${nextStep(s)}`,
        );
      }
      const previous = rule.after ? s.milestones[rule.after] : undefined;
      if (rule.after && !previous?.confirmed) {
        return refuse(
          409,
          "milestone_out_of_order",
          `The ${words(rule.after)} must be confirmed first. ${nextStep(s)}`,
        );
      }
      if (compareDates(command.occurredOn, today) > 0) {
        return invalid("body.occurredOn", `is in the future (today is ${today})`);
      }
      if (previous && rule.after && compareDates(command.occurredOn, previous.occurredOn) < 0) {
        return invalid("body.occurredOn", `is before the ${words(rule.after)} (${previous.occurredOn})`);
      }
      if (!rule.after && s.signedOn && compareDates(command.occurredOn, s.signedOn) < 0) {
        return invalid("body.occurredOn", `is before the contract was signed (${s.signedOn})`);
      }
      return stay(s);
    }
    case "confirm_milestone": {
      const rule = MILESTONE_RULES[command.kind];
      const name = words(command.kind);
      const milestone = s.milestones[command.kind];
      if (milestone?.confirmed) {
        return refuse(409, "milestone_confirmed", `The ${name} was already confirmed. ${nextStep(s)}`);
      }
      if (s.state !== rule.recordedIn) {
        return notNow(
          s,
          `The ${name} is confirmed while the contract is ${words(rule.recordedIn)}; it is ${words(s.state)}.`,
        );
      }
      if (!milestone) {
        return refuse(
          404,
          "not_found",
          `The ${name} has not been recorded yet: the enterprise records it first.`,
        );
      }
      return { ok: true, contractState: rule.confirmMoves ?? s.state, versionStatus: v.status };
    }
    case "check_handback":
      if (s.state !== "operating") {
        return notNow(
          s,
          `Handback conditions are checked off while the contract is operating; it is ${words(s.state)}.`,
        );
      }
      if (compareDates(command.checkedOn, today) > 0)
        return invalid("body.checkedOn", `is in the future (today is ${today})`);
      return stay(s);
    case "transfer": {
      if (s.state !== "operating") {
        return notNow(s, `Only an operating contract is transferred; this one is ${words(s.state)}.`);
      }
      if (compareDates(command.on, today) > 0)
        return invalid("body.transferredOn", `is in the future (today is ${today})`);
      if (!s.transferDate || compareDates(command.on, s.transferDate) < 0) {
        return refuse(
          409,
          "transfer_not_due",
          `The transfer date is ${s.transferDate}; ownership cannot pass before it.`,
        );
      }
      if (s.openHandback > 0) {
        return refuse(
          409,
          "handback_incomplete",
          `${s.openHandback} handback condition(s) are not checked off: the owners committee checks them off first.`,
        );
      }
      return { ok: true, contractState: "transferred", versionStatus: v.status };
    }
    case "terminate":
      if (!(RUNNING_STATES as readonly ContractState[]).includes(s.state)) {
        return notNow(s, `Only a signed, unfinished contract is terminated; this one is ${words(s.state)}.`);
      }
      return { ok: true, contractState: "terminated", versionStatus: v.status };
    case "amend":
      if (!(RUNNING_STATES as readonly ContractState[]).includes(s.state)) {
        return notNow(
          s,
          `Only a signed contract (signed, under construction or operating) is amended; this one is ${words(s.state)}.`,
        );
      }
      if (v.status !== "signed") {
        return refuse(
          409,
          "amendment_open",
          `Amendment version ${v.versionNo} is still ${words(v.status)}: finish it first. ${nextStep(s)}`,
        );
      }
      if (compareDates(command.effectiveDate, today) < 0)
        return invalid("body.effectiveDate", `is in the past (today is ${today})`);
      return stay(s);
    case "run_billing":
      return decideBillingRun(s, command.period, today);
    case "subscribe":
      return whileOperating(s, "A subscription");
    case "record_usage":
      return whileOperating(s, "Recording usage");
    case "change_subscription":
    case "record_payment":
    case "issue_credit_note":
    case "refund_credit_note":
    case "review_report":
      // Money already owed and reports already filed are settled whatever the contract's state.
      return stay(s);
    case "set_financial_assumptions":
      if (isTerminal(s.state)) return notNow(s, `A ${words(s.state)} contract's financial model is closed.`);
      return stay(s);
    case "record_guidance_disbursement":
      if (!isCommitted(s.state)) {
        return notNow(s, `Guidance funds are paid to a signed contract; this one is ${words(s.state)}.`);
      }
      return stay(s);
    case "file_report":
      if (!(REPORTING_STATES as readonly ContractState[]).includes(s.state)) {
        return notNow(
          s,
          `Only an operating (or transferred) contract reports; this one is ${words(s.state)}.`,
        );
      }
      return stay(s);
  }
}

/** Residents' fees run only while the enterprise operates the facilities. */
function whileOperating(s: ContractSnapshot, what: string): Decision {
  if (s.state !== "operating" || !s.operationStartDate) {
    return refuse(
      409,
      "contract_not_operating",
      `${what} needs an operating contract; this one is ${words(s.state)}. ${nextStep(s)}`.trim(),
    );
  }
  return stay(s);
}

function decideBillingRun(s: ContractSnapshot, period: Period, today: string): Decision {
  const op = s.operationStartDate;
  if (op && (s.state === "operating" || s.state === "transferred")) {
    const reason = billingRunRefusal(period, { operationStart: op, transferDate: s.transferDate });
    if (reason) return refuse(409, "billing_period_refused", `The ${reason}.`);
  }
  if (s.state !== "operating" || !op) {
    return refuse(
      409,
      "contract_not_operating",
      s.state === "transferred"
        ? `The contract was transferred on ${s.transferredOn}: billing ended with the final settlement.`
        : `Billing runs need an operating contract; this one is ${words(s.state)}. ${nextStep(s)}`,
    );
  }
  const current = periodOf(today);
  if (comparePeriods(period, current) > 0) {
    return refuse(
      409,
      "billing_period_refused",
      `The period ${period} has not begun; bill a month up to ${current}.`,
    );
  }
  return stay(s);
}

/**
 * The actions a party may take on the contract now: each command of the contract itself that
 * `decide` allows with today's dates. Commands on a contract's invoices, subscriptions and reports
 * are decided by the same table but offered on those resources, not here.
 */
export const ACTIONS = [
  "submit",
  "request_changes",
  "revise",
  "record_vote",
  "approve",
  "sign",
  "record_construction_start",
  "confirm_construction_start",
  "record_completion_acceptance",
  "confirm_completion_acceptance",
  "record_operation_start",
  "confirm_operation_start",
  "check_handback",
  "transfer",
  "amend",
  "terminate",
  "comment",
  "edit_draft",
  "run_billing",
  "record_usage",
  "subscribe",
  "file_report",
  "set_financial_assumptions",
  "record_guidance_disbursement",
] as const;
export type Action = (typeof ACTIONS)[number];

/** The command an action stands for, with today's dates (the period: this month). */
export function commandOf(action: Action, s: ContractSnapshot, today: string): ContractCommand {
  switch (action) {
    case "record_construction_start":
    case "record_completion_acceptance":
    case "record_operation_start":
      return {
        type: "record_milestone",
        kind: action.slice("record_".length) as MilestoneKind,
        occurredOn: today,
      };
    case "confirm_construction_start":
    case "confirm_completion_acceptance":
    case "confirm_operation_start":
      return { type: "confirm_milestone", kind: action.slice("confirm_".length) as MilestoneKind };
    case "record_vote":
      return { type: "record_vote", heldOn: today };
    case "check_handback":
      return { type: "check_handback", checkedOn: today };
    case "transfer":
      return { type: "transfer", on: today };
    case "amend":
      return { type: "amend", effectiveDate: today };
    case "edit_draft":
      return { type: "edit_draft", versionNo: s.version.versionNo };
    case "run_billing":
      return { type: "run_billing", period: periodOf(today) };
    default:
      return { type: action };
  }
}

/**
 * What `party` may do on the contract now, in table order. A command that needs more than the
 * state (a passing vote, an open handback condition, the transfer date) is listed only once it has it.
 */
export function allowedActions(s: ContractSnapshot, party: Party | null, clock: () => Date): Action[] {
  if (party === null) return [];
  // One reading of the clock for every action: the same "today" for all of them.
  const now = clock();
  const today = shanghaiDate(now);
  const at = () => now;
  return ACTIONS.filter((action) => {
    const command = commandOf(action, s, today);
    if (command.type === "check_handback" && s.openHandback === 0) return false;
    // The party check first, as decide makes it, without building the refusal's sentence.
    if (!partiesFor(s, command.type).includes(party)) return false;
    return decide(s, { ...command, by: party }, at).ok;
  });
}
