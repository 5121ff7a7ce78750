import type { z } from "@hono/zod-openapi";
import { formatMoney, money } from "../../../contracts/index.js";
import type { invoices, payments, refunds } from "../../../db/schema.js";
import type {
  CreditNote,
  InvoiceSummary,
  Payment,
  PaymentResult,
  Refund,
  RefundResult,
} from "./payments.schemas.js";
import { type CreditNoteWithTotals, outstandingOf } from "./payments.store.js";

type InvoiceRow = typeof invoices.$inferSelect;
type PaymentRow = typeof payments.$inferSelect;
type RefundRow = typeof refunds.$inferSelect;

export function invoiceSummaryJson(i: InvoiceRow): z.input<typeof InvoiceSummary> {
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

export function paymentResultJson(
  p: PaymentRow,
  invoice: InvoiceRow,
  creditNote: z.input<typeof CreditNote> | null,
): z.input<typeof PaymentResult> {
  return { ...paymentJson(p, creditNote?.id ?? null), invoice: invoiceSummaryJson(invoice), creditNote };
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

export function refundResultJson(
  r: RefundRow,
  creditNote: z.input<typeof CreditNote>,
): z.input<typeof RefundResult> {
  return { ...refundJson(r), creditNote };
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
