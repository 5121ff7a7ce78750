/**
 * The contract's lifecycle: review (submit, request changes, revise, vote, approve, sign),
 * amendments, comments, milestones, handback and transfer, termination. Each is one command of
 * the command table, run in one transaction on the locked contract row with its audit row.
 */
import { and, asc, eq, inArray, isNull, sql } from "drizzle-orm";
import {
  type ContractTerms,
  documentHash,
  evaluateVote,
  MILESTONE_RULES,
  type MilestoneKind,
  shanghaiDate,
  signatureStatus,
  signersOf,
  transferDate,
} from "../../../contracts/index.js";
import { endSubscriptionsAtTermination, endSubscriptionsAtTransfer } from "../../../db/billing.js";
import type { Queryable, Tx } from "../../../db/database.js";
import {
  buildings,
  contractComments,
  contractFacilities,
  contractMilestones,
  contractSignatures,
  contractVersions,
  contractVotes,
  facilities,
  handbackChecks,
  households,
} from "../../../db/schema.js";
import { ApiError } from "../../errors.js";
import type { ServiceContext } from "../context.js";
import { type PageRequest, pageOf } from "../pages.js";
import { type CommandScope, latestVote, runContractCommand } from "./command.js";
import {
  contractDetail,
  documentOf,
  facilityKindsOf,
  findContract,
  findVersion,
  insertVersion,
  setContract,
  setVersion,
  termsErrors,
  termsOf,
  type VersionRow,
} from "./store.js";

/** Runs a command and answers with the contract as the caller sees it afterwards. */
async function detailAfter(
  ctx: ServiceContext,
  id: string,
  command: Parameters<typeof runContractCommand>[2],
  run: (s: CommandScope) => Promise<void>,
  explain?: Parameters<typeof runContractCommand>[4],
) {
  await runContractCommand(ctx, id, command, run, explain);
  return contractDetail(ctx.db, ctx.principal, id, ctx.clock);
}

/** Moves the current version (and, before signing, the contract) as the command table decided. */
async function moveReview(s: CommandScope, values: Partial<typeof contractVersions.$inferInsert> = {}) {
  await setVersion(s.tx, s.version.id, { status: s.decision.versionStatus, ...values }, s.now);
  if (s.decision.contractState !== s.contract.state) {
    await setContract(s.tx, s.contract.id, { state: s.decision.contractState }, s.now);
  }
}

async function addCommentRow(s: CommandScope, versionNo: number, body: string) {
  const [comment] = await s.tx
    .insert(contractComments)
    .values({
      contractId: s.contract.id,
      versionNo,
      authorOrgId: s.actor.orgId,
      authorKeyId: s.actor.keyId,
      body,
      createdAt: s.now,
    })
    .returning();
  if (!comment) throw new Error("insert returned nothing");
  return comment;
}

export async function submit(ctx: ServiceContext, id: string) {
  return detailAfter(ctx, id, { type: "submit" }, async (s) => {
    const errors = termsErrors(
      await termsOf(s.tx, s.version),
      await facilityKindsOf(s.tx, s.contract.id),
      "terms",
    );
    if (errors.length)
      throw ApiError.validation(errors, "The draft's terms are not complete enough to submit.");
    await moveReview(s, { submittedAt: s.now });
    const frozen = documentHash(await documentOf(s.tx, s.contract, s.version));
    await s.audit("version.submitted", { versionNo: s.version.versionNo, contentHash: frozen });
  });
}

export async function requestChanges(ctx: ServiceContext, id: string, reason: string) {
  return detailAfter(ctx, id, { type: "request_changes" }, async (s) => {
    await moveReview(s);
    await addCommentRow(s, s.version.versionNo, reason);
    await s.audit("version.changes_requested", { versionNo: s.version.versionNo, payload: { reason } });
  });
}

export async function revise(ctx: ServiceContext, id: string) {
  return detailAfter(ctx, id, { type: "revise" }, async (s) => {
    const version = s.version;
    // The reviewed version stays as it was (changes_requested); the edit happens on a new draft.
    const next = await insertVersion(
      s.tx,
      {
        contractId: s.contract.id,
        versionNo: version.versionNo + 1,
        isAmendment: version.isAmendment,
        effectiveDate: version.effectiveDate,
        summary: version.summary,
      },
      await termsOf(s.tx, version),
    );
    await setContract(
      s.tx,
      s.contract.id,
      { state: s.decision.contractState, currentVersionNo: next.versionNo },
      s.now,
    );
    await s.audit("version.revised", { versionNo: next.versionNo, payload: { from: version.versionNo } });
  });
}

