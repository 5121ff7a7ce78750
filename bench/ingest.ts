/**
 * Ingest benchmark (`npm run bench:ingest`): sensor events through real Mosquitto (the shipped
 * iot/mosquitto.conf) and the real ingest (bench/ingest-subscriber.ts: consumer → group-commit
 * writer → ingest, PUBACK after commit) into a fresh PostgreSQL database. Three processes besides
 * this one: Mosquitto, the publisher (the simulator, bench/ingest-publisher.ts) and the ingest.
 *
 * Phases, one run:
 * A. broker limit: the publisher sends the traffic as fast as it can for --broker-duration s to a
 *    no-op MQTT.js subscriber (same shared subscription, same connections, QoS 1, acknowledged at
 *    once): the messages/s that reach it.
 * B. sustained ingest: the same traffic (same seed, sensors and generator), as fast as the
 *    publisher can, for --duration s (≥ 60 by default) into the ingest. So that the broker's
 *    queue does not grow without bound (and the drain at the end stay short), the publisher
 *    process is paused (SIGSTOP/SIGCONT) while more than --max-backlog messages are published but
 *    not yet committed: the ingest always has a backlog to work on, so it runs saturated for the
 *    whole period. Committed events/s = events stored ÷ (first batch start → last commit).
 * C. latency: other sensors, paced at --latency-rate events/s for --latency-duration s;
 *    publish→commit per event (publish instant noted in the publisher as the payload is handed
 *    to MQTT.js; commit instant noted in the ingest as its batch's transaction returns; both the
 *    same machine's wall clock).
 * After B and C: the count check. The publisher knows exactly which messages the broker
 * acknowledged (publishTraffic); every acknowledged valid event must be in sensor_events once:
 * lost = acknowledged − stored, duplicated = rows beyond one per (sensor, eventId) or beyond
 * what was acknowledged.
 *
 * The offline sweeper is not run. The simulator compresses device time (a 60 s run at 20,000/s
 * over 1,000 sensors replays ~6 hours of each sensor's day, anchored to end "now", see the
 * header of tools/simulator.ts), so early in a run every event's occurredAt is hours old, and
 * the sweeper, which judges silence by the wall clock against last_seen_at, would flip every
 * sensor offline, open a sensor_offline incident per elevator and keep them open (a late event
 * does not bring a sensor back): incidents and lock traffic that real sensors never cause.
 * Besides, the bench's sensors are registered with the longest heartbeat interval allowed
 * (3,600 s). The sweeper's own cost is one set-based statement every 5 s.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { queryRows } from "../db/database.js";
import { generateKey } from "../db/keys.js";
import { seedDemoData } from "../db/seed.js";
import { mosquittoPasswordHash } from "../iot/credentials.js";
import {
  type BenchDatabase,
  type Child,
  type CpuReading,
  cpuSeconds,
  cpuUsed,
  createBenchDatabase,
  INGEST_USER,
  type Mosquitto,
  numberFlags,
  PROFILE_DIR,
  postgresFacts,
  printFigures,
  printTable,
  quantile,
  round,
  START_NODE_FLAGS,
  sleep,
  startChild,
  startMosquitto,
  withCleanup,
} from "./lib.js";

const USAGE = `usage: npm run bench:ingest -- [--sensors 1000] [--duration 60] [--broker-duration 15]
  [--latency-rate 2000] [--latency-duration 20] [--consumers 4] [--shared 1] [--in-flight 1000] [--max-backlog 20000]
  [--seed 1] [--profile 0|1]
Quick check: npm run bench:ingest -- --duration 10 --broker-duration 5 --latency-duration 5 --sensors 200`;

const flags = numberFlags(USAGE, {
  sensors: 1000,
  duration: 60,
  "broker-duration": 15,
  "latency-rate": 2000,
  "latency-duration": 20,
  // The scaled-out configuration (MQTT_SHARED=true, MQTT_CONSUMERS=4); the app's default is
  // --consumers 1 --shared 0 (one connection, a plain subscription).
  consumers: 4,
  shared: 1,
  "in-flight": 1000,
  "max-backlog": 20_000,
  seed: 1,
  profile: 0,
});

interface Report {
  reconnects: number;
  messages: number;
  stored: number;
  duplicates: number;
  deadLetters: number;
  batches: number;
  busyMs: number;
  firstAt: number;
  lastAt: number;
  maxRssMb: number;
}
interface PublishSummary {
  published: number;
  valid: number;
  duplicates: number;
  malformed: number;
  failed: number;
  skipped: number;
  elapsedMs: number;
  rateAchieved: number;
  planned: number;
  puback: { p50: number; p99: number };
  /** CPU seconds the publisher used while publishing. */
  cpuS: number;
}
interface SensorCreds {
  id: string;
  key: string;
  heartbeatIntervalS: number;
}

