/**
 * Billing runs, invoices and metered usage. A run is one transaction on the locked contract
 * row; the set-based SQL is db/billing.ts. The unique key (contract, period) of billing_runs is
 * what makes a second or concurrent run create nothing: its violation rolls the run back and
 * the answer is the run that exists.
 */
import { and, asc, count, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import { compareDates, type Period, periodOfInstant, shanghaiDate } from "../../../contracts/index.js";
import { invoicePrefixOf, runBilling } from "../../../db/billing.js";
import type { Queryable } from "../../../db/database.js";
import { isUniqueViolation } from "../../../db/pg-errors.js";
import {
  billingRuns,
  contracts,
  contractVersions,
  feeItems,
  invoiceLines,
  invoices,
  usageRecords,
} from "../../../db/schema.js";
import { contractScope } from "../../auth/scope.js";
import { serviceContext } from "../../context.js";
import { ApiError, type FieldError } from "../../errors.js";
import type { AppRouteHandler } from "../../openapi.js";
import { runContractCommand } from "../../services/contracts/command.js";
import { findContract } from "../../services/contracts/store.js";
import {
  facilityKindsOfContract,
  feeLimitsOf,
  householdOfContract,
} from "../subscriptions/subscriptions.handlers.js";
import { invoiceDetailJson, invoiceJson, runAnswerJson, runJson } from "./billing.presenters.js";
import type * as routes from "./billing.routes.js";

type RunRow = typeof billingRuns.$inferSelect;

/** SQL: what is still unpaid on an invoice. */
const outstandingSql = sql`(${invoices.total} - ${invoices.creditApplied} - ${invoices.paidAmount})`;

async function runByKey(db: Queryable, contractId: string, key: string) {
  const [row] = await db
    .select()
    .from(billingRuns)
    .where(and(eq(billingRuns.contractId, contractId), eq(billingRuns.idempotencyKey, key)));
  return row ?? null;
}
async function runByPeriod(db: Queryable, contractId: string, period: Period) {
  const [row] = await db
    .select()
    .from(billingRuns)
    .where(and(eq(billingRuns.contractId, contractId), eq(billingRuns.period, period)));
  return row ?? null;
}

/** The answer a key was first given: the run it created (201), or 409 when reused for another period. */
function replay(run: RunRow, period: Period) {
  if (run.period !== period) {
    throw ApiError.conflict(
      "idempotency_key_reused",
      `This Idempotency-Key was used for the run of ${run.period}, not ${period}.`,
      { period: run.period },
    );
  }
  return { status: 201 as const, run, created: run.invoicesCreated, total: run.totalAmount };
}

export const createRun: AppRouteHandler<typeof routes.createRun> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const key = c.req.valid("header")["idempotency-key"];
  const { db } = c.var;
  const { clock } = c.var.deps;
  const now = clock();
  const today = shanghaiDate(now);
  const period = body.period ?? periodOfInstant(now);

  try {
    const out = await runContractCommand(
      serviceContext(c),
      id,
      { type: "run_billing", period },
      async (s) => {
        const prior = key ? await runByKey(s.tx, s.contract.id, key) : null;
        if (prior) return replay(prior, period);
        const existing = await runByPeriod(s.tx, s.contract.id, period);
        if (existing) return { status: 200 as const, run: existing, created: 0, total: "0.00" };
        const [run] = await s.tx
          .insert(billingRuns)
          .values({
            contractId: s.contract.id,
            period,
            idempotencyKey: key ?? null,
            requestedByOrgId: s.actor.orgId,
            createdAt: s.now,
          })
          .returning();
        if (!run) throw new Error("insert returned nothing");
        const result = await runBilling(s.tx, {
          runId: run.id,
          contract: s.contract,
          period,
          issueDate: today,
          prefix: await invoicePrefixOf(s.tx, s.contract.enterpriseOrgId),
        });
        const [done] = await s.tx
          .update(billingRuns)
          .set({ invoicesCreated: result.created, totalAmount: result.total })
          .where(eq(billingRuns.id, run.id))
          .returning();
        if (!done) throw new Error("update returned nothing");
        await s.audit("billing.run", {
          payload: {
            runId: run.id,
            period,
            issueDate: today,
            created: result.created,
            subscriptionInvoices: result.subscriptionInvoices,
            usageInvoices: result.usageInvoices,
            total: result.total,
            creditApplied: result.creditApplied,
            idempotencyKey: key ?? null,
          },
        });
        return { status: 201 as const, run: done, created: result.created, total: result.total };
      },
      async (_tx, contract, refusal) =>
        refusal.code === "billing_period_refused"
          ? { period, operationStartDate: contract.operationStartDate, transferDate: contract.transferDate }
          : {},
    );
    return c.json(runAnswerJson(out.run, out.created, out.total), out.status);
  } catch (err) {
    // A concurrent run of the same period (or the same key) committed first: ours rolled back.
    if (!isUniqueViolation(err)) throw err;
    // The transaction that failed found the contract in the caller's scope and admitted the caller.
    const prior = key ? await runByKey(db, id, key) : null;
    if (prior) {
      const r = replay(prior, period);
      return c.json(runAnswerJson(r.run, r.created, r.total), r.status);
    }
    const existing = await runByPeriod(db, id, period);
    if (!existing) throw err;
    return c.json(runAnswerJson(existing, 0, "0.00"), 200);
  }
};

