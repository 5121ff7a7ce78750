/**
 * Payments, credit notes and refunds. Each write is one transaction on the locked contract row
 * (runContractCommand: scope, party, audit), and each money decision appends to the contract's
 * audit log. The arithmetic is contracts/billing.ts (allocatePayment, the arrears rule).
 */
import { and, asc, desc, eq, sql } from "drizzle-orm";
import { allocatePayment, type Decimal, formatMoney, money, shanghaiDate } from "../../../contracts/index.js";
import { queryRows, type Tx } from "../../../db/database.js";
import { applyArrearsStanding, nextCreditNoteNumber, type StandingChange } from "../../../db/ledger.js";
import { creditNotes, invoices, payments, refunds, subscriptions } from "../../../db/schema.js";
import { RUNNING_SUBSCRIPTION_STATES_SQL } from "../../../db/states.js";
import { ApiError, notInFuture } from "../../errors.js";
import { exportBatches } from "../batches.js";
import type { ServiceContext } from "../context.js";
import { type CommandScope, runContractCommand } from "../contracts/command.js";
import { findContract } from "../contracts/store.js";
import { type Page, type PageRequest, pageOf } from "../pages.js";
import { recordSuspensions } from "./arrears.js";
import {
  type CreditNoteWithTotals,
  creditNoteById,
  creditNotesWhere,
  findCreditNote,
  findInvoice,
  findPayment,
  findRefund,
  type InvoiceRow,
  outstandingOf,
  type PaymentRow,
  type PaymentWithCreditNote,
  type RefundRow,
} from "./store.js";

export interface NewPayment {
  /** Decimal string, > 0. */
  amount: string;
  method: PaymentRow["method"];
  externalRef: string;
  /** Asia/Shanghai date the money came in. */
  receivedOn: string;
}

export interface NewRefund {
  amount: string;
  method: RefundRow["method"];
  externalRef: string;
  /** Asia/Shanghai date the money went out. */
  paidOn: string;
}

export interface NewCreditNote {
  subscriberKey: string;
  amount: string;
  note: string;
}

/**
 * A payment with the invoice it paid (as it stands now) and the overpayment credit note that
 * holds its excess. `created`: recorded by this request; false: a repeat of a recorded one.
 */
export interface PaymentOutcome {
  created: boolean;
  payment: PaymentRow;
  invoice: InvoiceRow;
  creditNote: CreditNoteWithTotals | null;
}

/** A refund and its credit note afterwards. `created` false: a repeat of a recorded one. */
export interface RefundOutcome {
  created: boolean;
  refund: RefundRow;
  creditNote: CreditNoteWithTotals;
}

const yearOf = (date: string) => Number(date.slice(0, 4));

/** The audit rows of standing changes a command caused. */
async function auditStanding(s: CommandScope, changes: StandingChange[], cause: Record<string, unknown>) {
  for (const ch of changes) {
    await s.audit(ch.state === "active" ? "subscription.reinstated" : "subscription.suspended", {
      payload: { subscriptionId: ch.subscriptionId, subscriberKey: ch.subscriberKey, ...cause },
    });
  }
}

// ---- payments ----------------------------------------------------------------------------------

async function paymentOutcome(tx: Tx, payment: PaymentRow, created: boolean): Promise<PaymentOutcome> {
  const [invoice] = await tx.select().from(invoices).where(eq(invoices.id, payment.invoiceId));
  if (!invoice) throw new Error("payment without its invoice");
  const [note] = await tx
    .select({ id: creditNotes.id })
    .from(creditNotes)
    .where(eq(creditNotes.paymentId, payment.id));
  return { created, payment, invoice, creditNote: note ? await creditNoteById(tx, note.id) : null };
}

/** A repeat of a recorded payment answers it; the same reference for something else is a 409. */
function checkRepeat(existing: PaymentRow, invoiceId: string, body: NewPayment) {
  const same =
    existing.invoiceId === invoiceId &&
    money(existing.amount).eq(money(body.amount)) &&
    existing.method === body.method &&
    existing.receivedOn === body.receivedOn;
  if (!same) {
    throw ApiError.conflict(
      "payment_reference_used",
      `The reference ${JSON.stringify(body.externalRef)} was already used for another payment (${existing.amount} on ${existing.receivedOn} against invoice ${existing.invoiceId}).`,
      { field: "body.externalRef", paymentId: existing.id },
    );
  }
}

async function paymentByRef(tx: Tx, enterpriseOrgId: string, externalRef: string) {
  const [row] = await tx
    .select()
    .from(payments)
    .where(and(eq(payments.enterpriseOrgId, enterpriseOrgId), eq(payments.externalRef, externalRef)));
  return row;
}

