/**
 * The queries the residents' fees services share: the ledger documents (invoices, payments,
 * credit notes, refunds), scoped once here (an invoice or a credit note is visible exactly when
 * its contract is: contractScope), and the bounds a contract puts on its subscribers.
 */
import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import { outer, type Queryable, queryRows, type Tx } from "../../../db/database.js";
import {
  type billingRuns,
  contracts,
  creditNotes,
  type invoiceLines,
  invoices,
  payments,
  refunds,
  type subscriptions,
} from "../../../db/schema.js";
import type { Principal } from "../../auth/principal.js";
import { contractScope } from "../../auth/scope.js";
import { ApiError } from "../../errors.js";
import type { ContractRow } from "../contracts/store.js";

export type SubscriptionRow = typeof subscriptions.$inferSelect;
export type BillingRunRow = typeof billingRuns.$inferSelect;
export type InvoiceRow = typeof invoices.$inferSelect;
export type InvoiceLineRow = typeof invoiceLines.$inferSelect;
export type PaymentRow = typeof payments.$inferSelect;
export type CreditNoteRow = typeof creditNotes.$inferSelect;
export type RefundRow = typeof refunds.$inferSelect;
/** A credit note with the sums applied to invoices and refunded from it so far (decimal strings). */
export interface CreditNoteWithTotals {
  note: CreditNoteRow;
  applied: string;
  refunded: string;
}
/** A payment with the overpayment credit note that holds its excess, if any. */
export interface PaymentWithCreditNote {
  payment: PaymentRow;
  creditNoteId: string | null;
}

/** The dates that bound residents' fees on an operating contract (the command table admitted it). */
export function feeLimitsOf(contract: ContractRow) {
  if (!contract.operationStartDate) throw new Error("an operating contract has an operation start date");
  return { operationStart: contract.operationStartDate, transferDate: contract.transferDate };
}

/** The household's floor when it lives in a building served by one of the contract's elevators; else null. */
export async function householdOfContract(
  tx: Tx,
  contractId: string,
  householdId: string,
): Promise<{ floor: number } | null> {
  const [row] = await queryRows<{ floor: number }>(
    tx,
    sql`select h.floor from households h
        join facilities f on f.building_id = h.building_id and f.kind = 'elevator'
        join contract_facilities cf on cf.facility_id = f.id and cf.contract_id = ${contractId}
        where h.id = ${householdId} limit 1`,
  );
  return row ? { floor: Number(row.floor) } : null;
}

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

/** The payment, with the credit note of its excess, if the caller may see its contract; 404 otherwise. */
export async function findPayment(db: Queryable, p: Principal, id: string): Promise<PaymentWithCreditNote> {
  const [row] = await db
    .select({ payment: payments, creditNoteId: creditNotes.id })
    .from(payments)
    .innerJoin(contracts, eq(contracts.id, payments.contractId))
    .leftJoin(creditNotes, eq(creditNotes.paymentId, payments.id))
    .where(and(eq(payments.id, id), contractScope(p)));
  if (!row) throw ApiError.notFound("The payment");
  return row;
}

/** The refund if the caller may see its credit note's contract; 404 otherwise. */
export async function findRefund(db: Queryable, p: Principal, id: string): Promise<RefundRow> {
  const [row] = await db
    .select({ refund: refunds })
    .from(refunds)
    .innerJoin(creditNotes, eq(creditNotes.id, refunds.creditNoteId))
    .innerJoin(contracts, eq(contracts.id, creditNotes.contractId))
    .where(and(eq(refunds.id, id), contractScope(p)));
  if (!row) throw ApiError.notFound("The refund");
  return row.refund;
}

/** What is still unpaid on an invoice (contracts/billing.ts; its SQL twin is db/ledger.ts `outstandingSql`). */
export { outstandingOf } from "../../../contracts/billing.js";

/** Credit notes matching `where`, oldest first, with what was applied and refunded from each. */
export async function creditNotesWhere(
  db: Queryable,
  where: SQL | undefined,
  page: { limit: number; offset: number } = { limit: 10_000, offset: 0 },
): Promise<CreditNoteWithTotals[]> {
  return db
    .select({
      note: creditNotes,
      applied: sql<string>`(select coalesce(sum(ca.amount), 0)::text from credit_applications ca
                             where ca.credit_note_id = ${outer(creditNotes.id)})`,
      refunded: sql<string>`(select coalesce(sum(r.amount), 0)::text from refunds r
                              where r.credit_note_id = ${outer(creditNotes.id)})`,
    })
    .from(creditNotes)
    .where(where)
    .orderBy(asc(creditNotes.createdAt), asc(creditNotes.number), asc(creditNotes.id))
    .limit(page.limit)
    .offset(page.offset);
}

export async function creditNoteById(db: Queryable, id: string): Promise<CreditNoteWithTotals> {
  const [row] = await creditNotesWhere(db, eq(creditNotes.id, id));
  if (!row) throw ApiError.notFound("The credit note");
  return row;
}
