import { z } from "@hono/zod-openapi";
import { DEVICE_COMMAND_STATES } from "../../../contracts/device-commands.js";
import { csvFormat, notAcceptableResponse, withCsv } from "../../csv.js";
import {
  CalendarDate,
  conflictResponse,
  createRoute,
  errorResponses,
  IdParams,
  jsonBody,
  jsonResponse,
  Page,
  Pagination,
  ProblemSchema,
  rateLimitHeaders,
  security,
  Text,
  Timestamp,
  Uuid,
} from "../../openapi.js";
import { FEED_HUB_POLL_MS } from "../../services/incidents/feed-hub.js";
import { STATS_MAX_DAYS } from "../../services/incidents/stats.js";

const tags = ["incidents"];
const FalseAlarmReason = z.enum(["stroller", "wheelchair", "bicycle", "other"]);
const Classification = z.enum(["confirmed", "false_alarm"]);

/** A remote release of the incident: who sent it, why, and what became of it. */
export const IncidentRelease = z
  .object({
    commandId: Uuid,
    state: z.enum(DEVICE_COMMAND_STATES),
    issuedAt: Timestamp,
    issuedByOrgId: Uuid.openapi({ description: "The organization that sent it (its person or its API key)" }),
    issuedByName: z.string().nullable().openapi({ description: "The person (null when an API key sent it)" }),
    reason: z.string(),
    resultAt: Timestamp.nullable(),
  })
  .openapi("IncidentRelease");

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
    haltSeconds: z.number().int().nullable().openapi({
      description:
        "How long the car was halted: from the first detection to the clear, in whole seconds rounded down (95.5 s is 95); null while open",
    }),
    carHalted: z.boolean().openapi({
      description:
        "Whether a detection within the incident reported the car halted (carHalted: true); always false for sensor_offline",
    }),
    acknowledgedAt: Timestamp.nullable(),
    acknowledgedByOrgId: Uuid.nullable(),
    acknowledgedByName: z.string().nullable().openapi({
      description: "The person who acknowledged it in the portal (null when an API key did)",
    }),
    classification: Classification.nullable(),
    falseAlarmReason: FalseAlarmReason.nullable(),
    note: z.string().nullable(),
    updatedAt: Timestamp,
    releases: z.array(IncidentRelease).openapi({
      description: "Remote releases sent for this e-bike halt, oldest first, with who sent each and why",
    }),
  })
  .openapi("Incident");

/** The CSV of the incidents: a column per scalar field of Incident (the releases are in the JSON only). */
export const incidentCsv = csvFormat(Incident);

export const listIncidents = createRoute({
  operationId: "listIncidents",
  method: "get",
  path: "/incidents",
  tags,
  security,
  summary: "Incidents in the caller's scope, newest first",
  description:
    "E-bike halts and offline sensors in the caller's scope, newest first; filter by kind, state, acknowledgement, community, facility and a time range (`from` inclusive, `to` exclusive).",
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
    200: withCsv(
      jsonResponse(Page(Incident, "IncidentPage"), "A page of incidents, newest first (id breaks ties)"),
      incidentCsv,
      "every incident of every page for the same filters (with limit or offset: that page's), newest first; an incident's releases are in the JSON only",
    ),
    ...errorResponses,
    ...notAcceptableResponse,
  },
});

export const getIncident = createRoute({
  operationId: "getIncident",
  method: "get",
  path: "/incidents/{id}",
  tags,
  security,
  summary: "One incident",
  description:
    "One incident with its detections, acknowledgement and remote releases (who released the car and why).",
  request: { params: IdParams },
  responses: { 200: jsonResponse(Incident, "The incident"), ...errorResponses },
});

const Acknowledge = z
  .strictObject({
    classification: Classification,
    reason: FalseAlarmReason.optional().openapi({ description: "Required for a false alarm, and only then" }),
    note: Text.trim().max(2000).optional(),
  })
  .openapi("AcknowledgeIncident");

export const acknowledgeIncident = createRoute({
  operationId: "acknowledgeIncident",
  method: "post",
  path: "/incidents/{id}/acknowledge",
  tags,
  security,
  summary: "Acknowledge and classify an e-bike incident (property company)",
  description:
    "The property company says it has seen the incident and classifies it (a real e-bike, or a false alarm such as a stroller); an acknowledged halt is not escalated.",
  request: { params: IdParams, body: jsonBody(Acknowledge) },
  responses: {
    200: jsonResponse(Incident, "Acknowledged"),
    ...errorResponses,
    ...conflictResponse,
  },
});

