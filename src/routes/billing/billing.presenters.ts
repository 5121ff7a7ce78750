import type { z } from "@hono/zod-openapi";
import { compareDates, formatMoney, money } from "../../../contracts/index.js";
import type { BillingRunRow, InvoiceLineRow, InvoiceRow } from "../../services/fees/store.js";
import type { BillingRun, Invoice, InvoiceDetail, InvoiceLine, RunAnswer } from "./billing.routes.js";

export function runJson(r: BillingRunRow): z.input<typeof BillingRun> {
  return {
    id: r.id,
    contractId: r.contractId,
    period: r.period,
    idempotencyKey: r.idempotencyKey,
    requestedByOrgId: r.requestedByOrgId,
    invoicesCreated: r.invoicesCreated,
    totalAmount: r.totalAmount,
    createdAt: r.createdAt.toISOString(),
  };
}

/** The run and what THIS request created with it (nothing when the run existed). */
export function runAnswerJson(run: BillingRunRow, created: number, total: string): z.input<typeof RunAnswer> {
  return { run: runJson(run), invoicesCreated: created, totalAmount: total };
}

/** An invoice with what is still unpaid on it and its state on `today` (Asia/Shanghai). */
export function invoiceJson(i: InvoiceRow, today: string): z.input<typeof Invoice> {
  const rest = money(i.total).minus(money(i.creditApplied)).minus(money(i.paidAmount));
  return {
    id: i.id,
    number: i.number,
    contractId: i.contractId,
    subscriberKey: i.subscriberKey,
    householdId: i.householdId,
    subscriptionId: i.subscriptionId,
    billingRunId: i.billingRunId,
    kind: i.kind,
    period: i.period,
    issueDate: i.issueDate,
    dueDate: i.dueDate,
    total: i.total,
    creditApplied: i.creditApplied,
    paidAmount: i.paidAmount,
    outstanding: formatMoney(rest),
    state: !rest.gt(0) ? "paid" : compareDates(i.dueDate, today) < 0 ? "overdue" : "open",
  };
}

function invoiceLineJson(l: InvoiceLineRow): z.input<typeof InvoiceLine> {
  return {
    lineNo: l.lineNo,
    code: l.code,
    description: l.description,
    quantity: l.quantity,
    unitPrice: l.unitPrice,
    amount: l.amount,
  };
}

export function invoiceDetailJson(
  i: InvoiceRow,
  lines: InvoiceLineRow[],
  today: string,
): z.input<typeof InvoiceDetail> {
  return { ...invoiceJson(i, today), lines: lines.map(invoiceLineJson) };
}
