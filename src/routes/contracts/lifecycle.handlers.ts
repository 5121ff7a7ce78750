/**
 * The contract's lifecycle: review (submit, request changes, revise, vote, approve, sign),
 * amendments, milestones, handback and transfer, termination. Each is one transaction on the
 * locked contract row and appends to its audit log.
 */
import { and, asc, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Context } from "hono";
import {
  applySignature,
  type ContractAction,
  compareDates,
  documentHash,
  evaluateVote,
  type Party,
  type ReviewAction,
  reviewTransition,
  shanghaiDate,
  signatureStatus,
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
import type { AppEnv } from "../../context.js";
import { ApiError, notInFuture } from "../../errors.js";
import type { AppRouteHandler } from "../../openapi.js";
import { type CommandScope, checkTransition, contractCommand, stateConflict } from "./contracts.command.js";
import { facilityKindsOf, termsErrors } from "./contracts.handlers.js";
import type * as routes from "./contracts.routes.js";
import {
  type ContractRow,
  contractDetail,
  documentOf,
  findContract,
  findVersion,
  insertVersion,
  setContract,
  setVersion,
  signersOf,
  termsOf,
  type VersionRow,
} from "./contracts.store.js";

const REVIEW_PARTIES: Record<ReviewAction, readonly Party[]> = {
  submit: ["enterprise"],
  request_changes: ["owners_committee"],
  revise: ["enterprise"],
  approve: ["owners_committee"],
  sign: ["enterprise", "owners_committee", "property_company", "street_office"],
};

/**
 * A review step on the version under review. Before signing, the contract's state and its
 * version move together; an amendment moves only its version while the contract keeps running.
 */
function reviewStep(contract: ContractRow, version: VersionRow, action: ReviewAction, party: Party) {
  if (!version.isAmendment) {
    const to = checkTransition(contract, action, party);
    return { contractState: to, versionStatus: to as VersionRow["status"] };
  }
  const result = reviewTransition(version.status, action, party);
  if (!result.ok) {
    if (result.error === "forbidden")
      throw ApiError.forbidden(`Only ${result.allowedParties.join(", ")} may ${action}.`);
    throw stateConflict(
      contract,
      `An amendment in status "${version.status}" cannot ${action.replaceAll("_", " ")}.`,
      { versionStatus: version.status, allowedActions: result.allowed },
    );
  }
  return { contractState: contract.state, versionStatus: result.to };
}

async function currentVersion(s: CommandScope) {
  return findVersion(s.tx, s.contract.id, s.contract.currentVersionNo, true);
}

/** Runs a command and answers with the contract as it is afterwards. */
async function respondAfter(
  c: Context<AppEnv>,
  id: string,
  what: Parameters<typeof contractCommand>[2],
  run: (s: CommandScope) => Promise<void>,
) {
  await contractCommand(c, id, what, run);
  const { db } = c.var;
  return contractDetail(db, c.var.principal, id);
}

export const submit: AppRouteHandler<typeof routes.submit> = async (c) => {
  const { id } = c.req.valid("param");
  const detail = await respondAfter(c, id, { verb: "submit", parties: REVIEW_PARTIES.submit }, async (s) => {
    const version = await currentVersion(s);
    const step = reviewStep(s.contract, version, "submit", s.party);
    const errors = termsErrors(
      await termsOf(s.tx, version),
      await facilityKindsOf(s.tx, s.contract.id),
      "terms",
    );
    if (errors.length)
      throw ApiError.validation(errors, "The draft's terms are not complete enough to submit.");
    await setVersion(s.tx, version.id, { status: step.versionStatus, submittedAt: s.now }, s.now);
    await setContract(s.tx, s.contract.id, { state: step.contractState }, s.now);
    const frozen = documentHash(await documentOf(s.tx, s.contract, version));
    await s.audit("version.submitted", { versionNo: version.versionNo, contentHash: frozen });
  });
  return c.json(detail, 200);
};

export const requestChanges: AppRouteHandler<typeof routes.requestChanges> = async (c) => {
  const { id } = c.req.valid("param");
  const { reason } = c.req.valid("json");
  const detail = await respondAfter(
    c,
    id,
    { verb: "request changes", parties: REVIEW_PARTIES.request_changes },
    async (s) => {
      const version = await currentVersion(s);
      const step = reviewStep(s.contract, version, "request_changes", s.party);
      await setVersion(s.tx, version.id, { status: step.versionStatus }, s.now);
      await setContract(s.tx, s.contract.id, { state: step.contractState }, s.now);
      await s.tx.insert(contractComments).values({
        contractId: s.contract.id,
        versionNo: version.versionNo,
        authorOrgId: s.actor.orgId,
        authorKeyId: s.actor.keyId,
        body: reason,
        createdAt: s.now,
      });
      await s.audit("version.changes_requested", { versionNo: version.versionNo, payload: { reason } });
    },
  );
  return c.json(detail, 200);
};

export const revise: AppRouteHandler<typeof routes.revise> = async (c) => {
  const { id } = c.req.valid("param");
  const detail = await respondAfter(c, id, { verb: "revise", parties: REVIEW_PARTIES.revise }, async (s) => {
    const version = await currentVersion(s);
    const step = reviewStep(s.contract, version, "revise", s.party);
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
      { state: step.contractState, currentVersionNo: next.versionNo },
      s.now,
    );
    await s.audit("version.revised", { versionNo: next.versionNo, payload: { from: version.versionNo } });
  });
  return c.json(detail, 200);
};

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

