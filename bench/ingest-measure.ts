/**
 * The ingest's measurement, as bench/ingest.ts runs it (its header says what each phase does and
 * why) and bench/growth.ts runs it again on a filled database: a private Mosquitto with the
 * database's sensor logins, then
 * A. the broker's limit (a no-op subscriber),
 * B. the sustained ingest (publisher paused while the backlog is over --max-backlog),
 * C. publish→commit latency at a fixed rate on other sensors,
 * and the count check (every acknowledged valid event stored once). Every process it starts
 * (Mosquitto, publisher, subscribers) is stopped when it returns or throws.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { queryRows } from "../db/database.js";
import {
  type BenchDatabase,
  type Child,
  type CpuReading,
  cpuSeconds,
  cpuUsed,
  INGEST_USER,
  type Mosquitto,
  PROFILE_DIR,
  quantile,
  round,
  START_NODE_FLAGS,
  sleep,
  startChild,
  startMosquitto,
} from "./lib.js";

export interface IngestOptions {
  /** B: seconds of sustained ingest. */
  duration: number;
  /** A: seconds of publishing to the no-op subscriber. */
  brokerDuration: number;
  /** C: events/s and seconds of the latency run. */
  latencyRate: number;
  latencyDuration: number;
  /** MQTT_CONSUMERS and MQTT_SHARED of the ingest (and the no-op subscriber's connections). */
  consumers: number;
  shared: boolean;
  /** The publisher's messages in flight, and B's backlog limit (0: none). */
  inFlight: number;
  maxBacklog: number;
  seed: number;
  /** Mean simulated seconds between a sensor's e-bike episodes (the simulator's default if unset). */
  episodeGapS?: number;
  /**
   * Called as B starts publishing and once B's events are all committed and the ingest has been
   * idle long enough to have reported its connections' statistics (before the count check, whose
   * scans would count with them).
   */
  onSustained?: { start: () => Promise<unknown>; end: () => Promise<unknown> };
  /** `--cpu-prof` of the ingest process into PROFILE_DIR. */
  profile: boolean;
  /** The prefix of every event id published (its runs are `<runId>` and `<runId>l`). */
  runId: string;
  log: (text: string) => void;
}

export interface SensorCreds {
  id: string;
  key: string;
  heartbeatIntervalS: number;
}

