/**
 * The routes of commands to sensors: each parses, calls one function of the commands service
 * (src/services/sensors/commands.ts), and presents what it returns.
 */
import { serviceContext } from "../../context.js";
import { type AppRouteHandler, pageJson } from "../../openapi.js";
import * as commands from "../../services/sensors/commands.js";
import { deviceCommandJson } from "./commands.presenters.js";
import type * as routes from "./commands.routes.js";

export const issueCommand: AppRouteHandler<typeof routes.issueCommand> = async (c) => {
  const issued = await commands.issueDeviceCommand(
    serviceContext(c),
    c.req.valid("param").id,
    c.req.valid("json"),
    commands.commandPorts(c.var.deps),
  );
  const body = deviceCommandJson(issued.command);
  return issued.replayed ? c.json(body, 200, { "Idempotent-Replayed": "true" as const }) : c.json(body, 201);
};

export const listCommands: AppRouteHandler<typeof routes.listCommands> = async (c) => {
  const page = c.req.valid("query");
  const { items, total } = await commands.listDeviceCommands(
    serviceContext(c),
    c.req.valid("param").id,
    page,
  );
  return c.json(pageJson(c.req.url, items.map(deviceCommandJson), total, page), 200);
};

export const getCommand: AppRouteHandler<typeof routes.getCommand> = async (c) => {
  const { id, commandId } = c.req.valid("param");
  return c.json(deviceCommandJson(await commands.getDeviceCommand(serviceContext(c), id, commandId)), 200);
};
