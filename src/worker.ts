/**
 * The Cloudflare Workers entry (wrangler.toml). The app is built once per isolate from the same
 * factory as the Node entry; only the database client is per request (Workers may not share I/O
 * between requests; Hyperdrive pools the real connections) and reaches the app in the request's
 * bindings. Sensors reach this deployment over the HTTP ingest route; the MQTT consumer runs on
 * Node. The cron trigger runs the scheduled work (src/scheduled.ts).
 */
import type { ExecutionContext } from "hono";
import type { Logger } from "pino";
import { hashKey } from "../db/keys.js";
import {
  type ArrayTypes,
  arrayTypesOf,
  drizzleOverPostgres,
  lendArrayTypes,
  openPostgres,
} from "../db/postgres.js";
import { brokerOfTheNodeProcess } from "../iot/device-broker.js";
import { type EventRetention, eventRetentionOf } from "../iot/event-partitions.js";
import { ingestLimitsOf } from "../iot/ingest.js";
import { createApp } from "./app.js";
import { loadConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { rateLimitsOf } from "./rate-limit.js";
import { runScheduled } from "./scheduled.js";
import { createSnapshots, type Snapshots } from "./services/snapshots/snapshots.js";
import { type R2BucketBinding, snapshotStoreOf } from "./services/snapshots/store.js";

export interface Env {
  HYPERDRIVE: { connectionString: string };
  /** swagger-ui-dist, served as static assets (wrangler.toml [assets]). */
  ASSETS: { fetch: (request: Request) => Promise<Response> };
  /** A secret: `wrangler secret put ADMIN_TOKEN`. */
  ADMIN_TOKEN?: string;
  LOG_LEVEL?: string;
  SENSOR_HEARTBEAT_S?: string;
  SENSOR_LOGINS?: string;
  FEED_MAX_S?: string;
  FEED_STREAMS_PER_KEY?: string;
  FEED_STREAMS_MAX?: string;
  FEED_RECHECK_S?: string;
  INGEST_SENSOR_RATE_PER_S?: string;
  INGEST_SENSOR_BURST?: string;
  DEAD_LETTERS_PER_SENSOR_PER_DAY?: string;
  DEAD_LETTER_RETENTION_DAYS?: string;
  SENSOR_HEARTBEAT_RETENTION_DAYS?: string;
  EVENT_EVIDENCE_MARGIN_DAYS?: string;
  DEVICE_COMMAND_TTL_S?: string;
  DEVICE_BLOCKING_OFF_MAX_H?: string;
  RATE_LIMITS?: string;
  RATE_LIMIT_KEY_PER_MIN?: string;
  RATE_LIMIT_ADDRESS_PER_MIN?: string;
  RATE_LIMIT_FORM_PER_MIN?: string;
  CORS_ORIGINS?: string;
  /** An R2 bucket for e-bike snapshots (wrangler.toml [[r2_buckets]]): used when bound. */
  SNAPSHOTS?: R2BucketBinding;
  SNAPSHOT_STORE?: string;
  SNAPSHOT_RETENTION_DAYS?: string;
  S3_ENDPOINT?: string;
  S3_BUCKET?: string;
  S3_REGION?: string;
  /** Secrets: `wrangler secret put S3_ACCESS_KEY_ID` (and S3_SECRET_ACCESS_KEY). */
  S3_ACCESS_KEY_ID?: string;
  S3_SECRET_ACCESS_KEY?: string;
}

interface ScheduledController {
  cron: string;
}

/**
 * Connections of one request's client. A Worker may hold six connections at once; the app's
 * statements of one request run one after another or inside one transaction.
 */
const REQUEST_CONNECTIONS = 5;
/** How long closing a request's client waits for its queries before it drops them. */
const CLOSE_TIMEOUT_S = 5;

interface Isolate {
  logger: Logger;
  app: ReturnType<typeof createApp>;
  deadLetterRetentionDays: number;
  eventRetention: EventRetention;
  snapshots: Snapshots;
  snapshotRetentionDays: number;
}

let isolate: Isolate | undefined;

/** The app and its caches, built on the first event of this isolate (bindings are fixed per isolate). */
function isolateOf(env: Env): Isolate {
  if (isolate) return isolate;
  const config = loadConfig({
    ADMIN_TOKEN: env.ADMIN_TOKEN,
    LOG_LEVEL: env.LOG_LEVEL,
    SENSOR_HEARTBEAT_S: env.SENSOR_HEARTBEAT_S,
    SENSOR_LOGINS: env.SENSOR_LOGINS,
    FEED_MAX_S: env.FEED_MAX_S,
    FEED_STREAMS_PER_KEY: env.FEED_STREAMS_PER_KEY,
    FEED_STREAMS_MAX: env.FEED_STREAMS_MAX,
    FEED_RECHECK_S: env.FEED_RECHECK_S,
    INGEST_SENSOR_RATE_PER_S: env.INGEST_SENSOR_RATE_PER_S,
    INGEST_SENSOR_BURST: env.INGEST_SENSOR_BURST,
    DEAD_LETTERS_PER_SENSOR_PER_DAY: env.DEAD_LETTERS_PER_SENSOR_PER_DAY,
    DEAD_LETTER_RETENTION_DAYS: env.DEAD_LETTER_RETENTION_DAYS,
    SENSOR_HEARTBEAT_RETENTION_DAYS: env.SENSOR_HEARTBEAT_RETENTION_DAYS,
    EVENT_EVIDENCE_MARGIN_DAYS: env.EVENT_EVIDENCE_MARGIN_DAYS,
    DEVICE_COMMAND_TTL_S: env.DEVICE_COMMAND_TTL_S,
    DEVICE_BLOCKING_OFF_MAX_H: env.DEVICE_BLOCKING_OFF_MAX_H,
    RATE_LIMITS: env.RATE_LIMITS,
    RATE_LIMIT_KEY_PER_MIN: env.RATE_LIMIT_KEY_PER_MIN,
    RATE_LIMIT_ADDRESS_PER_MIN: env.RATE_LIMIT_ADDRESS_PER_MIN,
    RATE_LIMIT_FORM_PER_MIN: env.RATE_LIMIT_FORM_PER_MIN,
    CORS_ORIGINS: env.CORS_ORIGINS,
    SNAPSHOT_STORE: env.SNAPSHOT_STORE,
    SNAPSHOT_RETENTION_DAYS: env.SNAPSHOT_RETENTION_DAYS,
    S3_ENDPOINT: env.S3_ENDPOINT,
    S3_BUCKET: env.S3_BUCKET,
    S3_REGION: env.S3_REGION,
    S3_ACCESS_KEY_ID: env.S3_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY: env.S3_SECRET_ACCESS_KEY,
  });
  const logger = createLogger(config.LOG_LEVEL);
  const eventRetention = eventRetentionOf(config);
  // The R2 binding when bound, else SNAPSHOT_STORE (an S3 bucket over fetch, or PostgreSQL).
  const snapshots = createSnapshots(snapshotStoreOf(config, env.SNAPSHOTS));
  // Per isolate: Cloudflare runs many, so the limits hold per isolate (docs/api.md, "Rate limits").
  const rateLimits = rateLimitsOf(config);
  const app = createApp({
    logger,
    clock: () => new Date(),
    sensorHeartbeatS: config.SENSOR_HEARTBEAT_S,
    feedMaxMs: config.FEED_MAX_S * 1000,
    feedStreamsPerKey: config.FEED_STREAMS_PER_KEY,
    feedStreamsMax: config.FEED_STREAMS_MAX,
    feedRecheckMs: config.FEED_RECHECK_S * 1000,
    deviceCommandTtlS: config.DEVICE_COMMAND_TTL_S,
    deviceBlockingOffMaxH: config.DEVICE_BLOCKING_OFF_MAX_H,
    ingestLimits: ingestLimitsOf(config),
    eventRetention,
    snapshots,
    ...(rateLimits ? { rateLimits } : {}),
    ...(config.CORS_ORIGINS ? { corsOrigins: config.CORS_ORIGINS } : {}),
    ...(config.SENSOR_LOGINS === "mosquitto" ? { devices: brokerOfTheNodeProcess } : {}),
    ...(config.ADMIN_TOKEN ? { adminTokenHash: hashKey(config.ADMIN_TOKEN) } : {}),
    readDocsAsset: async (file) => {
      // The assets binding serves by path; the host is not looked at.
      const res = await env.ASSETS.fetch(new Request(`https://assets.invalid/${file}`));
      return res.ok ? res.text() : null;
    },
  });
  isolate = {
    logger,
    app,
    deadLetterRetentionDays: config.DEAD_LETTER_RETENTION_DAYS,
    eventRetention,
    snapshots,
    snapshotRetentionDays: config.SNAPSHOT_RETENTION_DAYS,
  };
  return isolate;
}

/** Array types the isolate's first connected client learned, lent to the later ones. */
let arrayTypes: ArrayTypes | null = null;

/** The request's own client; Hyperdrive's connection string, with no session settings of ours. */
function requestDatabase(env: Env) {
  const client = openPostgres(env.HYPERDRIVE.connectionString, {
    max: REQUEST_CONNECTIONS,
    fetch_types: arrayTypes === null,
  });
  if (arrayTypes) lendArrayTypes(client, arrayTypes);
  return {
    db: drizzleOverPostgres(client),
    close: () => {
      arrayTypes ??= arrayTypesOf(client);
      return client.end({ timeout: CLOSE_TIMEOUT_S });
    },
  };
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const { app } = isolateOf(env);
    const database = requestDatabase(env);
    // What the app asks to finish before the client may close (the live feed's stream).
    const holds: Promise<unknown>[] = [];
    const requestCtx: ExecutionContext = {
      waitUntil: (promise) => {
        holds.push(promise);
        ctx.waitUntil(promise);
      },
      passThroughOnException: () => ctx.passThroughOnException(),
      props: ctx.props,
    };
    try {
      return await app.fetch(request, { db: database.db }, requestCtx);
    } finally {
      ctx.waitUntil(Promise.allSettled(holds).then(database.close));
    }
  },

  async scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    const { logger, deadLetterRetentionDays, eventRetention, snapshots, snapshotRetentionDays } =
      isolateOf(env);
    const database = requestDatabase(env);
    try {
      await runScheduled(controller.cron, {
        db: database.db,
        clock: () => new Date(),
        logger,
        deadLetterRetentionDays,
        eventRetention,
        snapshotStore: snapshots.store,
        snapshotRetentionDays,
      });
    } catch (err) {
      logger.error({ err, cron: controller.cron }, "scheduled work failed; the next trigger runs it again");
      throw err;
    } finally {
      ctx.waitUntil(database.close());
    }
  },
};