// ---- the live feed ----------------------------------------------------------------------------

/** An SSE event id: the id of the incident_events row (a decimal integer). */
const EventId = z
  .string()
  .regex(/^\d{1,15}$/, "must be an event id (a non-negative integer)")
  .transform(Number);

export const FEED_POLL_MS = FEED_HUB_POLL_MS;
export const FEED_HEARTBEAT_MS = 15_000;
/** How long a followed stream runs by default (FEED_MAX_S). */
export const FEED_MAX_MS = 300_000;
/** Streams one key may hold open by default (FEED_STREAMS_PER_KEY). */
export const FEED_STREAMS_PER_KEY = 20;
/** Streams a process holds open by default (FEED_STREAMS_MAX). */
export const FEED_STREAMS_MAX = 500;
/** How often an open stream checks its key and scope again by default (FEED_RECHECK_S). */
export const FEED_RECHECK_MS = 5_000;
/**
 * Retry-After of a refused stream: a slot frees when a stream of the key ends (its client leaves,
 * or FEED_MAX_S ends it), which nobody can predict; this keeps a retrying client from hammering.
 */
export const FEED_BUSY_RETRY_S = 30;

export const streamIncidents = createRoute({
  operationId: "streamIncidents",
  method: "get",
  path: "/incidents/stream",
  tags,
  security,
  summary: "Live feed of incident changes in the caller's scope (Server-Sent Events)",
  description: [
    "A `text/event-stream` of every change to an incident the caller may read (the same scope as GET /v1/incidents: an owners committee or property company its communities, the street office its street, an enterprise its own sensors' incidents).",
    "",
    "Each event: `id: <event id>`, `event: incident.opened | incident.updated | incident.closed | incident.acknowledged`, `data: <the incident as GET /v1/incidents/{id} returns it, as it was right after the change>`. Event ids grow in commit order; the data's `state` is authoritative (an incident inserted already closed gives `incident.opened` then `incident.closed`; a late event that reopens an incident gives `incident.updated`).",
    "",
    "Resume: send the last id received as the `Last-Event-ID` header (EventSource does so itself when it reconnects) or as `?lastEventId=`; the header wins when both are sent. The events after it are sent first, then new ones as they happen. Without either, the feed starts with the changes after the moment of the request.",
    "",
    `New changes are found by polling the change log every ${FEED_POLL_MS} ms (so the feed works with any number of app instances, and on Workers; a Node process polls once for all its streams); a comment line (\`: heartbeat\`) is sent after ${FEED_HEARTBEAT_MS / 1000} s without events so proxies keep the connection open. A followed stream ends after the deployment's FEED_MAX_S (default ${FEED_MAX_MS / 1000} s) with the comment \`: reconnect\`, when the client reads too slowly to keep up, and on a database error; reconnect with Last-Event-ID (EventSource does so itself after the \`retry\` delay the stream starts with) and nothing is lost. With \`follow=false\` the events after the cursor are sent and the stream ends (a catch-up read for clients that poll).`,
    "",
    "A signed-in portal browser may open the stream with its session cookie instead of a key (only reads of /v1 accept the cookie; a write with it alone is 401): the incident board's live updates use it.",
    "",
    `Access is checked again while the stream lasts (every FEED_RECHECK_S, default ${FEED_RECHECK_MS / 1000} s): when the key is revoked (or the session signed out) the stream ends with the comment \`: access ended: the API key was revoked\`; when what the key may read changed (its organization gained or lost a community) it ends with \`: access ended: …\` too, and a reconnect reads in the new scope.`,
    "",
    `Limits: a key may hold FEED_STREAMS_PER_KEY streams open at once (default ${FEED_STREAMS_PER_KEY}), the server FEED_STREAMS_MAX (default ${FEED_STREAMS_MAX}); one more is refused with 429 \`too_many_streams\` and Retry-After.`,
  ].join("\n"),
  request: {
    headers: z.object({
      "last-event-id": EventId.optional().openapi({ description: "Resume after this event id" }),
    }),
    query: z.object({
      lastEventId: EventId.optional().openapi({
        description: "Resume after this event id (when the header can not be set)",
      }),
      follow: z
        .enum(["true", "false"])
        .default("true")
        .openapi({ description: "false: send the events after the cursor, then end the stream" }),
    }),
  },
  responses: {
    200: {
      description: "The event stream",
      headers: {
        "Cache-Control": {
          description: "`no-cache`: the stream is never stored",
          schema: { type: "string" },
        },
        Connection: {
          description: "`keep-alive`: the stream holds its connection",
          schema: { type: "string" },
        },
      },
      content: {
        "text/event-stream": {
          schema: z.string().openapi({
            example:
              'id: 1042\nevent: incident.closed\ndata: {"id":"…","kind":"ebike","state":"closed",…}\n\n',
          }),
        },
      },
    },
    ...errorResponses,
    429: {
      description:
        "Code `too_many_streams`: the key holds FEED_STREAMS_PER_KEY streams open, or the server FEED_STREAMS_MAX; close one, or retry after Retry-After. Code `rate_limited`: the key sent more requests than its rate limit allows (RateLimit-Policy); send the next after Retry-After",
      content: { "application/problem+json": { schema: ProblemSchema } },
      headers: {
        "Retry-After": {
          description: "Seconds to wait before retrying",
          schema: { type: "string", example: String(FEED_BUSY_RETRY_S) },
        },
        ...rateLimitHeaders,
      },
    },
  },
});

