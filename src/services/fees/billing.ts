/**
 * Billing runs, invoices and metered usage. A run is one transaction on the locked contract
 * row; the set-based SQL is db/billing.ts. The unique key (contract, period) of billing_runs is
 * what makes a second or concurrent run create nothing: its violation rolls the run back and
 * the answer is the run that exists.
 */
import { and, asc, count, desc, eq, gt, inArray, type SQL, sql } from "drizzle-orm";
import { compareDates, type Period, periodOfInstant, shanghaiDate } from "../../../contracts/index.js";
import { invoicePrefixOf, runBilling } from "../../../db/billing.js";
import type { Queryable } from "../../../db/database.js";
import { outstandingSql } from "../../../db/ledger.js";
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
import { ApiError, type FieldError } from "../../errors.js";
import { exportBatches, type Window } from "../batches.js";
import type { ServiceContext } from "../context.js";
import { runContractCommand } from "../contracts/command.js";
import { facilityKindsOf, findContract } from "../contracts/store.js";
import { type Page, type PageRequest, pageOf } from "../pages.js";
import {
  type BillingRunRow,
  feeLimitsOf,
  householdOfContract,
  type InvoiceLineRow,
  type InvoiceRow,
} from "./store.js";

/**
 * What a billing run request comes to. `created`: the run this request (or, replayed, the first
 * request with its Idempotency-Key) created, with the invoices it made; `existing`: the period
 * was billed already, nothing made now (invoicesCreated 0, total "0.00").
 */
export interface RunOutcome {
  outcome: "created" | "existing";
  run: BillingRunRow;
  invoicesCreated: number;
  /** Sum of the invoices counted in invoicesCreated, decimal string. */
  total: string;
}

export interface InvoiceFilter {
  limit: number;
  offset: number;
  period?: string | undefined;
  state?: "open" | "overdue" | "paid" | undefined;
}

/** One metered use as a request states it: exactly one of householdId and slotRef. */
export interface UsageInput {
  sessionId: string;
  householdId?: string | undefined;
  slotRef?: string | undefined;
  kind: "charging" | "ride";
  feeCode: string;
  /** RFC 3339 with an offset. */
  startedAt: string;
  quantity: string;
}

/** SQL: what is still unpaid on an invoice of the `invoices` table. */
const outstandingInvoicesSql = outstandingSql("invoices");

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

/**
 * The answer a key was first given: the run it created, or 422 when reused for another period (as
 * any Idempotency-Key reused with another body, src/idempotency.ts; the run keeps its key for good).
 */
function replay(run: BillingRunRow, period: Period): RunOutcome {
  if (run.period !== period) {
    throw new ApiError(
      422,
      "idempotency_key_reused",
      "Idempotency-Key reused",
      `This Idempotency-Key was used for the run of ${run.period}, not ${period}.`,
      { period: run.period },
    );
  }
  return { outcome: "created", run, invoicesCreated: run.invoicesCreated, total: run.totalAmount };
}

const existingRun = (run: BillingRunRow): RunOutcome => ({
  outcome: "existing",
  run,
  invoicesCreated: 0,
  total: "0.00",
});

/**
 * Bills `period` (default: the current Asia/Shanghai month) on the contract, once: a repeated or
 * concurrent run answers the existing one, and the same idempotency key the same answer.
 */
export async function runBillingPeriod(
  ctx: ServiceContext,
  contractId: string,
  input: { period?: Period | undefined },
  idempotencyKey: string | undefined,
): Promise<RunOutcome> {
  const key = idempotencyKey;
  const now = ctx.clock();
  const today = shanghaiDate(now);
  const period = input.period ?? periodOfInstant(now);

  try {
    return await runContractCommand(
      ctx,
      contractId,
      { type: "run_billing", period },
      async (s) => {
        const prior = key ? await runByKey(s.tx, s.contract.id, key) : null;
        if (prior) return replay(prior, period);
        const existing = await runByPeriod(s.tx, s.contract.id, period);
        if (existing) return existingRun(existing);
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
        return { outcome: "created", run: done, invoicesCreated: result.created, total: result.total };
      },
      async (_tx, contract, refusal) =>
        refusal.code === "billing_period_refused"
          ? { period, operationStartDate: contract.operationStartDate, transferDate: contract.transferDate }
          : {},
    );
  } catch (err) {
    // A concurrent run of the same period (or the same key) committed first: ours rolled back.
    if (!isUniqueViolation(err)) throw err;
    // The transaction that failed found the contract in the caller's scope and admitted the caller.
    const prior = key ? await runByKey(ctx.db, contractId, key) : null;
    if (prior) return replay(prior, period);
    const existing = await runByPeriod(ctx.db, contractId, period);
    if (!existing) throw err;
    return existingRun(existing);
  }
}