/** The community's household register: the totals an owners' vote is measured against. */
async function registerTotals(db: Queryable, communityId: string) {
  const [row] = await db
    .select({
      area: sql<string>`coalesce(sum(${households.floorArea}), 0)::numeric(14,2)::text`,
      owners: sql<number>`count(*)::int`,
    })
    .from(households)
    .innerJoin(buildings, eq(buildings.id, households.buildingId))
    .where(eq(buildings.communityId, communityId));
  return { area: row?.area ?? "0.00", owners: row?.owners ?? 0 };
}

export type VoteRow = typeof contractVotes.$inferSelect;

/** A recorded vote with the four art. 278 ratios against their thresholds, and which failed. */
export function voteView(v: VoteRow) {
  const result = evaluateVote({
    matter: v.matter,
    totalArea: v.totalArea,
    totalOwners: v.totalOwners,
    participatingArea: v.participatingArea,
    participatingOwners: v.participatingOwners,
    yesArea: v.yesArea,
    yesOwners: v.yesOwners,
  });
  return {
    id: v.id,
    versionNo: v.versionNo,
    matter: v.matter,
    heldOn: v.heldOn,
    totalArea: v.totalArea,
    totalOwners: v.totalOwners,
    participatingArea: v.participatingArea,
    participatingOwners: v.participatingOwners,
    yesArea: v.yesArea,
    yesOwners: v.yesOwners,
    passed: v.passed,
    ratios: result.valid ? result.ratios : [],
    failed: result.valid ? result.failed : [],
    createdAt: v.createdAt.toISOString(),
  };
}

/** In the order they were held (recorded, then id, break ties). */
export async function listVotes(ctx: ServiceContext, id: string, page?: PageRequest) {
  const contract = await findContract(ctx.db, ctx.principal, id);
  const where = eq(contractVotes.contractId, contract.id);
  const query = ctx.db
    .select()
    .from(contractVotes)
    .where(where)
    .orderBy(asc(contractVotes.heldOn), asc(contractVotes.createdAt), asc(contractVotes.id))
    .$dynamic();
  const { items, total } = await pageOf(query, () => ctx.db.$count(contractVotes, where), page);
  return { items: items.map(voteView), total };
}

/** One vote of the contract, as its list shows it (404 outside the caller's scope or another contract's). */
export async function getVote(ctx: ServiceContext, id: string, voteId: string) {
  const contract = await findContract(ctx.db, ctx.principal, id);
  const [row] = await ctx.db
    .select()
    .from(contractVotes)
    .where(and(eq(contractVotes.contractId, contract.id), eq(contractVotes.id, voteId)));
  if (!row) throw ApiError.notFound("The vote");
  return voteView(row);
}

export interface VoteTally {
  heldOn: string;
  participatingArea: string;
  participatingOwners: number;
  yesArea: string;
  yesOwners: number;
}

export async function recordVote(ctx: ServiceContext, id: string, body: VoteTally): Promise<VoteRow> {
  return runContractCommand(ctx, id, { type: "record_vote", heldOn: body.heldOn }, async (s) => {
    const totals = await registerTotals(s.tx, s.contract.communityId);
    const tally = {
      matter: s.contract.voteMatter,
      totalArea: totals.area,
      totalOwners: totals.owners,
      participatingArea: body.participatingArea,
      participatingOwners: body.participatingOwners,
      yesArea: body.yesArea,
      yesOwners: body.yesOwners,
    };
    const result = evaluateVote(tally);
    if (!result.valid) {
      throw ApiError.validation(
        result.issues.map((i) => ({ field: `body.${i.field}`, message: i.message })),
        `The tally does not fit the community's register (${totals.owners} owners, ${totals.area} m²).`,
      );
    }
    const [row] = await s.tx
      .insert(contractVotes)
      .values({
        contractId: s.contract.id,
        versionNo: s.version.versionNo,
        ...tally,
        passed: result.passed,
        heldOn: body.heldOn,
        recordedByOrgId: s.actor.orgId,
        createdAt: s.now,
      })
      .returning();
    if (!row) throw new Error("insert returned nothing");
    await s.audit("vote.recorded", {
      versionNo: s.version.versionNo,
      payload: { ...tally, heldOn: body.heldOn, passed: result.passed, failed: result.failed },
    });
    return row;
  });
}

