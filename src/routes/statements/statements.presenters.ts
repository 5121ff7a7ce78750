import type { z } from "@hono/zod-openapi";
import { agingBucket, daysBetween, formatMoney, money } from "../../../contracts/index.js";
import type {
  ReceivableInvoice as ReceivableInvoiceRow,
  Receivables as ReceivablesParts,
  Statement as StatementParts,
} from "../../services/fees/statements.js";
import { type InvoiceRow, outstandingOf, type SubscriptionRow } from "../../services/fees/store.js";
import { creditNoteJson, paymentJson, refundJson } from "../fees.presenters.js";
import type {
  ReceivableInvoice,
  Receivables,
  Statement,
  StatementInvoice,
  StatementSubscription,
} from "./statements.schemas.js";

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
      invoiced: formatMoney(s.totals.invoiced),
      paid: formatMoney(s.totals.paid),
      credited: formatMoney(s.totals.credited),
      refunded: formatMoney(s.totals.refunded),
      balance: formatMoney(s.totals.balance),
      outstanding: formatMoney(s.totals.outstanding),
      creditAvailable: formatMoney(s.totals.creditAvailable),
    },
  };
}

export function receivablesJson(r: ReceivablesParts): z.input<typeof Receivables> {
  return {
    contractId: r.contractId,
    asOf: r.asOf,
    invoiceCount: r.invoiceCount,
    openInvoiceCount: r.openInvoiceCount,
    totals: {
      invoiced: formatMoney(r.totals.invoiced),
      creditApplied: formatMoney(r.totals.creditApplied),
      collected: formatMoney(r.totals.collected),
      received: formatMoney(r.totals.received),
      outstanding: formatMoney(r.totals.outstanding),
    },
    aging: {
      current: formatMoney(r.aging.current),
      days1To30: formatMoney(r.aging.days1To30),
      days31To60: formatMoney(r.aging.days31To60),
      days61To90: formatMoney(r.aging.days61To90),
      over90Days: formatMoney(r.aging.over90Days),
    },
  };
}

/** An invoice of the receivables as of `asOf`: what it owed then, and its aging bucket if it owed. */
export function receivableInvoiceJson(
  r: ReceivableInvoiceRow,
  asOf: string,
): z.input<typeof ReceivableInvoice> {
  const owed = money(r.outstanding);
  return {
    invoiceId: r.id,
    number: r.number,
    subscriberKey: r.subscriberKey,
    householdId: r.householdId,
    issueDate: r.issueDate,
    dueDate: r.dueDate,
    total: formatMoney(money(r.total)),
    creditApplied: formatMoney(money(r.creditApplied)),
    collected: formatMoney(money(r.collected)),
    outstanding: formatMoney(owed),
    daysPastDue: Math.max(0, daysBetween(r.dueDate, asOf)),
    agingBucket: owed.gt(0) ? agingBucket(r.dueDate, asOf) : null,
  };
}