export const listRuns: AppRouteHandler<typeof routes.listRuns> = async (c) => {
  const { db } = c.var;
  const contract = await findContract(db, c.var.principal, c.req.valid("param").id);
  const rows = await db
    .select()
    .from(billingRuns)
    .where(eq(billingRuns.contractId, contract.id))
    .orderBy(desc(billingRuns.period));
  return c.json({ items: rows.map(runJson) }, 200);
};

export const listInvoices: AppRouteHandler<typeof routes.listInvoices> = async (c) => {
  const { db } = c.var;
  const { clock } = c.var.deps;
  const q = c.req.valid("query");
  const today = shanghaiDate(clock());
  const contract = await findContract(db, c.var.principal, c.req.valid("param").id);
  const stateSql: Record<"open" | "overdue" | "paid", SQL> = {
    paid: sql`${outstandingSql} <= 0`,
    overdue: sql`${outstandingSql} > 0 and ${invoices.dueDate} < ${today}::date`,
    open: sql`${outstandingSql} > 0 and ${invoices.dueDate} >= ${today}::date`,
  };
  const where = and(
    eq(invoices.contractId, contract.id),
    q.period ? eq(invoices.period, q.period) : undefined,
    q.state ? stateSql[q.state] : undefined,
  );
  const [rows, [total]] = await Promise.all([
    db.select().from(invoices).where(where).orderBy(asc(invoices.number)).limit(q.limit).offset(q.offset),
    db.select({ n: count() }).from(invoices).where(where),
  ]);
  return c.json(
    { items: rows.map((r) => invoiceJson(r, today)), total: total?.n ?? 0, limit: q.limit, offset: q.offset },
    200,
  );
};

export const getInvoice: AppRouteHandler<typeof routes.getInvoice> = async (c) => {
  const { db } = c.var;
  const { clock } = c.var.deps;
  const [row] = await db
    .select({ i: invoices })
    .from(invoices)
    .innerJoin(contracts, eq(contracts.id, invoices.contractId))
    .where(and(eq(invoices.id, c.req.valid("param").id), contractScope(c.var.principal)));
  if (!row) throw ApiError.notFound("The invoice");
  const lines = await db
    .select()
    .from(invoiceLines)
    .where(eq(invoiceLines.invoiceId, row.i.id))
    .orderBy(asc(invoiceLines.lineNo));
  return c.json(invoiceDetailJson(row.i, lines, shanghaiDate(clock())), 200);
};

// ---- usage -----------------------------------------------------------------------------------