/**
 * Where the CPU went in a phase: ms of CPU per 1,000 messages for the broker, the publisher (its
 * own count while publishing), the receiving process and PostgreSQL, and how busy the whole
 * machine was (% of all its CPUs).
 */
function cpuShares(before: CpuReading, after: CpuReading, published: PublishSummary, messages: number) {
  const per1000 = (seconds: number) => round((seconds * 1e6) / Math.max(1, messages), 0);
  const used = cpuUsed(before, after);
  return {
    broker: per1000(used.seconds("broker")),
    publisher: per1000(published.cpuS),
    subscriber: per1000(used.seconds("subscriber")),
    postgres: per1000(used.seconds("postgres")),
    busyPct: used.busyPct,
  };
}

/** The demo street, and 2 × `n` elevators with one sensor each (set-based inserts). */
async function setUpSensors(database: BenchDatabase, n: number): Promise<SensorCreds[]> {
  const { db } = database;
  const scene = await db.transaction((tx) => seedDemoData(tx));
  const buildingIds = JSON.stringify(scene.buildings.map((b) => b.id));
  const elevators = await queryRows<{ id: string }>(
    db,
    sql`insert into facilities (street_id, community_id, kind, name, status, building_id, floors_served, stops, operator_org_id)
        select ${scene.street.id}, ${scene.community.id}, 'elevator', 'bench elevator ' || g, 'operating',
          (${buildingIds}::jsonb ->> ((g % ${scene.buildings.length})::int))::uuid, 6, 6, ${scene.parties.enterprise.id}
        from generate_series(1, ${2 * n}) g
        returning id`,
  );
  const creds = elevators.map((e, i) => {
    const issued = generateKey("sensor");
    return {
      facility_id: e.id,
      name: `bench-${i + 1}`,
      key: issued.key,
      key_hash: issued.hash,
      key_prefix: issued.prefix,
      broker_password_hash: mosquittoPasswordHash(issued.key),
    };
  });
  const rows = await queryRows<{ id: string; name: string }>(
    db,
    sql`insert into sensors (facility_id, street_id, community_id, enterprise_org_id, name, key_hash, key_prefix,
          broker_password_hash, heartbeat_interval_s)
        select x.facility_id, ${scene.street.id}, ${scene.community.id}, ${scene.parties.enterprise.id}, x.name,
          x.key_hash, x.key_prefix, x.broker_password_hash, 3600
        from jsonb_to_recordset(${JSON.stringify(creds.map(({ key: _k, ...r }) => r))}::jsonb)
          as x(facility_id uuid, name text, key_hash text, key_prefix text, broker_password_hash text)
        returning id, name`,
  );
  const idOf = new Map(rows.map((r) => [r.name, r.id]));
  // The simulator's own cadence: a heartbeat every 30 s of (compressed) device time.
  return creds.map((c) => ({ id: idOf.get(c.name) ?? "", key: c.key, heartbeatIntervalS: 30 }));
}

async function runPublisher(
  opts: {
    url: string;
    sensorsFile: string;
    runId: string;
    messages: number;
    rate: number;
    endAtMs: number;
    stampsFile?: string;
  },
  control: (pub: Child, sent: () => number) => Promise<void>,
): Promise<PublishSummary> {
  const pub = startChild("bench/ingest-publisher.ts", {
    BENCH_PUBLISH: JSON.stringify({ ...opts, seed: flags.seed, inFlight: flags["in-flight"] }),
  });
  let sent = 0;
  pub.onLine((line) => {
    if (typeof line.sent === "number") sent = line.sent;
  });
  const done = pub.next<{ done: PublishSummary }>((l) => "done" in l);
  await pub.next((l) => "planned" in l, 120_000);
  const controlled = control(pub, () => sent);
  const summary = (await done).done;
  await controlled;
  await pub.exited;
  return summary;
}