/**
 * Records a payment against an invoice, idempotent by the enterprise's external reference: up to
 * what is due pays the invoice, the excess becomes an overpayment credit note, and the
 * subscriber's standing follows (a payment that clears the arrears reinstates).
 */
export async function recordPayment(
  ctx: ServiceContext,
  invoiceId: string,
  body: NewPayment,
): Promise<PaymentOutcome> {
  const id = invoiceId;
  const today = shanghaiDate(ctx.clock());
  notInFuture("body.receivedOn", body.receivedOn, today);
  const seen = await findInvoice(ctx.db, ctx.principal, id);

  return runContractCommand(ctx, seen.contractId, { type: "record_payment" }, async (s) => {
    const repeat = await paymentByRef(s.tx, s.contract.enterpriseOrgId, body.externalRef);
    if (repeat) {
      checkRepeat(repeat, id, body);
      return paymentOutcome(s.tx, repeat, false);
    }
    const invoice = await findInvoice(s.tx, s.actor, id, true);
    const outstanding = outstandingOf(invoice);
    const { toInvoice, toCredit } = allocatePayment(outstanding, body.amount);

    const [payment] = await s.tx
      .insert(payments)
      .values({
        invoiceId: invoice.id,
        contractId: invoice.contractId,
        enterpriseOrgId: invoice.enterpriseOrgId,
        subscriberKey: invoice.subscriberKey,
        amount: body.amount,
        appliedAmount: formatMoney(toInvoice),
        method: body.method,
        externalRef: body.externalRef,
        receivedOn: body.receivedOn,
      })
      .onConflictDoNothing({ target: [payments.enterpriseOrgId, payments.externalRef] })
      .returning();
    if (!payment) {
      // Recorded meanwhile through another contract of the enterprise (its row lock did not
      // serialise us): the unique key decided; answer what it kept.
      const existing = await paymentByRef(s.tx, s.contract.enterpriseOrgId, body.externalRef);
      if (!existing) throw new Error("payment conflict without a payment");
      checkRepeat(existing, id, body);
      return paymentOutcome(s.tx, existing, false);
    }

    if (toInvoice.gt(0)) {
      await s.tx
        .update(invoices)
        .set({ paidAmount: sql`${invoices.paidAmount} + ${formatMoney(toInvoice)}::numeric` })
        .where(eq(invoices.id, invoice.id));
    }
    const creditNote = toCredit.gt(0)
      ? await overpaymentNote(s, payment, invoice.subscriptionId, toCredit, today)
      : null;
    const changes = await applyArrearsStanding(s.tx, today, {
      contractId: invoice.contractId,
      subscriberKey: invoice.subscriberKey,
    });
    // A partial payment may leave the subscriber in arrears: a suspension made here is told too.
    await recordSuspensions(s.tx, changes, today, s.now);

    await s.audit("payment.recorded", {
      payload: {
        paymentId: payment.id,
        invoiceId: invoice.id,
        invoiceNumber: invoice.number,
        subscriberKey: invoice.subscriberKey,
        amount: payment.amount,
        appliedAmount: payment.appliedAmount,
        outstandingBefore: formatMoney(outstanding),
        outstandingAfter: formatMoney(outstanding.minus(toInvoice)),
        method: payment.method,
        externalRef: payment.externalRef,
        receivedOn: payment.receivedOn,
      },
    });
    if (creditNote) {
      await s.audit("credit_note.issued", {
        payload: {
          creditNoteId: creditNote.id,
          number: creditNote.number,
          reason: "overpayment",
          subscriberKey: invoice.subscriberKey,
          amount: creditNote.amount,
          paymentId: payment.id,
        },
      });
    }
    await auditStanding(s, changes, { paymentId: payment.id });
    return paymentOutcome(s.tx, payment, true);
  });
}

async function overpaymentNote(
  s: CommandScope,
  payment: PaymentRow,
  subscriptionId: string | null,
  amount: Decimal,
  today: string,
) {
  const number = await nextCreditNoteNumber(s.tx, payment.enterpriseOrgId, yearOf(today));
  const [note] = await s.tx
    .insert(creditNotes)
    .values({
      number,
      enterpriseOrgId: payment.enterpriseOrgId,
      contractId: payment.contractId,
      subscriberKey: payment.subscriberKey,
      reason: "overpayment",
      amount: formatMoney(amount),
      remaining: formatMoney(amount),
      paymentId: payment.id,
      subscriptionId,
      note: `Overpayment of ${payment.externalRef}`,
    })
    .returning();
  if (!note) throw new Error("insert returned nothing");
  return note;
}

/** An invoice's payments in the order they came in; the id breaks ties. */
const OLDEST_FIRST = [asc(payments.receivedOn), asc(payments.createdAt), asc(payments.id)];