type VoteRow = typeof contractVotes.$inferSelect;

function voteJson(v: VoteRow) {
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

export const recordVote: AppRouteHandler<typeof routes.recordVote> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const today = shanghaiDate(c.var.deps.clock());
  notInFuture("body.heldOn", body.heldOn, today);
  const vote = await contractCommand(
    c,
    id,
    { verb: "record the owners' vote", parties: ["owners_committee"] },
    async (s) => {
      const version = await currentVersion(s);
      if (version.status !== "submitted") {
        throw stateConflict(
          s.contract,
          `Owners vote on a submitted version; version ${version.versionNo} is ${version.status}.`,
          { versionStatus: version.status },
        );
      }
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
          versionNo: version.versionNo,
          ...tally,
          passed: result.passed,
          heldOn: body.heldOn,
          recordedByOrgId: s.actor.orgId,
          createdAt: s.now,
        })
        .returning();
      if (!row) throw new Error("insert returned nothing");
      await s.audit("vote.recorded", {
        versionNo: version.versionNo,
        payload: { ...tally, heldOn: body.heldOn, passed: result.passed, failed: result.failed },
      });
      return row;
    },
  );
  return c.json(voteJson(vote), 201);
};

export const listVotes: AppRouteHandler<typeof routes.listVotes> = async (c) => {
  const { db } = c.var;
  const contract = await findContract(db, c.var.principal, c.req.valid("param").id);
  const rows = await db
    .select()
    .from(contractVotes)
    .where(eq(contractVotes.contractId, contract.id))
    .orderBy(asc(contractVotes.heldOn), asc(contractVotes.createdAt));
  return c.json({ items: rows.map(voteJson) }, 200);
};

export const approve: AppRouteHandler<typeof routes.approve> = async (c) => {
  const { id } = c.req.valid("param");
  const detail = await respondAfter(
    c,
    id,
    { verb: "approve", parties: REVIEW_PARTIES.approve },
    async (s) => {
      const version = await currentVersion(s);
      const step = reviewStep(s.contract, version, "approve", s.party);
      const [vote] = await s.tx
        .select()
        .from(contractVotes)
        .where(
          and(eq(contractVotes.contractId, s.contract.id), eq(contractVotes.versionNo, version.versionNo)),
        )
        // The vote that counts is the latest held (a revote replaces an earlier one).
        .orderBy(desc(contractVotes.heldOn), desc(contractVotes.createdAt))
        .limit(1);
      if (!vote) {
        throw ApiError.conflict(
          "vote_required",
          `Record the owners' vote on version ${version.versionNo} before approving it.`,
        );
      }
      if (!vote.passed) {
        throw ApiError.conflict(
          "vote_failed",
          "The latest owners' vote on this version did not pass art. 278.",
          {
            vote: voteJson(vote),
          },
        );
      }
      await setVersion(s.tx, version.id, { status: step.versionStatus }, s.now);
      await setContract(s.tx, s.contract.id, { state: step.contractState }, s.now);
      await s.audit("version.approved", { versionNo: version.versionNo, payload: { voteId: vote.id } });
    },
  );
  return c.json(detail, 200);
};

async function signedParties(tx: Tx, contractId: string, versionNo: number): Promise<Party[]> {
  const rows = await tx
    .select({ party: contractSignatures.party })
    .from(contractSignatures)
    .where(and(eq(contractSignatures.contractId, contractId), eq(contractSignatures.versionNo, versionNo)));
  return rows.map((r) => r.party);
}