export interface Report {
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
export interface PublishSummary {
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
export interface CpuShares {
  broker: number;
  publisher: number;
  subscriber: number;
  postgres: number;
  busyPct: number;
}
export interface CountCheck {
  lost: number;
  duplicated: number;
}

/** Everything one measurement found (bench/ingest.ts prints all of it). */
export interface IngestMeasurement {
  mosquittoVersion: string;
  /** Events stored per second of the sustained run (first batch start → last commit). */
  eventsPerS: number;
  messagesPerS: number;
  brokerRate: number;
  /** messagesPerS ÷ brokerRate. */
  ratio: number;
  /** publish→commit ms in the latency run, and the same without its first 2 s. */
  latency: { p50: number; p99: number; settledP50: number; settledP99: number; timed: number };
  peakRssMb: number;
  rssAfterBMb: number;
  brokerRssMb: number;
  lost: number;
  duplicated: number;
  countB: CountCheck;
  countC: CountCheck;
  countBLater: CountCheck;
  sustainedS: number;
  pausedMs: number;
  deadB: number;
  a: PublishSummary;
  b: PublishSummary;
  c: PublishSummary;
  sustained: Report;
  latencyRun: Report;
  cpuA: CpuShares;
  cpuB: CpuShares;
  /** Lines of the ingest's log at level error or fatal, or about a disconnection. */
  errors: string[];
}

/**
 * Where the CPU went in a phase: ms of CPU per 1,000 messages for the broker, the publisher (its
 * own count while publishing), the receiving process and PostgreSQL, and how busy the whole
 * machine was (% of all its CPUs).
 */
function cpuShares(
  before: CpuReading,
  after: CpuReading,
  published: PublishSummary,
  messages: number,
): CpuShares {
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

async function runPublisher(
  opts: {
    url: string;
    sensorsFile: string;
    runId: string;
    messages: number;
    rate: number;
    endAtMs: number;
    seed: number;
    inFlight: number;
    episodeGapS?: number;
    stampsFile?: string;
  },
  control: (pub: Child, sent: () => number) => Promise<void>,
): Promise<PublishSummary> {
  const pub = startChild("bench/ingest-publisher.ts", { BENCH_PUBLISH: JSON.stringify(opts) });
  try {
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
  } finally {
    if (pub.process.signalCode === null && pub.process.exitCode === null) pub.process.kill("SIGCONT");
    await pub.stop();
  }
}

/**
 * Waits until `done(report)` holds (every acknowledged valid event stored and every malformed
 * one dead-lettered), or returns when the subscriber makes no progress for 30 s. Event messages
 * settled are no measure of it: a redelivery (after a consumer reconnect) settles as a duplicate.
 */
async function drain(latest: () => Report, done: (r: Report) => boolean, log: (t: string) => void) {
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

function check(published: PublishSummary, counted: { rows: number; distinct: number }): CountCheck {
  return {
    lost: Math.max(0, published.valid - counted.distinct),
    duplicated: counted.rows - counted.distinct + Math.max(0, counted.distinct - published.valid),
  };
}

/**
 * Phases A, B, C and the count check on `database`, whose sensors table already holds `sustained`
 * and `latency` (registered, with these keys): B publishes from the first, C from the second.
 */
export async function measureIngest(
  database: BenchDatabase,
  sensors: { sustained: SensorCreds[]; latency: SensorCreds[] },
  options: IngestOptions,
): Promise<IngestMeasurement> {
  const { log } = options;
  const stops: (() => Promise<unknown>)[] = [];
  try {
    return await measure(database, sensors, options, log, (fn) => stops.push(fn));
  } finally {
    for (const fn of stops.splice(0).reverse()) {
      await fn().catch((err: unknown) =>
        log(`cleanup failed: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
  }
}

async function measure(
  database: BenchDatabase,
  sensors: { sustained: SensorCreds[]; latency: SensorCreds[] },
  options: IngestOptions,
  log: (text: string) => void,
  cleanup: (fn: () => Promise<unknown>) => void,
): Promise<IngestMeasurement> {
  const dir = await mkdtemp(join(tmpdir(), "bench-ingest-"));
  cleanup(() => rm(dir, { recursive: true, force: true }));
  const mosquitto: Mosquitto = await startMosquitto(database.db);
  cleanup(() => mosquitto.stop());
  const sustainedFile = join(dir, "sensors-sustained.json");
  const latencyFile = join(dir, "sensors-latency.json");
  await writeFile(sustainedFile, JSON.stringify(sensors.sustained));
  await writeFile(latencyFile, JSON.stringify(sensors.latency));
  const subscriberEnv = {
    MQTT_URL: mosquitto.url,
    MQTT_USERNAME: INGEST_USER.username,
    MQTT_PASSWORD: INGEST_USER.password,
    MQTT_CONSUMERS: String(options.consumers),
    MQTT_SHARED: options.shared ? "true" : "false",
    DATABASE_URL: database.url,
  };
  const runBase = options.runId;
  const publisherOpts = {
    url: mosquitto.url,
    seed: options.seed,
    inFlight: options.inFlight,
    episodeGapS: options.episodeGapS,
  };
  log(
    `${sensors.sustained.length} + ${sensors.latency.length} sensors on ${mosquitto.url} (Mosquitto ${mosquitto.version}), database ${database.name}`,
  );

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
  log(`A: publishing as fast as possible for ${options.brokerDuration} s to a no-op subscriber`);
  const a = await runPublisher(
    {
      ...publisherOpts,
      sensorsFile: sustainedFile,
      runId: runBase,
      messages: Math.ceil(ceiling * options.brokerDuration),
      rate: 1e7,
      endAtMs: Date.now() + options.brokerDuration * 1000,
    },
    async (pub) => {
      await pub.next((l) => typeof l.sent === "number" && l.sent > 0, 120_000);
      cpuA0 = await cpuSeconds({ broker: mosquitto.pid, subscriber: noop.process.pid ?? 0 });
      await sleep(options.brokerDuration * 1000);
      pub.send({ cmd: "stop" });
    },
  );
  await drain(
    () => noopReport as unknown as Report,
    (r) => r.messages >= a.published,
    log,
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
    [...START_NODE_FLAGS, ...(options.profile ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : [])],
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
  log(`B: publishing as fast as possible for ${options.duration} s into the ingest`);
  await options.onSustained?.start();
  const b = await runPublisher(
    {
      ...publisherOpts,
      sensorsFile: sustainedFile,
      runId: runBase,
      messages: Math.ceil(Math.max(brokerRate, 1000) * 1.3 * options.duration),
      rate: 1e7,
      endAtMs: Date.now() + options.duration * 1000,
    },
    async (pub, sent) => {
      await pub.next((l) => typeof l.sent === "number" && l.sent > 0, 120_000);
      cpuB0 = await cpuSeconds({ broker: mosquitto.pid, subscriber: ingest.process.pid ?? 0 });
      const end = Date.now() + options.duration * 1000;
      let paused = false;
      let pausedAt = 0;
      let lastLog = Date.now();
      while (Date.now() < end && pub.process.exitCode === null) {
        const backlog = sent() - latest().messages;
        if (options.maxBacklog > 0 && !paused && backlog > options.maxBacklog) {
          pub.process.kill("SIGSTOP");
          paused = true;
          pausedAt = Date.now();
        } else if (paused && backlog < options.maxBacklog / 2) {
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
  await drain(latest, settled(b), log);
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
  if (options.onSustained) {
    // A backend reports its statistics when idle, at most every PGSTAT_IDLE_INTERVAL (10 s).
    await sleep(11_000);
    await options.onSustained.end();
  }
  const countB = check(b, await countRun(database, runBase));
  const deadB = (await deadLetters(database)) - deadBefore;
  const rssAfterBMb = sustained.maxRssMb;
  const brokerRssMb = await mosquitto.peakRssMb();

  // ---- C: latency at a fixed rate --------------------------------------------------------------
  ingest.send({ cmd: "reset" });
  ingest.send({ cmd: "record", on: true });
  await ingest.next((l) => !!l.report && (l.report as Report).messages === 0);
  const stampsFile = join(dir, "published.txt");
  const commitsFile = join(dir, "committed.txt");
  const runC = `${runBase}l`;
  log(`C: ${options.latencyRate} events/s for ${options.latencyDuration} s (other sensors)`);
  const c = await runPublisher(
    {
      ...publisherOpts,
      sensorsFile: latencyFile,
      runId: runC,
      messages: Math.ceil(options.latencyRate * options.latencyDuration),
      rate: options.latencyRate,
      endAtMs: Date.now() + options.latencyDuration * 1000 + 5_000,
      stampsFile,
    },
    async () => {},
  );
  await drain(latest, settled(c), log);
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
  const peakRssMb = latest().maxRssMb;
  await ingest.stop();
  const errors = (await readFile(ingestLog, "utf8").catch(() => ""))
    .split("\n")
    .filter((l) => /"level":(50|60)/.test(l) || l.includes("disconnected"));

  return {
    mosquittoVersion: mosquitto.version,
    eventsPerS,
    messagesPerS,
    brokerRate,
    ratio: messagesPerS / brokerRate,
    latency: {
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      settledP50: quantile(settledLatencies, 0.5),
      settledP99: quantile(settledLatencies, 0.99),
      timed: latencies.length,
    },
    peakRssMb,
    rssAfterBMb,
    brokerRssMb,
    lost: countB.lost + countC.lost,
    duplicated: countB.duplicated + countC.duplicated,
    countB,
    countC,
    countBLater,
    sustainedS,
    pausedMs,
    deadB,
    a,
    b,
    c,
    sustained,
    latencyRun,
    cpuA,
    cpuB,
    errors,
  };
}
