/**
 * Statements (one subscriber's ledger on one contract) and a contract's receivables with arrears
 * aging. Read-only; scope is the contract's (findContract). The arithmetic is contracts/billing.ts
 * (balanceOf, agingReport).
 */
import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import {
  AGING_BUCKETS,
  type AgingBucket,
  agingReport,
  balanceOf,
  type Decimal,
  money,
  shanghaiDate,
  sumMoney,
} from "../../../contracts/index.js";
import { type Queryable, queryRows } from "../../../db/database.js";
import {
  buildings,
  communities,
  contracts,
  creditNotes,
  households,
  invoices,
  payments,
  refunds,
  subscriptions,
} from "../../../db/schema.js";
import { communityScope, contractScope } from "../../auth/scope.js";
import { ApiError } from "../../errors.js";
import { exportBatches } from "../batches.js";
import type { ServiceContext } from "../context.js";
import { type ContractRow, findContract } from "../contracts/store.js";
import {
  type CreditNoteWithTotals,
  creditNotesWhere,
  type InvoiceRow,
  outstandingOf,
  type PaymentWithCreditNote,
  type RefundRow,
  type SubscriptionRow,
} from "./store.js";

/** One subscriber's ledger on one contract, with its totals. */
export interface Statement {
  contractId: string;
  subscriberKey: string;
  subscriptions: SubscriptionRow[];
  invoices: InvoiceRow[];
  payments: PaymentWithCreditNote[];
  creditNotes: CreditNoteWithTotals[];
  refunds: RefundRow[];
  totals: {
    invoiced: Decimal;
    paid: Decimal;
    /** The credit notes that are not an overpayment's excess. */
    credited: Decimal;
    refunded: Decimal;
    /** invoiced − paid − credited + refunded: positive owed, negative credit in hand. */
    balance: Decimal;
    outstanding: Decimal;
    creditAvailable: Decimal;
  };
}

/** A contract's receivables as of a date: what was invoiced, collected and is still owed, aged. */
export interface Receivables {
  contractId: string;
  asOf: string;
  invoiceCount: number;
  openInvoiceCount: number;
  totals: {
    invoiced: Decimal;
    creditApplied: Decimal;
    collected: Decimal;
    received: Decimal;
    outstanding: Decimal;
  };
  aging: Record<AgingBucket, Decimal>;
}

async function statementOf(db: Queryable, contract: ContractRow, subscriberKey: string): Promise<Statement> {
  const [subs, invs, pays, notes, refs] = await Promise.all([
    db
      .select()
      .from(subscriptions)
      .where(and(eq(subscriptions.contractId, contract.id), eq(subscriptions.subscriberKey, subscriberKey)))
      .orderBy(asc(subscriptions.startDate), asc(subscriptions.createdAt)),
    db
      .select()
      .from(invoices)
      .where(and(eq(invoices.contractId, contract.id), eq(invoices.subscriberKey, subscriberKey)))
      .orderBy(asc(invoices.issueDate), asc(invoices.number)),
    db
      .select({ payment: payments, creditNoteId: creditNotes.id })
      .from(payments)
      .leftJoin(creditNotes, eq(creditNotes.paymentId, payments.id))
      .where(and(eq(payments.contractId, contract.id), eq(payments.subscriberKey, subscriberKey)))
      .orderBy(asc(payments.receivedOn), asc(payments.createdAt), asc(payments.id)),
    creditNotesWhere(
      db,
      and(eq(creditNotes.contractId, contract.id), eq(creditNotes.subscriberKey, subscriberKey)),
    ),
    db
      .select({ refund: refunds })
      .from(refunds)
      .innerJoin(creditNotes, eq(creditNotes.id, refunds.creditNoteId))
      .where(and(eq(creditNotes.contractId, contract.id), eq(creditNotes.subscriberKey, subscriberKey)))
      .orderBy(asc(refunds.paidOn), asc(refunds.createdAt), asc(refunds.id)),
  ]);
  // An overpayment's credit note holds money already counted as paid: only the other credit
  // notes (cancellation, transfer, adjustment) are credits in the ledger.
  const credits = notes.filter((n) => n.note.paymentId === null).map((n) => n.note.amount);
  const ledger = {
    invoices: invs.map((i) => i.total),
    payments: pays.map((p) => p.payment.amount),
    credits,
    refunds: refs.map((r) => r.refund.amount),
  };
  return {
    contractId: contract.id,
    subscriberKey,
    subscriptions: subs,
    invoices: invs,
    payments: pays,
    creditNotes: notes,
    refunds: refs.map((r) => r.refund),
    totals: {
      invoiced: sumMoney(ledger.invoices),
      paid: sumMoney(ledger.payments),
      credited: sumMoney(credits),
      refunded: sumMoney(ledger.refunds),
      balance: balanceOf(ledger),
      outstanding: sumMoney(invs.map(outstandingOf)),
      creditAvailable: sumMoney(notes.map((n) => n.note.remaining)),
    },
  };
}

