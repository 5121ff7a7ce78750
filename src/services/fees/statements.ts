/**
 * Statements (one subscriber's ledger on one contract) and a contract's receivables with arrears
 * aging. Read-only; scope is the contract's (findContract). The arithmetic is contracts/billing.ts
 * (balanceOf, agingReport).
 */
import { and, asc, eq, sql } from "drizzle-orm";
import {
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
  creditNotes,
  households,
  invoices,
  payments,
  refunds,
  subscriptions,
} from "../../../db/schema.js";
import { ApiError } from "../../errors.js";
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
  const rows = await queryRows<{
    due_date: string;
    invoices: number | string;
    open: number | string;
    invoiced: string;
    credit_applied: string;
    collected: string;
    outstanding: string;
  }>(
    db,
    sql`select i.due_date::text as due_date,
               count(*) as invoices,
               count(*) filter (where i.total - i.credit_applied - coalesce(p.applied, 0) > 0) as open,
               sum(i.total)::text as invoiced,
               sum(i.credit_applied)::text as credit_applied,
               sum(coalesce(p.applied, 0))::text as collected,
               sum(greatest(i.total - i.credit_applied - coalesce(p.applied, 0), 0))::text as outstanding
          from invoices i
          left join lateral (
            select sum(pm.applied_amount) as applied from payments pm
             where pm.invoice_id = i.id and pm.received_on <= ${asOf}::date
          ) p on true
         where i.contract_id = ${contract.id} and i.issue_date <= ${asOf}::date
         group by i.due_date`,
  );
  const [received] = await db
    .select({ sum: sql<string>`coalesce(sum(${payments.amount}), 0)::text` })
    .from(payments)
    .where(and(eq(payments.contractId, contract.id), sql`${payments.receivedOn} <= ${asOf}::date`));
  const total = (pick: (r: (typeof rows)[number]) => string) => sumMoney(rows.map(pick));
  return {
    contractId: contract.id,
    asOf,
    invoiceCount: rows.reduce((n, r) => n + Number(r.invoices), 0),
    openInvoiceCount: rows.reduce((n, r) => n + Number(r.open), 0),
    totals: {
      invoiced: total((r) => r.invoiced),
      creditApplied: total((r) => r.credit_applied),
      collected: total((r) => r.collected),
      received: money(received?.sum ?? "0"),
      outstanding: total((r) => r.outstanding),
    },
    aging: agingReport(
      rows.map((r) => ({ dueDate: r.due_date, outstanding: r.outstanding })),
      asOf,
    ),
  };
}
