import type { AppRouteHandler } from "../../openapi.js";
import { answerCommandResult, fetchPendingCommands } from "../../services/sensors/command-delivery.js";
import { commandResultJson, deviceCommandJson } from "./sensor-commands.presenters.js";
import type * as routes from "./sensor-commands.routes.js";

/**
 * A device without MQTT: its commands and its answers, with its own key (`requireSensorKey`, as the
 * HTTP ingest). The sensor is the one the path names and the key proves.
 */
export const getPendingCommands: AppRouteHandler<typeof routes.getPendingCommands> = async (c) => {
  const { id: sensorId } = c.req.valid("param");
  const commands = await fetchPendingCommands({ db: c.var.db, clock: c.var.deps.clock }, sensorId);
  return c.json({ commands: commands.map(deviceCommandJson) }, 200);
};

export const postCommandResult: AppRouteHandler<typeof routes.postCommandResult> = async (c) => {
  const { id: sensorId } = c.req.valid("param");
  const answer = await answerCommandResult(
    { db: c.var.db, clock: c.var.deps.clock },
    sensorId,
    c.req.valid("json"),
    c.var.deps.commandCounters,
  );
  return c.json(commandResultJson(answer), 200);
};
