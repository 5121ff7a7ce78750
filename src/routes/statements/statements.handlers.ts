/**
 * Statements and receivables: each route parses, calls one function of the fees service
 * (src/services/fees/statements.ts), and presents what it returns.
 */
import { serviceContext } from "../../context.js";
import { csvResponse, wantsCsv } from "../../csv.js";
import type { AppRouteHandler } from "../../openapi.js";
import * as fees from "../../services/fees/statements.js";
import { receivableInvoiceJson, receivablesJson, statementJson } from "./statements.presenters.js";
import type * as routes from "./statements.routes.js";
import { receivablesCsv } from "./statements.routes.js";

export const householdStatement: AppRouteHandler<typeof routes.householdStatement> = async (c) => {
  const { householdId } = c.req.valid("param");
  const { contractId } = c.req.valid("query");
  return c.json(
    statementJson(await fees.householdStatement(serviceContext(c), householdId, contractId)),
    200,
  );
};

export const subscriberStatement: AppRouteHandler<typeof routes.subscriberStatement> = async (c) => {
  const { contractId, subscriberKey } = c.req.valid("query");
  return c.json(
    statementJson(await fees.subscriberStatement(serviceContext(c), contractId, subscriberKey)),
    200,
  );
};

export const receivables: AppRouteHandler<typeof routes.receivables> = async (c) => {
  const { asOf } = c.req.valid("query");
  if (wantsCsv(c)) {
    const out = await fees.exportReceivables(serviceContext(c), c.req.valid("param").id, asOf);
    return csvResponse(c, {
      filename: `receivables-${out.asOf}.csv`,
      format: receivablesCsv,
      rows: out.rows,
      present: (r) => receivableInvoiceJson(r, out.asOf),
    });
  }
  return c.json(
    receivablesJson(await fees.receivables(serviceContext(c), c.req.valid("param").id, asOf)),
    200,
  );
};