/** The payments against an invoice the caller may see (else 404), oldest first. */
/** Oldest first: by the day received, then as recorded (id breaks ties). */
export async function listPayments(
  ctx: ServiceContext,
  invoiceId: string,
  page?: PageRequest,
): Promise<Page<PaymentWithCreditNote>> {
  const { db } = ctx;
  const invoice = await findInvoice(db, ctx.principal, invoiceId);
  const where = eq(payments.invoiceId, invoice.id);
  const query = db
    .select({ payment: payments, creditNoteId: creditNotes.id })
    .from(payments)
    .leftJoin(creditNotes, eq(creditNotes.paymentId, payments.id))
    .where(where)
    .orderBy(...OLDEST_FIRST)
    .$dynamic();
  return pageOf(query, () => db.$count(payments, where), page);
}

/** One payment as `listPayments` lists it, if the caller may read its contract (else 404). */
export async function getPayment(ctx: ServiceContext, id: string): Promise<PaymentWithCreditNote> {
  return findPayment(ctx.db, ctx.principal, id);
}

/**
 * Every payment `listPayments` lists, in its order, read in batches (the invoice's scope checked
 * first: 404), with the invoice (its number names the file).
 */
export async function exportPayments(ctx: ServiceContext, invoiceId: string) {
  const { db } = ctx;
  const invoice = await findInvoice(db, ctx.principal, invoiceId);
  // created_at as PostgreSQL writes it (to the microsecond) resumes exactly; a JS Date would not.
  const rows = exportBatches<PaymentWithCreditNote & { cursor: string }>((after, limit, offset) =>
    db
      .select({
        payment: payments,
        creditNoteId: creditNotes.id,
        cursor: sql<string>`${payments.createdAt}::text`,
      })
      .from(payments)
      .leftJoin(creditNotes, eq(creditNotes.paymentId, payments.id))
      .where(
        and(
          eq(payments.invoiceId, invoice.id),
          after
            ? sql`(${payments.receivedOn}, ${payments.createdAt}, ${payments.id}) > (${after.payment.receivedOn}::date, ${after.cursor}::timestamptz, ${after.payment.id}::uuid)`
            : undefined,
        ),
      )
      .orderBy(...OLDEST_FIRST)
      .limit(limit)
      .offset(offset),
  );
  return { invoice, rows };
}

/**
 * Every payment received on a contract's invoices, newest first, each with its invoice: one
 * query (a page listing a contract's payments would otherwise read each invoice's apart).
 */
export async function listContractPayments(ctx: ServiceContext, contractId: string) {
  const contract = await findContract(ctx.db, ctx.principal, contractId);
  return ctx.db
    .select({ payment: payments, invoice: invoices })
    .from(payments)
    .innerJoin(invoices, eq(invoices.id, payments.invoiceId))
    .where(eq(invoices.contractId, contract.id))
    .orderBy(desc(payments.receivedOn), desc(payments.createdAt), desc(payments.id));
}

// ---- credit notes ------------------------------------------------------------------------------

/** A page of the contract's credit notes, oldest first, of one subscriber when given. */
export async function listCreditNotes(
  ctx: ServiceContext,
  contractId: string,
  q: { limit: number; offset: number; subscriberKey?: string | undefined },
): Promise<Page<CreditNoteWithTotals>> {
  const contract = await findContract(ctx.db, ctx.principal, contractId);
  const where = and(
    eq(creditNotes.contractId, contract.id),
    q.subscriberKey ? eq(creditNotes.subscriberKey, q.subscriberKey) : undefined,
  );
  const [items, total] = await Promise.all([
    creditNotesWhere(ctx.db, where, { limit: q.limit, offset: q.offset }),
    ctx.db.$count(creditNotes, where),
  ]);
  return { items, total };
}

/** One credit note, with what was applied and refunded, if the caller may read its contract (else 404). */
export async function getCreditNote(ctx: ServiceContext, id: string): Promise<CreditNoteWithTotals> {
  const note = await findCreditNote(ctx.db, ctx.principal, id);
  return creditNoteById(ctx.db, note.id);
}

