/**
 * Delivery: due notifications are claimed with a lease (several instances never hold the same
 * one), sent, and every attempt is written to the delivery log. A 2xx (and for WeCom and DingTalk
 * `errcode: 0`) delivers; anything else is retried with back-off until the retry window ends,
 * then the notification fails. A deliverer that dies mid-attempt leaves its lease to expire, and
 * the next deliverer sends the same notification with the same delivery id: at least once.
 */
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import {
  DISABLE_AFTER_FAILED_NOTIFICATIONS,
  retryDelayMs,
} from "../../../contracts/notification-delivery.js";
import type { NotificationChannel, NotificationType } from "../../../contracts/notifications.js";
import { queryRows } from "../../../db/database.js";
import type { SystemContext } from "../context.js";
import { buildRequest, type OutboundRequest } from "./formats.js";

/** Request time-out of one attempt: connect, send, answer. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** How much of a receiver's answer is read (for the log); the rest is dropped. */
export const MAX_RESPONSE_BYTES = 4096;
/** Notifications one run claims at most; the next run takes the rest. */
export const DELIVERY_BATCH = 50;
/** Attempts of one run in flight at once. */
const CONCURRENCY = 8;

/** This process's counters, for /metrics. */
export interface DeliveryCounters {
  /** Notifications delivered. */
  deliveries: number;
  /** Failed attempts that will be retried. */
  retries: number;
  /** Notifications that ended failed. */
  failures: number;
  endpointsDisabled: number;
}

export const DELIVERY_COUNTERS: DeliveryCounters = {
  deliveries: 0,
  retries: 0,
  failures: 0,
  endpointsDisabled: 0,
};

export interface DeliveryOptions {
  /** The HTTP client (the platform's fetch by default). */
  fetch?: typeof fetch;
  limit?: number;
  timeoutMs?: number;
  /**
   * How long a claimed notification is held; longer than an attempt can take, so that a slow
   * attempt is never sent again alongside by another instance. When the deliverer dies, the next
   * one sends it after this.
   */
  leaseMs?: number;
  /** [0, 1): the back-off's jitter. */
  random?: () => number;
  counters?: DeliveryCounters;
  logger?: Logger;
}

interface Claimed {
  id: string;
  type: NotificationType;
  payload: unknown;
  attempts: number;
  retry_until: Date | string;
  created_at: Date | string;
  occurred_at: Date | string | null;
  endpoint_id: string;
  channel: NotificationChannel;
  url: string;
  secret: string | null;
}

export interface AttemptOutcome {
  ok: boolean;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
}

export interface DeliveryRun {
  attempted: number;
  delivered: number;
  retried: number;
  failed: number;
}

const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;
const asDate = (v: Date | string) => (v instanceof Date ? v : new Date(v));

/** Claims due notifications and attempts each once. */
export async function deliverDueNotifications(
  sys: SystemContext,
  opts: DeliveryOptions = {},
): Promise<DeliveryRun> {
  const timeoutMs = opts.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  const leaseMs = opts.leaseMs ?? timeoutMs + 50_000;
  const now = sys.clock();
  const leaseUntil = new Date(now.getTime() + leaseMs);
  const claimed = await queryRows<Claimed>(
    sys.db,
    sql`update notifications n
        set lease_until = ${ts(leaseUntil)}, attempts = n.attempts + 1
        from notification_endpoints ep
        where ep.id = n.endpoint_id and n.id in (
          select n2.id from notifications n2
          join notification_endpoints ep2 on ep2.id = n2.endpoint_id and ep2.disabled_at is null
          where n2.state = 'pending' and n2.next_attempt_at <= ${ts(now)}
            and (n2.lease_until is null or n2.lease_until <= ${ts(now)})
          order by n2.next_attempt_at
          limit ${opts.limit ?? DELIVERY_BATCH}
          for update of n2 skip locked)
        returning n.id, n.type, n.payload, n.attempts, n.retry_until, n.created_at, n.endpoint_id,
          ep.channel, ep.url, ep.secret,
          (select e.occurred_at from notification_events e where e.id = n.event_id) as occurred_at`,
  );
  const run: DeliveryRun = { attempted: claimed.length, delivered: 0, retried: 0, failed: 0 };
  const queue = [...claimed];
  const worker = async () => {
    for (let n = queue.shift(); n; n = queue.shift()) {
      const result = await attemptOne(sys, n, leaseUntil, { ...opts, timeoutMs });
      run[result] += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, claimed.length) }, worker));
  return run;
}

