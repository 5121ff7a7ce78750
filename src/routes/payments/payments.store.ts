/**
 * Reading the ledger documents of payments, credit notes and refunds, scoped once here: an
 * invoice or a credit note is visible exactly when its contract is (contractScope).
 */
import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import { formatMoney, money } from "../../../contracts/index.js";
import { outer, type Queryable } from "../../../db/database.js";
import { contracts, creditNotes, invoices, type payments, type refunds } from "../../../db/schema.js";
import type { Principal } from "../../auth/principal.js";
import { contractScope } from "../../auth/scope.js";
import { ApiError } from "../../errors.js";

export type InvoiceRow = typeof invoices.$inferSelect;
export type PaymentRow = typeof payments.$inferSelect;
export type CreditNoteRow = typeof creditNotes.$inferSelect;
export type RefundRow = typeof refunds.$inferSelect;

/** The invoice if the caller may see its contract; 404 otherwise. `lock` takes its row lock. */
export async function findInvoice(
  db: Queryable,
  p: Principal,
  id: string,
  lock = false,
): Promise<InvoiceRow> {
  const query = db
    .select({ invoice: invoices })
    .from(invoices)
    .innerJoin(contracts, eq(contracts.id, invoices.contractId))
    .where(and(eq(invoices.id, id), contractScope(p)));
  const [row] = lock ? await query.for("update", { of: invoices }) : await query;
  if (!row) throw ApiError.notFound("The invoice");
  return row.invoice;
}

/** The credit note if the caller may see its contract; 404 otherwise. */
export async function findCreditNote(db: Queryable, p: Principal, id: string): Promise<CreditNoteRow> {
  const [row] = await db
    .select({ note: creditNotes })
    .from(creditNotes)
    .innerJoin(contracts, eq(contracts.id, creditNotes.contractId))
    .where(and(eq(creditNotes.id, id), contractScope(p)));
  if (!row) throw ApiError.notFound("The credit note");
  return row.note;
}

export const outstandingOf = (i: Pick<InvoiceRow, "total" | "creditApplied" | "paidAmount">) =>
  money(i.total).minus(money(i.creditApplied)).minus(money(i.paidAmount));

export function invoiceSummary(i: InvoiceRow) {
  return {
    id: i.id,
    number: i.number,
    period: i.period,
    total: i.total,
    creditApplied: i.creditApplied,
    paidAmount: i.paidAmount,
    outstanding: formatMoney(outstandingOf(i)),
    dueDate: i.dueDate,
  };
}

export function paymentJson(p: PaymentRow, creditNoteId: string | null) {
  return {
    id: p.id,
    invoiceId: p.invoiceId,
    contractId: p.contractId,
    subscriberKey: p.subscriberKey,
    amount: p.amount,
    appliedAmount: p.appliedAmount,
    creditAmount: formatMoney(money(p.amount).minus(money(p.appliedAmount))),
    method: p.method,
    externalRef: p.externalRef,
    receivedOn: p.receivedOn,
    creditNoteId,
    createdAt: p.createdAt.toISOString(),
  };
}

export function refundJson(r: RefundRow) {
  return {
    id: r.id,
    creditNoteId: r.creditNoteId,
    amount: r.amount,
    method: r.method,
    externalRef: r.externalRef,
    paidOn: r.paidOn,
    createdAt: r.createdAt.toISOString(),
  };
}

/** Credit notes matching `where`, oldest first, with what was applied and refunded from each. */
export async function creditNotesWhere(
  db: Queryable,
  where: SQL | undefined,
  page: { limit: number; offset: number } = { limit: 10_000, offset: 0 },
) {
  const rows = await db
    .select({
      note: creditNotes,
      applied: sql<string>`(select coalesce(sum(ca.amount), 0)::text from credit_applications ca
                             where ca.credit_note_id = ${outer(creditNotes.id)})`,
      refunded: sql<string>`(select coalesce(sum(r.amount), 0)::text from refunds r
                              where r.credit_note_id = ${outer(creditNotes.id)})`,
    })
    .from(creditNotes)
    .where(where)
    .orderBy(asc(creditNotes.createdAt), asc(creditNotes.number))
    .limit(page.limit)
    .offset(page.offset);
  return rows.map((r) => creditNoteJson(r.note, r.applied, r.refunded));
}

export function creditNoteJson(n: CreditNoteRow, applied: string, refunded: string) {
  return {
    id: n.id,
    number: n.number,
    contractId: n.contractId,
    subscriberKey: n.subscriberKey,
    reason: n.reason,
    amount: n.amount,
    remaining: n.remaining,
    applied: formatMoney(money(applied)),
    refunded: formatMoney(money(refunded)),
    paymentId: n.paymentId,
    subscriptionId: n.subscriptionId,
    note: n.note,
    createdAt: n.createdAt.toISOString(),
  };
}

export async function creditNoteById(db: Queryable, id: string) {
  const [row] = await creditNotesWhere(db, eq(creditNotes.id, id));
  if (!row) throw ApiError.notFound("The credit note");
  return row;
}
