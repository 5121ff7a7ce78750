import type { Context, Env } from "hono";
import type { Logger } from "pino";
import type { FailedLogins } from "../contracts/login-throttle.js";
import type { Database } from "../db/database.js";
import type { CommandCounters } from "../iot/command-counters.js";
import type { DeviceBroker } from "../iot/device-broker.js";
import type { Ingest } from "../iot/ingest.js";
import type { KeyCache } from "./auth/key-cache.js";
import type { Principal } from "./auth/principal.js";
import type { RateLimits } from "./rate-limit.js";
import type { ServiceContext } from "./services/context.js";
import type { IncidentFeedHub } from "./services/incidents/feed-hub.js";
import type { Snapshots } from "./services/snapshots/snapshots.js";

/** One check of /readyz: whether it passes and, when it does not, why (a short sentence for an operator). */
export interface ReadinessCheck {
  ok: boolean;
  reason?: string;
}

/** What the app is built from: nothing here is a module-level singleton. */
export interface AppDeps {
  /**
   * The database of every request (a Node process's pool). Unset on Workers, where each request
   * brings its own client in the request's bindings (RequestBindings.db).
   */
  db?: Database;
  logger: Logger;
  /** The time source; tests pass a fixed clock. */
  clock: () => Date;
  /** SHA-256 of ADMIN_TOKEN (the platform's bootstrap key), when set. */
  adminTokenHash?: string;
  /** Readiness of parts other than the database (the MQTT consumer, the ingest writer). */
  readiness?: () => Promise<Record<string, ReadinessCheck>>;
  /** Sensor ingest (the HTTP ingest route writes through it, as the MQTT path does). */
  ingest: Ingest;
  /**
   * The broker's side of sensors' logins (iot/device-broker.ts): told inside the registering,
   * rotating and revoking transactions. Unset (tests of the API alone): nothing to tell.
   */
  devices?: DeviceBroker;
  /** Organization keys resolved to principals, cached a few seconds (revoking a key forgets it). */
  keyCache: KeyCache;
  /** Recent refused keys, by address and sensor id: their next refusals are answered slowly. */
  failedLogins: FailedLogins;
  /** Default heartbeat interval of a newly registered sensor (SENSOR_HEARTBEAT_S). */
  sensorHeartbeatS?: number;
  /** How long a followed live feed runs before it ends and the client reconnects (FEED_MAX_S). */
  feedMaxMs?: number;
  /**
   * The live feed's one poller for the whole process (the Node entry makes it). Unset (Workers,
   * where a request may not wait on another's I/O): each stream polls the change log itself.
   */
  incidentFeedHub?: IncidentFeedHub;
  /** Live feed streams one key may hold open at once (FEED_STREAMS_PER_KEY). */
  feedStreamsPerKey?: number;
  /** Live feed streams this process (or Workers isolate) holds open at once (FEED_STREAMS_MAX). */
  feedStreamsMax?: number;
  /** How often an open live feed checks its key and scope again (FEED_RECHECK_S). */
  feedRecheckMs?: number;
  /** Publishes pending device commands; kicked after a command commits (unset: it polls). */
  commandDispatcher?: { kick(): void };
  /** How long a device command waits for the device's answer before it expires (DEVICE_COMMAND_TTL_S). */
  deviceCommandTtlS?: number;
  /** How far ahead a sensor's blocking may be switched off (DEVICE_BLOCKING_OFF_MAX_H). */
  deviceBlockingOffMaxH?: number;
  /** Device commands issued, expired, sent and answered in this process, for /metrics (createApp makes one if unset). */
  commandCounters?: CommandCounters;
  /** Where e-bike snapshots are stored (SNAPSHOT_STORE), and this process's counts of them. */
  snapshots: Snapshots;
  /** Request rate limits (src/rate-limit.ts, RATE_LIMIT_*); unset: nothing is limited. */
  rateLimits?: RateLimits;
  /** Proxies in front of the Node server whose X-Forwarded-For is believed (HTTP_TRUSTED_PROXIES). */
  trustedProxies?: number;
}

/**
 * What a request of the API was let in with: an organization's bearer key (its SHA-256, never the
 * key) or, for a GET or HEAD from a signed-in person's browser, the portal's session (its token,
 * as the request's cookie carries it; kept for the request's life only).
 */
export type Credential = { kind: "key"; hash: string } | { kind: "session"; token: string };

/**
 * What an entry point passes with each request (Hono's `c.env`, the second argument of
 * `app.fetch`). On Workers: the request's own database client.
 */
export interface RequestBindings {
  db?: Database;
}

export interface AppEnv {
  Bindings: RequestBindings;
  Variables: {
    deps: AppDeps;
    /** The database of this request: the request's own client (Workers) or the process's pool. */
    db: Database;
    logger: Logger;
    requestId: string;
    principal: Principal;
    /** What the request was let in with: an open stream checks it again while it lasts. */
    credential: Credential;
  };
}

/**
 * Keeps what the request holds (on Workers, its database client) until `done` settles, for work
 * that outlives the handler's return, such as a streamed body. The Workers entry closes the
 * request's client only after every promise given to `waitUntil`; a Node process has nothing to
 * release (its pool outlives every request), and Hono has no execution context there.
 */
export function holdRequestUntil(c: Context<AppEnv>, done: Promise<unknown>): void {
  let ctx: Context<AppEnv>["executionCtx"] | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    return; // Node: no execution context
  }
  ctx.waitUntil(done);
}

/**
 * The remote address of the request: on Node the socket's (never a header a client could forge),
 * or, behind HTTP_TRUSTED_PROXIES proxies, the address the outermost of them saw, read from the
 * right of X-Forwarded-For (each proxy appends what it saw; what is left of that, the client
 * wrote); Cloudflare's `CF-Connecting-IP` on Workers; "" when there is none (an in-process request).
 */
export function clientAddress<E extends Env>(c: Context<E>): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  if (!incoming) return c.req.header("cf-connecting-ip") ?? "";
  const proxies = (c.var as Partial<AppEnv["Variables"]>).deps?.trustedProxies ?? 0;
  if (proxies > 0) {
    const forwarded = (c.req.header("x-forwarded-for") ?? "").split(",");
    // Fewer entries than proxies (undefined): the request did not come through them all.
    const seen = forwarded[forwarded.length - proxies]?.trim();
    if (seen) return seen;
  }
  return incoming.socket?.remoteAddress ?? "";
}

/** What the application layer (src/services) is given for this request. */
export function serviceContext(c: Context<AppEnv>): ServiceContext {
  return { db: c.var.db, clock: c.var.deps.clock, principal: c.var.principal };
}