/** A household's statement on a contract; 404 unless it lives in the contract's community. */
export async function householdStatement(
  ctx: ServiceContext,
  householdId: string,
  contractId: string,
): Promise<Statement> {
  const { db } = ctx;
  const contract = await findContract(db, ctx.principal, contractId);
  const [home] = await db
    .select({ id: households.id })
    .from(households)
    .innerJoin(buildings, eq(buildings.id, households.buildingId))
    .where(and(eq(households.id, householdId), eq(buildings.communityId, contract.communityId)));
  if (!home) throw ApiError.notFound("The household (in the contract's community)");
  return statementOf(db, contract, `household:${householdId}`);
}

/** A subscriber's statement on a contract (household:<uuid> or slot:<ref>). */
export async function subscriberStatement(
  ctx: ServiceContext,
  contractId: string,
  subscriberKey: string,
): Promise<Statement> {
  const contract = await findContract(ctx.db, ctx.principal, contractId);
  return statementOf(ctx.db, contract, subscriberKey);
}

/**
 * The receivables' rule, once for every read of it: each invoice of the contracts matching
 * `contractsWhere` (a condition on the `contracts` table) issued by `asOf`, with what was collected
 * on it by `asOf` (the applied part of the payments received by then). Columns: community_id,
 * contract_id, id, number, subscriber_key, household_id, issue_date, due_date, total,
 * credit_applied, collected (all money `numeric`).
 */
function invoicesAsOf(asOf: string, contractsWhere: SQL): SQL {
  return sql`select contracts.community_id, i.contract_id, i.id, i.number, i.subscriber_key, i.household_id,
                    i.issue_date, i.due_date, i.total, i.credit_applied, coalesce(p.applied, 0) as collected
               from invoices i
               join contracts on contracts.id = i.contract_id
               left join (
                 select pm.invoice_id, sum(pm.applied_amount) as applied
                   from payments pm
                   join contracts on contracts.id = pm.contract_id
                  where ${contractsWhere} and pm.received_on <= ${asOf}::date
                  group by pm.invoice_id
               ) p on p.invoice_id = i.id
              where ${contractsWhere} and i.issue_date <= ${asOf}::date`;
}

/** What such an invoice (`r`, a row of `invoicesAsOf`) still owed on `asOf` (outstanding counts it from zero up). */
const OWED = sql`(r.total - r.credit_applied - r.collected)`;
/** The sums of a group of those invoices, all money as text (numeric in SQL, exact). */
const SUMS = sql`count(r.contract_id)::int as invoices,
  count(r.contract_id) filter (where ${OWED} > 0)::int as open,
  coalesce(sum(r.total), 0)::text as invoiced,
  coalesce(sum(r.credit_applied), 0)::text as credit_applied,
  coalesce(sum(r.collected), 0)::text as collected,
  coalesce(sum(greatest(${OWED}, 0)), 0)::text as outstanding`;

/** One due date's sums (a row of `SUMS` grouped by due date). */
interface DueDateSums {
  due_date: string | null;
  invoices: number;
  open: number;
  invoiced: string;
  credit_applied: string;
  collected: string;
  outstanding: string;
}

/** Due dates' sums folded into the counts, totals and aging as of `asOf` (aged by the rule in code). */
function foldSums(rows: readonly DueDateSums[], asOf: string) {
  const total = (pick: (r: DueDateSums) => string) => sumMoney(rows.map(pick));
  const dated = rows.flatMap((r) =>
    r.due_date === null ? [] : [{ dueDate: r.due_date, outstanding: r.outstanding }],
  );
  return {
    invoiceCount: rows.reduce((n, r) => n + Number(r.invoices), 0),
    openInvoiceCount: rows.reduce((n, r) => n + Number(r.open), 0),
    totals: {
      invoiced: total((r) => r.invoiced),
      creditApplied: total((r) => r.credit_applied),
      collected: total((r) => r.collected),
      outstanding: total((r) => r.outstanding),
    },
    aging: agingReport(dated, asOf),
  };
}

/** The contract's receivables as of `asOf` (default: today in Asia/Shanghai), with arrears aging. */
export async function receivables(
  ctx: ServiceContext,
  contractId: string,
  asOfDate: string | undefined,
): Promise<Receivables> {
  const { db } = ctx;
  const contract = await findContract(db, ctx.principal, contractId);
  const asOf = asOfDate ?? shanghaiDate(ctx.clock());
  // What each invoice issued by asOf still owed on asOf (payments received by then), summed by
  // due date: one row per due date, aged by the rule in code.
  const rows = await queryRows<DueDateSums>(
    db,
    sql`select r.due_date::text as due_date, ${SUMS}
          from (${invoicesAsOf(asOf, eq(contracts.id, contract.id))}) r
         group by r.due_date`,
  );
  const [received] = await db
    .select({ sum: sql<string>`coalesce(sum(${payments.amount}), 0)::text` })
    .from(payments)
    .where(and(eq(payments.contractId, contract.id), sql`${payments.receivedOn} <= ${asOf}::date`));
  const sums = foldSums(rows, asOf);
  return {
    contractId: contract.id,
    asOf,
    invoiceCount: sums.invoiceCount,
    openInvoiceCount: sums.openInvoiceCount,
    totals: { ...sums.totals, received: money(received?.sum ?? "0") },
    aging: sums.aging,
  };
}

