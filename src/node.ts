/**
 * The Node entry: `npm start`. Reads the environment, opens the database (PGlite under DATA_DIR
 * when DATABASE_URL is unset, migrated and seeded once), serves the API on PORT.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { openDatabase, pendingMigrations } from "../db/client.js";
import { hashKey } from "../db/keys.js";
import { PortInUseError } from "../iot/broker.js";
import { createCommandCounters } from "../iot/command-counters.js";
import { startDeadLetterRetention } from "../iot/dead-letter-retention.js";
import {
  EVENT_PARTITION_UPKEEP_INTERVAL_MS,
  eventRetentionOf,
  runEventPartitionUpkeep,
} from "../iot/event-partitions.js";
import { commitDeadlineMs, POSTGRES_WRITER_PARTITIONS, startIngestRuntime } from "../iot/runtime.js";
import { createApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { preparePrivateDataDir } from "./data-dir.js";
import { describeDemo, seedDemoOnce } from "./demo/seed.js";
import { startHttpServer } from "./http-server.js";
import { createLogger } from "./logger.js";
import { startPeriodicJob } from "./periodic-job.js";
import { rateLimitsOf } from "./rate-limit.js";
import { startArrearsSweep } from "./services/fees/arrears.js";
import { runIdempotencyRetention } from "./services/idempotency.js";
import { createIncidentFeedHub } from "./services/incidents/feed-hub.js";
import { NOTIFICATION_CAUSES_INTERVAL_MS, runNotificationCauses } from "./services/notifications/causes.js";
import { startNotificationDelivery } from "./services/notifications/jobs.js";
import { runPortalUpkeep } from "./services/people.js";
import { commandStore } from "./services/sensors/command-delivery.js";
import { runCommandExpiry } from "./services/sensors/commands.js";
import { createSnapshots, runSnapshotRetention } from "./services/snapshots/snapshots.js";
import { snapshotStoreOf } from "./services/snapshots/store.js";

const SWAGGER_DIST = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

async function main() {
  const config = loadConfig(process.env);
  const logger = createLogger(config.LOG_LEVEL);
  const embedded = !config.DATABASE_URL;
  if (embedded) await preparePrivateDataDir(config.DATA_DIR);
  const database = await openDatabase(
    config.DATABASE_URL
      ? { url: config.DATABASE_URL, statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS }
      : { dataDir: join(config.DATA_DIR, "pglite") },
  );
  if (embedded) {
    // The embedded default is a developer's sandbox: migrate and seed it without being asked.
    await database.migrate();
  } else {
    const pending = await pendingMigrations(database);
    if (pending > 0) {
      throw new ConfigError(
        `the database at DATABASE_URL has ${pending} pending migration(s): run \`npm run db:migrate\` first`,
      );
    }
  }

  // MQTT ingest: the consumer on MQTT_URL, or the embedded broker on MQTT_PORT. Before the demo
  // seed, so that a taken port stops start-up before anything is written or printed.
  const ingest = await startIngestRuntime({
    config,
    db: database.db,
    logger,
    writerPartitions: embedded ? 1 : POSTGRES_WRITER_PARTITIONS,
    commandStore: commandStore(database.db, () => new Date()),
    ...(embedded ? {} : { commitTimeoutMs: commitDeadlineMs(config.DATABASE_STATEMENT_TIMEOUT_MS) }),
  }).catch((err: unknown) => {
    throw err instanceof PortInUseError ? new ConfigError(err.message) : err;
  });

  if (embedded) {
    const demo = await seedDemoOnce(database.db, {
      keysFile: join(config.DATA_DIR, "demo-keys.json"),
      logger,
    });
    console.log(describeDemo(demo, config.DATA_DIR, config.PORT));
  }

  // One poller of the change log for every live feed stream of the process (Workers poll per stream).
  const incidentFeedHub = createIncidentFeedHub({ db: database.db, logger });
  // Device commands of this process for /metrics, one set: issued (the app), sent and answered
  // (the runtime's dispatcher), expired (the job below).
  const commandCounters = ingest.commands?.counters ?? createCommandCounters();
  // E-bike snapshots: PostgreSQL, or the S3-compatible bucket of SNAPSHOT_STORE=s3.
  const snapshots = createSnapshots(snapshotStoreOf(config));
  // Request rate limits of this process (unset with RATE_LIMITS=false).
  const rateLimits = rateLimitsOf(config);
  const app = createApp({
    db: database.db,
    logger,
    clock: () => new Date(),
    ingest: ingest.ingest,
    devices: ingest.devices,
    readiness: ingest.readiness,
    ...(ingest.commands ? { commandDispatcher: ingest.commands } : {}),
    sensorHeartbeatS: config.SENSOR_HEARTBEAT_S,
    feedMaxMs: config.FEED_MAX_S * 1000,
    incidentFeedHub,
    feedStreamsPerKey: config.FEED_STREAMS_PER_KEY,
    feedStreamsMax: config.FEED_STREAMS_MAX,
    feedRecheckMs: config.FEED_RECHECK_S * 1000,
    deviceCommandTtlS: config.DEVICE_COMMAND_TTL_S,
    deviceBlockingOffMaxH: config.DEVICE_BLOCKING_OFF_MAX_H,
    commandCounters,
    snapshots,
    ...(rateLimits ? { rateLimits } : {}),
    trustedProxies: config.HTTP_TRUSTED_PROXIES,
    ...(config.CORS_ORIGINS ? { corsOrigins: config.CORS_ORIGINS } : {}),
    ...(config.ADMIN_TOKEN ? { adminTokenHash: hashKey(config.ADMIN_TOKEN) } : {}),
    readDocsAsset: (file) => readFile(join(SWAGGER_DIST, file), "utf8").catch(() => null),
  });
  // Suspends subscriptions whose grace ran out (hourly; one idempotent UPDATE, safe on many instances).
  const arrears = startArrearsSweep({ db: database.db, clock: () => new Date(), logger });
  // Deletes dead letters past DEAD_LETTER_RETENTION_DAYS (hourly, in batches; safe on many instances).
  const deadLetterRetention = startDeadLetterRetention({
    db: database.db,
    clock: () => new Date(),
    logger,
    retentionDays: config.DEAD_LETTER_RETENTION_DAYS,
  });
  // sensor_events' partitions: made ahead, dropped past SENSOR_HEARTBEAT_RETENTION_DAYS and the
  // evidence's retention (hourly; an advisory lock lets one instance at a time do it).
  const eventPartitions = startPeriodicJob({
    name: "sensor event partitions",
    logger,
    intervalMs: EVENT_PARTITION_UPKEEP_INTERVAL_MS,
    run: () =>
      runEventPartitionUpkeep({
        db: database.db,
        clock: () => new Date(),
        logger,
        retention: eventRetentionOf(config),
      }),
  });
  // Old sign-in attempts and long-ended sessions (hourly; idempotent deletes, safe on many instances).
  const portalUpkeep = startPeriodicJob({
    name: "portal upkeep",
    logger,
    intervalMs: 60 * 60 * 1000,
    run: () => runPortalUpkeep({ db: database.db, clock: () => new Date() }),
  });
  // Idempotency-Key answers past their 24 h (hourly; one idempotent delete, safe on many instances).
  const idempotencyRetention = startPeriodicJob({
    name: "idempotency key retention",
    logger,
    intervalMs: 60 * 60 * 1000,
    run: () => runIdempotencyRetention({ db: database.db, clock: () => new Date() }),
  });
  // Commands no device answered in time expire, with their command_failed cause (every 5 s; rows
  // another instance is expiring are skipped, so several instances may run it).
  const commandExpiry = startPeriodicJob({
    name: "device command expiry",
    logger,
    intervalMs: 5_000,
    run: () => runCommandExpiry({ db: database.db, clock: () => new Date(), counters: commandCounters }),
  });
  // Fans out notification causes and delivers what is due (every second; leases make it safe on many instances).
  const notificationDelivery = startNotificationDelivery({
    db: database.db,
    clock: () => new Date(),
    logger,
  });
  // Snapshots past SNAPSHOT_RETENTION_DAYS, rows then objects (hourly; skip locked, safe on many instances).
  const snapshotRetention = startPeriodicJob({
    name: "snapshot retention",
    logger,
    intervalMs: 60 * 60 * 1000,
    run: () =>
      runSnapshotRetention({
        db: database.db,
        clock: () => new Date(),
        store: snapshots.store,
        retentionDays: config.SNAPSHOT_RETENTION_DAYS,
      }),
  });
  // Escalation steps, transfer reminders and the daily digest (idempotent by dedupe keys, safe on many instances).
  const notificationCauses = startPeriodicJob({
    name: "notification causes",
    logger,
    intervalMs: NOTIFICATION_CAUSES_INTERVAL_MS,
    run: () => runNotificationCauses({ db: database.db, clock: () => new Date(), logger }),
  });
  if (!config.ADMIN_TOKEN)
    logger.warn(
      "ADMIN_TOKEN is not set: the platform-admin routes (districts, streets, street offices) are closed",
    );

  const { server } = await startHttpServer({
    fetch: app.fetch,
    port: config.PORT,
    limits: {
      headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_S * 1000,
      requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_S * 1000,
      maxConnections: config.HTTP_MAX_CONNECTIONS,
    },
  }).catch((err: NodeJS.ErrnoException) => {
    throw err.code === "EADDRINUSE"
      ? new ConfigError(`port ${config.PORT} is taken: set PORT to a free port`)
      : err;
  });
  logger.info(
    { port: config.PORT, database: database.kind },
    `API on http://localhost:${config.PORT} (docs: /docs)`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    server.close();
    await incidentFeedHub.close();
    arrears.stop();
    await deadLetterRetention.stop();
    await eventPartitions.stop();
    await portalUpkeep.stop();
    await idempotencyRetention.stop();
    await commandExpiry.stop();
    await notificationDelivery.stop();
    await snapshotRetention.stop();
    await notificationCauses.stop();
    await ingest.close();
    await database.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
  } else {
    console.error("start-up failed:", err instanceof Error ? err.message : err);
  }
  process.exit(1);
});