/** Issues a manual credit note (adjustment) to a subscriber of the contract. */
export async function issueCreditNote(
  ctx: ServiceContext,
  contractId: string,
  body: NewCreditNote,
): Promise<CreditNoteWithTotals> {
  const today = shanghaiDate(ctx.clock());
  return runContractCommand(ctx, contractId, { type: "issue_credit_note" }, async (s) => {
    const [known] = await queryRows<{ known: number }>(
      s.tx,
      sql`select 1 as known
           where exists (select 1 from subscriptions
                          where contract_id = ${s.contract.id} and subscriber_key = ${body.subscriberKey})
              or exists (select 1 from invoices
                          where contract_id = ${s.contract.id} and subscriber_key = ${body.subscriberKey})`,
    );
    if (!known) {
      throw ApiError.validation([
        { field: "body.subscriberKey", message: "has no subscription and no invoice on this contract" },
      ]);
    }
    const [sub] = await s.tx
      .select({ id: subscriptions.id })
      .from(subscriptions)
      .where(
        and(eq(subscriptions.contractId, s.contract.id), eq(subscriptions.subscriberKey, body.subscriberKey)),
      )
      .orderBy(
        sql`${subscriptions.state} in (${RUNNING_SUBSCRIPTION_STATES_SQL}) desc`,
        sql`${subscriptions.startDate} desc`,
      )
      .limit(1);
    const number = await nextCreditNoteNumber(s.tx, s.contract.enterpriseOrgId, yearOf(today));
    const [row] = await s.tx
      .insert(creditNotes)
      .values({
        number,
        enterpriseOrgId: s.contract.enterpriseOrgId,
        contractId: s.contract.id,
        subscriberKey: body.subscriberKey,
        reason: "adjustment",
        amount: body.amount,
        remaining: body.amount,
        subscriptionId: sub?.id ?? null,
        note: body.note,
      })
      .returning();
    if (!row) throw new Error("insert returned nothing");
    await s.audit("credit_note.issued", {
      payload: {
        creditNoteId: row.id,
        number: row.number,
        reason: "adjustment",
        subscriberKey: row.subscriberKey,
        amount: row.amount,
        note: row.note,
      },
    });
    return creditNoteById(s.tx, row.id);
  });
}

// ---- refunds -----------------------------------------------------------------------------------

/** One refund, if the caller may read its credit note's contract (else 404). */
export async function getRefund(ctx: ServiceContext, id: string): Promise<RefundRow> {
  return findRefund(ctx.db, ctx.principal, id);
}

function checkRefundRepeat(existing: RefundRow, body: NewRefund) {
  const same =
    money(existing.amount).eq(money(body.amount)) &&
    existing.method === body.method &&
    existing.paidOn === body.paidOn;
  if (!same) {
    throw ApiError.conflict(
      "refund_reference_used",
      `The reference ${JSON.stringify(body.externalRef)} was already used for another refund of this credit note (${existing.amount} on ${existing.paidOn}).`,
      { field: "body.externalRef", refundId: existing.id },
    );
  }
}

/**
 * Pays credit back to the subscriber, never more than the credit note's remaining amount;
 * idempotent by (credit note, external reference).
 */
export async function refundCreditNote(
  ctx: ServiceContext,
  creditNoteId: string,
  body: NewRefund,
): Promise<RefundOutcome> {
  const id = creditNoteId;
  const today = shanghaiDate(ctx.clock());
  notInFuture("body.paidOn", body.paidOn, today);
  const seen = await findCreditNote(ctx.db, ctx.principal, id);

  return runContractCommand(ctx, seen.contractId, { type: "refund_credit_note" }, async (s) => {
    const byRef = and(eq(refunds.creditNoteId, id), eq(refunds.externalRef, body.externalRef));
    const [repeat] = await s.tx.select().from(refunds).where(byRef);
    if (repeat) {
      checkRefundRepeat(repeat, body);
      return { created: false, refund: repeat, creditNote: await creditNoteById(s.tx, id) };
    }
    const [note] = await s.tx.select().from(creditNotes).where(eq(creditNotes.id, id)).for("update");
    if (!note) throw ApiError.notFound("The credit note");
    const remaining = money(note.remaining);
    if (money(body.amount).gt(remaining)) {
      throw ApiError.conflict(
        "refund_exceeds_remaining",
        `The refund of ${body.amount} is more than the credit note's remaining ${note.remaining}.`,
        { field: "body.amount", remaining: note.remaining },
      );
    }
    const [refund] = await s.tx
      .insert(refunds)
      .values({
        creditNoteId: id,
        amount: body.amount,
        method: body.method,
        externalRef: body.externalRef,
        paidOn: body.paidOn,
      })
      .returning();
    if (!refund) throw new Error("insert returned nothing");
    await s.tx
      .update(creditNotes)
      .set({ remaining: sql`${creditNotes.remaining} - ${body.amount}::numeric` })
      .where(eq(creditNotes.id, id));
    await s.audit("refund.paid", {
      payload: {
        refundId: refund.id,
        creditNoteId: id,
        creditNoteNumber: note.number,
        subscriberKey: note.subscriberKey,
        amount: refund.amount,
        remainingAfter: formatMoney(remaining.minus(money(body.amount))),
        method: refund.method,
        externalRef: refund.externalRef,
        paidOn: refund.paidOn,
      },
    });
    return { created: true, refund, creditNote: await creditNoteById(s.tx, id) };
  });
}
