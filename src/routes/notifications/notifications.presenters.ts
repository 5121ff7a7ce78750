import type { z } from "@hono/zod-openapi";
import { maskUrl } from "../../../contracts/notification-delivery.js";
import type { DeliveryWithAttempts, EndpointWithRules } from "../../services/notifications/endpoints.js";
import type { Delivery, Endpoint } from "./notifications.routes.js";

/** An endpoint as any reader sees it: the URL masked (it may carry the robot's key), never the secret. */
export function endpointJson(row: EndpointWithRules): z.input<typeof Endpoint> {
  return {
    id: row.id,
    name: row.name,
    channel: row.channel,
    url: maskUrl(row.url),
    hasSecret: row.secret !== null,
    enabled: row.disabledAt === null,
    disabledAt: row.disabledAt?.toISOString() ?? null,
    disabledReason: row.disabledReason,
    consecutiveFailures: row.consecutiveFailures,
    // A rule is never of type test_ping (the API refuses one); the filter tells the compiler.
    rules: row.rules.flatMap((r) =>
      r.type === "test_ping"
        ? []
        : [{ type: r.type, afterSeconds: r.afterMinutes === null ? null : r.afterMinutes * 60 }],
    ),
    createdAt: row.createdAt.toISOString(),
  };
}

export function deliveryJson(row: DeliveryWithAttempts): z.input<typeof Delivery> {
  return {
    id: row.id,
    type: row.type,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.state === "pending" ? row.nextAttemptAt.toISOString() : null,
    retryUntil: row.retryUntil.toISOString(),
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    log: row.log.map((a) => ({
      attempt: a.attempt,
      startedAt: a.startedAt.toISOString(),
      durationSeconds: a.durationMs / 1000,
      httpStatus: a.httpStatus,
      ok: a.ok,
      error: a.error,
    })),
  };
}
