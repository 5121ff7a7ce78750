import type { z } from "@hono/zod-openapi";
import { formatMoney } from "../../../contracts/index.js";
import type { PaymentOutcome, RefundOutcome } from "../../services/fees/payments.js";
import { type InvoiceRow, outstandingOf } from "../../services/fees/store.js";
import { creditNoteJson, paymentJson, refundJson } from "../fees.presenters.js";
import type { InvoiceSummary, PaymentResult, RefundResult } from "./payments.schemas.js";

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

/** A payment with the invoice it paid and the credit note that holds its excess. */
export function paymentResultJson(r: PaymentOutcome): z.input<typeof PaymentResult> {
  const creditNote = r.creditNote ? creditNoteJson(r.creditNote) : null;
  return {
    ...paymentJson(r.payment, creditNote?.id ?? null),
    invoice: invoiceSummaryJson(r.invoice),
    creditNote,
  };
}

export function refundResultJson(r: RefundOutcome): z.input<typeof RefundResult> {
  return { ...refundJson(r.refund), creditNote: creditNoteJson(r.creditNote) };
}
