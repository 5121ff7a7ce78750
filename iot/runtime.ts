/**
 * The ingest side of a Node process: the group-commit writer, and either the MQTT.js consumer
 * (MQTT_URL set: a real broker, whose device logins the app administers through Mosquitto's
 * dynamic-security plugin, iot/dynsec-admin.ts, unless SENSOR_LOGINS=database says the broker reads
 * them from the database) or the embedded aedes broker (MQTT_URL unset), and the offline
 * sweeper (iot/sweeper.ts; every instance runs one, they are safe together), and, given a command
 * store, the command dispatcher (iot/command-dispatcher.ts) on the same broker. src/node.ts
 * starts it next to the API; the API's HTTP ingest route writes through the same ingest.
 */
import type { Logger } from "pino";
import { watchdogTimeoutMs } from "../db/client.js";
import type { Database } from "../db/database.js";
import { CONNECT_TIMEOUT_S } from "../db/postgres.js";
import { type EmbeddedBroker, startEmbeddedBroker } from "./broker.js";
import {
  type CommandDispatcher,
  type CommandPublisher,
  type CommandStore,
  mqttCommandPublisher,
  startCommandDispatcher,
} from "./command-dispatcher.js";
import { type Consumer, startConsumer } from "./consumer.js";
import { BrokerUnavailableError, type DeviceBroker } from "./device-broker.js";
import { type DynsecAdmin, startDynsecAdmin } from "./dynsec-admin.js";
import { eventRetentionOf } from "./event-partitions.js";
import { createIngest, type Ingest, ingestLimitsOf } from "./ingest.js";
import { type SweeperOptions, startSweeper } from "./sweeper.js";
import { createWriter } from "./writer.js";

export interface IngestRuntimeConfig {
  MQTT_URL?: string;
  MQTT_PORT: number;
  MQTT_USERNAME?: string;
  MQTT_PASSWORD?: string;
  MQTT_CLIENT_ID: string;
  MQTT_CONSUMERS: number;
  /**
   * With MQTT_URL: `database` when the broker reads the sensors table itself (EMQX with
   * deploy/emqx/emqx.conf), so the app tells it nothing; else (the default) Mosquitto's
   * dynamic-security plugin, which the app administers.
   */
  SENSOR_LOGINS?: "database" | "mosquitto";
  /** See src/config.ts; plain subscription (one connection) when absent. */
  MQTT_SHARED?: boolean;
  /** See src/config.ts; MQTT.js's consumer default (30) when absent. */
  MQTT_KEEPALIVE_S?: number;
  /** The embedded broker's limits, see src/config.ts; DEFAULT_BROKER_LIMITS (iot/broker.ts) when absent. */
  MQTT_MAX_PACKET_BYTES?: number;
  MQTT_MAX_CONNECT_BYTES?: number;
  MQTT_MAX_CONNECTIONS?: number;
  MQTT_MAX_CONNECTIONS_PER_ADDRESS?: number;
  MQTT_CONNECT_TIMEOUT_S?: number;
  /** See src/config.ts; iot/ingest.ts DEFAULT_INGEST_LIMITS when absent. */
  INGEST_SENSOR_RATE_PER_S?: number;
  INGEST_SENSOR_BURST?: number;
  DEAD_LETTERS_PER_SENSOR_PER_DAY?: number;
  /** See src/config.ts; iot/event-partitions.ts DEFAULT_EVENT_RETENTION when absent. */
  SENSOR_HEARTBEAT_RETENTION_DAYS?: number;
  EVENT_EVIDENCE_MARGIN_DAYS?: number;
}

/**
 * The writer's partitions on PostgreSQL (iot/writer.ts): two batches in flight, so this process
 * and the database work at the same time. PGlite is one session on this thread: one.
 */
export const POSTGRES_WRITER_PARTITIONS = 2;

/**
 * How long one commit of the ingest may take before the writer gives it up and retries
 * (iot/writer.ts attemptTimeoutMs): its three round trips, each bounded by the statement timeout
 * and the socket watchdog's margin (db/client.ts), and a connect time-out.
 */
export const commitDeadlineMs = (statementTimeoutMs: number) =>
  3 * watchdogTimeoutMs(statementTimeoutMs) + CONNECT_TIMEOUT_S * 1000;

