/**
 * Running one command on one contract: load its snapshot in a transaction that locks the contract
 * row, ask the command table (contracts/commands.ts), and write with the audit row only when it
 * allows. Every write on a contract, whichever resource it belongs to, goes through here.
 */
import { and, desc, eq, isNull, sql } from "drizzle-orm";
import {
  allowedActions,
  type ContractCommand,
  type ContractSnapshot,
  committeeTurn,
  type Decision,
  decide,
  type MILESTONE_KINDS,
  type Party,
  type Refusal,
  shanghaiDate,
} from "../../../contracts/index.js";
import { appendAudit } from "../../../db/audit.js";
import type { Queryable, Tx } from "../../../db/database.js";
import {
  contractMilestones,
  contractSignatures,
  contractVersions,
  contractVotes,
  handbackChecks,
} from "../../../db/schema.js";
import type { OrgPrincipal } from "../../auth/principal.js";
import { ApiError } from "../../errors.js";
import type { ServiceContext } from "../context.js";
import { cause } from "../notifications/cause.js";
import { recordNotificationEvents } from "../notifications/events.js";
import { type ContractRow, findContract, findVersion, partyOf, type VersionRow } from "./store.js";

/** What a command's writes are given once the command table has allowed it. */
export interface CommandScope {
  tx: Tx;
  contract: ContractRow;
  /** The current version, locked. */
  version: VersionRow;
  snapshot: ContractSnapshot;
  decision: Extract<Decision, { ok: true }>;
  party: Party;
  actor: OrgPrincipal;
  now: Date;
  /** Today in Asia/Shanghai. */
  today: string;
  /** Appends the decision to the contract's hash-chained audit log. */
  audit: (
    action: string,
    data: { versionNo?: number | null; payload?: unknown; contentHash?: string | null },
  ) => Promise<void>;
}

/** The parts of a snapshot beyond the contract row and its current version. */
export interface SnapshotParts {
  /** Signatures of the current version. */
  signedBy: readonly Party[];
  vote: { heldOn: string; passed: boolean } | null;
  /** When the contract's own (not an amendment's) last required signature was made. */
  firstSignedAt: Date | null;
  milestones: readonly {
    kind: (typeof MILESTONE_KINDS)[number];
    occurredOn: string;
    confirmedAt: Date | null;
  }[];
  openHandback: number;
}

export function snapshotOf(c: ContractRow, v: VersionRow, parts: SnapshotParts): ContractSnapshot {
  const milestones: ContractSnapshot["milestones"] = {};
  for (const m of parts.milestones)
    milestones[m.kind] = { occurredOn: m.occurredOn, confirmed: m.confirmedAt !== null };
  return {
    state: c.state,
    version: {
      versionNo: v.versionNo,
      status: v.status,
      isAmendment: v.isAmendment,
      submittedOn: v.submittedAt ? shanghaiDate(v.submittedAt) : null,
      guidanceFunds: v.guidanceFunds,
    },
    hasStreetOffice: c.streetOfficeOrgId !== null,
    signedBy: parts.signedBy,
    vote: parts.vote,
    signedOn: parts.firstSignedAt ? shanghaiDate(parts.firstSignedAt) : null,
    milestones,
    operationStartDate: c.operationStartDate,
    transferDate: c.transferDate,
    transferredOn: c.transferredOn,
    openHandback: parts.openHandback,
  };
}

/**
 * The latest owners' vote on a version: the one that counts (a revote replaces an earlier one).
 * The contract detail's statement (store.ts DETAIL.vote) orders the same way.
 */
export async function latestVote(tx: Queryable, contractId: string, versionNo: number) {
  const [vote] = await tx
    .select()
    .from(contractVotes)
    .where(and(eq(contractVotes.contractId, contractId), eq(contractVotes.versionNo, versionNo)))
    .orderBy(desc(contractVotes.heldOn), desc(contractVotes.createdAt))
    .limit(1);
  return vote ?? null;
}

