/**
 * Billing runs, invoices and metered usage: each route parses, calls one function of the fees
 * service (src/services/fees/billing.ts), and presents what it returns.
 */
import type { Context } from "hono";
import { type AppEnv, serviceContext } from "../../context.js";
import { csvResponse, csvWindow, wantsCsv } from "../../csv.js";
import { type AppRouteHandler, pageJson } from "../../openapi.js";
import * as fees from "../../services/fees/billing.js";
import { invoiceDetailJson, invoiceJson, runAnswerJson, runJson } from "./billing.presenters.js";
import type * as routes from "./billing.routes.js";
import { invoiceCsv } from "./billing.routes.js";

export const createRun: AppRouteHandler<typeof routes.createRun> = async (c) => {
  const key = c.req.valid("header")["idempotency-key"];
  const out = await fees.runBillingPeriod(
    serviceContext(c),
    c.req.valid("param").id,
    c.req.valid("json"),
    key,
  );
  const answer = runAnswerJson(out.run, out.invoicesCreated, out.total);
  return out.outcome === "created" ? c.json(answer, 201) : c.json(answer, 200);
};

export const listRuns: AppRouteHandler<typeof routes.listRuns> = async (c) => {
  const page = c.req.valid("query");
  const { items, total } = await fees.listRuns(serviceContext(c), c.req.valid("param").id, page);
  return c.json(pageJson(c.req.url, items.map(runJson), total, page), 200);
};

export const getRun: AppRouteHandler<typeof routes.getRun> = async (c) => {
  return c.json(runJson(await fees.getRun(serviceContext(c), c.req.valid("param").id)), 200);
};

export const listInvoices: AppRouteHandler<typeof routes.listInvoices> = async (c) => {
  const q = c.req.valid("query");
  if (wantsCsv(c)) return invoicesCsv(c, c.req.valid("param").id, q);
  const page = await fees.listInvoices(serviceContext(c), c.req.valid("param").id, q);
  const items = page.items.map((i) => invoiceJson(i, page.today));
  return c.json(pageJson(c.req.url, items, page.total, q), 200);
};

export const getInvoice: AppRouteHandler<typeof routes.getInvoice> = async (c) => {
  const { invoice, lines, today } = await fees.getInvoice(serviceContext(c), c.req.valid("param").id);
  return c.json(invoiceDetailJson(invoice, lines, today), 200);
};

export const postUsage: AppRouteHandler<typeof routes.postUsage> = async (c) => {
  const answer = await fees.recordUsage(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
  return c.json(answer, 200);
};

/** The invoices as CSV: every page's (or the one page limit/offset name), streamed. */
async function invoicesCsv(c: Context<AppEnv>, contractId: string, q: fees.InvoiceFilter) {
  const out = await fees.exportInvoices(serviceContext(c), contractId, q, csvWindow(c, q));
  return csvResponse(c, {
    filename: `invoices-${q.period ?? out.today}.csv`,
    format: invoiceCsv,
    rows: out.rows,
    present: (i) => invoiceJson(i, out.today),
  });
}