export interface IngestRuntime {
  /** For AppDeps.ingest: the HTTP route's ingest; invalidation also drops broker connections. */
  ingest: Ingest;
  /** For AppDeps.devices: tells the broker about sensors' logins; counts refused logins. */
  devices: DeviceBroker;
  /** For AppDeps.readiness: the broker connection (or listener) and the writer's database state. */
  readiness: () => Promise<Record<string, { ok: boolean; reason?: string }>>;
  /** For AppDeps.commandDispatcher and /metrics: set when a command store was given. */
  commands?: CommandDispatcher;
  close(): Promise<void>;
}

export async function startIngestRuntime(opts: {
  config: IngestRuntimeConfig;
  db: Database;
  logger: Logger;
  clock?: () => Date;
  /** The offline sweeper's period (default 5 s) and, for tests sharing a database, its scope. */
  sweeper?: Pick<SweeperOptions, "intervalMs" | "scope">;
  /** See POSTGRES_WRITER_PARTITIONS; default 1 (PGlite). */
  writerPartitions?: number;
  /** See commitDeadlineMs; PostgreSQL only (PGlite runs in this process). Default: none. */
  commitTimeoutMs?: number;
  /** Device commands (src/services/sensors/command-delivery.ts `commandStore`); unset: none sent. */
  commandStore?: CommandStore;
  /** The command dispatcher's poll period (default 1 s). */
  commandIntervalMs?: number;
}): Promise<IngestRuntime> {
  const { config, db, clock = () => new Date() } = opts;
  const logger = opts.logger.child({ component: "ingest" });
  const ingest = createIngest({
    db,
    logger,
    clock,
    limits: ingestLimitsOf(config),
    retention: eventRetentionOf(config),
  });
  const writer = createWriter({
    ingestBatch: ingest.ingestBatch,
    logger,
    // Start a batch on a timer, not on the first message: every message read from the sockets in
    // this turn of the event loop joins it. With PGlite (WASM on this thread, a commit never
    // yields to I/O) lingerMs 0 made every batch one message long: ~100 events/s instead of ~1000s.
    lingerMs: 1,
    partitions: opts.writerPartitions ?? 1,
    attemptTimeoutMs: opts.commitTimeoutMs ?? 0,
    onHealthy: (healthy) =>
      healthy
        ? logger.info("ingest: database back, committing again")
        : logger.warn("ingest: database failing"),
  });
  const credentials =
    config.MQTT_USERNAME && config.MQTT_PASSWORD
      ? { username: config.MQTT_USERNAME, password: config.MQTT_PASSWORD }
      : undefined;

  // The broker hands answers to the dispatcher, which is made after the broker (it publishes on it).
  let commands: CommandDispatcher | null = null;
  const commandResults = opts.commandStore
    ? (topic: string, payload: Uint8Array) =>
        commands ? commands.handleResult(topic, payload) : Promise.resolve()
    : undefined;
  let consumer: Consumer | null = null;
  let broker: EmbeddedBroker | null = null;
  let admin: DynsecAdmin | null = null;
  const brokerReadsDatabase = config.SENSOR_LOGINS === "database";
  if (config.MQTT_URL) {
    if (brokerReadsDatabase) {
      logger.info(
        "SENSOR_LOGINS=database: the broker reads sensors' logins from the database; nothing to tell it",
      );
    } else if (!credentials) {
      logger.warn(
        "MQTT_USERNAME/MQTT_PASSWORD unset: sensors' logins on the broker are not kept in step (registering, rotating and revoking answer 503)",
      );
    } else {
      admin = startDynsecAdmin({
        url: config.MQTT_URL,
        ...credentials,
        clientId: `${config.MQTT_CLIENT_ID}-admin`,
        db,
        logger,
      });
    }
    consumer = startConsumer({
      url: config.MQTT_URL,
      writer,
      logger,
      clientIdPrefix: config.MQTT_CLIENT_ID,
      connections: config.MQTT_CONSUMERS,
      shared: config.MQTT_SHARED === true,
      ...(config.MQTT_KEEPALIVE_S ? { keepaliveSeconds: config.MQTT_KEEPALIVE_S } : {}),
      clock,
      ...(credentials ?? {}),
      ...(commandResults ? { commandResults } : {}),
    });
  } else {
    broker = await startEmbeddedBroker({
      db,
      writer,
      logger,
      port: config.MQTT_PORT,
      clock,
      ...(credentials ? { internal: credentials } : {}),
      ...(commandResults ? { commandResults } : {}),
      limits: {
        ...(config.MQTT_MAX_PACKET_BYTES ? { maxPacketBytes: config.MQTT_MAX_PACKET_BYTES } : {}),
        ...(config.MQTT_MAX_CONNECT_BYTES ? { maxConnectBytes: config.MQTT_MAX_CONNECT_BYTES } : {}),
        ...(config.MQTT_MAX_CONNECTIONS ? { maxConnections: config.MQTT_MAX_CONNECTIONS } : {}),
        ...(config.MQTT_MAX_CONNECTIONS_PER_ADDRESS
          ? { maxConnectionsPerAddress: config.MQTT_MAX_CONNECTIONS_PER_ADDRESS }
          : {}),
        ...(config.MQTT_CONNECT_TIMEOUT_S ? { connectTimeoutMs: config.MQTT_CONNECT_TIMEOUT_S * 1000 } : {}),
      },
    });
  }

  const sweeper = startSweeper({ db, logger, clock, ...opts.sweeper });

  if (opts.commandStore) {
    const embeddedBroker = broker;
    const publisher: CommandPublisher = embeddedBroker
      ? {
          get connected() {
            return embeddedBroker.listening;
          },
          publish: (topic, payload) => embeddedBroker.publish(topic, payload),
          close: async () => {},
        }
      : mqttCommandPublisher({
          url: config.MQTT_URL ?? "",
          ...(credentials ?? {}),
          clientId: `${config.MQTT_CLIENT_ID}-commands`,
          logger,
        });
    commands = startCommandDispatcher({
      store: opts.commandStore,
      publisher,
      logger,
      ...(opts.commandIntervalMs ? { intervalMs: opts.commandIntervalMs } : {}),
    });
  }

  const noBroker = async () => {
    throw new BrokerUnavailableError("no broker admin: set MQTT_USERNAME and MQTT_PASSWORD");
  };
  const embedded = async () => {};
  // The embedded broker, and EMQX with SENSOR_LOGINS=database, read the database at each login
  // (the embedded broker's connections are dropped by invalidateSensor; EMQX's stay until they
  // reconnect, docs/SCALING.md).
  const readsDatabase = broker !== null || brokerReadsDatabase;
  const devices: DeviceBroker = admin ?? {
    addSensor: readsDatabase ? embedded : noBroker,
    setSensorKey: readsDatabase ? embedded : noBroker,
    disableSensor: readsDatabase ? embedded : noBroker,
    refusedConnects: broker?.refusedConnects ?? {},
    droppedConnections: broker?.droppedConnections ?? {},
  };

  return {
    ingest: {
      ingestBatch: ingest.ingestBatch,
      invalidateSensor: (id) => {
        ingest.invalidateSensor(id);
        broker?.disconnectSensor(id);
      },
      counters: ingest.counters,
    },
    devices,
    ...(commands ? { commands } : {}),
    readiness: async () => ({
      mqtt: (consumer ? consumer.connected : (broker?.listening ?? false))
        ? { ok: true }
        : {
            ok: false,
            reason: consumer
              ? `not connected to the broker: ${consumer.problem}`
              : "the embedded broker is not listening",
          },
      ...(config.MQTT_URL && !brokerReadsDatabase
        ? {
            brokerAdmin: admin?.connected
              ? { ok: true }
              : {
                  ok: false,
                  reason: "the broker's device admin is not connected: sensor logins cannot change",
                },
          }
        : {}),
      ingest: writer.healthy
        ? { ok: true }
        : { ok: false, reason: "commits are failing; nothing is acknowledged meanwhile" },
    }),
    async close() {
      // Connections first (nothing more arrives), then the writer (it finishes its commit).
      await sweeper.stop();
      await consumer?.close();
      await commands?.close();
      await admin?.close();
      await broker?.close();
      await writer.close();
    },
  };
}
