import { z } from "@hono/zod-openapi";
import { createRoute, errorResponses, IdParams, jsonResponse } from "../../openapi.js";

export const MAX_EVENTS_PER_REQUEST = 500;

const Event = z.record(z.string(), z.unknown()).openapi("SensorEventInput", {
  description:
    'Sensor protocol v1 event: { eventId (1–64 chars, unique per sensor), type: "ebike_detected" | "ebike_cleared" | "heartbeat" | "fault", occurredAt (RFC 3339 with offset), … }. Each is validated on its own: an invalid one is rejected with its reason, the others are stored.',
});

/**
 * An item of a batch: any JSON value. Each is validated on its own by the ingest, as an MQTT
 * message is, so one bad item (`42`, `null`, a string) is rejected with its index and the others
 * are stored; the request fails as a whole only when it is not an event or a list of them.
 */
const BatchItem = z.unknown().openapi({
  description:
    "A SensorEventInput. An item that is not a valid event (not an object, a missing or wrong field) is rejected on its own: its index and reason are in `rejected`, the other items are stored.",
});

const Body = z.union(
  [
    Event,
    z
      .array(BatchItem)
      .min(1, "must hold at least one event")
      .max(MAX_EVENTS_PER_REQUEST, `must hold at most ${MAX_EVENTS_PER_REQUEST} events`),
  ],
  {
    // zod's own message for a failed union is "Invalid input": say what the body must be.
    error: ({ input }) =>
      Array.isArray(input)
        ? input.length > MAX_EVENTS_PER_REQUEST
          ? `must hold at most ${MAX_EVENTS_PER_REQUEST} events (send the rest in another request)`
          : "must hold at least one event"
        : `must be one event (a JSON object) or an array of 1 to ${MAX_EVENTS_PER_REQUEST} events`,
  },
);

export const IngestAnswer = z
  .object({
    stored: z.array(z.string()).openapi({ description: "eventIds stored now" }),
    duplicates: z.array(z.string()).openapi({ description: "eventIds stored before (a retry)" }),
    rejected: z.array(
      z.object({
        index: z
          .number()
          .int()
          .openapi({ description: "Position of the item in the request (0 for a single event)" }),
        eventId: z.string().optional(),
        reason: z.string().openapi({ example: "future_timestamp" }),
      }),
    ),
  })
  .openapi("IngestAnswer");

export const postEvents = createRoute({
  operationId: "postSensorEvents",
  method: "post",
  path: "/sensors/{id}/events",
  tags: ["sensors"],
  security: [{ SensorKey: [] }],
  summary: "Post sensor events over HTTP (the sensor's own key)",
  description: `For devices that can not speak MQTT (and the Workers deployment): one event or an array of up to ${MAX_EVENTS_PER_REQUEST}, as on the MQTT topic bot/v1/sensors/{sensorId}/events. Each event is validated on its own: the valid ones are stored, each invalid one is rejected with its index and reason (and dead-lettered). A body that is neither an object nor an array, or an array of more than ${MAX_EVENTS_PER_REQUEST}, fails as a whole (400). Exactly once per (sensor, eventId): a retry answers the event as a duplicate. While the database is unavailable the whole request answers 503 with Retry-After and nothing is rejected: send it again. Send the key as Authorization: Bearer <sensor key>.`,
  request: {
    params: IdParams,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: Body,
        },
      },
    },
  },
  responses: {
    200: jsonResponse(IngestAnswer, "What became of each event"),
    ...errorResponses,
  },
});
