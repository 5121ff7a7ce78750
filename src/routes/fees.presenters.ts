/**
 * Presenters of the fees documents several resources show (src/routes/fees.schemas.ts): a
 * payment, a credit note, a refund. Allow-lists, as every presenter.
 */
import type { z } from "@hono/zod-openapi";
import { formatMoney, money } from "../../contracts/index.js";
import type { CreditNoteWithTotals, PaymentRow, RefundRow } from "../services/fees/store.js";
import type { CreditNote, Payment, Refund } from "./fees.schemas.js";

/** A payment, with the overpayment credit note that holds its excess (if any). */
export function paymentJson(p: PaymentRow, creditNoteId: string | null): z.input<typeof Payment> {
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

export function refundJson(r: RefundRow): z.input<typeof Refund> {
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

/** A credit note with what was applied to invoices and refunded from it so far. */
export function creditNoteJson({
  note: n,
  applied,
  refunded,
}: CreditNoteWithTotals): z.input<typeof CreditNote> {
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