/** The approval; a comment given with it is kept on the version, like a request for changes' reason. */
export async function approve(ctx: ServiceContext, id: string, body: { comment?: string }) {
  return detailAfter(
    ctx,
    id,
    { type: "approve" },
    async (s) => {
      const vote = await latestVote(s.tx, s.contract.id, s.version.versionNo);
      await moveReview(s);
      const comment = body.comment ? await addCommentRow(s, s.version.versionNo, body.comment) : null;
      await s.audit("version.approved", {
        versionNo: s.version.versionNo,
        payload: {
          voteId: vote?.id ?? null,
          ...(comment ? { commentId: comment.id, comment: comment.body } : {}),
        },
      });
    },
    async (tx, contract, refusal) => {
      if (refusal.code !== "vote_failed") return {};
      const vote = await latestVote(tx, contract.id, contract.currentVersionNo);
      return vote ? { vote: voteView(vote) } : {};
    },
  );
}

export async function sign(ctx: ServiceContext, id: string) {
  return detailAfter(ctx, id, { type: "sign" }, async (s) => {
    const version = s.version;
    const hash = documentHash(await documentOf(s.tx, s.contract, version));
    await s.tx.insert(contractSignatures).values({
      contractId: s.contract.id,
      versionNo: version.versionNo,
      partyOrgId: s.actor.orgId,
      party: s.party,
      keyId: s.actor.keyId,
      contentHash: hash,
      signedAt: s.now,
    });
    const complete = s.decision.signatureCompletes === true;
    if (complete) await completeSignature(s, version, hash);
    const missing = signatureStatus(signersOf(s.snapshot), [...s.snapshot.signedBy, s.party]).missing;
    await s.audit("version.signed", {
      versionNo: version.versionNo,
      contentHash: hash,
      payload: { party: s.party, complete, missing },
    });
  });
}

/** The last signature: the version is fixed with its hash and comes into force. */
async function completeSignature(s: CommandScope, version: VersionRow, hash: string) {
  await setVersion(s.tx, version.id, { status: "signed", signedAt: s.now, contentHash: hash }, s.now);
  const terms = await termsOf(s.tx, version);
  if (!version.isAmendment) {
    await setContract(s.tx, s.contract.id, { state: "signed", signedVersionNo: version.versionNo }, s.now);
    await addHandbackConditions(s, terms);
    return;
  }
  // An amendment supersedes the version in force; a longer or shorter term moves the transfer date.
  if (s.contract.signedVersionNo !== null) {
    await s.tx
      .update(contractVersions)
      .set({ status: "superseded", updatedAt: s.now })
      .where(
        and(
          eq(contractVersions.contractId, s.contract.id),
          eq(contractVersions.versionNo, s.contract.signedVersionNo),
        ),
      );
  }
  await setContract(
    s.tx,
    s.contract.id,
    {
      signedVersionNo: version.versionNo,
      ...(s.contract.operationStartDate
        ? { transferDate: transferDate(s.contract.operationStartDate, terms.operationTermMonths) }
        : {}),
    },
    s.now,
  );
  // New handback conditions join the checklist; ticked ones stay ticked.
  await addHandbackConditions(s, terms);
}

async function addHandbackConditions(s: CommandScope, terms: ContractTerms) {
  if (!terms.handbackConditions.length) return;
  await s.tx
    .insert(handbackChecks)
    .values(
      terms.handbackConditions.map((h) => ({
        contractId: s.contract.id,
        code: h.code,
        description: h.description,
      })),
    )
    .onConflictDoNothing();
}