export const sign: AppRouteHandler<typeof routes.sign> = async (c) => {
  const { id } = c.req.valid("param");
  const detail = await respondAfter(c, id, { verb: "sign", parties: REVIEW_PARTIES.sign }, async (s) => {
    const version = await currentVersion(s);
    const required = signersOf(s.contract, version);
    const already = await signedParties(s.tx, s.contract.id, version.versionNo);
    if (!required.includes(s.party)) {
      throw ApiError.forbidden(
        `A ${s.party.replaceAll("_", " ")} does not sign this contract; signers: ${required.join(", ")}.`,
      );
    }
    let complete: boolean;
    if (!version.isAmendment) {
      const result = applySignature(s.contract.state, s.party, required, already);
      if (!result.ok) {
        if (result.error === "already_signed") {
          throw ApiError.conflict(
            "already_signed",
            `Your organization already signed version ${version.versionNo}.`,
          );
        }
        checkTransition(s.contract, "sign", s.party);
        throw ApiError.forbidden("This party does not sign this contract.");
      }
      complete = result.complete;
    } else {
      reviewStep(s.contract, version, "sign", s.party);
      if (already.includes(s.party)) {
        throw ApiError.conflict(
          "already_signed",
          `Your organization already signed version ${version.versionNo}.`,
        );
      }
      complete = signatureStatus(required, [...already, s.party]).complete;
    }
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
    if (complete) await completeSignature(s, version, hash);
    const missing = signatureStatus(required, [...already, s.party]).missing;
    await s.audit("version.signed", {
      versionNo: version.versionNo,
      contentHash: hash,
      payload: { party: s.party, complete, missing },
    });
  });
  return c.json(detail, 200);
};

