import { z } from "@hono/zod-openapi";
import {
  DEFAULT_ESCALATION_MINUTES,
  DISABLE_AFTER_FAILED_NOTIFICATIONS,
} from "../../../contracts/notification-delivery.js";
import {
  NOTIFICATION_CHANNELS,
  NOTIFICATION_STATES,
  NOTIFICATION_TYPES,
} from "../../../contracts/notifications.js";
import {
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
  Text,
  Timestamp,
  Uuid,
} from "../../openapi.js";

const tags = ["notifications"];

const SubscribableType = z.enum(
  NOTIFICATION_TYPES.filter((t) => t !== "test_ping") as [
    Exclude<(typeof NOTIFICATION_TYPES)[number], "test_ping">,
    ...Exclude<(typeof NOTIFICATION_TYPES)[number], "test_ping">[],
  ],
);

const Rule = z
  .strictObject({
    type: SubscribableType,
    afterSeconds: z
      .number()
      .int()
      .min(60)
      .max(86_400)
      .multipleOf(60)
      .optional()
      .openapi({
        example: 900,
        description: `halt_unacknowledged only: seconds after the halt opened that this endpoint is told, if nobody acknowledged it; a whole number of minutes (60 to 86400). Default by the organization's kind: property company ${DEFAULT_ESCALATION_MINUTES.property_company * 60}, owners committee ${DEFAULT_ESCALATION_MINUTES.owners_committee * 60}, street office ${DEFAULT_ESCALATION_MINUTES.street_office * 60}, enterprise ${DEFAULT_ESCALATION_MINUTES.enterprise * 60} (the escalation chain).`,
      }),
  })
  .openapi("NotificationRule");

const RuleOut = z.object({ type: SubscribableType, afterSeconds: z.number().int().nullable() });

const Url = Text.trim().min(1).max(2000).openapi({
  description:
    "https (http only to a loopback address, 127.0.0.1 / ::1 / localhost, for a receiver on the same machine). A WeCom robot: `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`; a DingTalk robot: `https://oapi.dingtalk.com/robot/send?access_token=…`.",
});

export const Endpoint = z
  .object({
    id: Uuid,
    name: z.string(),
    channel: z.enum(NOTIFICATION_CHANNELS),
    url: z.string().openapi({
      description: "Masked: the query's values and long path segments (access keys) are hidden",
    }),
    hasSecret: z.boolean().openapi({ description: "A signing secret is set (never shown again)" }),
    enabled: z.boolean(),
    disabledAt: Timestamp.nullable(),
    disabledReason: z.string().nullable(),
    consecutiveFailures: z.number().int(),
    rules: z.array(RuleOut),
    createdAt: Timestamp,
  })
  .openapi("NotificationEndpoint");

const CreatedEndpoint = z
  .object({
    endpoint: Endpoint,
    secret: z.string().nullable().openapi({
      description:
        "A webhook's signing secret (`whsec_…`), shown this once: keep it to verify the signatures. Null for WeCom and DingTalk.",
    }),
  })
  .openapi("CreatedNotificationEndpoint");

const NewEndpoint = z
  .strictObject({
    name: Name.max(100),
    channel: z.enum(NOTIFICATION_CHANNELS),
    url: Url,
    secret: z.string().max(200).optional().openapi({
      description: "DingTalk only: the robot's `SEC…` secret (its 加签 setting); write-only",
    }),
    rules: z.array(Rule).max(NOTIFICATION_TYPES.length).default([]),
  })
  .openapi("NewNotificationEndpoint");

const EndpointChange = z
  .strictObject({
    name: Name.max(100).optional(),
    url: Url.optional(),
    secret: z.string().max(200).nullable().optional().openapi({
      description: "DingTalk only: a new `SEC…` secret, or null to remove it",
    }),
    rules: z.array(Rule).max(NOTIFICATION_TYPES.length).optional().openapi({
      description: "Replaces the endpoint's rules",
    }),
    enabled: z.boolean().optional().openapi({
      description:
        "true re-enables an endpoint the platform disabled (and resets its failure count); false disables it (its pending notifications fail)",
    }),
  })
  .openapi("NotificationEndpointChange");

const Attempt = z.object({
  attempt: z.number().int(),
  startedAt: Timestamp,
  durationSeconds: z
    .number()
    .min(0)
    .openapi({ example: 0.153, description: "How long the attempt took, to the millisecond" }),
  httpStatus: z.number().int().nullable(),
  ok: z.boolean(),
  error: z.string().nullable(),
});

export const Delivery = z
  .object({
    id: Uuid.openapi({ description: "The delivery id (`webhook-id`): the same on every retry and replay" }),
    type: z.enum(NOTIFICATION_TYPES),
    state: z.enum(NOTIFICATION_STATES),
    attempts: z.number().int(),
    nextAttemptAt: Timestamp.nullable().openapi({ description: "When it is tried next (pending only)" }),
    retryUntil: Timestamp,
    deliveredAt: Timestamp.nullable(),
    lastError: z.string().nullable(),
    createdAt: Timestamp,
    log: z.array(Attempt).openapi({ description: "Its attempts, newest first" }),
  })
  .openapi("NotificationDelivery");

const EndpointParams = IdParams;
const DeliveryParams = IdParams.extend({
  deliveryId: Uuid.openapi({ param: { name: "deliveryId", in: "path" } }),
});