/** One invoice of a contract's receivables as of a date (a row of `exportReceivables`). */
export interface ReceivableInvoice {
  id: string;
  number: string;
  subscriberKey: string;
  householdId: string | null;
  issueDate: string;
  dueDate: string;
  total: string;
  creditApplied: string;
  collected: string;
  /** What it still owed on asOf (never below zero): what `receivables` sums into its aging. */
  outstanding: string;
}

/**
 * The invoices behind `receivables` (the same rule: `invoicesAsOf`, the same scope, checked
 * first): every invoice of the contract issued by `asOf`, with what was collected on it and what
 * it still owed on that day, by number, read in batches. Their sums are `receivables`' totals.
 */
export async function exportReceivables(
  ctx: ServiceContext,
  contractId: string,
  asOfDate: string | undefined,
) {
  const { db } = ctx;
  const contract = await findContract(db, ctx.principal, contractId);
  const asOf = asOfDate ?? shanghaiDate(ctx.clock());
  const invoicesThen = invoicesAsOf(asOf, eq(contracts.id, contract.id));
  // Numbers are unique per enterprise, and a contract has one: the number orders and resumes.
  const rows = exportBatches<ReceivableInvoice>((after, limit, offset) =>
    queryRows<ReceivableInvoice>(
      db,
      sql`select r.id, r.number, r.subscriber_key as "subscriberKey", r.household_id as "householdId",
                 r.issue_date::text as "issueDate", r.due_date::text as "dueDate", r.total::text as total,
                 r.credit_applied::text as "creditApplied", r.collected::text as collected,
                 greatest(${OWED}, 0)::text as outstanding
            from (${invoicesThen}) r
           where ${after ? sql`r.number > ${after.number}` : sql`true`}
           order by r.number
           limit ${limit} offset ${offset}`,
    ),
  );
  return { asOf, rows };
}

/** The receivables of every contract of one community, summed as of a date (see `receivablesByCommunity`). */
export interface CommunityReceivables {
  communityId: string;
  name: string;
  asOf: string;
  invoiceCount: number;
  openInvoiceCount: number;
  totals: {
    invoiced: Decimal;
    creditApplied: Decimal;
    collected: Decimal;
    outstanding: Decimal;
  };
  aging: Record<AgingBucket, Decimal>;
  /** The outstanding part past its due date: every aging bucket but "current". */
  overdue: Decimal;
  /** collected ÷ (invoiced − credit applied), unrounded; null when that is zero. */
  collectionRate: Decimal | null;
}

/**
 * For every community the caller sees (by name), the sum of `receivables` of its contracts the
 * caller sees, as of `asOf` (default: today in Asia/Shanghai) — the same rule, in one set-based
 * query (one row per community and due date) instead of two per contract. A community without an
 * invoice has a row of zeros.
 */
export async function receivablesByCommunity(
  ctx: ServiceContext,
  asOfDate?: string,
): Promise<CommunityReceivables[]> {
  const p = ctx.principal;
  const asOf = asOfDate ?? shanghaiDate(ctx.clock());
  const rows = await queryRows<DueDateSums & { community_id: string; name: string }>(
    ctx.db,
    sql`select communities.id as community_id, communities.name, s.due_date, s.invoices, s.open,
               s.invoiced, s.credit_applied, s.collected, s.outstanding
          from communities
          left join (
            select r.community_id, r.due_date::text as due_date, ${SUMS}
              from (${invoicesAsOf(asOf, contractScope(p))}) r
             group by r.community_id, r.due_date
          ) s on s.community_id = communities.id
         where ${communityScope(p, communities.streetId, communities.id)}
         order by communities.name, communities.id, s.due_date`,
  );
  const byCommunity = new Map<string, { name: string; rows: DueDateSums[] }>();
  for (const row of rows) {
    const group = byCommunity.get(row.community_id) ?? { name: row.name, rows: [] };
    if (row.due_date !== null) group.rows.push(row);
    byCommunity.set(row.community_id, group);
  }
  return [...byCommunity].map(([communityId, group]) => {
    const sums = foldSums(group.rows, asOf);
    const billed = sums.totals.invoiced.minus(sums.totals.creditApplied);
    return {
      communityId,
      name: group.name,
      asOf,
      ...sums,
      overdue: sumMoney(AGING_BUCKETS.filter((b) => b !== "current").map((b) => sums.aging[b])),
      collectionRate: billed.isZero() ? null : sums.totals.collected.div(billed),
    };
  });
}
