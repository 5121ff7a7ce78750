import { z } from "@hono/zod-openapi";
import {
  createRoute,
  errorResponses,
  IdParams,
  jsonResponse,
  Page,
  Pagination,
  ProblemSchema,
  security,
  Timestamp,
  Uuid,
  unavailable,
} from "../../openapi.js";
import { SNAPSHOT_MAX_BYTES } from "../../services/snapshots/snapshots.js";

const tags = ["incidents"];
const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});
const KIB = SNAPSHOT_MAX_BYTES / 1024;

/** An event id as the protocol allows it (1–64 characters), in the path. */
const EventIdParam = z
  .string()
  .min(1, "must be 1–64 characters")
  .max(64, "must be 1–64 characters")
  .openapi({ param: { name: "eventId", in: "path" }, example: "evt-20250228-0001" });

export const SnapshotStored = z
  .object({
    sensorId: Uuid,
    eventId: z.string(),
    byteSize: z.number().int(),
    sha256: z.string().openapi({ description: "SHA-256 of the bytes, hex" }),
    receivedAt: Timestamp.openapi({ description: "When the platform first stored it" }),
  })
  .openapi("SnapshotStored");

export const uploadSnapshot = createRoute({
  operationId: "uploadSnapshot",
  method: "put",
  path: "/sensors/{id}/events/{eventId}/snapshot",
  tags: ["sensors"],
  security: [{ SensorKey: [] }],
  summary: "Attach a JPEG snapshot to an ebike_detected event (the sensor's own key)",
  description: [
    `The body is the JPEG itself (Content-Type: image/jpeg), at most ${KIB} KiB: a bigger one is refused with 413 before more than that is read (from Content-Length when sent, by counting otherwise).`,
    "The bytes must be a JPEG (start FF D8 FF, end FF D9), else 422 `not_a_jpeg`: the Content-Type alone proves nothing.",
    "The snapshot may come before its event or after it; once the event is stored it must be an `ebike_detected` (409 `snapshot_not_ebike` otherwise).",
    "Idempotent: the same bytes again answer 200 with what was stored; other bytes for the same event answer 409 `snapshot_exists` (evidence is not overwritten).",
    "Kept SNAPSHOT_RETENTION_DAYS (default 90) from its receipt. Send the key as Authorization: Bearer <sensor key>; another sensor's key is 401, as on the event ingest.",
  ].join(" "),
  request: {
    params: z.object({
      id: Uuid.openapi({ param: { name: "id", in: "path" } }),
      eventId: EventIdParam,
    }),
    body: {
      required: true,
      content: { "image/jpeg": { schema: z.string().openapi({ format: "binary" }) } },
    },
  },
  responses: {
    201: jsonResponse(SnapshotStored, "Stored"),
    200: jsonResponse(SnapshotStored, "The same bytes were stored before: nothing changed"),
    409: problem("A different snapshot is stored for the event, or the event is not an ebike_detected"),
    415: problem("The Content-Type is not image/jpeg"),
    422: problem("The bytes are not a JPEG"),
    ...errorResponses,
    413: problem(`Body over ${KIB} KiB`),
    503: unavailable(
      "The database or the snapshot bucket is unavailable for a moment: send it again after Retry-After",
    ),
  },
});

export const SnapshotItem = z
  .object({
    sensorId: Uuid,
    eventId: z.string(),
    occurredAt: Timestamp,
    byteSize: z.number().int(),
    url: z.string().openapi({
      description: "GET it for the JPEG (with the same key, or the portal's session cookie)",
      example: "/v1/incidents/6f1c…/snapshots/evt-20250228-0001",
    }),
  })
  .openapi("IncidentSnapshot");

const readers =
  "Only the property company and the owners committee whose communities include the incident (other roles: 403; an incident outside the caller's scope: 404).";

export const listSnapshots = createRoute({
  operationId: "listSnapshots",
  method: "get",
  path: "/incidents/{id}/snapshots",
  tags,
  security,
  summary: "The snapshots of an incident's e-bike detections",
  description: `The ebike_detected events of the incident that carry a snapshot, oldest first. ${readers}`,
  request: { params: IdParams, query: Pagination },
  responses: {
    200: jsonResponse(Page(SnapshotItem, "IncidentSnapshotPage"), "The snapshots"),
    ...errorResponses,
  },
});

export const getSnapshot = createRoute({
  operationId: "getSnapshot",
  method: "get",
  path: "/incidents/{id}/snapshots/{eventId}",
  tags,
  security,
  summary: "One snapshot of an incident, as the JPEG",
  description: `${readers} 404 when the event is not one of the incident's detections or has no snapshot.`,
  request: { params: IdParams.extend({ eventId: EventIdParam }) },
  responses: {
    200: {
      description: "The JPEG (Cache-Control: private)",
      headers: {
        "Cache-Control": {
          description: "The picture is evidence of the caller's own: kept by no shared cache",
          schema: { type: "string" },
        },
      },
      content: { "image/jpeg": { schema: z.string().openapi({ format: "binary" }) } },
    },
    ...errorResponses,
  },
});
