import { createRoute, z } from "@hono/zod-openapi";
import {
  conflictResponse,
  errorResponses,
  IdParams,
  jsonBody,
  jsonResponse,
  Pagination,
  security,
  Uuid,
} from "../../openapi.js";

const tags = ["incidents"];
const Timestamp = z.iso.datetime();
const FalseAlarmReason = z.enum(["stroller", "wheelchair", "bicycle", "other"]);
const Classification = z.enum(["confirmed", "false_alarm"]);

export const Incident = z
  .object({
    id: Uuid,
    kind: z.enum(["ebike", "sensor_offline"]),
    state: z.enum(["open", "closed"]),
    sensorId: Uuid,
    facilityId: Uuid,
    communityId: Uuid,
    streetId: Uuid,
    openedAt: Timestamp,
    closedAt: Timestamp.nullable(),
    detections: z.number().int().openapi({ description: "ebike_detected events within the incident" }),
    haltSeconds: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "How long the car was halted; null while open" }),
    acknowledgedAt: Timestamp.nullable(),
    acknowledgedByOrgId: Uuid.nullable(),
    classification: Classification.nullable(),
    falseAlarmReason: FalseAlarmReason.nullable(),
    note: z.string().nullable(),
    updatedAt: Timestamp,
  })
  .openapi("Incident");

export const listIncidents = createRoute({
  method: "get",
  path: "/incidents",
  tags,
  security,
  summary: "Incidents in the caller's scope, newest first",
  request: {
    query: Pagination.extend({
      kind: z.enum(["ebike", "sensor_offline"]).optional(),
      state: z.enum(["open", "closed"]).optional(),
      acknowledged: z.enum(["true", "false"]).optional(),
      communityId: Uuid.optional(),
      facilityId: Uuid.optional(),
      from: z.iso.datetime({ offset: true }).optional().openapi({ description: "Opened at or after" }),
      to: z.iso.datetime({ offset: true }).optional().openapi({ description: "Opened before" }),
    }),
  },
  responses: {
    200: jsonResponse(z.object({ items: z.array(Incident), total: z.number().int() }), "A page of incidents"),
    ...errorResponses,
  },
});

export const getIncident = createRoute({
  method: "get",
  path: "/incidents/{id}",
  tags,
  security,
  summary: "One incident",
  request: { params: IdParams },
  responses: { 200: jsonResponse(Incident, "The incident"), ...errorResponses },
});

const Acknowledge = z
  .strictObject({
    classification: Classification,
    reason: FalseAlarmReason.optional().openapi({ description: "Required for a false alarm, and only then" }),
    note: z.string().trim().max(2000).optional(),
  })
  .openapi("AcknowledgeIncident");

export const acknowledgeIncident = createRoute({
  method: "post",
  path: "/incidents/{id}/acknowledge",
  tags,
  security,
  summary: "Acknowledge and classify an e-bike incident (property company)",
  request: { params: IdParams, body: jsonBody(Acknowledge) },
  responses: {
    200: jsonResponse(Incident, "Acknowledged"),
    ...errorResponses,
    ...conflictResponse,
  },
});