/** The contract's snapshot as a command sees it, read inside the command's transaction. */
export async function loadSnapshot(tx: Queryable, c: ContractRow, v: VersionRow): Promise<ContractSnapshot> {
  const [signatures, vote, firstSigned, milestones, open] = await Promise.all([
    tx
      .select({ party: contractSignatures.party })
      .from(contractSignatures)
      .where(and(eq(contractSignatures.contractId, c.id), eq(contractSignatures.versionNo, v.versionNo))),
    latestVote(tx, c.id, v.versionNo),
    tx
      .select({ at: sql<Date | null>`min(${contractVersions.signedAt})`.mapWith(contractVersions.signedAt) })
      .from(contractVersions)
      .where(and(eq(contractVersions.contractId, c.id), eq(contractVersions.isAmendment, false))),
    tx
      .select({
        kind: contractMilestones.kind,
        occurredOn: contractMilestones.occurredOn,
        confirmedAt: contractMilestones.confirmedAt,
      })
      .from(contractMilestones)
      .where(eq(contractMilestones.contractId, c.id)),
    tx
      .select({ n: sql<number>`count(*)::int` })
      .from(handbackChecks)
      .where(and(eq(handbackChecks.contractId, c.id), isNull(handbackChecks.checkedOn))),
  ]);
  return snapshotOf(c, v, {
    signedBy: signatures.map((s) => s.party),
    vote: vote ? { heldOn: vote.heldOn, passed: vote.passed } : null,
    firstSignedAt: firstSigned[0]?.at ?? null,
    milestones,
    openHandback: open[0]?.n ?? 0,
  });
}

/**
 * A refusal of the command table as the API's error: 403, 404, 400 naming the field, or 409 with
 * the contract's state and what the caller may do instead.
 */
export function refusalError(
  refusal: Refusal,
  snapshot: ContractSnapshot,
  party: Party | null,
  clock: () => Date,
  extra: Record<string, unknown> = {},
): ApiError {
  switch (refusal.status) {
    case 403:
      return ApiError.forbidden(refusal.reason);
    case 404:
      return new ApiError(404, "not_found", "Not found", refusal.reason);
    case 400:
      return ApiError.validation([{ field: refusal.field ?? "body", message: refusal.reason }]);
    case 409:
      return ApiError.conflict(refusal.code, refusal.reason, {
        currentState: snapshot.state,
        versionState: snapshot.version.status,
        allowedActions: allowedActions(snapshot, party, clock),
        ...extra,
      });
  }
}

/**
 * Runs `command` on contract `id`: in scope (else 404), allowed by the command table (else its
 * refusal), then `run` in the same transaction. `explain` adds detail to a 409 (the open handback
 * conditions, the failed vote) from the locked transaction.
 */
export async function runContractCommand<T>(
  ctx: ServiceContext,
  id: string,
  command: ContractCommand,
  run: (s: CommandScope) => Promise<T>,
  explain?: (tx: Tx, contract: ContractRow, refusal: Refusal) => Promise<Record<string, unknown>>,
): Promise<T> {
  const p = ctx.principal;
  const now = ctx.clock();
  return ctx.db.transaction(async (tx) => {
    const contract = await findContract(tx, p, id, true);
    const version = await findVersion(tx, contract.id, contract.currentVersionNo, true);
    const snapshot = await loadSnapshot(tx, contract, version);
    const party = partyOf(p, contract);
    const decision = decide(snapshot, { ...command, by: party }, ctx.clock);
    if (!decision.ok) {
      const extra = explain ? await explain(tx, contract, decision.refusal) : {};
      throw refusalError(decision.refusal, snapshot, party, ctx.clock, extra);
    }
    // decide admits parties only, and a party acts for an organization of the contract's street.
    const actor = p as OrgPrincipal;
    const result = await run({
      tx,
      contract,
      version,
      snapshot,
      decision,
      party: party as Party,
      actor,
      now,
      today: shanghaiDate(now),
      audit: async (action, data) => {
        await appendAudit(tx, {
          contractId: contract.id,
          action,
          actorOrgId: actor.orgId,
          actorKeyId: actor.keyId,
          actor: actor.person,
          versionNo: data.versionNo ?? null,
          payload: data.payload ?? {},
          contentHash: data.contentHash ?? null,
          at: now,
        });
      },
    });
    // After `run`, so that a write it refuses (throws) rolls the notice back with it.
    const action = committeeTurn(snapshot, command, party as Party, decision);
    if (action) {
      await recordNotificationEvents(tx, [
        cause(
          "contract_awaiting_committee",
          { contractId: contract.id, title: contract.title, action },
          {
            subjectId: contract.id,
            streetId: contract.streetId,
            communityId: contract.communityId,
            contractId: contract.id,
            enterpriseOrgId: contract.enterpriseOrgId,
            // The signatures of one version are asked for once, however many parties sign before it.
            dedupeKey:
              action === "sign"
                ? `contract_awaiting_committee:${contract.id}:${version.versionNo}:sign`
                : null,
            occurredAt: now,
          },
        ),
      ]);
    }
    return result;
  });
}
