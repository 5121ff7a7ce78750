/**
 * Payments, credit notes and refunds: each route parses, calls one function of the fees service
 * (src/services/fees/payments.ts), and presents what it returns.
 */
import type { Context } from "hono";
import { type AppEnv, serviceContext } from "../../context.js";
import { csvResponse, wantsCsv } from "../../csv.js";
import { type AppRouteHandler, pageJson } from "../../openapi.js";
import * as fees from "../../services/fees/payments.js";
import { creditNoteJson, paymentJson, refundJson } from "../fees.presenters.js";
import { paymentResultJson, refundResultJson } from "./payments.presenters.js";
import type * as routes from "./payments.routes.js";
import { paymentCsv } from "./payments.routes.js";

export const recordPayment: AppRouteHandler<typeof routes.recordPayment> = async (c) => {
  const result = await fees.recordPayment(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
  return result.created ? c.json(paymentResultJson(result), 201) : c.json(paymentResultJson(result), 200);
};

export const listPayments: AppRouteHandler<typeof routes.listPayments> = async (c) => {
  if (wantsCsv(c)) return paymentsCsv(c, c.req.valid("param").id);
  const page = c.req.valid("query");
  const { items, total } = await fees.listPayments(serviceContext(c), c.req.valid("param").id, page);
  const payments = items.map((r) => paymentJson(r.payment, r.creditNoteId));
  return c.json(pageJson(c.req.url, payments, total, page), 200);
};

export const getPayment: AppRouteHandler<typeof routes.getPayment> = async (c) => {
  const { payment, creditNoteId } = await fees.getPayment(serviceContext(c), c.req.valid("param").id);
  return c.json(paymentJson(payment, creditNoteId), 200);
};

export const listCreditNotes: AppRouteHandler<typeof routes.listCreditNotes> = async (c) => {
  const query = c.req.valid("query");
  const { items, total } = await fees.listCreditNotes(serviceContext(c), c.req.valid("param").id, query);
  return c.json(pageJson(c.req.url, items.map(creditNoteJson), total, query), 200);
};

export const getCreditNote: AppRouteHandler<typeof routes.getCreditNote> = async (c) => {
  return c.json(creditNoteJson(await fees.getCreditNote(serviceContext(c), c.req.valid("param").id)), 200);
};

export const createCreditNote: AppRouteHandler<typeof routes.createCreditNote> = async (c) => {
  const note = await fees.issueCreditNote(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
  return c.json(creditNoteJson(note), 201);
};

export const createRefund: AppRouteHandler<typeof routes.createRefund> = async (c) => {
  const result = await fees.refundCreditNote(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
  return result.created ? c.json(refundResultJson(result), 201) : c.json(refundResultJson(result), 200);
};

export const getRefund: AppRouteHandler<typeof routes.getRefund> = async (c) => {
  return c.json(refundJson(await fees.getRefund(serviceContext(c), c.req.valid("param").id)), 200);
};

/** An invoice's payments as CSV, streamed; the file is named by the invoice's number. */
async function paymentsCsv(c: Context<AppEnv>, invoiceId: string) {
  const out = await fees.exportPayments(serviceContext(c), invoiceId);
  return csvResponse(c, {
    filename: `payments-${out.invoice.number}.csv`,
    format: paymentCsv,
    rows: out.rows,
    present: (r) => paymentJson(r.payment, r.creditNoteId),
  });
}
