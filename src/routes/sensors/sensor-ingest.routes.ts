import { z } from "@hono/zod-openapi";
import { createRoute, errorResponses, IdParams, jsonResponse } from "../../openapi.js";

export const MAX_EVENTS_PER_REQUEST = 500;

const EVENT = "#/components/schemas/SensorEventInput";
const notAList = `must be one event (a JSON object) or an array of 1 to ${MAX_EVENTS_PER_REQUEST} events`;

/**
 * The body: one event or an array of 1 to MAX_EVENTS_PER_REQUEST. The document shows each item as
 * the protocol's own event union (iot/protocol.ts `SensorEvent`, registered by the router), but
 * only the body's shape is checked here: each item is checked by the ingest on its own, as an MQTT
 * message is, so one bad item (`42`, `null`, a missing field) is rejected with its index and
 * dead-lettered while the others are stored.
 */
export const IngestBody = z
  .unknown()
  .superRefine((body, ctx) => {
    const refusal = Array.isArray(body)
      ? body.length === 0
        ? "must hold at least one event"
        : body.length > MAX_EVENTS_PER_REQUEST
          ? `must hold at most ${MAX_EVENTS_PER_REQUEST} events (send the rest in another request)`
          : null
      : typeof body === "object" && body !== null
        ? null
        : notAList;
    if (refusal) ctx.addIssue({ code: "custom", message: refusal, input: body });
  })
  .openapi({
    oneOf: [
      { $ref: EVENT },
      { type: "array", items: { $ref: EVENT }, minItems: 1, maxItems: MAX_EVENTS_PER_REQUEST },
    ],
    description:
      "One event or an array of them. An item that is not a valid event is rejected on its own: its index and reason are in `rejected`, the other items are stored.",
  });

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
          schema: IngestBody,
        },
      },
    },
  },
  responses: {
    200: jsonResponse(IngestAnswer, "What became of each event"),
    ...errorResponses,
  },
});