/** The contract's billing runs, latest period first. */
/** Latest period first (id breaks ties). */
export async function listRuns(
  ctx: ServiceContext,
  contractId: string,
  page?: PageRequest,
): Promise<Page<BillingRunRow>> {
  const contract = await findContract(ctx.db, ctx.principal, contractId);
  const where = eq(billingRuns.contractId, contract.id);
  const query = ctx.db
    .select()
    .from(billingRuns)
    .where(where)
    .orderBy(desc(billingRuns.period), asc(billingRuns.id))
    .$dynamic();
  return pageOf(query, () => ctx.db.$count(billingRuns, where), page);
}

/** One billing run, as `listRuns` lists it, if the caller may see its contract (else 404). */
export async function getRun(ctx: ServiceContext, id: string): Promise<BillingRunRow> {
  const [row] = await ctx.db
    .select({ run: billingRuns })
    .from(billingRuns)
    .innerJoin(contracts, eq(contracts.id, billingRuns.contractId))
    .where(and(eq(billingRuns.id, id), contractScope(ctx.principal)));
  if (!row) throw ApiError.notFound("The billing run");
  return row.run;
}

/**
 * A page of the contract's invoices by number, how many match, and `today` (Asia/Shanghai), the
 * date their state (open, overdue, paid) was judged on.
 */
/** The filter of a contract's invoices on `today`: the one WHERE of the page and the export. */
function invoicesWhere(contractId: string, q: Omit<InvoiceFilter, "limit" | "offset">, today: string) {
  const stateSql: Record<"open" | "overdue" | "paid", SQL> = {
    paid: sql`${outstandingInvoicesSql} <= 0`,
    overdue: sql`${outstandingInvoicesSql} > 0 and ${invoices.dueDate} < ${today}::date`,
    open: sql`${outstandingInvoicesSql} > 0 and ${invoices.dueDate} >= ${today}::date`,
  };
  return and(
    eq(invoices.contractId, contractId),
    q.period ? eq(invoices.period, q.period) : undefined,
    q.state ? stateSql[q.state] : undefined,
  );
}

export async function listInvoices(ctx: ServiceContext, contractId: string, q: InvoiceFilter) {
  const { db } = ctx;
  const today = shanghaiDate(ctx.clock());
  const contract = await findContract(db, ctx.principal, contractId);
  const where = invoicesWhere(contract.id, q, today);
  const [items, [total]] = await Promise.all([
    db
      .select()
      .from(invoices)
      .where(where)
      .orderBy(asc(invoices.number), asc(invoices.id))
      .limit(q.limit)
      .offset(q.offset),
    db.select({ n: count() }).from(invoices).where(where),
  ]);
  return { items, total: total?.n ?? 0, today };
}

/**
 * Every invoice `listInvoices` would list on all its pages (or on the one page `window` names), in
 * its order, read in batches: the same filters and scope, checked before the first row (404).
 */
export async function exportInvoices(
  ctx: ServiceContext,
  contractId: string,
  q: Omit<InvoiceFilter, "limit" | "offset">,
  window?: Window,
) {
  const { db } = ctx;
  const today = shanghaiDate(ctx.clock());
  const contract = await findContract(db, ctx.principal, contractId);
  const where = invoicesWhere(contract.id, q, today);
  // Numbers are unique per enterprise (invoices_enterpriseOrgId_number_unique), and a contract
  // has one: the number alone orders a contract's invoices and resumes after one.
  const rows = exportBatches<InvoiceRow>(
    (after, limit, offset) =>
      db
        .select()
        .from(invoices)
        .where(and(where, after ? gt(invoices.number, after.number) : undefined))
        .orderBy(asc(invoices.number))
        .limit(limit)
        .offset(offset),
    window,
  );
  return { today, rows };
}

/** The invoice with its lines if the caller may see its contract (else 404), and today's date. */
export async function getInvoice(
  ctx: ServiceContext,
  id: string,
): Promise<{ invoice: InvoiceRow; lines: InvoiceLineRow[]; today: string }> {
  const { db } = ctx;
  const [row] = await db
    .select({ i: invoices })
    .from(invoices)
    .innerJoin(contracts, eq(contracts.id, invoices.contractId))
    .where(and(eq(invoices.id, id), contractScope(ctx.principal)));
  if (!row) throw ApiError.notFound("The invoice");
  const lines = await db
    .select()
    .from(invoiceLines)
    .where(eq(invoiceLines.invoiceId, row.i.id))
    .orderBy(asc(invoiceLines.lineNo));
  return { invoice: row.i, lines, today: shanghaiDate(ctx.clock()) };
}

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

/**
 * Stores metered uses, once per (contract, session id), all or none: an invalid record rejects
 * the batch with its field errors. Answers which session ids were stored now and which before.
 */
export async function recordUsage(
  ctx: ServiceContext,
  contractId: string,
  records: readonly UsageInput[],
): Promise<{ stored: string[]; duplicates: string[] }> {
  return runContractCommand(ctx, contractId, { type: "record_usage" }, async (s) => {
    const limits = feeLimitsOf(s.contract);
    const kinds = new Set(await facilityKindsOf(s.tx, s.contract.id));
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
}
