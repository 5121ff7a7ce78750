/**
 * Payments, credit notes and refunds. Each write is one transaction on the locked contract row
 * (contractCommand: scope, party, audit), and each money decision appends to the contract's
 * audit log. The arithmetic is contracts/billing.ts (allocatePayment, the arrears rule).
 */
import { and, asc, eq, sql } from "drizzle-orm";
import { allocatePayment, type Decimal, formatMoney, money, shanghaiDate } from "../../../contracts/index.js";
import { queryRows, type Tx } from "../../../db/database.js";
import { applyArrearsStanding, nextCreditNoteNumber, type StandingChange } from "../../../db/ledger.js";
import { creditNotes, invoices, payments, refunds, subscriptions } from "../../../db/schema.js";
import { serviceContext } from "../../context.js";
import { ApiError, notInFuture } from "../../errors.js";
import type { AppRouteHandler } from "../../openapi.js";
import { type CommandScope, runContractCommand } from "../../services/contracts/command.js";
import { findContract } from "../../services/contracts/store.js";
import { creditNoteJson, paymentJson, paymentResultJson, refundResultJson } from "./payments.presenters.js";
import type * as routes from "./payments.routes.js";
import {
  creditNoteById,
  creditNotesWhere,
  findCreditNote,
  findInvoice,
  outstandingOf,
  type PaymentRow,
  type RefundRow,
} from "./payments.store.js";

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

async function paymentResult(tx: Tx, payment: PaymentRow) {
  const [invoice] = await tx.select().from(invoices).where(eq(invoices.id, payment.invoiceId));
  if (!invoice) throw new Error("payment without its invoice");
  const [note] = await tx
    .select({ id: creditNotes.id })
    .from(creditNotes)
    .where(eq(creditNotes.paymentId, payment.id));
  return paymentResultJson(payment, invoice, note ? creditNoteJson(await creditNoteById(tx, note.id)) : null);
}

interface NewPaymentBody {
  amount: string;
  method: PaymentRow["method"];
  externalRef: string;
  receivedOn: string;
}

/** A repeat of a recorded payment answers it; the same reference for something else is a 409. */
function checkRepeat(existing: PaymentRow, invoiceId: string, body: NewPaymentBody) {
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

export const recordPayment: AppRouteHandler<typeof routes.recordPayment> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const today = shanghaiDate(c.var.deps.clock());
  notInFuture("body.receivedOn", body.receivedOn, today);
  const seen = await findInvoice(c.var.db, c.var.principal, id);

  const result = await runContractCommand(
    serviceContext(c),
    seen.contractId,
    { type: "record_payment" },
    async (s) => {
      const repeat = await paymentByRef(s.tx, s.contract.enterpriseOrgId, body.externalRef);
      if (repeat) {
        checkRepeat(repeat, id, body);
        return { created: false, body: await paymentResult(s.tx, repeat) };
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
        return { created: false, body: await paymentResult(s.tx, existing) };
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
      return { created: true, body: await paymentResult(s.tx, payment) };
    },
  );
  return result.created ? c.json(result.body, 201) : c.json(result.body, 200);
};

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

export const listPayments: AppRouteHandler<typeof routes.listPayments> = async (c) => {
  const { db } = c.var;
  const invoice = await findInvoice(db, c.var.principal, c.req.valid("param").id);
  const rows = await db
    .select({ payment: payments, creditNoteId: creditNotes.id })
    .from(payments)
    .leftJoin(creditNotes, eq(creditNotes.paymentId, payments.id))
    .where(eq(payments.invoiceId, invoice.id))
    .orderBy(asc(payments.receivedOn), asc(payments.createdAt), asc(payments.id));
  return c.json({ items: rows.map((r) => paymentJson(r.payment, r.creditNoteId)) }, 200);
};

// ---- credit notes ------------------------------------------------------------------------------

export const listCreditNotes: AppRouteHandler<typeof routes.listCreditNotes> = async (c) => {
  const { db } = c.var;
  const q = c.req.valid("query");
  const contract = await findContract(db, c.var.principal, c.req.valid("param").id);
  const items = await creditNotesWhere(
    db,
    and(
      eq(creditNotes.contractId, contract.id),
      q.subscriberKey ? eq(creditNotes.subscriberKey, q.subscriberKey) : undefined,
    ),
    { limit: q.limit, offset: q.offset },
  );
  return c.json({ items: items.map(creditNoteJson) }, 200);
};

export const createCreditNote: AppRouteHandler<typeof routes.createCreditNote> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const today = shanghaiDate(c.var.deps.clock());
  const note = await runContractCommand(serviceContext(c), id, { type: "issue_credit_note" }, async (s) => {
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
        sql`${subscriptions.state} in ('active', 'suspended') desc`,
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
    return creditNoteJson(await creditNoteById(s.tx, row.id));
  });
  return c.json(note, 201);
};

// ---- refunds -----------------------------------------------------------------------------------

function checkRefundRepeat(
  existing: RefundRow,
  body: { amount: string; method: string; paidOn: string; externalRef: string },
) {
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

export const createRefund: AppRouteHandler<typeof routes.createRefund> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const today = shanghaiDate(c.var.deps.clock());
  notInFuture("body.paidOn", body.paidOn, today);
  const seen = await findCreditNote(c.var.db, c.var.principal, id);

  const result = await runContractCommand(
    serviceContext(c),
    seen.contractId,
    { type: "refund_credit_note" },
    async (s) => {
      const byRef = and(eq(refunds.creditNoteId, id), eq(refunds.externalRef, body.externalRef));
      const [repeat] = await s.tx.select().from(refunds).where(byRef);
      if (repeat) {
        checkRefundRepeat(repeat, body);
        return {
          created: false,
          body: refundResultJson(repeat, creditNoteJson(await creditNoteById(s.tx, id))),
        };
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
      return {
        created: true,
        body: refundResultJson(refund, creditNoteJson(await creditNoteById(s.tx, id))),
      };
    },
  );
  return result.created ? c.json(result.body, 201) : c.json(result.body, 200);
};