/** The last signature: the version is fixed with its hash and comes into force. */
async function completeSignature(s: CommandScope, version: VersionRow, hash: string) {
  await setVersion(s.tx, version.id, { status: "signed", signedAt: s.now, contentHash: hash }, s.now);
  const terms = await termsOf(s.tx, version);
  if (!version.isAmendment) {
    await setContract(s.tx, s.contract.id, { state: "signed", signedVersionNo: version.versionNo }, s.now);
    if (terms.handbackConditions.length) {
      await s.tx.insert(handbackChecks).values(
        terms.handbackConditions.map((h) => ({
          contractId: s.contract.id,
          code: h.code,
          description: h.description,
        })),
      );
    }
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
  if (terms.handbackConditions.length) {
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
}

export const createAmendment: AppRouteHandler<typeof routes.createAmendment> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const today = shanghaiDate(c.var.deps.clock());
  await contractCommand(c, id, { verb: "amend a contract", parties: ["enterprise"] }, async (s) => {
    if (!["signed", "under_construction", "operating"].includes(s.contract.state)) {
      throw stateConflict(
        s.contract,
        `A contract in state "${s.contract.state}" cannot be amended; only a signed one.`,
      );
    }
    const version = await currentVersion(s);
    if (version.status !== "signed") {
      throw ApiError.conflict(
        "amendment_open",
        `Amendment version ${version.versionNo} is still ${version.status}: finish it first.`,
      );
    }
    if (compareDates(body.effectiveDate, today) < 0) {
      throw ApiError.validation([{ field: "body.effectiveDate", message: "is in the past" }]);
    }
    const errors = termsErrors(body.terms, await facilityKindsOf(s.tx, s.contract.id));
    if (errors.length) throw ApiError.validation(errors);
    const next = await insertVersion(
      s.tx,
      {
        contractId: s.contract.id,
        versionNo: version.versionNo + 1,
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
  const { db } = c.var;
  return c.json(await contractDetail(db, c.var.principal, id), 201);
};

export const listComments: AppRouteHandler<typeof routes.listComments> = async (c) => {
  const { db } = c.var;
  const contract = await findContract(db, c.var.principal, c.req.valid("param").id);
  const { versionNo } = c.req.valid("query");
  const rows = await db
    .select()
    .from(contractComments)
    .where(
      and(
        eq(contractComments.contractId, contract.id),
        versionNo ? eq(contractComments.versionNo, versionNo) : undefined,
      ),
    )
    .orderBy(asc(contractComments.createdAt), asc(contractComments.id));
  return c.json(
    {
      items: rows.map((r) => ({
        id: r.id,
        versionNo: r.versionNo,
        authorOrgId: r.authorOrgId,
        body: r.body,
        createdAt: r.createdAt.toISOString(),
      })),
    },
    200,
  );
};

export const addComment: AppRouteHandler<typeof routes.addComment> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const row = await contractCommand(c, id, { verb: "comment" }, async (s) => {
    const versionNo = body.versionNo ?? s.contract.currentVersionNo;
    await findVersion(s.tx, s.contract.id, versionNo);
    const [comment] = await s.tx
      .insert(contractComments)
      .values({
        contractId: s.contract.id,
        versionNo,
        authorOrgId: s.actor.orgId,
        authorKeyId: s.actor.keyId,
        body: body.body,
        createdAt: s.now,
      })
      .returning();
    if (!comment) throw new Error("insert returned nothing");
    await s.audit("comment.added", { versionNo, payload: { commentId: comment.id, body: body.body } });
    return comment;
  });
  return c.json(
    {
      id: row.id,
      versionNo: row.versionNo,
      authorOrgId: row.authorOrgId,
      body: row.body,
      createdAt: row.createdAt.toISOString(),
    },
    201,
  );
};

// ---- construction, operation, handback, transfer, termination --------------------------------

const MILESTONE_STATE = {
  construction_start: "signed",
  completion_acceptance: "under_construction",
  operation_start: "under_construction",
} as const;
const PREVIOUS = {
  construction_start: null,
  completion_acceptance: "construction_start",
  operation_start: "completion_acceptance",
} as const;

async function milestonesOf(tx: Tx, contractId: string) {
  return tx.select().from(contractMilestones).where(eq(contractMilestones.contractId, contractId));
}

export const recordMilestone: AppRouteHandler<typeof routes.recordMilestone> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const today = shanghaiDate(c.var.deps.clock());
  notInFuture("body.occurredOn", body.occurredOn, today);
  const detail = await respondAfter(
    c,
    id,
    { verb: "record milestones", parties: ["enterprise"] },
    async (s) => {
      const expected = MILESTONE_STATE[body.kind];
      if (s.contract.state !== expected) {
        throw stateConflict(
          s.contract,
          `A ${body.kind.replaceAll("_", " ")} is recorded on a ${expected} contract; this one is ${s.contract.state}.`,
        );
      }
      const all = await milestonesOf(s.tx, s.contract.id);
      const existing = all.find((m) => m.kind === body.kind);
      if (existing?.confirmedAt) {
        throw ApiError.conflict(
          "milestone_confirmed",
          `The ${body.kind.replaceAll("_", " ")} was already confirmed on ${existing.occurredOn}.`,
        );
      }
      const previousKind = PREVIOUS[body.kind];
      if (previousKind) {
        const previous = all.find((m) => m.kind === previousKind);
        if (!previous?.confirmedAt) {
          throw ApiError.conflict(
            "milestone_out_of_order",
            `The ${previousKind.replaceAll("_", " ")} must be confirmed first.`,
          );
        }
        if (compareDates(body.occurredOn, previous.occurredOn) < 0) {
          throw ApiError.validation([
            {
              field: "body.occurredOn",
              message: `is before the ${previousKind.replaceAll("_", " ")} (${previous.occurredOn})`,
            },
          ]);
        }
      }
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
  return c.json(detail, 201);
};

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

export const confirmMilestone: AppRouteHandler<typeof routes.confirmMilestone> = async (c) => {
  const { id, kind } = c.req.valid("param");
  const detail = await respondAfter(
    c,
    id,
    { verb: "confirm milestones", parties: ["owners_committee"] },
    async (s) => {
      const [milestone] = (await milestonesOf(s.tx, s.contract.id)).filter((m) => m.kind === kind);
      if (!milestone) throw ApiError.notFound(`The ${kind.replaceAll("_", " ")} milestone`);
      if (milestone.confirmedAt) {
        throw ApiError.conflict(
          "milestone_confirmed",
          `The ${kind.replaceAll("_", " ")} was already confirmed.`,
        );
      }
      if (kind === "construction_start") {
        const to = checkTransition(s.contract, "start_construction", s.party);
        await setContract(s.tx, s.contract.id, { state: to }, s.now);
        await setFacilities(s.tx, s.contract.id, {
          status: "under_construction",
          operatorOrgId: s.contract.enterpriseOrgId,
        });
      } else if (kind === "operation_start") {
        const to = checkTransition(s.contract, "start_operation", s.party);
        const signed = await findVersion(
          s.tx,
          s.contract.id,
          s.contract.signedVersionNo ?? s.contract.currentVersionNo,
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
      } else if (s.contract.state !== "under_construction") {
        throw stateConflict(
          s.contract,
          `Completion is confirmed while under construction; the contract is ${s.contract.state}.`,
        );
      }
      await s.tx
        .update(contractMilestones)
        .set({ confirmedByOrgId: s.actor.orgId, confirmedAt: s.now })
        .where(and(eq(contractMilestones.contractId, s.contract.id), eq(contractMilestones.kind, kind)));
      await s.audit("milestone.confirmed", { payload: { kind, occurredOn: milestone.occurredOn } });
    },
  );
  return c.json(detail, 200);
};

export const checkHandback: AppRouteHandler<typeof routes.checkHandback> = async (c) => {
  const { id, code } = c.req.valid("param");
  const body = c.req.valid("json");
  const today = shanghaiDate(c.var.deps.clock());
  notInFuture("body.checkedOn", body.checkedOn, today);
  const row = await contractCommand(
    c,
    id,
    { verb: "check off handback conditions", parties: ["owners_committee"] },
    async (s) => {
      if (s.contract.state !== "operating") {
        throw stateConflict(
          s.contract,
          `Handback is checked while operating; the contract is ${s.contract.state}.`,
        );
      }
      const [updated] = await s.tx
        .update(handbackChecks)
        .set({ checkedOn: body.checkedOn, checkedByOrgId: s.actor.orgId, note: body.note })
        .where(and(eq(handbackChecks.contractId, s.contract.id), eq(handbackChecks.code, code)))
        .returning();
      if (!updated) throw ApiError.notFound(`The handback condition "${code}"`);
      await s.audit("handback.checked", { payload: { code, checkedOn: body.checkedOn, note: body.note } });
      return updated;
    },
  );
  return c.json(
    { code: row.code, description: row.description, checkedOn: row.checkedOn, note: row.note },
    200,
  );
};

export const transfer: AppRouteHandler<typeof routes.transfer> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const today = shanghaiDate(c.var.deps.clock());
  const on = body.transferredOn ?? today;
  notInFuture("body.transferredOn", on, today);
  const detail = await respondAfter(c, id, { verb: "transfer", action: "transfer" }, async (s) => {
    const to = checkTransition(s.contract, "transfer", s.party);
    const due = s.contract.transferDate;
    if (!due || compareDates(on, due) < 0) {
      throw ApiError.conflict(
        "transfer_not_due",
        `The transfer date is ${due}; ownership cannot pass before it.`,
        { transferDate: due },
      );
    }
    const open = await s.tx
      .select({ code: handbackChecks.code, description: handbackChecks.description })
      .from(handbackChecks)
      .where(and(eq(handbackChecks.contractId, s.contract.id), isNull(handbackChecks.checkedOn)));
    if (open.length) {
      throw ApiError.conflict(
        "handback_incomplete",
        `${open.length} handback condition(s) are not checked off.`,
        { open },
      );
    }
    await setContract(s.tx, s.contract.id, { state: to, transferredOn: on }, s.now);
    await setFacilities(s.tx, s.contract.id, {
      status: "transferred",
      operatorOrgId: null,
      transferredAt: on,
    });
    await s.audit("contract.transferred", { payload: { transferredOn: on, transferDate: due } });
    const settled = await endSubscriptionsAtTransfer(s.tx, s.contract, due, today);
    if (settled.ended > 0) await s.audit("subscriptions.ended_at_transfer", { payload: settled });
  });
  return c.json(detail, 200);
};

export const terminate: AppRouteHandler<typeof routes.terminate> = async (c) => {
  const { id } = c.req.valid("param");
  const { reason } = c.req.valid("json");
  const detail = await respondAfter(c, id, { verb: "terminate", action: "terminate" }, async (s) => {
    const from = s.contract.state;
    const to = checkTransition(s.contract, "terminate" satisfies ContractAction, s.party);
    await setContract(s.tx, s.contract.id, { state: to, terminatedReason: reason }, s.now);
    // Works stopped before operation: the facility is planned again and free for a new contract.
    // An operating facility stops with the contract that ran it.
    if (from === "under_construction")
      await setFacilities(s.tx, s.contract.id, { status: "planned", operatorOrgId: null });
    if (from === "operating") await setFacilities(s.tx, s.contract.id, { status: "decommissioned" });
    await s.audit("contract.terminated", { payload: { reason, from } });
    const ended = await endSubscriptionsAtTermination(s.tx, s.contract, shanghaiDate(s.now));
    if (ended.ended > 0) await s.audit("subscriptions.ended_at_termination", { payload: ended });
  });
  return c.json(detail, 200);
};
