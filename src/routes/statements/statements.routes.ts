import { z } from "@hono/zod-openapi";
import { csvFormat, notAcceptableResponse, withCsv } from "../../csv.js";
import {
  CalendarDate,
  createRoute,
  errorResponses,
  IdParams,
  jsonResponse,
  security,
  Uuid,
} from "../../openapi.js";
import { SubscriberKey } from "../fees.schemas.js";
import { ReceivableInvoice, Receivables, Statement } from "./statements.schemas.js";

/** The CSV of the receivables: one row per invoice behind the totals. */
export const receivablesCsv = csvFormat(ReceivableInvoice);

const tags = ["statements"];
const visibility =
  "Visible to whoever sees the contract: its enterprise, the owners committee and property company of the community, the street office.";

export const householdStatement = createRoute({
  operationId: "getHouseholdStatement",
  method: "get",
  path: "/statements/households/{householdId}",
  tags,
  security,
  summary: "A household's statement on a contract: invoices, payments, credit notes, refunds, balance",
  description: visibility,
  request: {
    params: z.object({ householdId: Uuid.openapi({ param: { name: "householdId", in: "path" } }) }),
    query: z.object({ contractId: Uuid }),
  },
  responses: { 200: jsonResponse(Statement, "The statement"), ...errorResponses },
});

export const subscriberStatement = createRoute({
  operationId: "getSubscriberStatement",
  method: "get",
  path: "/statements/subscribers",
  tags,
  security,
  summary: "A subscriber's statement (garage slots: slot:<ref>; households: household:<uuid>)",
  description: visibility,
  request: { query: z.object({ contractId: Uuid, subscriberKey: SubscriberKey }) },
  responses: { 200: jsonResponse(Statement, "The statement"), ...errorResponses },
});

export const receivables = createRoute({
  operationId: "getReceivablesAging",
  method: "get",
  path: "/contracts/{id}/receivables",
  tags,
  security,
  summary: "A contract's receivables and arrears aging",
  description: `Totals invoiced, collected and outstanding, and the outstanding by days past due, as of a date (default: today in Asia/Shanghai). ${visibility}`,
  request: { params: IdParams, query: z.object({ asOf: CalendarDate.optional() }) },
  responses: {
    200: withCsv(
      jsonResponse(Receivables, "Receivables"),
      receivablesCsv,
      "the invoices behind the totals, by number: every invoice issued by asOf, what was collected on it by then and what it still owed (outstanding, in the aging bucket its days past due put it in; empty when nothing was owed); the columns sum to the JSON's totals and aging",
    ),
    ...errorResponses,
    ...notAcceptableResponse,
  },
});
