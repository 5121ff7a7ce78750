import { z } from "@hono/zod-openapi";
import { DEVICE_COMMAND_STATES, DEVICE_COMMAND_TYPES } from "../../../contracts/device-commands.js";
import { CommandResult } from "../../../iot/protocol.js";
import { createRoute, IdParams, jsonResponse, Timestamp, withConflicts } from "../../openapi.js";

/** A command as the device gets it: the same message as on the MQTT topic (protocol v1). */
export const DeviceCommandMessage = z
  .object({
    commandId: z
      .string()
      .openapi({ description: "Unique: the device applies a commandId once (dedupe by it)" }),
    type: z.enum(DEVICE_COMMAND_TYPES),
    issuedAt: Timestamp,
    expiresAt: Timestamp.openapi({
      description: "Past it, the device must not apply the command and answers `expired`",
    }),
    enabled: z.boolean().optional().openapi({ description: "set_blocking: halt cars (true) or not (false)" }),
    until: Timestamp.optional().openapi({
      description: "set_blocking: when the setting ends; back to blocking then",
    }),
    intervalS: z
      .number()
      .int()
      .optional()
      .openapi({ description: "set_heartbeat: seconds between heartbeats" }),
  })
  .openapi("DeviceCommandMessage");

export const PendingCommands = z
  .object({ commands: z.array(DeviceCommandMessage) })
  .openapi("PendingDeviceCommands");

export const getPendingCommands = createRoute({
  operationId: "listPendingSensorCommands",
  method: "get",
  path: "/sensors/{id}/commands/pending",
  tags: ["sensors"],
  security: [{ SensorKey: [] }],
  summary: "A device's open commands, for devices without MQTT (the sensor's own key)",
  description:
    "The sensor's commands not yet answered and not expired, oldest first, as on the MQTT topic bot/v1/sensors/{sensorId}/commands. Fetching marks them sent; they are returned again until the device answers them (POST …/command-results), so the device must dedupe by commandId and check expiresAt. Send the key as Authorization: Bearer <sensor key>; another sensor's key is 401.",
  request: { params: IdParams },
  responses: { 200: jsonResponse(PendingCommands, "The open commands"), ...withConflicts },
});

export const CommandResultAnswer = z
  .object({
    commandId: z.string(),
    state: z.enum(DEVICE_COMMAND_STATES),
    outcome: z.enum(["recorded", "duplicate"]).openapi({
      description: "recorded: this answer closed the command; duplicate: the same answer was recorded before",
    }),
    resultAt: Timestamp.nullable(),
  })
  .openapi("DeviceCommandResultAnswer");

export const postCommandResult = createRoute({
  operationId: "postSensorCommandResult",
  method: "post",
  path: "/sensors/{id}/command-results",
  tags: ["sensors"],
  security: [{ SensorKey: [] }],
  summary: "A device's answer to one of its commands, over HTTP (the sensor's own key)",
  description:
    "One answer {commandId, result, reason?}. Idempotent: the same answer again is a `duplicate`. 404 when the command is unknown or another sensor's; 409 `command_closed` (with `currentState`) when it was closed otherwise before (another answer, or expired: a command expired on the platform stays expired). 400 names the failing field. Send the key as Authorization: Bearer <sensor key>.",
  request: {
    params: IdParams,
    body: { required: true, content: { "application/json": { schema: CommandResult } } },
  },
  responses: {
    200: jsonResponse(CommandResultAnswer, "The answer was recorded (or had been)"),
    ...withConflicts,
  },
});
