/**
 * Statements (one subscriber's ledger on one contract) and a contract's receivables with arrears
 * aging. Read-only; scope is the contract's (findContract). The arithmetic is contracts/billing.ts
 * (balanceOf, agingReport).
 */
import { and, asc, eq, sql } from "drizzle-orm";
import {
  agingReport,
  balanceOf,
  formatMoney,
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
import type { AppRouteHandler } from "../../openapi.js";
import { type ContractRow, findContract } from "../../services/contracts/store.js";
import { creditNotesWhere, outstandingOf } from "../payments/payments.store.js";
import { statementJson } from "./statements.presenters.js";
import type * as routes from "./statements.routes.js";

async function statementOf(db: Queryable, contract: ContractRow, subscriberKey: string) {
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
  return statementJson({
    contractId: contract.id,
    subscriberKey,
    subscriptions: subs,
    invoices: invs,
    payments: pays,
    creditNotes: notes,
    refunds: refs.map((r) => r.refund),
    totals: {
      invoiced: formatMoney(sumMoney(ledger.invoices)),
      paid: formatMoney(sumMoney(ledger.payments)),
      credited: formatMoney(sumMoney(credits)),
      refunded: formatMoney(sumMoney(ledger.refunds)),
      balance: formatMoney(balanceOf(ledger)),
      outstanding: formatMoney(sumMoney(invs.map(outstandingOf))),
      creditAvailable: formatMoney(sumMoney(notes.map((n) => n.note.remaining))),
    },
  });
}

export const householdStatement: AppRouteHandler<typeof routes.householdStatement> = async (c) => {
  const { db } = c.var;
  const { householdId } = c.req.valid("param");
  const contract = await findContract(db, c.var.principal, c.req.valid("query").contractId);
  const [home] = await db
    .select({ id: households.id })
    .from(households)
    .innerJoin(buildings, eq(buildings.id, households.buildingId))
    .where(and(eq(households.id, householdId), eq(buildings.communityId, contract.communityId)));
  if (!home) throw ApiError.notFound("The household (in the contract's community)");
  return c.json(await statementOf(db, contract, `household:${householdId}`), 200);
};

export const subscriberStatement: AppRouteHandler<typeof routes.subscriberStatement> = async (c) => {
  const { db } = c.var;
  const q = c.req.valid("query");
  const contract = await findContract(db, c.var.principal, q.contractId);
  return c.json(await statementOf(db, contract, q.subscriberKey), 200);
};

export const receivables: AppRouteHandler<typeof routes.receivables> = async (c) => {
  const { db } = c.var;
  const contract = await findContract(db, c.var.principal, c.req.valid("param").id);
  const asOf = c.req.valid("query").asOf ?? shanghaiDate(c.var.deps.clock());
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
  const aging = agingReport(
    rows.map((r) => ({ dueDate: r.due_date, outstanding: r.outstanding })),
    asOf,
  );
  const total = (pick: (r: (typeof rows)[number]) => string) => formatMoney(sumMoney(rows.map(pick)));
  return c.json(
    {
      contractId: contract.id,
      asOf,
      invoiceCount: rows.reduce((n, r) => n + Number(r.invoices), 0),
      openInvoiceCount: rows.reduce((n, r) => n + Number(r.open), 0),
      totals: {
        invoiced: total((r) => r.invoiced),
        creditApplied: total((r) => r.credit_applied),
        collected: total((r) => r.collected),
        received: formatMoney(money(received?.sum ?? "0")),
        outstanding: total((r) => r.outstanding),
      },
      aging: {
        current: formatMoney(aging.current),
        "0-30": formatMoney(aging["0-30"]),
        "31-60": formatMoney(aging["31-60"]),
        "61-90": formatMoney(aging["61-90"]),
        "90+": formatMoney(aging["90+"]),
      },
    },
    200,
  );
};