/**
 * Waits until `done(report)` holds (every acknowledged valid event stored and every malformed
 * one dead-lettered), or throws when the subscriber makes no progress for 30 s. Event messages
 * settled are no measure of it: a redelivery (after a consumer reconnect) settles as a duplicate.
 */
async function drain(latest: () => Report, done: (r: Report) => boolean): Promise<void> {
  let last = -1;
  let since = Date.now();
  while (!done(latest())) {
    if (latest().messages !== last) {
      last = latest().messages;
      since = Date.now();
    } else if (Date.now() - since > 30_000) {
      log(`the subscriber made no progress for 30 s: ${JSON.stringify(latest())}`);
      return;
    }
    await sleep(50);
  }
  await sleep(250);
}
const log = (text: string) => process.stderr.write(`[bench:ingest] ${text}\n`);
const settled = (p: PublishSummary) => (r: Report) => r.stored >= p.valid && r.deadLetters >= p.malformed;

async function countRun(database: BenchDatabase, runId: string) {
  const [row] = await queryRows<{ rows: number; distinct: number }>(
    database.db,
    sql`select count(*)::int as rows, count(distinct (sensor_id, event_id))::int as distinct
        from sensor_events where event_id like ${`${runId}-%`}`,
  );
  return { rows: row?.rows ?? 0, distinct: row?.distinct ?? 0 };
}
async function deadLetters(database: BenchDatabase): Promise<number> {
  const [row] = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from dead_letters`);
  return row?.n ?? 0;
}

function check(published: PublishSummary, counted: { rows: number; distinct: number }) {
  return {
    lost: Math.max(0, published.valid - counted.distinct),
    duplicated: counted.rows - counted.distinct + Math.max(0, counted.distinct - published.valid),
  };
}

await withCleanup(async (cleanup) => {
  const n = flags.sensors;
  const database = await createBenchDatabase("ingest");
  cleanup(() => database.drop());
  const facts = await postgresFacts(database);
  const dir = await mkdtemp(join(tmpdir(), "bench-ingest-"));
  cleanup(() => rm(dir, { recursive: true, force: true }));
  const sensors = await setUpSensors(database, n);
  const mosquitto: Mosquitto = await startMosquitto(database.db);
  cleanup(() => mosquitto.stop());
  const sustainedFile = join(dir, "sensors-sustained.json");
  const latencyFile = join(dir, "sensors-latency.json");
  await writeFile(sustainedFile, JSON.stringify(sensors.slice(0, n)));
  await writeFile(latencyFile, JSON.stringify(sensors.slice(n)));
  const subscriberEnv = {
    MQTT_URL: mosquitto.url,
    MQTT_USERNAME: INGEST_USER.username,
    MQTT_PASSWORD: INGEST_USER.password,
    MQTT_CONSUMERS: String(flags.consumers),
    MQTT_SHARED: flags.shared ? "true" : "false",
    DATABASE_URL: database.url,
  };
  const runBase = `b${Date.now().toString(36)}`;
  log(`${n} + ${n} sensors on ${mosquitto.url} (Mosquitto ${mosquitto.version}), database ${database.name}`);

  // ---- A: the broker's limit ------------------------------------------------------------------
  const noop = startChild("bench/ingest-subscriber.ts", { ...subscriberEnv, BENCH_MODE: "noop" });
  cleanup(() => noop.stop());
  let noopReport: Report | null = null;
  noop.onLine((l) => {
    if (l.report) noopReport = l.report as Report;
  });
  await noop.next((l) => l.ready === true, 60_000);
  let cpuA0: CpuReading = {};
  const ceiling = 80_000; // the plan's size: more messages/s than the publisher can send
  log(`A: publishing as fast as possible for ${flags["broker-duration"]} s to a no-op subscriber`);
  const a = await runPublisher(
    {
      url: mosquitto.url,
      sensorsFile: sustainedFile,
      runId: runBase,
      messages: Math.ceil(ceiling * flags["broker-duration"]),
      rate: 1e7,
      endAtMs: Date.now() + flags["broker-duration"] * 1000,
    },
    async (pub) => {
      await pub.next((l) => typeof l.sent === "number" && l.sent > 0, 120_000);
      cpuA0 = await cpuSeconds({ broker: mosquitto.pid, subscriber: noop.process.pid ?? 0 });
      await sleep(flags["broker-duration"] * 1000);
      pub.send({ cmd: "stop" });
    },
  );
  await drain(
    () => noopReport as unknown as Report,
    (r) => r.messages >= a.published,
  );
  const noopFinal = noopReport as unknown as Report;
  const cpuA = cpuShares(
    cpuA0,
    await cpuSeconds({ broker: mosquitto.pid, subscriber: noop.process.pid ?? 0 }),
    a,
    noopFinal.messages,
  );
  const brokerRate = ((noopFinal.messages - 1) * 1000) / Math.max(1, noopFinal.lastAt - noopFinal.firstAt);
  await noop.stop();
  log(`A: ${noopFinal.messages} messages, ${round(brokerRate, 0)}/s`);

  // ---- B: sustained ingest --------------------------------------------------------------------
  const ingestLog = join(dir, "ingest.log");
  const ingest = startChild(
    "bench/ingest-subscriber.ts",
    { ...subscriberEnv, BENCH_MODE: "ingest", BENCH_LOG_FILE: ingestLog },
    [...START_NODE_FLAGS, ...(flags.profile ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : [])],
  );
  cleanup(() => ingest.stop());
  let report: Report | null = null;
  ingest.onLine((l) => {
    if (l.report) report = l.report as Report;
  });
  const latest = () => report as unknown as Report;
  await ingest.next((l) => l.ready === true, 60_000);
  ingest.send({ cmd: "reset" });
  await ingest.next((l) => !!l.report && (l.report as Report).messages === 0);
  const deadBefore = await deadLetters(database);
  let pausedMs = 0;
  let cpuB0: CpuReading = {};
  log(`B: publishing as fast as possible for ${flags.duration} s into the ingest`);
  const b = await runPublisher(
    {
      url: mosquitto.url,
      sensorsFile: sustainedFile,
      runId: runBase,
      messages: Math.ceil(Math.max(brokerRate, 1000) * 1.3 * flags.duration),
      rate: 1e7,
      endAtMs: Date.now() + flags.duration * 1000,
    },
    async (pub, sent) => {
      await pub.next((l) => typeof l.sent === "number" && l.sent > 0, 120_000);
      cpuB0 = await cpuSeconds({ broker: mosquitto.pid, subscriber: ingest.process.pid ?? 0 });
      const end = Date.now() + flags.duration * 1000;
      let paused = false;
      let pausedAt = 0;
      let lastLog = Date.now();
      while (Date.now() < end && pub.process.exitCode === null) {
        const backlog = sent() - latest().messages;
        if (flags["max-backlog"] > 0 && !paused && backlog > flags["max-backlog"]) {
          pub.process.kill("SIGSTOP");
          paused = true;
          pausedAt = Date.now();
        } else if (paused && backlog < flags["max-backlog"] / 2) {
          pub.process.kill("SIGCONT");
          paused = false;
          pausedMs += Date.now() - pausedAt;
        }
        if (Date.now() - lastLog >= 10_000) {
          lastLog = Date.now();
          log(`B: ${sent()} sent, ${latest().messages} committed, backlog ${backlog}`);
        }
        await sleep(20);
      }
      if (paused) {
        pub.process.kill("SIGCONT");
        pausedMs += Date.now() - pausedAt;
      }
      pub.send({ cmd: "stop" });
    },
  );
  log(`B: ${b.published} acknowledged by the broker; draining`);
  await drain(latest, settled(b));
  const sustained = latest();
  const cpuB = cpuShares(
    cpuB0,
    await cpuSeconds({ broker: mosquitto.pid, subscriber: ingest.process.pid ?? 0 }),
    b,
    sustained.messages,
  );
  const sustainedS = (sustained.lastAt - sustained.firstAt) / 1000;
  const eventsPerS = sustained.stored / sustainedS;
  const messagesPerS = sustained.messages / sustainedS;
  const countB = check(b, await countRun(database, runBase));
  const deadB = (await deadLetters(database)) - deadBefore;
  const rssAfterB = sustained.maxRssMb;
  const brokerRss = await mosquitto.peakRssMb();

  // ---- C: latency at a fixed rate --------------------------------------------------------------
  ingest.send({ cmd: "reset" });
  ingest.send({ cmd: "record", on: true });
  await ingest.next((l) => !!l.report && (l.report as Report).messages === 0);
  const stampsFile = join(dir, "published.txt");
  const commitsFile = join(dir, "committed.txt");
  const runC = `${runBase}l`;
  log(`C: ${flags["latency-rate"]} events/s for ${flags["latency-duration"]} s (other sensors)`);
  const c = await runPublisher(
    {
      url: mosquitto.url,
      sensorsFile: latencyFile,
      runId: runC,
      messages: Math.ceil(flags["latency-rate"] * flags["latency-duration"]),
      rate: flags["latency-rate"],
      endAtMs: Date.now() + flags["latency-duration"] * 1000 + 5_000,
      stampsFile,
    },
    async () => {},
  );
  await drain(latest, settled(c));
  const latencyRun = latest();
  ingest.send({ cmd: "record", on: false });
  ingest.send({ cmd: "dump", file: commitsFile });
  await ingest.next((l) => typeof l.dumped === "number");
  const committedAt = new Map<string, number>();
  for (const line of (await readFile(commitsFile, "utf8")).split("\n")) {
    const [sensor, eventId, t] = line.split(" ");
    if (t) committedAt.set(`${sensor} ${eventId}`, Number(t));
  }
  const timed: { publishedAt: number; latency: number }[] = [];
  for (const line of (await readFile(stampsFile, "utf8")).split("\n")) {
    const [sensor, eventId, t] = line.split(" ");
    const done = committedAt.get(`${sensor} ${eventId}`);
    if (t && done !== undefined) timed.push({ publishedAt: Number(t), latency: done - Number(t) });
  }
  const latencies = timed.map((x) => x.latency);
  /** The same, for events published after the run's first 2 s (its devices connected by then). */
  const firstPublish = timed.reduce((min, x) => Math.min(min, x.publishedAt), Number.POSITIVE_INFINITY);
  const settledLatencies = timed.filter((x) => x.publishedAt >= firstPublish + 2_000).map((x) => x.latency);
  const countC = check(c, await countRun(database, runC));
  // The sustained run's events counted again, after the latency run: a message that was only
  // delayed (held by the broker for a consumer session) shows up here; a lost one does not.
  const countBLater = check(b, await countRun(database, runBase));
  const peakRss = latest().maxRssMb;
  await ingest.stop();
  const errors = (await readFile(ingestLog, "utf8").catch(() => ""))
    .split("\n")
    .filter((l) => /"level":(50|60)/.test(l) || l.includes("disconnected"));
  for (const l of errors.slice(0, 5)) log(`ingest log: ${l.slice(0, 300)}`);
  const p50 = quantile(latencies, 0.5);
  const p99 = quantile(latencies, 0.99);

  const ratio = messagesPerS / brokerRate;
  const lost = countB.lost + countC.lost;
  const duplicated = countB.duplicated + countC.duplicated;
  const goal = (ok: boolean) => (ok ? "reached" : "MISSED");
  console.log(
    `\nIngest benchmark: ${n} sensors (+${n} for the latency run), ${cpus().length} CPUs, ${round(totalmem() / 2 ** 30, 1)} GiB, ${facts}, Mosquitto ${mosquitto.version}\n`,
  );
  printTable(
    ["figure", "value", "goal", ""],
    [
      [
        "events/s committed (sustained, durable, exactly once)",
        round(eventsPerS, 0),
        "≥ 20,000",
        goal(eventsPerS >= 20_000),
      ],
      [
        "  event messages/s settled by the ingest (incl. retries, dead letters)",
        round(messagesPerS, 0),
        "",
        "",
      ],
      ["broker limit: messages/s to a no-op MQTT.js subscriber (QoS 1)", round(brokerRate, 0), "", ""],
      ["ingest ÷ broker limit (messages/s)", round(ratio, 2), "≥ 0.5", goal(ratio >= 0.5)],
      [
        `publish→commit p50 / p99 ms at ${flags["latency-rate"]} events/s`,
        `${round(p50, 1)} / ${round(p99, 1)}`,
        "p99 ≤ 50",
        goal(p99 <= 50),
      ],
      [
        `  the same, without the first 2 s (the run's ${n} devices connecting, each with its retained status)`,
        `${round(quantile(settledLatencies, 0.5), 1)} / ${round(quantile(settledLatencies, 0.99), 1)}`,
        "",
        "",
      ],
      ["ingest peak RSS MB", round(peakRss, 0), "≤ 250", goal(peakRss <= 250)],
      [
        "count check: lost / duplicated",
        `${lost} / ${duplicated}`,
        "0 / 0",
        goal(lost === 0 && duplicated === 0),
      ],
      [
        "  sustained run / latency run / sustained run counted again after the latency run",
        `${countB.lost}/${countB.duplicated} · ${countC.lost}/${countC.duplicated} · ${countBLater.lost}/${countBLater.duplicated}`,
        "",
        "",
      ],
      ["—", "", "", ""],
      [
        "sustained run: s (first batch → last commit) / publisher paused s",
        `${round(sustainedS, 1)} / ${round(pausedMs / 1000, 1)}`,
        "≥ 60",
        "",
      ],
      [
        "sustained run: acknowledged valid / stored / duplicates / malformed→dead letters",
        `${b.valid} / ${sustained.stored} / ${sustained.duplicates} / ${b.malformed}→${deadB}`,
        "",
        "",
      ],
      [
        "sustained run: batches, mean batch, ingest busy % (summed over the writer's partitions), consumer reconnects",
        `${sustained.batches}, ${round(sustained.messages / Math.max(1, sustained.batches), 0)}, ${round((100 * sustained.busyMs) / 1000 / sustainedS, 0)}, ${sustained.reconnects}`,
        "",
        "",
      ],
      [
        "latency run: batches, mean batch, mean ms per batch (in the ingest: lookups, transaction, commit)",
        `${latencyRun.batches}, ${round(latencyRun.messages / Math.max(1, latencyRun.batches), 0)}, ${round(latencyRun.busyMs / Math.max(1, latencyRun.batches), 1)}`,
        "",
        "",
      ],
      [
        "publisher msgs/s acknowledged by the broker: A / B",
        `${round(a.rateAchieved, 0)} / ${round(b.rateAchieved, 0)}`,
        "",
        "",
      ],
      [
        "latency run: acknowledged valid / timed / failed",
        `${c.valid} / ${latencies.length} / ${c.failed}`,
        "",
        "",
      ],
      [
        "latency run: publish→PUBACK from the broker p50 / p99 ms (the device's side, before the ingest)",
        `${round(c.puback.p50, 1)} / ${round(c.puback.p99, 1)}`,
        "",
        "",
      ],
      [
        "CPU ms per 1,000 messages, A: broker / publisher / no-op subscriber / PostgreSQL; machine busy",
        `${cpuA.broker} / ${cpuA.publisher} / ${cpuA.subscriber} / ${cpuA.postgres}; ${cpuA.busyPct} %`,
        "",
        "",
      ],
      [
        "CPU ms per 1,000 messages, B: broker / publisher / ingest / PostgreSQL; machine busy",
        `${cpuB.broker} / ${cpuB.publisher} / ${cpuB.subscriber} / ${cpuB.postgres}; ${cpuB.busyPct} %`,
        "",
        "",
      ],
      [
        "ingest peak RSS MB after the sustained run / broker peak RSS MB",
        `${rssAfterB} / ${brokerRss}`,
        "",
        "",
      ],
    ],
  );
  if (flags.profile) console.log(`\nCPU profile of the ingest process: ${PROFILE_DIR}/*.cpuprofile`);
  printFigures({
    ingest_events_per_s: round(eventsPerS, 0),
    broker_limit_msgs_per_s: round(brokerRate, 0),
    ingest_broker_ratio: round(ratio, 2),
    latency_p50_ms: round(p50, 1),
    latency_p99_ms: round(p99, 1),
    ingest_peak_rss_mb: round(peakRss, 0),
    lost,
    duplicated,
    sustained_s: round(sustainedS, 1),
  });
  if (lost || duplicated || b.failed || c.failed) process.exitCode = 1;
});