export async function createAmendment(
  ctx: ServiceContext,
  id: string,
  body: { effectiveDate: string; summary: string; terms: ContractTerms },
) {
  return detailAfter(ctx, id, { type: "amend", effectiveDate: body.effectiveDate }, async (s) => {
    const errors = termsErrors(body.terms, await facilityKindsOf(s.tx, s.contract.id));
    if (errors.length) throw ApiError.validation(errors);
    const next = await insertVersion(
      s.tx,
      {
        contractId: s.contract.id,
        versionNo: s.version.versionNo + 1,
        isAmendment: true,
        effectiveDate: body.effectiveDate,
        summary: body.summary,
      },
      body.terms,
    );
    await setContract(s.tx, s.contract.id, { currentVersionNo: next.versionNo }, s.now);
    await s.audit("amendment.drafted", {
      versionNo: next.versionNo,
      payload: { effectiveDate: body.effectiveDate, summary: body.summary },
    });
  });
}

export type CommentRow = typeof contractComments.$inferSelect;

export async function addComment(
  ctx: ServiceContext,
  id: string,
  body: { body: string; versionNo?: number },
): Promise<CommentRow> {
  return runContractCommand(ctx, id, { type: "comment" }, async (s) => {
    const versionNo = body.versionNo ?? s.contract.currentVersionNo;
    await findVersion(s.tx, s.contract.id, versionNo);
    const comment = await addCommentRow(s, versionNo, body.body);
    await s.audit("comment.added", { versionNo, payload: { commentId: comment.id, body: body.body } });
    return comment;
  });
}

/** Oldest first (id breaks ties). */
export async function listComments(ctx: ServiceContext, id: string, versionNo?: number, page?: PageRequest) {
  const contract = await findContract(ctx.db, ctx.principal, id);
  const where = and(
    eq(contractComments.contractId, contract.id),
    versionNo ? eq(contractComments.versionNo, versionNo) : undefined,
  );
  const query = ctx.db
    .select()
    .from(contractComments)
    .where(where)
    .orderBy(asc(contractComments.createdAt), asc(contractComments.id))
    .$dynamic();
  return pageOf(query, () => ctx.db.$count(contractComments, where), page);
}

/** One comment of the contract (404 outside the caller's scope or another contract's). */
export async function getComment(ctx: ServiceContext, id: string, commentId: string): Promise<CommentRow> {
  const contract = await findContract(ctx.db, ctx.principal, id);
  const [row] = await ctx.db
    .select()
    .from(contractComments)
    .where(and(eq(contractComments.contractId, contract.id), eq(contractComments.id, commentId)));
  if (!row) throw ApiError.notFound("The comment");
  return row;
}

// ---- construction, operation, handback, transfer, termination --------------------------------

export async function recordMilestone(
  ctx: ServiceContext,
  id: string,
  body: { kind: MilestoneKind; occurredOn: string; note: string },
) {
  return detailAfter(
    ctx,
    id,
    { type: "record_milestone", kind: body.kind, occurredOn: body.occurredOn },
    async (s) => {
      const values = {
        occurredOn: body.occurredOn,
        note: body.note,
        recordedByOrgId: s.actor.orgId,
        recordedAt: s.now,
      };
      await s.tx
        .insert(contractMilestones)
        .values({ contractId: s.contract.id, kind: body.kind, ...values })
        .onConflictDoUpdate({
          target: [contractMilestones.contractId, contractMilestones.kind],
          set: values,
        });
      await s.audit("milestone.recorded", {
        payload: { kind: body.kind, occurredOn: body.occurredOn, note: body.note },
      });
    },
  );
}

async function setFacilities(tx: Tx, contractId: string, values: Partial<typeof facilities.$inferInsert>) {
  await tx
    .update(facilities)
    .set(values)
    .where(
      inArray(
        facilities.id,
        tx
          .select({ id: contractFacilities.facilityId })
          .from(contractFacilities)
          .where(eq(contractFacilities.contractId, contractId)),
      ),
    );
}

