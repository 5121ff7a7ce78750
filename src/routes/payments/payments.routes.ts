import { csvFormat, notAcceptableResponse, withCsv } from "../../csv.js";
import {
  createRoute,
  errorResponses,
  IdParams,
  jsonBody,
  jsonResponse,
  Page,
  Pagination,
  security,
  withConflicts,
} from "../../openapi.js";
import { CreditNote, Payment, Refund, SubscriberKey } from "../fees.schemas.js";
import { NewCreditNote, NewPayment, NewRefund, PaymentResult, RefundResult } from "./payments.schemas.js";

const tags = ["payments"];

/** The CSV of the payments: a column per field of Payment. */
export const paymentCsv = csvFormat(Payment);

export const recordPayment = createRoute({
  operationId: "recordPayment",
  method: "post",
  path: "/invoices/{id}/payments",
  tags,
  security,
  summary: "Record a payment against an invoice (the contract's enterprise)",
  description:
    "Idempotent by the enterprise's external reference: a repeat with the same reference and the same details answers the payment already recorded (200), with other details 409. Up to what is still due pays the invoice; the excess becomes an overpayment credit note for the subscriber, applied to the next invoice by the billing run. A payment that clears the arrears reinstates a suspended subscription.",
  request: { params: IdParams, body: jsonBody(NewPayment) },
  responses: {
    201: jsonResponse(PaymentResult, "Recorded"),
    200: jsonResponse(PaymentResult, "Already recorded with this reference"),
    ...withConflicts,
  },
});

export const listPayments = createRoute({
  operationId: "listPayments",
  method: "get",
  path: "/invoices/{id}/payments",
  tags,
  security,
  summary: "Payments against an invoice, oldest first",
  description: "Payments recorded against an invoice, oldest first, with the credit note of any overpayment.",
  request: { params: IdParams, query: Pagination },
  responses: {
    200: withCsv(
      jsonResponse(Page(Payment, "PaymentPage"), "Payments by the day received, then as recorded"),
      paymentCsv,
      "every payment against the invoice, oldest first",
    ),
    ...errorResponses,
    ...notAcceptableResponse,
  },
});

export const getPayment = createRoute({
  operationId: "getPayment",
  method: "get",
  path: "/payments/{id}",
  tags,
  security,
  summary: "One payment, with the credit note of any overpayment",
  description: "Readable by everyone who may read its invoice's contract (as the invoice's payments).",
  request: { params: IdParams },
  responses: { 200: jsonResponse(Payment, "The payment"), ...errorResponses },
});

export const listCreditNotes = createRoute({
  operationId: "listCreditNotes",
  method: "get",
  path: "/contracts/{id}/credit-notes",
  tags,
  security,
  summary: "A contract's credit notes, oldest first",
  description: "The contract's credit notes, oldest first; filter by subscriber.",
  request: { params: IdParams, query: Pagination.extend({ subscriberKey: SubscriberKey.optional() }) },
  responses: {
    200: jsonResponse(Page(CreditNote, "CreditNotePage"), "Credit notes, oldest first (number breaks ties)"),
    ...errorResponses,
  },
});

export const getCreditNote = createRoute({
  operationId: "getCreditNote",
  method: "get",
  path: "/credit-notes/{id}",
  tags,
  security,
  summary: "One credit note, with what was applied and refunded from it",
  description: "Readable by everyone who may read its contract (as the contract's list).",
  request: { params: IdParams },
  responses: { 200: jsonResponse(CreditNote, "The credit note"), ...errorResponses },
});

export const createCreditNote = createRoute({
  operationId: "createCreditNote",
  method: "post",
  path: "/contracts/{id}/credit-notes",
  tags,
  security,
  summary: "Issue a manual credit note (adjustment) to a subscriber (the contract's enterprise)",
  description:
    "An explicit document, never an edit of an invoice; the subscriber must have a subscription or an invoice on the contract.",
  request: { params: IdParams, body: jsonBody(NewCreditNote) },
  responses: { 201: jsonResponse(CreditNote, "Issued"), ...withConflicts },
});

export const createRefund = createRoute({
  operationId: "createRefund",
  method: "post",
  path: "/credit-notes/{id}/refunds",
  tags,
  security,
  summary: "Pay a credit back to the subscriber (the contract's enterprise)",
  description:
    "Lowers the credit note's remaining amount; never more than it (409 `refund_exceeds_remaining`). Idempotent by (credit note, external reference).",
  request: { params: IdParams, body: jsonBody(NewRefund) },
  responses: {
    201: jsonResponse(RefundResult, "Refunded"),
    200: jsonResponse(RefundResult, "Already refunded with this reference"),
    ...withConflicts,
  },
});

export const getRefund = createRoute({
  operationId: "getRefund",
  method: "get",
  path: "/refunds/{id}",
  tags,
  security,
  summary: "One refund of a credit note",
  description: "Readable by everyone who may read its credit note's contract (as the credit note).",
  request: { params: IdParams },
  responses: { 200: jsonResponse(Refund, "The refund"), ...errorResponses },
});
