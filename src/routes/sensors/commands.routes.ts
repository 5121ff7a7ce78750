import { z } from "@hono/zod-openapi";
import {
  COMMAND_REASON_MAX,
  DEVICE_COMMAND_STATES,
  DEVICE_COMMAND_TYPES,
  HEARTBEAT_INTERVAL_MAX_S,
  HEARTBEAT_INTERVAL_MIN_S,
} from "../../../contracts/device-commands.js";
import {
  createRoute,
  errorResponses,
  headerRef,
  IdParams,
  jsonBody,
  jsonResponse,
  Page,
  Pagination,
  ProblemSchema,
  security,
  Text,
  Timestamp,
  Uuid,
} from "../../openapi.js";

const tags = ["sensors"];

export const DeviceCommand = z
  .object({
    id: Uuid.openapi({ description: "The commandId: the device answers with it" }),
    sensorId: Uuid,
    type: z.enum(DEVICE_COMMAND_TYPES),
    params: z
      .object({
        enabled: z.boolean().optional(),
        until: Timestamp.optional(),
        intervalSeconds: z.number().int().optional(),
      })
      .openapi({
        description:
          "The command's own fields: `{}` for release, `{enabled, until?}` for set_blocking, `{intervalSeconds}` for set_heartbeat (the device receives it as `intervalS`, the device protocol's name: docs/devices.md)",
      }),
    state: z.enum(DEVICE_COMMAND_STATES).openapi({
      description:
        "pending: stored, not yet handed to the device; sent: handed to the broker (or fetched over HTTP); applied / refused: the device's answer; expired: no answer before expiresAt",
    }),
    reason: z.string().openapi({ description: "Why the person sent it (also in the audit log)" }),
    incidentId: Uuid.nullable().openapi({ description: "For a release: the e-bike incident it lets go of" }),
    issuedAt: Timestamp,
    expiresAt: Timestamp,
    sentAt: Timestamp.nullable(),
    resultAt: Timestamp.nullable(),
    resultReason: z.string().nullable().openapi({
      description: "The device's reason for refused, or why the command expired",
    }),
    issuedByOrgId: Uuid,
    issuedByName: z.string().nullable().openapi({
      description: "The person who sent it in the portal (null when an API key did)",
    }),
  })
  .openapi("DeviceCommand");

const NewDeviceCommand = z
  .strictObject({
    commandId: Uuid.optional().openapi({
      description:
        "Your id for the command (a UUID): the same id and body again answer 200 with the stored command; another body or sensor under the same id is 409 command_id_reused",
    }),
    type: z.enum(DEVICE_COMMAND_TYPES),
    reason: Text.trim().min(1).max(COMMAND_REASON_MAX).openapi({
      example: "误报：婴儿车",
      description: "Why: recorded with the command and in the audit log",
    }),
    enabled: z
      .boolean()
      .optional()
      .openapi({ description: "set_blocking only: false switches blocking off" }),
    until: z.iso.datetime({ offset: true }).optional().openapi({
      description:
        "set_blocking with enabled false only: when blocking comes back on; in the future, at most DEVICE_BLOCKING_OFF_MAX_H (24) hours ahead",
    }),
    intervalSeconds: z
      .number()
      .int()
      .min(HEARTBEAT_INTERVAL_MIN_S)
      .max(HEARTBEAT_INTERVAL_MAX_S)
      .optional()
      .openapi({ description: "set_heartbeat only: seconds between heartbeats" }),
  })
  .openapi("NewDeviceCommand");

const CommandParams = z.object({
  id: Uuid.openapi({ param: { name: "id", in: "path" } }),
  commandId: Uuid.openapi({ param: { name: "commandId", in: "path" } }),
});

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

export const issueCommand = createRoute({
  operationId: "issueSensorCommand",
  method: "post",
  path: "/sensors/{id}/commands",
  tags,
  security,
  summary: "Send a command to a sensor (the property company in its communities; the sensor's enterprise)",
  description:
    "Stored `pending` with an audit row naming the person and the reason, then published to the device (MQTT `bot/v1/sensors/{id}/commands`, or fetched over HTTP). `release` lets an e-bike halt go (only while the elevator has an open e-bike incident, which the command records); `set_blocking` switches halting off until a time, or on; `set_heartbeat` changes the interval. Unanswered after DEVICE_COMMAND_TTL_S (120 s) it becomes `expired`.",
  request: { params: IdParams, body: jsonBody(NewDeviceCommand) },
  responses: {
    201: jsonResponse(DeviceCommand, "Stored, pending"),
    200: {
      ...jsonResponse(DeviceCommand, "The same commandId and body were sent before: the stored command"),
      headers: { "Idempotent-Replayed": headerRef("Idempotent-Replayed") },
    },
    ...errorResponses,
    409: problem(
      "`sensor_revoked`; `no_open_halt` (a release with no open e-bike halt); `command_id_reused` (the commandId belongs to another command)",
    ),
    422: problem(
      "`blocking_off_window`: `until` is not in the future, or is more than DEVICE_BLOCKING_OFF_MAX_H hours ahead",
    ),
  },
});

export const listCommands = createRoute({
  operationId: "listSensorCommands",
  method: "get",
  path: "/sensors/{id}/commands",
  tags,
  security,
  summary: "A sensor's commands, newest first (everyone who sees the sensor)",
  description:
    "The commands sent to a sensor (release, blocking, heartbeat), newest first, each with its state and the device's answer.",
  request: { params: IdParams, query: Pagination },
  responses: {
    200: jsonResponse(
      Page(DeviceCommand, "DeviceCommandPage"),
      "A page of commands, newest first (id breaks ties)",
    ),
    ...errorResponses,
  },
});

export const getCommand = createRoute({
  operationId: "getSensorCommand",
  method: "get",
  path: "/sensors/{id}/commands/{commandId}",
  tags,
  security,
  summary: "One command to a sensor, with its state and the device's answer",
  description:
    "One command to a sensor: who issued it and why, its state (pending, sent, applied, refused, expired) and the device's answer.",
  request: { params: CommandParams },
  responses: { 200: jsonResponse(DeviceCommand, "The command"), ...errorResponses },
});
