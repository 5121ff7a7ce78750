import { z } from "@hono/zod-openapi";
import { csvFormat, notAcceptableResponse, withCsv } from "../../csv.js";
import {
  brokerUnavailableResponse,
  conflictResponse,
  createRoute,
  errorResponses,
  IdParams,
  jsonBody,
  jsonResponse,
  Name,
  noBody,
  Page,
  Pagination,
  security,
  Timestamp,
  Uuid,
} from "../../openapi.js";

const tags = ["sensors"];

export const Sensor = z
  .object({
    id: Uuid,
    facilityId: Uuid.openapi({ description: "The elevator the sensor is installed in" }),
    communityId: Uuid,
    streetId: Uuid,
    enterpriseOrgId: Uuid,
    name: z.string(),
    keyPrefix: z.string().openapi({ description: "The first characters of the key, to recognise it" }),
    heartbeatIntervalSeconds: z.number().int(),
    online: z.boolean().openapi({ description: "From its last heartbeat or retained status message" }),
    lastSeenAt: Timestamp.nullable(),
    lastHeartbeatAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
    createdAt: Timestamp,
  })
  .openapi("Sensor");

export const SensorDay = z
  .object({
    day: z.string().openapi({ description: "The Asia/Shanghai calendar day", example: "2026-03-01" }),
    heartbeats: z.number().int().openapi({ description: "Heartbeats of the day, each counted once" }),
    firstAt: Timestamp.openapi({ description: "The day's first heartbeat (its occurredAt)" }),
    lastAt: Timestamp.openapi({ description: "The day's last heartbeat" }),
    longestGapSeconds: z.number().openapi({
      description:
        "The longest time between two consecutive heartbeats of the day (exact when they arrived in time order; a late one does not shorten it)",
    }),
    uptimeSeconds: z.number().openapi({
      description:
        "Seconds of the day between consecutive heartbeats that came within the offline threshold (3 × the interval)",
    }),
    heartbeatIntervalSeconds: z.number().int(),
  })
  .openapi("SensorDay");

export const SensorDetail = Sensor.extend({
  days: z.array(SensorDay).openapi({
    description:
      "Heartbeat figures of today and the 7 days before, newest first, the days with a heartbeat only (kept for good; raw heartbeats are kept SENSOR_HEARTBEAT_RETENTION_DAYS)",
  }),
}).openapi("SensorDetail");

export const SensorWithKey = Sensor.extend({
  key: z.string().openapi({
    description:
      "The sensor key, shown once: the MQTT password (username = sensor id) and the HTTP ingest bearer key",
  }),
}).openapi("SensorWithKey");

const NewSensor = z
  .strictObject({
    facilityId: Uuid.openapi({ description: "An elevator the enterprise operates" }),
    name: Name.openapi({ example: "3号楼电梯轿厢AI摄像头" }),
    heartbeatIntervalSeconds: z.number().int().min(5).max(3600).optional().openapi({
      description: "Seconds between heartbeats; offline after 3 missed (default SENSOR_HEARTBEAT_S, 30)",
    }),
  })
  .openapi("NewSensor");

export const createSensor = createRoute({
  operationId: "createSensor",
  method: "post",
  path: "/sensors",
  tags,
  security,
  summary: "Register a sensor on an elevator (the operating enterprise)",
  description:
    "Answers the sensor key once; only its hashes are stored. The device connects to MQTT with username = sensor id and password = key (at once: the broker is told before the answer; 503 when it could not be, and nothing is registered), or posts to /v1/sensors/{id}/events with the key as bearer.",
  request: { body: jsonBody(NewSensor) },
  responses: {
    201: jsonResponse(SensorWithKey, "Registered"),
    ...errorResponses,
    ...brokerUnavailableResponse,
  },
});

