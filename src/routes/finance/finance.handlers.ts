/**
 * Financial model and guidance fund routes: each parses, calls one function of the finance service
 * (src/services/finance), and presents what it returns.
 */
import { serviceContext } from "../../context.js";
import { type AppRouteHandler, pageJson } from "../../openapi.js";
import * as finance from "../../services/finance/finance.js";
import {
  assumptionsJson,
  assumptionsRecordJson,
  disbursementJson,
  financialModelJson,
  guidanceTotalsJson,
} from "./finance.presenters.js";
import type * as routes from "./finance.routes.js";

export const putAssumptions: AppRouteHandler<typeof routes.putAssumptions> = async (c) => {
  const row = await finance.setAssumptions(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
  return c.json(assumptionsRecordJson(row), 200);
};

export const getAssumptions: AppRouteHandler<typeof routes.getAssumptions> = async (c) => {
  const row = await finance.getAssumptions(serviceContext(c), c.req.valid("param").id);
  return c.json(assumptionsJson(row), 200);
};

export const getModel: AppRouteHandler<typeof routes.getModel> = async (c) => {
  const model = await finance.financialModel(
    serviceContext(c),
    c.req.valid("param").id,
    c.req.valid("query"),
  );
  return c.json(financialModelJson(model), 200);
};

export const createDisbursement: AppRouteHandler<typeof routes.createDisbursement> = async (c) => {
  const { row, totals } = await finance.recordDisbursement(
    serviceContext(c),
    c.req.valid("param").id,
    c.req.valid("json"),
  );
  return c.json({ disbursement: disbursementJson(row), totals: guidanceTotalsJson(totals) }, 201);
};

export const listDisbursements: AppRouteHandler<typeof routes.listDisbursements> = async (c) => {
  const page = c.req.valid("query");
  const { items, total, totals } = await finance.listDisbursements(
    serviceContext(c),
    c.req.valid("param").id,
    page,
  );
  const disbursements = items.map(disbursementJson);
  return c.json(
    { ...pageJson(c.req.url, disbursements, total, page), totals: guidanceTotalsJson(totals) },
    200,
  );
};

export const getDisbursement: AppRouteHandler<typeof routes.getDisbursement> = async (c) => {
  return c.json(
    disbursementJson(await finance.getDisbursement(serviceContext(c), c.req.valid("param").id)),
    200,
  );
};