const rights =
  "Any key or person of the organization reads; only its admin keys and admin people change. The platform admin has no organization, so no endpoints (403).";

export const createEndpoint = createRoute({
  operationId: "createNotificationEndpoint",
  method: "post",
  path: "/notification-endpoints",
  tags,
  security,
  summary: "Add a notification endpoint: a webhook, a WeCom or a DingTalk group robot",
  description: `${rights} A webhook's signing secret is generated and returned this once.`,
  request: { body: jsonBody(NewEndpoint) },
  responses: { 201: jsonResponse(CreatedEndpoint, "Added"), ...errorResponses },
});

export const listEndpoints = createRoute({
  operationId: "listNotificationEndpoints",
  method: "get",
  path: "/notification-endpoints",
  tags,
  security,
  summary: "The organization's notification endpoints, newest first",
  description: rights,
  request: { query: Pagination },
  responses: {
    200: jsonResponse(
      Page(Endpoint, "NotificationEndpointPage"),
      "A page of endpoints, newest first (id breaks ties)",
    ),
    ...errorResponses,
  },
});

export const getEndpoint = createRoute({
  operationId: "getNotificationEndpoint",
  method: "get",
  path: "/notification-endpoints/{id}",
  tags,
  security,
  summary: "One notification endpoint (its URL masked, never its secret)",
  description:
    "One endpoint of the caller's organization: its kind, masked URL, rules and whether it is enabled; never its secret.",
  request: { params: EndpointParams },
  responses: { 200: jsonResponse(Endpoint, "The endpoint"), ...errorResponses },
});

export const updateEndpoint = createRoute({
  operationId: "updateNotificationEndpoint",
  method: "patch",
  path: "/notification-endpoints/{id}",
  tags,
  security,
  summary: "Change an endpoint: name, URL, rules; re-enable or disable it",
  description: `The platform disables an endpoint after ${DISABLE_AFTER_FAILED_NOTIFICATIONS} of its notifications in a row failed (each after 24 h of retries); \`{"enabled": true}\` re-enables it.`,
  request: { params: EndpointParams, body: jsonBody(EndpointChange) },
  responses: { 200: jsonResponse(Endpoint, "Changed"), ...errorResponses },
});

export const deleteEndpoint = createRoute({
  operationId: "deleteNotificationEndpoint",
  method: "delete",
  path: "/notification-endpoints/{id}",
  tags,
  security,
  summary: "Remove an endpoint, its rules and its delivery log",
  description: "Removes the endpoint of the caller's organization with its rules and delivery log.",
  request: { params: EndpointParams },
  responses: { 200: jsonResponse(Endpoint, "Removed (as it was)"), ...errorResponses },
});

export const rotateSecret = createRoute({
  operationId: "rotateNotificationEndpointSecret",
  method: "post",
  path: "/notification-endpoints/{id}/rotate-secret",
  tags,
  security,
  summary: "A new signing secret for a webhook (shown this once; the old one stops at once)",
  description:
    "A new signing secret for a webhook endpoint, shown in this answer only; deliveries are signed with it from now on and the old one stops at once.",
  request: { params: EndpointParams, body: noBody },
  responses: { 200: jsonResponse(CreatedEndpoint, "The new secret"), ...errorResponses, ...conflictResponse },
});

export const testEndpoint = createRoute({
  operationId: "testNotificationEndpoint",
  method: "post",
  path: "/notification-endpoints/{id}/test",
  tags,
  security,
  summary: "Queue a test_ping to this endpoint alone",
  description: "Sent within seconds; follow it in the delivery log under the returned delivery id.",
  request: { params: EndpointParams, body: noBody },
  responses: {
    202: jsonResponse(z.object({ deliveryId: Uuid }).openapi("QueuedTestPing"), "Queued"),
    ...errorResponses,
    ...conflictResponse,
  },
});

export const listDeliveries = createRoute({
  operationId: "listNotificationDeliveries",
  method: "get",
  path: "/notification-endpoints/{id}/deliveries",
  tags,
  security,
  summary: "The endpoint's delivery log: its notifications with their attempts, newest first",
  description:
    "The endpoint's notifications, newest first, each with every delivery attempt (time, status, error) and its delivery id, which a receiver dedupes by.",
  request: {
    params: EndpointParams,
    query: Pagination.extend({ state: z.enum(NOTIFICATION_STATES).optional() }),
  },
  responses: {
    200: jsonResponse(
      Page(Delivery, "NotificationDeliveryPage"),
      "A page of deliveries, newest first (id breaks ties)",
    ),
    ...errorResponses,
  },
});

export const replayDelivery = createRoute({
  operationId: "replayNotificationDelivery",
  method: "post",
  path: "/notification-endpoints/{id}/deliveries/{deliveryId}/replay",
  tags,
  security,
  summary: "Send a delivered or failed notification again, under the same delivery id",
  description:
    "The same payload with the SAME delivery id (`webhook-id`): a receiver that dedupes by it takes a replay of what it never got and ignores what it already acted on, so a replay never makes it act twice. The replay is retried for 24 h like a new notification. 409 while it is still pending, or when the endpoint is disabled.",
  request: { params: DeliveryParams, body: noBody },
  responses: { 202: jsonResponse(Delivery, "Queued again"), ...errorResponses, ...conflictResponse },
});
