/**
 * The notification endpoints routes: each parses, calls one function of the notifications
 * service (src/services/notifications/endpoints.ts), and presents what it returns.
 */
import { serviceContext } from "../../context.js";
import { type AppRouteHandler, pageJson } from "../../openapi.js";
import * as endpoints from "../../services/notifications/endpoints.js";
import { deliveryJson, endpointJson } from "./notifications.presenters.js";
import type * as routes from "./notifications.routes.js";

export const createEndpoint: AppRouteHandler<typeof routes.createEndpoint> = async (c) => {
  const { endpoint, secret } = await endpoints.createEndpoint(serviceContext(c), c.req.valid("json"));
  return c.json({ endpoint: endpointJson(endpoint), secret }, 201);
};

export const listEndpoints: AppRouteHandler<typeof routes.listEndpoints> = async (c) => {
  const query = c.req.valid("query");
  const { items, total } = await endpoints.listEndpoints(serviceContext(c), query);
  return c.json(pageJson(c.req.url, items.map(endpointJson), total, query), 200);
};

export const getEndpoint: AppRouteHandler<typeof routes.getEndpoint> = async (c) => {
  return c.json(endpointJson(await endpoints.getEndpoint(serviceContext(c), c.req.valid("param").id)), 200);
};

export const updateEndpoint: AppRouteHandler<typeof routes.updateEndpoint> = async (c) => {
  const row = await endpoints.updateEndpoint(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
  return c.json(endpointJson(row), 200);
};

export const deleteEndpoint: AppRouteHandler<typeof routes.deleteEndpoint> = async (c) => {
  return c.json(
    endpointJson(await endpoints.deleteEndpoint(serviceContext(c), c.req.valid("param").id)),
    200,
  );
};

export const rotateSecret: AppRouteHandler<typeof routes.rotateSecret> = async (c) => {
  const { endpoint, secret } = await endpoints.rotateSecret(serviceContext(c), c.req.valid("param").id);
  return c.json({ endpoint: endpointJson(endpoint), secret }, 200);
};

export const testEndpoint: AppRouteHandler<typeof routes.testEndpoint> = async (c) => {
  const row = await endpoints.testEndpoint(serviceContext(c), c.req.valid("param").id);
  return c.json({ deliveryId: row.id }, 202);
};

export const listDeliveries: AppRouteHandler<typeof routes.listDeliveries> = async (c) => {
  const query = c.req.valid("query");
  const { items, total } = await endpoints.listDeliveries(serviceContext(c), c.req.valid("param").id, query);
  return c.json(pageJson(c.req.url, items.map(deliveryJson), total, query), 200);
};

export const replayDelivery: AppRouteHandler<typeof routes.replayDelivery> = async (c) => {
  const { id, deliveryId } = c.req.valid("param");
  return c.json(deliveryJson(await endpoints.replayDelivery(serviceContext(c), id, deliveryId)), 202);
};