async function attemptOne(
  sys: SystemContext,
  n: Claimed,
  leaseUntil: Date,
  opts: DeliveryOptions & { timeoutMs: number },
): Promise<"delivered" | "retried" | "failed"> {
  const startedAt = sys.clock();
  let outcome: AttemptOutcome;
  try {
    const payload = typeof n.payload === "string" ? (JSON.parse(n.payload) as unknown) : n.payload;
    const request = await buildRequest(
      { id: n.id, type: n.type, payload, occurredAt: asDate(n.occurred_at ?? n.created_at) },
      { channel: n.channel, url: n.url, secret: n.secret },
      startedAt,
    );
    outcome = await send(opts.fetch ?? fetch, request, n.channel, opts.timeoutMs);
  } catch (err) {
    // Building the request failed (a secret of the wrong form): an attempt that failed, retried.
    outcome = { ok: false, httpStatus: null, error: `not sent: ${(err as Error).message}`, durationMs: 0 };
  }
  const counters = opts.counters ?? DELIVERY_COUNTERS;
  const result = await recordOutcome(sys, n, leaseUntil, startedAt, outcome, opts.random ?? Math.random);
  if (result === "delivered") counters.deliveries += 1;
  else if (result === "retried") counters.retries += 1;
  else {
    counters.failures += 1;
    if (result === "failed_and_disabled") counters.endpointsDisabled += 1;
  }
  if (!outcome.ok) {
    // Never the URL (WeCom and DingTalk URLs carry their access key) nor the secret.
    opts.logger?.info(
      { deliveryId: n.id, endpointId: n.endpoint_id, attempt: n.attempts, error: outcome.error, result },
      "notification attempt failed",
    );
  }
  return result === "failed_and_disabled" ? "failed" : result;
}

/** One POST, bounded in time and in how much of the answer is read; no redirect is followed. */
export async function send(
  fetchFn: typeof fetch,
  request: OutboundRequest,
  channel: NotificationChannel,
  timeoutMs: number,
): Promise<AttemptOutcome> {
  const started = performance.now();
  const duration = () => Math.round(performance.now() - started);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetchFn(request.url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      redirect: "manual",
      signal,
    });
    const text = await readAtMost(res, MAX_RESPONSE_BYTES);
    const answer = text.replace(/\s+/g, " ").trim().slice(0, 200);
    if (res.status < 200 || res.status > 299) {
      const why = res.status >= 300 && res.status < 400 ? " (redirects are not followed)" : "";
      return {
        ok: false,
        httpStatus: res.status,
        error: `HTTP ${res.status}${why}${answer ? `: ${answer}` : ""}`,
        durationMs: duration(),
      };
    }
    if (channel !== "webhook") {
      // WeCom and DingTalk answer 200 with `errcode` saying whether the message was taken.
      let errcode: unknown;
      try {
        errcode = (JSON.parse(text) as { errcode?: unknown }).errcode;
      } catch {
        errcode = undefined;
      }
      if (errcode !== 0) {
        return {
          ok: false,
          httpStatus: res.status,
          error: `errcode ${String(errcode)}: ${answer}`,
          durationMs: duration(),
        };
      }
    }
    return { ok: true, httpStatus: res.status, error: null, durationMs: duration() };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const error = signal.aborted
      ? `no answer within ${timeoutMs / 1000} s`
      : `not connected: ${e.cause?.code ?? e.name}`;
    return { ok: false, httpStatus: null, error, durationMs: duration() };
  }
}