// ---- statistics ---------------------------------------------------------------------------------

/** A decimal string with a fixed number of places. */
const Decimal = (places: number, example: string) =>
  z
    .string()
    .regex(new RegExp(`^\\d+\\.\\d{${places}}$`))
    .openapi({ example });

export const StatsGroup = z
  .object({
    key: z.string().openapi({ description: "The elevator id, the community id, or the day" }),
    facilityId: Uuid.nullable().openapi({ description: "groupBy=elevator" }),
    communityId: Uuid.nullable().openapi({ description: "groupBy=elevator and community" }),
    day: CalendarDate.nullable().openapi({ description: "groupBy=day (Asia/Shanghai)" }),
    elevators: z.number().int().openapi({ description: "Elevators with a sensor in the group" }),
    incidents: z.number().int().openapi({ description: "E-bike incidents opened in the group's window" }),
    halts: z
      .number()
      .int()
      .openapi({ description: "E-bike incidents in which a detection reported the car halted (carHalted)" }),
    totalHaltSeconds: z.number().int().min(0).openapi({
      example: 1020,
      description: "Total seconds the closed halts lasted (an open halt has no duration yet)",
    }),
    p95HaltSeconds: z.number().int().min(0).nullable().openapi({
      example: 570,
      description:
        "95th percentile (percentile_cont) of the closed halts' seconds, rounded half up to whole seconds; null with none",
    }),
    falseAlarms: z.number().int(),
    classified: z.number().int().openapi({ description: "Incidents acknowledged and classified" }),
    falseAlarmRate: Decimal(4, "0.0833")
      .nullable()
      .openapi({ description: "falseAlarms / classified; null when none was classified" }),
    sensorUptime: Decimal(4, "0.9958").nullable().openapi({
      description:
        "1 − offline time / observed time, as a fraction (×100 for %): sensor_offline incidents of the group's elevators, clipped to the window (which ends at the current time at the latest); null when the window has not begun or the group has no elevator",
    }),
  })
  .openapi("IncidentStatsGroup");

export const IncidentStats = z
  .object({
    groupBy: z.enum(["elevator", "community", "day"]),
    from: CalendarDate.openapi({ description: "First day, included" }),
    to: CalendarDate.openapi({ description: "The day after the last one, excluded" }),
    timeZone: z.literal("Asia/Shanghai"),
    items: z.array(StatsGroup),
  })
  .openapi("IncidentStats");

export const incidentStats = createRoute({
  operationId: "getIncidentStats",
  method: "get",
  path: "/incidents/stats",
  tags,
  security,
  summary: "Incident statistics per elevator, community or day",
  description: `E-bike incidents opened from \`from\` (included) to \`to\` (excluded), Asia/Shanghai calendar days, at most ${STATS_MAX_DAYS} days: November 2026 is \`from=2026-11-01&to=2026-12-01\`. Grouped by elevator, community, or the Shanghai day they opened, in the caller's scope (as GET /v1/incidents). Every elevator with a sensor in scope (or every day of the window) has a group, with zeros when nothing happened. Rates are decimal strings.`,
  request: {
    query: z.object({
      groupBy: z.enum(["elevator", "community", "day"]),
      from: CalendarDate.openapi({ description: "First day (Asia/Shanghai), included" }),
      to: CalendarDate.openapi({
        description: "The day after the last one (Asia/Shanghai), excluded",
        example: "2026-12-01",
      }),
    }),
  },
  responses: {
    200: jsonResponse(IncidentStats, "One entry per group"),
    ...errorResponses,
  },
});
