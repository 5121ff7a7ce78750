/**
 * Reading the ledger documents of payments, credit notes and refunds, scoped once here: an
 * invoice or a credit note is visible exactly when its contract is (contractScope).
 */
import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import { money } from "../../../contracts/index.js";
import { outer, type Queryable } from "../../../db/database.js";
import { contracts, creditNotes, invoices, type payments, type refunds } from "../../../db/schema.js";
import type { Principal } from "../../auth/principal.js";
import { contractScope } from "../../auth/scope.js";
import { ApiError } from "../../errors.js";

export type InvoiceRow = typeof invoices.$inferSelect;
export type PaymentRow = typeof payments.$inferSelect;
export type CreditNoteRow = typeof creditNotes.$inferSelect;
export type RefundRow = typeof refunds.$inferSelect;
/** A credit note with the sums applied to invoices and refunded from it so far (decimal strings). */
export interface CreditNoteWithTotals {
  note: CreditNoteRow;
  applied: string;
  refunded: string;
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

export const outstandingOf = (i: Pick<InvoiceRow, "total" | "creditApplied" | "paidAmount">) =>
  money(i.total).minus(money(i.creditApplied)).minus(money(i.paidAmount));

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
    .orderBy(asc(creditNotes.createdAt), asc(creditNotes.number))
    .limit(page.limit)
    .offset(page.offset);
}

export async function creditNoteById(db: Queryable, id: string): Promise<CreditNoteWithTotals> {
  const [row] = await creditNotesWhere(db, eq(creditNotes.id, id));
  if (!row) throw ApiError.notFound("The credit note");
  return row;
}
