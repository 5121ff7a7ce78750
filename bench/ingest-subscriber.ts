/**
 * The receiving process of bench/ingest.ts, in one of two modes (BENCH_MODE):
 *
 * - `ingest`: the real ingest: iot/ingest.ts (createIngest) behind the group-commit writer
 *   (iot/writer.ts) behind the MQTT.js consumer (iot/consumer.ts), wired with the settings of
 *   iot/runtime.ts (lingerMs 1, the writer's default batch of 1,000, MQTT_CONSUMERS connections
 *   on the shared subscription, persistent sessions, PUBACK only after the commit). The one
 *   addition is a wrapper around `ingestBatch` that notes when each batch committed, so the
 *   benchmark can time publish→commit per event; it does no I/O. The offline sweeper is NOT
 *   started: see bench/ingest.ts (the simulator's device clocks run hundreds of times faster
 *   than the wall clock the sweeper judges silence by).
 * - `noop`: the broker's limit: the same number of MQTT.js v5 connections on the same shared
 *   subscription, QoS 1, the same Receive Maximum, each message acknowledged at once and dropped.
 *
 * Talks JSON lines: stdout `{"ready":true}`, then a report every 100 ms
 * (`{"report":…}`); stdin `{"cmd":"reset"}` (new phase: counters and first/last times from
 * zero), `{"cmd":"record","on":bool}` (note commit times per event), `{"cmd":"dump","file":…}`
 * (write the noted commit times as `sensorId eventId epochMs` lines).
 */
import { writeFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import mqtt, { type MqttClient } from "mqtt";
import pino from "pino";
import { openDatabase } from "../db/client.js";
import { RECEIVE_MAXIMUM, startConsumer } from "../iot/consumer.js";
import { createIngest, DEFAULT_INGEST_LIMITS, type IngestItem } from "../iot/ingest.js";
import { EVENTS_FILTER, parseTopic } from "../iot/protocol.js";
import { POSTGRES_WRITER_PARTITIONS } from "../iot/runtime.js";
import { createWriter } from "../iot/writer.js";
import { NOOP_SHARED_GROUP, onParentLine, say } from "./lib.js";

const mode = process.env.BENCH_MODE;
const url = process.env.MQTT_URL ?? "";
const connections = Number(process.env.MQTT_CONSUMERS ?? 8);
const username = process.env.MQTT_USERNAME ?? "";
const password = process.env.MQTT_PASSWORD ?? "";
const now = () => performance.timeOrigin + performance.now();

interface Phase {
  /** Event messages settled: stored + duplicates + dead letters (ingest), or received (noop). */
  messages: number;
  stored: number;
  duplicates: number;
  deadLetters: number;
  batches: number;
  /** Consumer connections lost (each one makes the broker redeliver what was not acknowledged). */
  reconnects: number;
  /** Milliseconds spent inside ingestBatch (the database work of the batches). */
  busyMs: number;
  firstAt: number;
  lastAt: number;
}
const fresh = (): Phase => ({
  messages: 0,
  stored: 0,
  duplicates: 0,
  deadLetters: 0,
  batches: 0,
  reconnects: 0,
  busyMs: 0,
  firstAt: 0,
  lastAt: 0,
});
let phase = fresh();
let recording = false;
let commits: string[] = [];
let close: () => Promise<void> = async () => {};

const report = () =>
  say({ report: { ...phase, maxRssMb: Math.round(process.resourceUsage().maxRSS / 102.4) / 10 } });

if (mode === "ingest") {
  const database = await openDatabase({ url: process.env.DATABASE_URL ?? "", max: 4 });
  const logger = pino(
    {
      level: process.env.LOG_LEVEL ?? "warn",
      hooks: {
        logMethod(args, method) {
          if (args.some((a) => typeof a === "string" && a.includes("disconnected"))) phase.reconnects += 1;
          method.apply(this, args);
        },
      },
    },
    // The ingest's own log (dead letters are warnings): a file, so the benchmark's output stays a table.
    pino.destination({ dest: process.env.BENCH_LOG_FILE ?? 2, sync: false }),
  );
  // The replay sends hours of each sensor in seconds: no per-sensor rate limit, or it would be
  // measured as dead letters.
  const ingest = createIngest({
    db: database.db,
    logger,
    clock: () => new Date(),
    limits: { ...DEFAULT_INGEST_LIMITS, sensorRate: null },
  });
  const ingestBatch = async (items: readonly IngestItem[]) => {
    const started = now();
    const result = await ingest.ingestBatch(items);
    const committed = now();
    // Event messages settled (status messages, `online` at each sensor's connect, not counted).
    const events = result.stored + result.duplicates + result.rejected.length;
    if (events > 0) {
      if (!phase.firstAt) phase.firstAt = started;
      phase.lastAt = committed;
    }
    phase.busyMs += committed - started;
    phase.batches += 1;
    phase.stored += result.stored;
    phase.duplicates += result.duplicates;
    phase.deadLetters += result.rejected.length;
    phase.messages += events;
    if (recording) {
      const t = committed.toFixed(2);
      result.outcomes.forEach((o, i) => {
        if (o.status !== "stored") return;
        const sensor = parseTopic(items[i]?.topic ?? "")?.sensorId ?? "";
        commits.push(`${sensor} ${o.eventId} ${t}`);
      });
    }
    return result;
  };
  // As iot/runtime.ts wires them on PostgreSQL (lingerMs 1, its partitions; maxBatch the default).
  const writer = createWriter({ ingestBatch, logger, lingerMs: 1, partitions: POSTGRES_WRITER_PARTITIONS });
  const consumer = startConsumer({
    url,
    writer,
    logger,
    clientIdPrefix: process.env.MQTT_CLIENT_ID ?? "bench-ingest",
    connections,
    shared: process.env.MQTT_SHARED === "true",
    username,
    password,
  });
  await consumer.ready(30_000);
  close = async () => {
    await consumer.close();
    await writer.close();
    await database.close();
  };
} else if (mode === "noop") {
  const clients: MqttClient[] = [];
  for (let i = 0; i < connections; i++) {
    const client = await mqtt.connectAsync(url, {
      clientId: `bench-noop-${process.pid}-${i}`,
      clean: true,
      protocolVersion: 5,
      properties: { receiveMaximum: RECEIVE_MAXIMUM },
      reconnectPeriod: 0,
      username,
      password,
    });
    client.on("message", () => {
      const t = now();
      if (!phase.firstAt) phase.firstAt = t;
      phase.lastAt = t;
      phase.messages += 1;
    });
    await client.subscribeAsync(`$share/${NOOP_SHARED_GROUP}/${EVENTS_FILTER}`, { qos: 1 });
    clients.push(client);
  }
  close = async () => {
    await Promise.all(clients.map((c) => c.endAsync()));
  };
} else {
  throw new Error("BENCH_MODE must be ingest or noop");
}

const timer = setInterval(report, 100);
say({ ready: true, pid: process.pid });

onParentLine((line) => {
  switch (line.cmd) {
    case "reset":
      phase = fresh();
      report();
      break;
    case "record":
      recording = line.on === true;
      break;
    case "dump": {
      const lines = commits;
      commits = [];
      void writeFile(String(line.file), lines.length ? `${lines.join("\n")}\n` : "").then(
        () => say({ dumped: lines.length }),
        (err: unknown) => say({ error: String(err) }),
      );
      break;
    }
  }
});

let stopping = false;
process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  void close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
