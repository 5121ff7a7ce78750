/**
 * Payments, credit notes and refunds: each route parses, calls one function of the fees service
 * (src/services/fees/payments.ts), and presents what it returns.
 */
import { serviceContext } from "../../context.js";
import type { AppRouteHandler } from "../../openapi.js";
import * as fees from "../../services/fees/payments.js";
import { creditNoteJson, paymentJson } from "../fees.presenters.js";
import { paymentResultJson, refundResultJson } from "./payments.presenters.js";
import type * as routes from "./payments.routes.js";

export const recordPayment: AppRouteHandler<typeof routes.recordPayment> = async (c) => {
  const result = await fees.recordPayment(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
  return result.created ? c.json(paymentResultJson(result), 201) : c.json(paymentResultJson(result), 200);
};

export const listPayments: AppRouteHandler<typeof routes.listPayments> = async (c) => {
  const rows = await fees.listPayments(serviceContext(c), c.req.valid("param").id);
  return c.json({ items: rows.map((r) => paymentJson(r.payment, r.creditNoteId)) }, 200);
};

export const listCreditNotes: AppRouteHandler<typeof routes.listCreditNotes> = async (c) => {
  const notes = await fees.listCreditNotes(serviceContext(c), c.req.valid("param").id, c.req.valid("query"));
  return c.json({ items: notes.map(creditNoteJson) }, 200);
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