/** The contract's signed versions with their per_use items, to find the one in force on a date. */
async function versionsWithItems(db: Queryable, contractId: string) {
  const versions = await db
    .select()
    .from(contractVersions)
    .where(
      and(
        eq(contractVersions.contractId, contractId),
        inArray(contractVersions.status, ["signed", "superseded"]),
      ),
    )
    .orderBy(desc(contractVersions.versionNo));
  const items = versions.length
    ? await db
        .select({ versionId: feeItems.versionId, code: feeItems.code, kind: feeItems.kind })
        .from(feeItems)
        .where(
          inArray(
            feeItems.versionId,
            versions.map((v) => v.id),
          ),
        )
    : [];
  return versions.map((v) => ({
    versionNo: v.versionNo,
    isAmendment: v.isAmendment,
    effectiveDate: v.effectiveDate,
    items: new Map(items.filter((i) => i.versionId === v.id).map((i) => [i.code, i.kind])),
  }));
}

export const postUsage: AppRouteHandler<typeof routes.postUsage> = async (c) => {
  const { id } = c.req.valid("param");
  const records = c.req.valid("json");
  const answer = await runContractCommand(serviceContext(c), id, { type: "record_usage" }, async (s) => {
    const limits = feeLimitsOf(s.contract);
    const kinds = await facilityKindsOfContract(s.tx, s.contract.id);
    const versions = await versionsWithItems(s.tx, s.contract.id);
    const homes = new Map<string, boolean>();
    for (const hid of new Set(records.flatMap((r) => (r.householdId ? [r.householdId] : [])))) {
      homes.set(hid, kinds.has("elevator") && (await householdOfContract(s.tx, s.contract.id, hid)) !== null);
    }
    const errors: FieldError[] = [];
    const rows = records.map((r, i) => {
      const at = new Date(r.startedAt);
      const date = shanghaiDate(at);
      const field = (f: string) => `body.${i}.${f}`;
      if (at.getTime() > s.now.getTime() + 5 * 60_000)
        errors.push({ field: field("startedAt"), message: "is in the future" });
      if (compareDates(date, limits.operationStart) < 0) {
        errors.push({
          field: field("startedAt"),
          message: `is before the operation start ${limits.operationStart}`,
        });
      }
      if (limits.transferDate && compareDates(date, limits.transferDate) >= 0) {
        errors.push({
          field: field("startedAt"),
          message: `is on or after the transfer date ${limits.transferDate}`,
        });
      }
      const version = versions.find(
        (v) => !v.isAmendment || (v.effectiveDate !== null && compareDates(v.effectiveDate, date) <= 0),
      );
      const kind = version?.items.get(r.feeCode);
      if (kind !== "per_use") {
        errors.push({
          field: field("feeCode"),
          message: kind
            ? `is a ${kind} item, not per_use`
            : `is not an item of the fee schedule in force on ${date}`,
        });
      }
      if (r.householdId !== undefined && !homes.get(r.householdId)) {
        errors.push({
          field: field("householdId"),
          message: "is not a household of a building this contract's elevator serves",
        });
      }
      if (r.slotRef !== undefined && !kinds.has("garage")) {
        errors.push({ field: field("slotRef"), message: "this contract has no garage" });
      }
      return {
        contractId: s.contract.id,
        sessionId: r.sessionId,
        subscriberKey: r.householdId ? `household:${r.householdId}` : `slot:${r.slotRef ?? ""}`,
        householdId: r.householdId ?? null,
        kind: r.kind,
        feeCode: r.feeCode,
        startedAt: at,
        period: periodOfInstant(at),
        quantity: r.quantity,
        createdAt: s.now,
      };
    });
    if (errors.length) throw ApiError.validation(errors);
    const inserted = await s.tx
      .insert(usageRecords)
      .values(rows)
      .onConflictDoNothing({ target: [usageRecords.contractId, usageRecords.sessionId] })
      .returning({ sessionId: usageRecords.sessionId });
    const stored = new Set(inserted.map((r) => r.sessionId));
    const ids = [...new Set(rows.map((r) => r.sessionId))];
    return {
      stored: ids.filter((sid) => stored.has(sid)),
      duplicates: ids.filter((sid) => !stored.has(sid)),
    };
  });
  return c.json(answer, 200);
};
