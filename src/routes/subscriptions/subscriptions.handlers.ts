/**
 * Subscriptions (包月/包年): each route parses, calls one function of the fees service
 * (src/services/fees/subscriptions.ts), and presents what it returns.
 */
import { serviceContext } from "../../context.js";
import { type AppRouteHandler, pageJson } from "../../openapi.js";
import * as fees from "../../services/fees/subscriptions.js";
import { cancellationJson, subscriptionJson, switchJson } from "./subscriptions.presenters.js";
import type * as routes from "./subscriptions.routes.js";

export const createSubscription: AppRouteHandler<typeof routes.createSubscription> = async (c) => {
  const row = await fees.subscribe(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
  return c.json(subscriptionJson(row), 201);
};

export const listSubscriptions: AppRouteHandler<typeof routes.listSubscriptions> = async (c) => {
  const q = c.req.valid("query");
  const page = await fees.listSubscriptions(serviceContext(c), c.req.valid("param").id, q);
  return c.json(pageJson(c.req.url, page.items.map(subscriptionJson), page.total, q), 200);
};

export const getSubscription: AppRouteHandler<typeof routes.getSubscription> = async (c) => {
  return c.json(
    subscriptionJson(await fees.getSubscription(serviceContext(c), c.req.valid("param").id)),
    200,
  );
};

export const cancelSubscription: AppRouteHandler<typeof routes.cancelSubscription> = async (c) => {
  const { cancelDate } = c.req.valid("json");
  const out = await fees.cancelSubscription(serviceContext(c), c.req.valid("param").id, cancelDate);
  return c.json(cancellationJson(out), 200);
};

export const switchToYearly: AppRouteHandler<typeof routes.switchToYearly> = async (c) => {
  const out = await fees.switchToYearly(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
  return c.json(switchJson(out), 200);
};
