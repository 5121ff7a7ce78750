/**
 * Ingest benchmark (`npm run bench:ingest`): sensor events through real Mosquitto (the shipped
 * iot/mosquitto.conf) and the real ingest (bench/ingest-subscriber.ts: consumer → group-commit
 * writer → ingest, PUBACK after commit) into a fresh PostgreSQL database. Three processes besides
 * this one: Mosquitto, the publisher (the simulator, bench/ingest-publisher.ts) and the ingest.
 *
 * Phases, one run (bench/ingest-measure.ts, which bench/growth.ts runs too):
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
import { cpus, totalmem } from "node:os";
import { sql } from "drizzle-orm";
import { queryRows } from "../db/database.js";
import { generateKey } from "../db/keys.js";
import { seedDemoData } from "../db/seed.js";
import { mosquittoPasswordHash } from "../iot/credentials.js";
import { measureIngest, type SensorCreds } from "./ingest-measure.js";
import {
  type BenchDatabase,
  createBenchDatabase,
  numberFlags,
  PROFILE_DIR,
  postgresFacts,
  printFigures,
  printTable,
  round,
  withCleanup,
} from "./lib.js";

const USAGE = `usage: npm run bench:ingest -- [--sensors 1000] [--duration 60] [--broker-duration 15]
  [--latency-rate 2000] [--latency-duration 20] [--consumers 4] [--shared 1] [--in-flight 1000] [--max-backlog 20000]
  [--seed 1] [--episode-gap 180] [--profile 0|1]
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
  // Mean simulated seconds between a sensor's e-bike episodes. 180 (the simulator's default) makes
  // over a quarter of the events detections and clears, an incident per twelve events; a city's
  // elevator sees about one a day (--episode-gap 86400).
  "episode-gap": 180,
  profile: 0,
});

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

const log = (text: string) => process.stderr.write(`[bench:ingest] ${text}\n`);

await withCleanup(async (cleanup) => {
  const n = flags.sensors;
  const database = await createBenchDatabase("ingest");
  cleanup(() => database.drop());
  const facts = await postgresFacts(database);
  const sensors = await setUpSensors(database, n);
  const m = await measureIngest(
    database,
    { sustained: sensors.slice(0, n), latency: sensors.slice(n) },
    {
      duration: flags.duration,
      brokerDuration: flags["broker-duration"],
      latencyRate: flags["latency-rate"],
      latencyDuration: flags["latency-duration"],
      consumers: flags.consumers,
      shared: Boolean(flags.shared),
      inFlight: flags["in-flight"],
      maxBacklog: flags["max-backlog"],
      seed: flags.seed,
      episodeGapS: flags["episode-gap"],
      profile: Boolean(flags.profile),
      runId: `b${Date.now().toString(36)}`,
      log,
    },
  );
  for (const l of m.errors.slice(0, 5)) log(`ingest log: ${l.slice(0, 300)}`);
  const { a, b, c, sustained, latencyRun, cpuA, cpuB, countB, countC, countBLater, lost, duplicated } = m;
  const { p50, p99 } = m.latency;
  const { eventsPerS, messagesPerS, brokerRate, ratio, sustainedS, pausedMs, deadB } = m;
  const peakRss = m.peakRssMb;
  const goal = (ok: boolean) => (ok ? "reached" : "MISSED");
  console.log(
    `\nIngest benchmark: ${n} sensors (+${n} for the latency run), ${cpus().length} CPUs, ${round(totalmem() / 2 ** 30, 1)} GiB, ${facts}, Mosquitto ${m.mosquittoVersion}\n`,
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
        `${round(m.latency.settledP50, 1)} / ${round(m.latency.settledP99, 1)}`,
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
        `${c.valid} / ${m.latency.timed} / ${c.failed}`,
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
        `${m.rssAfterBMb} / ${m.brokerRssMb}`,
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
