import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses, jsonResponse, Uuid } from "../../openapi.js";

export const MAX_EVENTS_PER_REQUEST = 500;

const Event = z.record(z.string(), z.unknown()).openapi("SensorEventInput", {
  description:
    'Sensor protocol v1 event: { eventId (1–64 chars, unique per sensor), type: "ebike_detected" | "ebike_cleared" | "heartbeat" | "fault", occurredAt (RFC 3339 with offset), … }. Each is validated on its own: an invalid one is rejected with its reason, the others are stored.',
});

export const postEvents = createRoute({
  method: "post",
  path: "/sensors/{sensorId}/events",
  tags: ["sensors"],
  security: [{ SensorKey: [] }],
  summary: "Post sensor events over HTTP (the sensor's own key)",
  description: `For devices that can not speak MQTT (and the Workers deployment): one event or an array of up to ${MAX_EVENTS_PER_REQUEST}, as on the MQTT topic bot/v1/sensors/{sensorId}/events. Exactly once per (sensor, eventId): a retry answers the event as a duplicate. Send the key as Authorization: Bearer <sensor key>.`,
  request: {
    params: z.object({ sensorId: Uuid.openapi({ param: { name: "sensorId", in: "path" } }) }),
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.union([Event, z.array(Event).min(1).max(MAX_EVENTS_PER_REQUEST)]),
        },
      },
    },
  },
  responses: {
    200: jsonResponse(
      z
        .object({
          stored: z.array(z.string()).openapi({ description: "eventIds stored now" }),
          duplicates: z.array(z.string()).openapi({ description: "eventIds stored before (a retry)" }),
          rejected: z.array(
            z.object({
              index: z.number().int(),
              eventId: z.string().optional(),
              reason: z.string().openapi({ example: "future_timestamp" }),
            }),
          ),
        })
        .openapi("IngestAnswer"),
      "What became of each event",
    ),
    ...errorResponses,
  },
});