/** Up to `max` bytes of the body as text; the rest is left unread and the stream cancelled. */
async function readAtMost(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(Math.min(size, max));
  let at = 0;
  for (const c of chunks) {
    const part = c.subarray(0, Math.min(c.length, all.length - at));
    all.set(part, at);
    at += part.length;
  }
  return new TextDecoder().decode(all);
}

/**
 * Writes the attempt and what follows from it, in one transaction. A failed attempt only
 * reschedules while this deliverer still holds the lease (after it expired, another one may be
 * trying); a delivery is recorded whoever holds it.
 */
async function recordOutcome(
  sys: SystemContext,
  n: Claimed,
  leaseUntil: Date,
  startedAt: Date,
  outcome: AttemptOutcome,
  random: () => number,
): Promise<"delivered" | "retried" | "failed" | "failed_and_disabled"> {
  const now = sys.clock();
  return sys.db.transaction(async (tx) => {
    // Its endpoint may have been removed meanwhile (the notification with it): nothing to record.
    const [still] = await queryRows<{ id: string }>(
      tx,
      sql`select id from notifications where id = ${n.id} for update`,
    );
    if (!still) return outcome.ok ? "delivered" : "failed";
    await tx.execute(sql`insert into notification_attempts
      (notification_id, endpoint_id, attempt, started_at, duration_ms, http_status, ok, error)
      values (${n.id}, ${n.endpoint_id}, ${n.attempts}, ${ts(startedAt)}, ${outcome.durationMs},
              ${outcome.httpStatus}, ${outcome.ok}, ${outcome.error})`);
    if (outcome.ok) {
      await tx.execute(sql`update notifications
        set state = 'delivered', delivered_at = ${ts(now)}, lease_until = null, last_error = null
        where id = ${n.id} and state = 'pending'`);
      await tx.execute(sql`update notification_endpoints set consecutive_failures = 0
        where id = ${n.endpoint_id} and consecutive_failures <> 0`);
      return "delivered";
    }
    const next = new Date(now.getTime() + retryDelayMs(n.attempts, random()));
    if (next <= asDate(n.retry_until)) {
      await tx.execute(sql`update notifications
        set next_attempt_at = ${ts(next)}, lease_until = null, last_error = ${outcome.error}
        where id = ${n.id} and state = 'pending' and lease_until = ${ts(leaseUntil)}`);
      return "retried";
    }
    const ended = await queryRows<{ id: string }>(
      tx,
      sql`update notifications set state = 'failed', lease_until = null, last_error = ${outcome.error}
          where id = ${n.id} and state = 'pending' and lease_until = ${ts(leaseUntil)} returning id`,
    );
    if (!ended.length) return "retried";
    const [endpoint] = await queryRows<{ consecutive_failures: number; disabled: boolean }>(
      tx,
      sql`update notification_endpoints set consecutive_failures = consecutive_failures + 1
          where id = ${n.endpoint_id}
          returning consecutive_failures, disabled_at is not null as disabled`,
    );
    if (
      !endpoint ||
      endpoint.disabled ||
      endpoint.consecutive_failures < DISABLE_AFTER_FAILED_NOTIFICATIONS
    ) {
      return "failed";
    }
    const reason = `${endpoint.consecutive_failures} notifications in a row failed after 24 h of retries; last error: ${outcome.error ?? "unknown"}`;
    await tx.execute(sql`update notification_endpoints
      set disabled_at = ${ts(now)}, disabled_reason = ${reason}
      where id = ${n.endpoint_id}`);
    await tx.execute(sql`update notifications
      set state = 'failed', lease_until = null, last_error = 'the endpoint was disabled'
      where endpoint_id = ${n.endpoint_id} and state = 'pending'`);
    return "failed_and_disabled";
  });
}