export async function confirmMilestone(ctx: ServiceContext, id: string, kind: MilestoneKind) {
  return detailAfter(ctx, id, { type: "confirm_milestone", kind }, async (s) => {
    const milestone = s.snapshot.milestones[kind];
    if (!milestone) throw new Error("the command table confirms only a recorded milestone");
    const to = MILESTONE_RULES[kind].confirmMoves;
    if (to === "under_construction") {
      await setContract(s.tx, s.contract.id, { state: to }, s.now);
      await setFacilities(s.tx, s.contract.id, {
        status: "under_construction",
        operatorOrgId: s.contract.enterpriseOrgId,
      });
    } else if (to === "operating") {
      const signed = await findVersion(
        s.tx,
        s.contract.id,
        s.contract.signedVersionNo ?? s.version.versionNo,
      );
      await setContract(
        s.tx,
        s.contract.id,
        {
          state: to,
          operationStartDate: milestone.occurredOn,
          transferDate: transferDate(milestone.occurredOn, signed.operationTermMonths),
        },
        s.now,
      );
      await setFacilities(s.tx, s.contract.id, { status: "operating" });
    }
    await s.tx
      .update(contractMilestones)
      .set({ confirmedByOrgId: s.actor.orgId, confirmedAt: s.now })
      .where(and(eq(contractMilestones.contractId, s.contract.id), eq(contractMilestones.kind, kind)));
    await s.audit("milestone.confirmed", { payload: { kind, occurredOn: milestone.occurredOn } });
  });
}

export type HandbackRow = typeof handbackChecks.$inferSelect;

export async function checkHandback(
  ctx: ServiceContext,
  id: string,
  code: string,
  body: { checkedOn: string; note: string },
): Promise<HandbackRow> {
  return runContractCommand(ctx, id, { type: "check_handback", checkedOn: body.checkedOn }, async (s) => {
    const [updated] = await s.tx
      .update(handbackChecks)
      .set({ checkedOn: body.checkedOn, checkedByOrgId: s.actor.orgId, note: body.note })
      .where(and(eq(handbackChecks.contractId, s.contract.id), eq(handbackChecks.code, code)))
      .returning();
    if (!updated) throw ApiError.notFound(`The handback condition "${code}"`);
    await s.audit("handback.checked", { payload: { code, checkedOn: body.checkedOn, note: body.note } });
    return updated;
  });
}

/** Transfer on `on` (default today, Asia/Shanghai): ownership passes; subscriptions settle. */
export async function transfer(ctx: ServiceContext, id: string, body: { transferredOn?: string }) {
  const on = body.transferredOn ?? shanghaiDate(ctx.clock());
  return detailAfter(
    ctx,
    id,
    { type: "transfer", on },
    async (s) => {
      const due = s.contract.transferDate;
      if (!due) throw new Error("the command table transfers only a contract with a transfer date");
      await setContract(s.tx, s.contract.id, { state: "transferred", transferredOn: on }, s.now);
      await setFacilities(s.tx, s.contract.id, {
        status: "transferred",
        operatorOrgId: null,
        transferredAt: on,
      });
      await s.audit("contract.transferred", { payload: { transferredOn: on, transferDate: due } });
      const settled = await endSubscriptionsAtTransfer(s.tx, s.contract, due, s.today);
      if (settled.ended > 0) await s.audit("subscriptions.ended_at_transfer", { payload: settled });
    },
    async (tx, contract, refusal) => {
      if (refusal.code === "transfer_not_due") return { transferDate: contract.transferDate };
      if (refusal.code !== "handback_incomplete") return {};
      const open = await tx
        .select({ code: handbackChecks.code, description: handbackChecks.description })
        .from(handbackChecks)
        .where(and(eq(handbackChecks.contractId, contract.id), isNull(handbackChecks.checkedOn)));
      return { open };
    },
  );
}

export async function terminate(ctx: ServiceContext, id: string, reason: string) {
  return detailAfter(ctx, id, { type: "terminate" }, async (s) => {
    const from = s.contract.state;
    await setContract(s.tx, s.contract.id, { state: "terminated", terminatedReason: reason }, s.now);
    // Works stopped before operation: the facility is planned again and free for a new contract.
    // An operating facility stops with the contract that ran it.
    if (from === "under_construction") {
      await setFacilities(s.tx, s.contract.id, { status: "planned", operatorOrgId: null });
    }
    if (from === "operating") await setFacilities(s.tx, s.contract.id, { status: "decommissioned" });
    await s.audit("contract.terminated", { payload: { reason, from } });
    const ended = await endSubscriptionsAtTermination(s.tx, s.contract, s.today);
    if (ended.ended > 0) await s.audit("subscriptions.ended_at_termination", { payload: ended });
  });
}
