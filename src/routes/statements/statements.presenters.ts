import type { z } from "@hono/zod-openapi";
import { formatMoney } from "../../../contracts/index.js";
import type { invoices, payments, refunds, subscriptions } from "../../../db/schema.js";
import { creditNoteJson, paymentJson, refundJson } from "../payments/payments.presenters.js";
import { type CreditNoteWithTotals, outstandingOf } from "../payments/payments.store.js";
import type { Statement, StatementInvoice, StatementSubscription } from "./statements.schemas.js";

type SubscriptionRow = typeof subscriptions.$inferSelect;
type InvoiceRow = typeof invoices.$inferSelect;
type PaymentRow = typeof payments.$inferSelect;
type RefundRow = typeof refunds.$inferSelect;

/** One subscriber's ledger on one contract, as statementOf reads it, with its totals. */
export interface StatementParts {
  contractId: string;
  subscriberKey: string;
  subscriptions: SubscriptionRow[];
  invoices: InvoiceRow[];
  payments: { payment: PaymentRow; creditNoteId: string | null }[];
  creditNotes: CreditNoteWithTotals[];
  refunds: RefundRow[];
  totals: z.input<typeof Statement>["totals"];
}

function statementSubscriptionJson(s: SubscriptionRow): z.input<typeof StatementSubscription> {
  return {
    id: s.id,
    feeCode: s.feeCode,
    kind: s.kind,
    state: s.state,
    unitPrice: s.unitPrice,
    startDate: s.startDate,
    endDate: s.endDate,
  };
}

function statementInvoiceJson(i: InvoiceRow): z.input<typeof StatementInvoice> {
  return {
    id: i.id,
    number: i.number,
    kind: i.kind,
    period: i.period,
    issueDate: i.issueDate,
    dueDate: i.dueDate,
    total: i.total,
    creditApplied: i.creditApplied,
    paidAmount: i.paidAmount,
    outstanding: formatMoney(outstandingOf(i)),
  };
}

export function statementJson(s: StatementParts): z.input<typeof Statement> {
  return {
    contractId: s.contractId,
    subscriberKey: s.subscriberKey,
    subscriptions: s.subscriptions.map(statementSubscriptionJson),
    invoices: s.invoices.map(statementInvoiceJson),
    payments: s.payments.map((p) => paymentJson(p.payment, p.creditNoteId)),
    creditNotes: s.creditNotes.map(creditNoteJson),
    refunds: s.refunds.map(refundJson),
    totals: {
      invoiced: s.totals.invoiced,
      paid: s.totals.paid,
      credited: s.totals.credited,
      refunded: s.totals.refunded,
      balance: s.totals.balance,
      outstanding: s.totals.outstanding,
      creditAvailable: s.totals.creditAvailable,
    },
  };
}