export const listSensors = createRoute({
  operationId: "listSensors",
  method: "get",
  path: "/sensors",
  tags,
  security,
  summary: "Sensors in the caller's scope, with their health",
  description:
    "The enterprise sees its sensors; the owners committee and property company those of their communities; the street office those of its street.",
  request: {
    query: Pagination.extend({
      facilityId: Uuid.optional(),
      communityId: Uuid.optional(),
      online: z.enum(["true", "false"]).optional(),
      revoked: z.enum(["true", "false"]).optional(),
    }),
  },
  responses: {
    200: jsonResponse(Page(Sensor, "SensorPage"), "A page of sensors, oldest first (id breaks ties)"),
    ...errorResponses,
  },
});

export const getSensor = createRoute({
  operationId: "getSensor",
  method: "get",
  path: "/sensors/{id}",
  tags,
  security,
  summary: "One sensor and its health",
  description:
    "The sensor's facility, state, last message and health (online or offline by its heartbeats), never its key.",
  request: { params: IdParams },
  responses: { 200: jsonResponse(SensorDetail, "The sensor and its recent days"), ...errorResponses },
});

export const rotateKey = createRoute({
  operationId: "rotateSensorKey",
  method: "post",
  path: "/sensors/{id}/rotate-key",
  tags,
  security,
  summary: "Issue a new key (the enterprise); the old one stops working at once",
  description:
    "A new key for the sensor, shown in this answer only; the old key stops working at once, on HTTP and on the broker.",
  request: { params: IdParams, body: noBody },
  responses: {
    200: jsonResponse(SensorWithKey, "The new key, shown once"),
    ...errorResponses,
    ...conflictResponse,
    ...brokerUnavailableResponse,
  },
});

export const revokeSensor = createRoute({
  operationId: "revokeSensor",
  method: "post",
  path: "/sensors/{id}/revoke",
  tags,
  security,
  summary: "Revoke a sensor for good (the enterprise)",
  description:
    "The sensor is retired: its broker session is dropped, its logins refused, and anything it still sends is kept as a dead letter. Its events and incidents stay.",
  request: { params: IdParams, body: noBody },
  responses: {
    200: jsonResponse(Sensor, "Revoked"),
    ...errorResponses,
    ...conflictResponse,
    ...brokerUnavailableResponse,
  },
});

export const DeadLetter = z
  .object({
    id: z.number().int(),
    topic: z.string(),
    sensorId: z.string().nullable(),
    payload: z.string(),
    payloadBase64: z.boolean().openapi({ description: "The payload was not valid UTF-8 text" }),
    payloadBytes: z.number().int().openapi({
      description:
        "The whole size of the messages the row stands for; `payload` keeps only their first 1 KiB",
    }),
    messageCount: z.number().int().openapi({
      description:
        "Messages the row stands for: 1, but a sensor's messages over its rate limit in one batch are one `rate_limited` row with an empty payload",
    }),
    reason: z.string().openapi({ example: "schema_violation: confidence must be a number from 0 to 1" }),
    receivedAt: Timestamp,
  })
  .openapi("DeadLetter");

/** The CSV of the dead letters: a column per field of DeadLetter. */
export const deadLetterCsv = csvFormat(DeadLetter);

export const listDeadLetters = createRoute({
  operationId: "listDeadLetters",
  method: "get",
  path: "/dead-letters",
  tags,
  security,
  summary: "Messages that could not be stored, newest first (street office; the sensor's enterprise)",
  description:
    "Messages that could not be stored as events, with the reason (an unknown or revoked sensor, a payload outside the protocol, …) and the raw payload, newest first: for the enterprise that owns the sensor and the street office.",
  request: {
    query: Pagination.extend({
      sensorId: Uuid.optional(),
      reason: z
        .string()
        .trim()
        .min(1)
        .max(100)
        .optional()
        .openapi({ description: "Reasons starting with this, e.g. schema_violation" }),
      from: z.iso.datetime({ offset: true }).optional().openapi({ description: "Received at or after" }),
      to: z.iso.datetime({ offset: true }).optional().openapi({ description: "Received before" }),
    }),
  },
  responses: {
    200: withCsv(
      jsonResponse(Page(DeadLetter, "DeadLetterPage"), "A page of dead letters, newest first (by id)"),
      deadLetterCsv,
      "every dead letter of every page for the same filters (with limit or offset: that page's), newest first",
    ),
    ...errorResponses,
    ...notAcceptableResponse,
  },
});
