/**
 * Growth benchmark (`npm run bench:growth`): how the ingest and the portal's reads behave when the
 * database holds a city's history, and what that history costs on disk (issue 16). One run, on a
 * fresh PostgreSQL database:
 *
 * 1. A city: the demo (its street, organizations, keys and contracts, cloned to --contracts in the
 *    demo street as bench:api does), --streets streets of --communities communities each, one
 *    building per elevator, --elevators elevators spread over the communities, --sensors sensors
 *    spread over the elevators (registered with a key and a broker login; heartbeat interval
 *    3,600 s as in bench:ingest, whose replay compresses device time).
 * 2. EMPTY: the ingest measured as bench:ingest measures it (bench/ingest-measure.ts) on sensors of
 *    the city, then --reads sequential requests of each read through the real server
 *    (bench/lib.ts startApiServer) with the demo street office's key: the incident statistics of
 *    its street over a year (`groupBy=community`, the longest window allowed), the incident list's
 *    first page, the street dashboard, the contract list's first page.
 * 3. FILL, in SQL (generate_series, a few statements per table): the partitions of the year made
 *    by the app's own upkeep (iot/event-partitions.ts) first, so no row lands in a default
 *    partition; a year of e-bike incidents (--ebike-per-day per elevator, about 8 % false alarms,
 *    most acknowledged and classified, all closed, ending 12 h before now, where the ingest's replay writes) and of sensor_offline
 *    incidents (--offline-per-month per elevator), their evidence events (each incident's
 *    detections and its clear, --faults-per-month faults per sensor) in the monthly evidence
 *    partitions, heartbeats every 30 s for the rest of --events, ending now, in the daily
 *    heartbeat partitions, and a year of `sensor_days` per sensor (from the heartbeats where there
 *    are some). Triggers are off while filling (session_replication_role = replica): the incident
 *    change log (incident_events) is not written for the history, and no foreign key is checked
 *    (the rows are made from the tables they point to). Then VACUUM ANALYZE.
 * 4. FILLED: the same measurements; the ingest under a new run id, so its count check is exact.
 * 5. Bytes per sensor per day: heartbeats kept as rows for ever (the heartbeat partitions' bytes,
 *    indexes included, per row × 2,880 a day) against what is kept for good now (a sensor_days row
 *    and the sensor's share of the evidence partitions); the raw heartbeat window (7 days of rows)
 *    apart.
 * 6. The table of goals; for a read whose filled p99 misses, EXPLAIN (ANALYZE, BUFFERS) of the
 *    statements it sends (captured from an in-process app on the same database), slowest first.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import pino from "pino";
import { DEFAULT_POOL_MAX } from "../db/client.js";
import { queryRows } from "../db/database.js";
import { generateKey, hashKey } from "../db/keys.js";
import { drizzleOverPostgres, openPostgres } from "../db/postgres.js";
import { findDemoStreet } from "../db/seed.js";
import { mosquittoPasswordHash } from "../iot/credentials.js";
import { runEventPartitionUpkeep } from "../iot/event-partitions.js";
import { seedDemoOnce } from "../src/demo/seed.js";
import { STATS_MAX_DAYS } from "../src/services/incidents/stats.js";
import { createTestApp } from "../test/support/app.js";
import { measureIngest, type SensorCreds } from "./ingest-measure.js";
import {
  type BenchDatabase,
  createBenchDatabase,
  numberFlags,
  postgresFacts,
  printFigures,
  printTable,
  quantile,
  round,
  startApiServer,
  withCleanup,
} from "./lib.js";
import { scaleContracts } from "./scale-contracts.js";

const USAGE = `usage: npm run bench:growth -- [--events 20000000] [--sensors 10000] [--elevators 2000] [--streets 10]
  [--communities 10] [--contracts 200] [--reads 200] [--read-seconds 30] [--ingest-sensors 500] [--ingest-duration 30]
  [--broker-duration 10] [--latency-rate 2000] [--latency-duration 15] [--ebike-per-day 1]
  [--offline-per-month 1] [--faults-per-month 1] [--seed 1]
--events is the history's size: the incidents' evidence and the faults first, heartbeats the rest.
Quick check: npm run bench:growth -- --events 20000 --sensors 50 --elevators 10 --ingest-duration 3 --reads 5`;

const flags = numberFlags(USAGE, {
  events: 20_000_000,
  sensors: 10_000,
  elevators: 2_000,
  streets: 10,
  communities: 10,
  contracts: 200,
  reads: 200,
  "read-seconds": 30,
  "ingest-sensors": 500,
  "ingest-duration": 30,
  "broker-duration": 10,
  "latency-rate": 2000,
  "latency-duration": 15,
  "ebike-per-day": 1,
  "offline-per-month": 1,
  "faults-per-month": 1,
  seed: 1,
});

const log = (text: string) => process.stderr.write(`[bench:growth] ${text}\n`);
const DAY_S = 86_400;
const HEARTBEAT_S = 30;
const HEARTBEATS_PER_DAY = DAY_S / HEARTBEAT_S;
const FALSE_ALARM_RATIO = 0.08;
/** The goals of issue 16. */
const GOALS = { ingestRatio: 0.9, readP99Ms: 100, bytesRatio: 0.2 };

const seconds = (startedMs: number) => round((performance.now() - startedMs) / 1000, 1);

/** The street measured (the demo's), its office's key, and the ids the fill needs. */
interface City {
  streetId: string;
  streetOfficeKey: string;
  propertyCompanyId: string;
  sensors: SensorCreds[];
  /** Elevators of the street measured (the demo's own included). */
  streetElevators: number;
  contracts: number;
}

async function buildCity(database: BenchDatabase, dir: string): Promise<City> {
  const { db } = database;
  const demo = await seedDemoOnce(db, {
    keysFile: join(dir, "demo-keys.json"),
    logger: pino({ level: "silent" }),
  });
  const street = await findDemoStreet(db);
  if (!street) throw new Error("the demo street was not seeded");
  await scaleContracts(database, flags.contracts);
  const [parties] = await queryRows<{
    district_id: string;
    enterprise_id: string;
    property_company_id: string;
  }>(
    db,
    sql`select s.district_id,
          (select organization_id from api_keys where key_hash = ${hashKey(demo.keys.enterprise ?? "")}) as enterprise_id,
          (select organization_id from api_keys where key_hash = ${hashKey(demo.keys.property_company ?? "")})
            as property_company_id
        from streets s where s.id = ${street.id}`,
  );
  if (!parties?.enterprise_id || !parties.property_company_id)
    throw new Error("the demo's enterprise and property company were not found by their keys");
  const E = flags.elevators;
  // Streets (the demo's first), communities, one building and elevator each, set-based.
  await db.execute(sql`
    insert into streets (district_id, name, elevator_target)
    select ${parties.district_id}, 'growth street ' || g, ${Math.ceil(E / flags.streets)}
    from generate_series(1, ${flags.streets - 1}) g`);
  await db.execute(sql`
    insert into communities (street_id, name, address)
    select s.id, s.name || ' community ' || g, 'growth'
    from (select id, name from streets where id = ${street.id} or name like 'growth street %') s
      cross join generate_series(1, ${flags.communities}) g`);
  await db.execute(sql`
    create unlogged table growth_elevators as
    with c as (
      select id as community_id, street_id, row_number() over (order by street_id, name) - 1 as n
      from communities where address = 'growth'
    ), g as (
      select e - 1 as e, gen_random_uuid() as building_id, gen_random_uuid() as facility_id
      from generate_series(1, ${E}) e
    )
    select g.e::int as e, g.building_id, g.facility_id, c.community_id, c.street_id
    from g join c on c.n = g.e % (select count(*) from c)`);
  await db.execute(sql`
    insert into buildings (id, community_id, name, storeys)
    select building_id, community_id, 'growth building ' || e, 6 from growth_elevators`);
  await db.execute(sql`
    insert into facilities (id, street_id, community_id, kind, name, status, building_id, floors_served, stops, operator_org_id)
    select facility_id, street_id, community_id, 'elevator', 'growth elevator ' || e, 'operating', building_id, 6, 6,
      ${parties.enterprise_id}
    from growth_elevators`);

  // Sensors: sensor i in elevator i mod E, each with its own key and broker login.
  const creds = Array.from({ length: flags.sensors }, (_, i) => {
    const issued = generateKey("sensor");
    return {
      i,
      key: issued.key,
      key_hash: issued.hash,
      key_prefix: issued.prefix,
      broker_password_hash: mosquittoPasswordHash(issued.key),
    };
  });
  const rows = await queryRows<{ i: number; id: string }>(
    db,
    sql`with x as (
          select * from jsonb_to_recordset(${JSON.stringify(creds.map(({ key: _k, ...r }) => r))}::jsonb)
            as x(i int, key_hash text, key_prefix text, broker_password_hash text)
        )
        insert into sensors (facility_id, street_id, community_id, enterprise_org_id, name, key_hash, key_prefix,
          broker_password_hash, heartbeat_interval_s)
        select e.facility_id, e.street_id, e.community_id, ${parties.enterprise_id}, 'growth sensor ' || x.i,
          x.key_hash, x.key_prefix, x.broker_password_hash, 3600
        from x join growth_elevators e on e.e = x.i % ${E}
        returning (regexp_replace(name, '^growth sensor ', ''))::int as i, id`,
  );
  const idOf = new Map(rows.map((r) => [r.i, r.id]));
  await db.execute(sql`
    create unlogged table growth_sensors as
    select (regexp_replace(s.name, '^growth sensor ', ''))::int as i, s.id as sensor_id, e.*
    from sensors s join growth_elevators e on e.facility_id = s.facility_id
    where s.name like 'growth sensor %'`);
  await db.execute(sql`
    create unlogged table growth_elevator_sensor as
    select distinct on (e) e, sensor_id from growth_sensors order by e, i`);

  const [counts] = await queryRows<{ elevators: number; contracts: number }>(
    db,
    sql`select (select count(*)::int from facilities where street_id = ${street.id} and kind = 'elevator') as elevators,
          (select count(*)::int from contracts where street_id = ${street.id}) as contracts`,
  );
  return {
    streetId: street.id,
    streetOfficeKey: demo.keys.street_office ?? "",
    propertyCompanyId: parties.property_company_id,
    // The simulator's cadence: a heartbeat every 30 s of (compressed) device time.
    sensors: creds.map((c) => ({ id: idOf.get(c.i) ?? "", key: c.key, heartbeatIntervalS: HEARTBEAT_S })),
    streetElevators: counts?.elevators ?? 0,
    contracts: counts?.contracts ?? 0,
  };
}

// ---- the fill ----------------------------------------------------------------------------------

/** One bulk statement with triggers off (no change log for the history, no foreign-key checks). */
async function bulk(database: BenchDatabase, label: string, statement: ReturnType<typeof sql>) {
  const t0 = performance.now();
  const n = await database.db.transaction(async (tx) => {
    await tx.execute(sql`set local session_replication_role = replica`);
    const result = (await tx.execute(statement)) as unknown as { count?: number };
    return result.count ?? 0;
  });
  log(`fill: ${label}: ${n} rows in ${seconds(t0)} s`);
  return n;
}

/** The device's clock as it writes occurredAt (RFC 3339, +08:00, milliseconds). */
const occurredAtText = (column: string) =>
  `to_char(${column} at time zone 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS.MS"+08:00"')`;

interface FillResult {
  seconds: number;
  rows: Record<string, number>;
}

async function fill(database: BenchDatabase, city: City, now: Date): Promise<FillResult> {
  const t0 = performance.now();
  const { db } = database;
  const upkeep = await runEventPartitionUpkeep({ db, logger: pino({ level: "silent" }), clock: () => now });
  log(`fill: partitions made by the upkeep: ${upkeep.created.length}`);
  const end = now.toISOString();
  // The incidents and their evidence end 12 h before now: the ingest's replay (compressed device
  // time) writes the last hours, and two histories of one elevator interleaved in time are not a
  // history (the ingest re-plans an elevator's incidents from its events in order).
  const evidenceEnd = new Date(now.getTime() - 12 * 3600 * 1000);
  const start = new Date(evidenceEnd.getTime() - 365 * DAY_S * 1000).toISOString();
  const E = flags.elevators;
  const perElevator = Math.max(1, Math.round(365 * flags["ebike-per-day"]));
  const gapS = (365 * DAY_S) / perElevator;

  // E-bike incidents: one per gap per elevator, at a random point of its gap, all closed (an open
  // one would take the replay's detections hours later).
  await bulk(
    database,
    "e-bike incidents",
    sql.raw(`
    insert into incidents (kind, sensor_id, facility_id, community_id, street_id, opened_at, closed_at, detections,
      halt_seconds, acknowledged_at, acknowledged_by_org_id, classification, false_alarm_reason, created_at, updated_at)
    select 'ebike', x.sensor_id, x.facility_id, x.community_id, x.street_id, x.opened,
      case when x.open then null else x.opened + x.halt_s * interval '1 second' end,
      least(1 + floor(x.r4 * 4), 1 + floor(x.halt_s / 3))::int,
      case when x.open then null else floor(x.halt_s)::int end,
      case when x.acked then x.opened + (x.halt_s + 60 + x.r5 * 7200) * interval '1 second' end,
      case when x.acked then '${city.propertyCompanyId}'::uuid end,
      case when x.acked then (case when x.false_alarm then 'false_alarm' else 'confirmed' end)::incident_classification end,
      case when x.acked and x.false_alarm
        then (array['stroller', 'wheelchair', 'bicycle', 'other'])[1 + floor(x.r3 * 4)::int]::false_alarm_reason end,
      x.opened, x.opened
    from (
      select y.*,
        case when y.false_alarm then 5 + 25 * y.r3 else 20 * power(12, y.r3) end as halt_s,
        not y.open and y.r5 < 0.8 as acked
      from (
        select s.sensor_id, e.facility_id, e.community_id, e.street_id, random() as r3, random() as r4,
          random() as r5, random() < ${FALSE_ALARM_RATIO} as false_alarm,
          false as open,
          '${start}'::timestamptz + (k + random() * 0.9) * ${gapS} * interval '1 second' as opened
        from growth_elevators e join growth_elevator_sensor s on s.e = e.e
          cross join generate_series(0, ${perElevator - 1}) k
      ) y
    ) x`),
  );
  const offlinePerElevator = Math.round(12 * flags["offline-per-month"]);
  if (offlinePerElevator > 0) {
    const offlineGapS = (365 * DAY_S) / offlinePerElevator;
    await bulk(
      database,
      "sensor_offline incidents",
      sql.raw(`
      insert into incidents (kind, sensor_id, facility_id, community_id, street_id, opened_at, closed_at, created_at, updated_at)
      select 'sensor_offline', s.sensor_id, s.facility_id, s.community_id, s.street_id, x.opened,
        x.opened + (300 + random() * 6 * 3600) * interval '1 second', x.opened, x.opened
      from growth_elevators e cross join generate_series(0, ${offlinePerElevator - 1}) k
        cross join lateral (select '${start}'::timestamptz + (k + random() * 0.9) * ${offlineGapS} * interval '1 second' as opened) x
        join growth_sensors s on s.i = e.e + ${E} * (k % greatest(1, ${Math.floor(flags.sensors / E)}))`),
    );
  }

  // The evidence: each e-bike incident's detections (3 s apart, from its opening) and its clear.
  const detections = await bulk(
    database,
    "detections",
    sql.raw(`
    insert into sensor_events (sensor_id, event_id, facility_id, type, occurred_at, received_at, payload)
    select i.sensor_id, 'd' || i.n || '.' || j, i.facility_id, 'ebike_detected', t.at, t.at + interval '80 ms',
      jsonb_build_object('eventId', 'd' || i.n || '.' || j, 'occurredAt', ${occurredAtText("t.at")},
        'type', 'ebike_detected', 'carHalted', get_byte(uuid_send(i.id), 0) < 230, 'floor', 1 + get_byte(uuid_send(i.id), 1) % 6,
        'confidence', round((0.9 + get_byte(uuid_send(i.id), 2) / 2560.0)::numeric, 3))
    from (select id, sensor_id, facility_id, opened_at, detections, row_number() over () as n
          from incidents where kind = 'ebike') i
      cross join generate_series(0, i.detections - 1) j
      cross join lateral (select i.opened_at + j * interval '3 seconds' as at) t`),
  );
  // Each incident's halted flag, as the ingest's replay keeps it: every detection of an incident
  // reports the same carHalted (above).
  await bulk(
    database,
    "halted flags",
    sql.raw(`update incidents set halted = get_byte(uuid_send(id), 0) < 230 where kind = 'ebike'`),
  );
  const clears = await bulk(
    database,
    "clears",
    sql.raw(`
    insert into sensor_events (sensor_id, event_id, facility_id, type, occurred_at, received_at, payload)
    select i.sensor_id, 'c' || i.n, i.facility_id, 'ebike_cleared', i.closed_at, i.closed_at + interval '80 ms',
      jsonb_build_object('eventId', 'c' || i.n, 'occurredAt', ${occurredAtText("i.closed_at")},
        'type', 'ebike_cleared', 'floor', 1 + get_byte(uuid_send(i.id), 1) % 6)
    from (select id, sensor_id, facility_id, closed_at, row_number() over () as n
          from incidents where kind = 'ebike' and closed_at is not null) i`),
  );
  const faultsPerSensor = Math.round(12 * flags["faults-per-month"]);
  let faults = 0;
  if (faultsPerSensor > 0) {
    const faultGapS = (365 * DAY_S) / faultsPerSensor;
    faults = await bulk(
      database,
      "faults",
      sql.raw(`
      insert into sensor_events (sensor_id, event_id, facility_id, type, occurred_at, received_at, payload)
      select s.sensor_id, 'x' || k, s.facility_id, 'fault', t.at, t.at + interval '80 ms',
        jsonb_build_object('eventId', 'x' || k, 'occurredAt', ${occurredAtText("t.at")}, 'type', 'fault',
          'code', (array['E_CAM_OBSTRUCTED', 'E_LOAD_DRIFT', 'E_TEMP_HIGH', 'E_UPLINK'])[1 + (s.i + k) % 4],
          'message', (array['camera lens obstructed', 'load cell reading drifting', 'camera module over temperature',
            'uplink lost; buffered events resent'])[1 + (s.i + k) % 4])
      from growth_sensors s cross join generate_series(0, ${faultsPerSensor - 1}) k
        cross join lateral (select '${start}'::timestamptz + (k + random()) * ${faultGapS} * interval '1 second' as at) t`),
    );
  }

  // Heartbeats: the rest of --events, every 30 s per sensor, ending now, within the raw window
  // (7 full days and today). Sensor by sensor in id order (the primary key's order), in chunks.
  const evidence = detections + clears + faults;
  const windowBeats = Math.floor(
    (now.getTime() - acceptedHeartbeatsFrom(now).getTime()) / 1000 / HEARTBEAT_S,
  );
  const perSensor = Math.min(windowBeats, Math.floor(Math.max(0, flags.events - evidence) / flags.sensors));
  let heartbeats = 0;
  if (perSensor > 0) {
    // Two statements at a time: PostgreSQL uses one core per statement.
    const chunks = Math.min(20, flags.sensors);
    let next = 0;
    const worker = async () => {
      for (let c = next++; c < chunks; c = next++) {
        const n = await bulk(
          database,
          `heartbeats ${c + 1}/${chunks}`,
          sql.raw(`
          insert into sensor_events (sensor_id, event_id, facility_id, type, occurred_at, received_at, payload)
          select s.sensor_id, 'h' || k, s.facility_id, 'heartbeat', t.at, t.at + interval '50 ms',
            jsonb_build_object('eventId', 'h' || k, 'occurredAt', ${occurredAtText("t.at")}, 'type', 'heartbeat',
              'uptimeS', 86400 * (1 + s.i % 14) + k * ${HEARTBEAT_S},
              'firmware', (array['2.3.7', '2.4.1', '2.4.2'])[1 + s.i % 3])
          from (select * from growth_sensors where i % ${chunks} = ${c} order by sensor_id) s
            cross join generate_series(0, ${perSensor - 1}) k
            cross join lateral (select '${end}'::timestamptz
              - (${perSensor} - k) * ${HEARTBEAT_S} * interval '1 second' + (s.i % ${HEARTBEAT_S}) * interval '1 second' as at) t`),
        );
        heartbeats += n;
      }
    };
    const h0 = performance.now();
    await Promise.all([worker(), worker()]);
    log(`fill: ${heartbeats} heartbeats in ${seconds(h0)} s`);
  }

  // sensor_days: from the heartbeats where there are some (the ingest's own included), else a day
  // as a sensor that stayed up makes it.
  const daysFromBeats = await bulk(
    database,
    "sensor_days from the heartbeats",
    sql.raw(`
    insert into sensor_days as d (sensor_id, day, heartbeats, first_at, last_at, longest_gap_s, online_s, interval_s)
    select sensor_id, day, count(*)::int, min(occurred_at), max(occurred_at), ${HEARTBEAT_S},
      ${HEARTBEAT_S} * (count(*) - 1), ${HEARTBEAT_S}
    from (select sensor_id, occurred_at, (occurred_at at time zone 'Asia/Shanghai')::date as day
          from sensor_events where type = 'heartbeat') h
    group by sensor_id, day
    on conflict (sensor_id, day) do update set heartbeats = excluded.heartbeats, first_at = excluded.first_at,
      last_at = excluded.last_at`),
  );
  const daysBefore = await bulk(
    database,
    "sensor_days before the heartbeats",
    sql.raw(`
    insert into sensor_days (sensor_id, day, heartbeats, first_at, last_at, longest_gap_s, online_s, interval_s)
    select s.sensor_id, d.day, ${HEARTBEATS_PER_DAY} - floor(r.r * r.r * 40)::int,
      d.day::timestamp at time zone 'Asia/Shanghai' + (s.i % ${HEARTBEAT_S}) * interval '1 second',
      d.day::timestamp at time zone 'Asia/Shanghai' + (${DAY_S - HEARTBEAT_S} + s.i % ${HEARTBEAT_S}) * interval '1 second',
      ${HEARTBEAT_S} + floor(power(r.r, 8) * 3600), ${DAY_S - HEARTBEAT_S} - floor(power(r.r, 8) * 3600), ${HEARTBEAT_S}
    from growth_sensors s
      cross join generate_series(('${start}'::timestamptz at time zone 'Asia/Shanghai')::date,
        ('${end}'::timestamptz at time zone 'Asia/Shanghai')::date, interval '1 day') d0
      cross join lateral (select d0::date as day) d
      cross join lateral (select random() as r) r
    on conflict (sensor_id, day) do nothing`),
  );
  await db.execute(sql`update sensors set online = true, last_seen_at = ${end}::timestamptz,
    last_heartbeat_at = ${end}::timestamptz where name like 'growth sensor %'`);
  const [defaults] = await queryRows<{ n: number }>(
    db,
    sql`select ((select count(*) from sensor_events_heartbeat_default)
      + (select count(*) from sensor_events_evidence_default))::int as n`,
  );
  if (defaults?.n) throw new Error(`${defaults.n} events landed in a default partition`);
  await db.execute(sql`drop table growth_elevator_sensor, growth_sensors, growth_elevators`);
  const v0 = performance.now();
  await db.execute(sql`vacuum analyze`);
  log(`fill: vacuum analyze in ${seconds(v0)} s`);
  const [incidents] = await queryRows<{ ebike: number; offline: number }>(
    db,
    sql`select count(*) filter (where kind = 'ebike')::int as ebike,
          count(*) filter (where kind = 'sensor_offline')::int as offline from incidents`,
  );
  return {
    seconds: seconds(t0),
    rows: {
      heartbeats,
      detections,
      clears,
      faults,
      events: heartbeats + evidence,
      ebike_incidents: incidents?.ebike ?? 0,
      offline_incidents: incidents?.offline ?? 0,
      sensor_days: daysFromBeats + daysBefore,
    },
  };
}

/** The first instant of the raw heartbeat window (iot/event-partitions.ts, default retention). */
function acceptedHeartbeatsFrom(now: Date): Date {
  const today = new Date(now.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 10);
  const first = new Date(Date.parse(`${today}T00:00:00+08:00`) - 7 * DAY_S * 1000);
  return first;
}

// ---- reads ---------------------------------------------------------------------------------------

interface Read {
  name: string;
  path: string;
}
interface ReadFigures {
  p50: number;
  p99: number;
  bytes: number;
  /** Requests timed (fewer than --reads when --read-seconds ran out). */
  samples: number;
  /** The first answer that was not 200, if any (the read stops there). */
  failed: string | null;
}

function readsOf(city: City, now: Date): Read[] {
  const shanghai = (t: number) => new Date(t + 8 * 3600 * 1000).toISOString().slice(0, 10);
  const to = shanghai(now.getTime() + DAY_S * 1000);
  const from = shanghai(now.getTime() - (STATS_MAX_DAYS - 1) * DAY_S * 1000);
  return [
    {
      name: "incident stats, the street over a year",
      path: `/v1/incidents/stats?groupBy=community&from=${from}&to=${to}`,
    },
    { name: "incident list, first page", path: "/v1/incidents" },
    { name: "street dashboard", path: `/v1/streets/${city.streetId}/dashboard` },
    { name: "contract list, first page", path: "/v1/contracts" },
  ];
}

/**
 * Each read --reads times in sequence, one request at a time, after a warm-up; a read stops early
 * when --read-seconds are spent (at least 3 timed), or at its first answer other than 200.
 */
async function measureReads(base: string, key: string, reads: Read[]): Promise<ReadFigures[]> {
  const headers = { authorization: `Bearer ${key}` };
  const out: ReadFigures[] = [];
  for (const read of reads) {
    const once = async () => {
      const t = performance.now();
      const res = await fetch(`${base}${read.path}`, { headers });
      const body = await res.arrayBuffer();
      const ms = performance.now() - t;
      const failed =
        res.status === 200 ? null : `${res.status}: ${Buffer.from(body).toString().slice(0, 200)}`;
      return { ms, bytes: body.byteLength, failed };
    };
    const samples: number[] = [];
    let bytes = 0;
    let failed: string | null = null;
    // Warm-up (connections, plans, the key cache): two rounds of the server's pool, or 1 request
    // when it takes over a second. Requests sent one at a time go round the pool's idle
    // connections, and each connection's PostgreSQL backend pays once for its first read of a
    // street's year: mapping the shared buffers it touches, a page fault per 4 KB page without
    // huge pages (BENCHMARKS.md). A server that has run a while has every connection warm.
    for (let w = 0; w < 2 * DEFAULT_POOL_MAX && !failed; w++) {
      const r = await once();
      if (r.failed) failed = r.failed;
      else if (r.ms > 1000) break;
    }
    const deadline = performance.now() + flags["read-seconds"] * 1000;
    for (let i = 0; i < flags.reads && !failed; i++) {
      const r = await once();
      if (r.failed) {
        failed = r.failed;
        break;
      }
      samples.push(r.ms);
      bytes = r.bytes;
      if (samples.length >= 3 && performance.now() > deadline) break;
    }
    const figures = {
      p50: round(quantile(samples, 0.5), 1),
      p99: round(quantile(samples, 0.99), 1),
      bytes,
      samples: samples.length,
      failed,
    };
    out.push(figures);
    log(
      `read ${read.name}: ${figures.samples} requests, p50 ${figures.p50} ms, p99 ${figures.p99} ms${failed ? `; answered ${failed}` : ""}`,
    );
  }
  return out;
}

/**
 * Waits (up to two minutes) until no autovacuum worker runs: right after an ingest measurement
 * autovacuum may take up the tables it wrote, and on two cores its work would land in the reads'
 * timings.
 * Logs what it waited for.
 */
async function untilAutovacuumIdle(database: BenchDatabase): Promise<void> {
  const t0 = performance.now();
  const seen = new Set<string>();
  for (;;) {
    const rows = await queryRows<{ query: string }>(
      database.db,
      sql`select query from pg_stat_activity where backend_type = 'autovacuum worker' and datname = current_database()`,
    );
    for (const r of rows) seen.add(r.query);
    if (!rows.length || performance.now() - t0 > 120_000) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (seen.size) log(`waited ${seconds(t0)} s for autovacuum: ${[...seen].join("; ")}`);
}

async function reads(database: BenchDatabase, city: City, list: Read[]): Promise<ReadFigures[]> {
  const { server, base } = await startApiServer(database.url);
  try {
    return await measureReads(base, city.streetOfficeKey, list);
  } finally {
    await server.stop();
  }
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of every statement a read sends: the app in-process on a client that
 * notes each statement and its parameters, then each one explained with the same parameters.
 */
async function explainRead(database: BenchDatabase, path: string, key: string): Promise<string[]> {
  const captured: { query: string; parameters: unknown[]; types: number[] }[] = [];
  const client = openPostgres(database.url, {
    max: 1,
    // The app's session settings (db/client.ts).
    connection: { application_name: "bench-growth-explain", TimeZone: "UTC", jit: "off" },
    debug: (_connection, query, parameters, types) => {
      captured.push({ query, parameters, types: types as number[] });
    },
  });
  try {
    const app = createTestApp(drizzleOverPostgres(client));
    const res = await app.request(path, { headers: { authorization: `Bearer ${key}` } });
    await res.arrayBuffer();
    const statements = captured
      .splice(0) // The app's statements, not postgres.js's own (its array types, on connecting).
      .filter(
        (c) =>
          /^\s*(select|with)\b/i.test(c.query) &&
          !c.query.includes("pg_catalog.") &&
          // EXPLAIN ANALYZE runs what it explains: not the key lookup's touch of last_used_at.
          !/\b(insert|update|delete)\b/i.test(c.query),
      );
    const plans: { ms: number; text: string }[] = [];
    for (const s of statements) {
      const params = s.parameters.map((p, i) => client.typed(p as never, s.types[i] ?? 0));
      const rows = await client.unsafe(`explain (analyze, buffers) ${s.query}`, params as never[]);
      const text = rows.map((r) => String((r as Record<string, unknown>)["QUERY PLAN"])).join("\n");
      const ms = Number(/Execution Time: ([\d.]+) ms/.exec(text)?.[1] ?? 0);
      plans.push({ ms, text: `-- ${round(ms, 1)} ms\n${s.query.trim()}\n${text}` });
    }
    return plans.sort((a, b) => b.ms - a.ms).map((p) => p.text);
  } finally {
    await client.end({ timeout: 5 });
  }
}

// ---- bytes ---------------------------------------------------------------------------------------

interface Bytes {
  heartbeatRow: number;
  sensorDayRow: number;
  evidencePerSensorDay: number;
  todayPerSensorDay: number;
  keptPerSensorDay: number;
  rawWindowPerSensor: number;
  ratio: number;
}

async function bytesPerSensorDay(database: BenchDatabase, sensors: number): Promise<Bytes> {
  const [r] = await queryRows<{
    hb_bytes: number;
    hb_rows: number;
    ev_bytes: number;
    ev_days: number;
    sd_bytes: number;
    sd_rows: number;
  }>(
    database.db,
    sql`with parts as (
          select c.oid, p.relname as parent from pg_inherits i
            join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
          where p.relname in ('sensor_events_heartbeat', 'sensor_events_evidence')
        )
        select
          (select sum(pg_total_relation_size(oid)) from parts where parent = 'sensor_events_heartbeat')::float8 as hb_bytes,
          (select count(*) from sensor_events_heartbeat)::float8 as hb_rows,
          (select sum(pg_total_relation_size(oid)) from parts where parent = 'sensor_events_evidence')::float8 as ev_bytes,
          (select greatest(1, extract(epoch from max(occurred_at) - min(occurred_at)) / 86400)
            from sensor_events_evidence)::float8 as ev_days,
          pg_total_relation_size('sensor_days')::float8 as sd_bytes,
          (select count(*) from sensor_days)::float8 as sd_rows`,
  );
  if (!r) throw new Error("no sizes");
  const heartbeatRow = r.hb_bytes / Math.max(1, r.hb_rows);
  const sensorDayRow = r.sd_bytes / Math.max(1, r.sd_rows);
  const evidencePerSensorDay = r.ev_bytes / Math.max(1, sensors * r.ev_days);
  // Both designs keep the evidence; today's keeps every heartbeat as a row besides.
  const todayPerSensorDay = heartbeatRow * HEARTBEATS_PER_DAY + evidencePerSensorDay;
  const keptPerSensorDay = sensorDayRow + evidencePerSensorDay;
  return {
    heartbeatRow,
    sensorDayRow,
    evidencePerSensorDay,
    todayPerSensorDay,
    keptPerSensorDay,
    rawWindowPerSensor: heartbeatRow * HEARTBEATS_PER_DAY * 7,
    ratio: keptPerSensorDay / todayPerSensorDay,
  };
}

/**
 * Where an ingest measurement's work went below SQL: blocks read into shared buffers (from the OS
 * cache or the disk) and found there, for the event partitions' indexes and for every table (the
 * events' included) and other index, by relation; and the WAL written, with its full-page images.
 * Counters of the whole server (the bench is its only writer), read before and after.
 */
interface BufferCounters {
  /** Per relation (a table, or an index as `table.index`): blocks read and hit. */
  relations: Map<string, { read: number; hit: number }>;
  walBytes: number;
  walFpi: number;
}

async function bufferCounters(database: BenchDatabase): Promise<BufferCounters> {
  await queryRows(database.db, sql`select pg_stat_clear_snapshot()`);
  const rows = await queryRows<{ name: string; read: number; hit: number }>(
    database.db,
    sql`select relname as name, coalesce(heap_blks_read, 0)::float8 as read, coalesce(heap_blks_hit, 0)::float8 as hit
          from pg_statio_user_tables
        union all
        select relname || '.' || indexrelname, idx_blks_read::float8, idx_blks_hit::float8 from pg_statio_user_indexes`,
  );
  const [wal] = await queryRows<{ bytes: number; fpi: number }>(
    database.db,
    sql`select wal_bytes::float8 as bytes, wal_fpi::float8 as fpi from pg_stat_wal`,
  );
  return {
    relations: new Map(rows.map((r) => [r.name, { read: r.read, hit: r.hit }])),
    walBytes: wal?.bytes ?? 0,
    walFpi: wal?.fpi ?? 0,
  };
}

/** The counters' change per 1,000 events stored. */
function perThousandEvents(before: BufferCounters, after: BufferCounters, stored: number) {
  const per = (v: number) => (v * 1000) / Math.max(1, stored);
  const isEventIndex = (name: string) => name.startsWith("sensor_events") && name.includes(".");
  const sum = { eventIndexReads: 0, eventIndexHits: 0, otherReads: 0, otherHits: 0 };
  const reads: [string, number][] = [];
  for (const [name, a] of after.relations) {
    const b = before.relations.get(name) ?? { read: 0, hit: 0 };
    const read = per(a.read - b.read);
    const hit = per(a.hit - b.hit);
    if (isEventIndex(name)) {
      sum.eventIndexReads += read;
      sum.eventIndexHits += hit;
    } else {
      sum.otherReads += read;
      sum.otherHits += hit;
    }
    if (read >= 1) reads.push([name, read]);
  }
  return {
    ...sum,
    /** The three relations with the most blocks read. */
    mostRead: reads.sort((x, y) => y[1] - x[1]).slice(0, 3),
    walKb: per(after.walBytes - before.walBytes) / 1024,
    walFpi: per(after.walFpi - before.walFpi),
  };
}

/** Runs measureIngest with the buffer counters around its sustained run (B). */
async function measureIngestWithBuffers(
  database: BenchDatabase,
  sensors: Parameters<typeof measureIngest>[1],
  options: Parameters<typeof measureIngest>[2],
) {
  let before: BufferCounters | undefined;
  let after: BufferCounters | undefined;
  const figures = await measureIngest(database, sensors, {
    ...options,
    onSustained: {
      start: async () => {
        before = await bufferCounters(database);
      },
      end: async () => {
        after = await bufferCounters(database);
      },
    },
  });
  if (!before || !after) throw new Error("the sustained run's counters were not read");
  return { ...figures, buffers: perThousandEvents(before, after, figures.sustained.stored) };
}

// ---- the run -------------------------------------------------------------------------------------

await withCleanup(async (cleanup) => {
  const started = performance.now();
  const database = await createBenchDatabase("growth");
  cleanup(() => database.drop());
  const facts = await postgresFacts(database);
  const dir = await mkdtemp(join(tmpdir(), "bench-growth-"));
  cleanup(() => rm(dir, { recursive: true, force: true }));

  const t0 = performance.now();
  const city = await buildCity(database, dir);
  log(
    `city: ${flags.streets} streets, ${flags.elevators} elevators, ${flags.sensors} sensors, the street measured has ${city.streetElevators} elevators and ${city.contracts} contracts (${seconds(t0)} s)`,
  );
  // Sensor i is in elevator i mod E, so four slices of n ≤ E / 4 sensors are on four sets of
  // elevators: the filled measurement's events meet the fill's history only, as a city's new events
  // do, not the empty measurement's events at nearly the same device times (same seed; each run's
  // timeline ends at its end), which every batch's incident replay would read again.
  const n = Math.max(
    1,
    Math.min(flags["ingest-sensors"], Math.floor(flags.sensors / 4), Math.floor(flags.elevators / 4)),
  );
  const sensorsFrom = (k: number) => ({
    sustained: city.sensors.slice(2 * k * n, (2 * k + 1) * n),
    latency: city.sensors.slice((2 * k + 1) * n, (2 * k + 2) * n),
  });
  const ingestOptions = (runId: string) => ({
    duration: flags["ingest-duration"],
    brokerDuration: flags["broker-duration"],
    latencyRate: flags["latency-rate"],
    latencyDuration: flags["latency-duration"],
    consumers: 4,
    shared: true,
    inFlight: 1000,
    maxBacklog: 20_000,
    seed: flags.seed,
    profile: false,
    runId,
    log,
  });
  const stamp = Date.now().toString(36);

  log("EMPTY: the ingest");
  const ingestEmpty = await measureIngestWithBuffers(database, sensorsFrom(0), ingestOptions(`ge${stamp}`));
  log("EMPTY: the reads");
  await untilAutovacuumIdle(database);
  const readList = readsOf(city, new Date());
  const readsEmpty = await reads(database, city, readList);

  log(`FILL: ${flags.events} events`);
  const filled = await fill(database, city, new Date());
  log(`FILL: ${filled.seconds} s; ${JSON.stringify(filled.rows)}`);
  const bytes = await bytesPerSensorDay(database, flags.sensors);

  log("FILLED: the ingest");
  const ingestFilled = await measureIngestWithBuffers(database, sensorsFrom(1), ingestOptions(`gf${stamp}`));
  log("FILLED: the reads");
  await untilAutovacuumIdle(database);
  const readsFilled = await reads(database, city, readList);

  const goal = (ok: boolean) => (ok ? "reached" : "MISSED");
  const ingestRatio = ingestFilled.eventsPerS / Math.max(1, ingestEmpty.eventsPerS);
  const ms = (v: number) => round(v, 1);
  console.log(
    `\nGrowth benchmark: ${flags.sensors} sensors on ${flags.elevators} elevators in ${flags.streets} streets; the street measured: ${city.streetElevators} elevators, ${city.contracts} contracts; ${cpus().length} CPUs, ${round(totalmem() / 2 ** 30, 1)} GiB, ${facts}, Mosquitto ${ingestFilled.mosquittoVersion}`,
  );
  console.log(
    `Fill: ${filled.seconds} s (VACUUM ANALYZE included): ${Object.entries(filled.rows)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}\n`,
  );
  const e = ingestEmpty;
  const f = ingestFilled;
  /** A row of one figure of both ingest measurements, judged by nothing. */
  const side = (label: string, cellOf: (m: typeof e) => string | number): (string | number)[] => [
    label,
    cellOf(e),
    cellOf(f),
    "",
    "",
  ];
  const rows: (string | number)[][] = [
    [
      "ingest events/s (sustained, durable, exactly once)",
      round(e.eventsPerS, 0),
      round(f.eventsPerS, 0),
      `filled ≥ ${GOALS.ingestRatio} × empty (${round(ingestRatio, 2)})`,
      goal(ingestRatio >= GOALS.ingestRatio),
    ],
    side(
      `  publish→commit p50 / p99 ms at ${flags["latency-rate"]} events/s`,
      (m) => `${ms(m.latency.p50)} / ${ms(m.latency.p99)}`,
    ),
    side(
      "    the same, without the latency run's first 2 s (its devices connecting)",
      (m) => `${ms(m.latency.settledP50)} / ${ms(m.latency.settledP99)}`,
    ),
    side("  broker limit msgs/s (same run)", (m) => round(m.brokerRate, 0)),
    side("  CPU ms per 1,000 messages (sustained run): broker / publisher / ingest / PostgreSQL", (m) =>
      [m.cpuB.broker, m.cpuB.publisher, m.cpuB.subscriber, m.cpuB.postgres]
        .map((v) => round(v, 0))
        .join(" / "),
    ),
    side(
      "  per 1,000 events stored (sustained run): event index blocks read into shared buffers / hit",
      (m) => `${round(m.buffers.eventIndexReads, 0)} / ${round(m.buffers.eventIndexHits, 0)}`,
    ),
    side(
      "    tables' (the events' included) and other indexes' blocks read / hit",
      (m) => `${round(m.buffers.otherReads, 0)} / ${round(m.buffers.otherHits, 0)}`,
    ),
    side("    the most blocks read: relation (blocks)", (m) =>
      m.buffers.mostRead.map(([n, v]) => `${n} (${round(v, 0)})`).join(", "),
    ),
    side(
      "    WAL KB / full-page images",
      (m) => `${round(m.buffers.walKb, 0)} / ${round(m.buffers.walFpi, 0)}`,
    ),
    [
      "  count check lost / duplicated",
      `${e.lost} / ${e.duplicated}`,
      `${f.lost} / ${f.duplicated}`,
      "0 / 0",
      goal(e.lost + e.duplicated + f.lost + f.duplicated === 0),
    ],
  ];
  const cell = (r: ReadFigures) =>
    r.failed
      ? `answered ${r.failed.slice(0, 60)}`
      : `${r.p50} / ${r.p99} (${r.samples}, ${round(r.bytes / 1024, 1)})`;
  readList.forEach((read, i) => {
    const a = readsEmpty[i] as ReadFigures;
    const b = readsFilled[i] as ReadFigures;
    rows.push([
      `${read.name}: p50 / p99 ms (requests, KB)`,
      cell(a),
      cell(b),
      `p99 ≤ ${GOALS.readP99Ms}`,
      goal(!b.failed && b.p99 <= GOALS.readP99Ms),
    ]);
  });
  rows.push(
    [
      "bytes per sensor per day: heartbeats as rows for ever (today's design) → kept for good now",
      "",
      `${round(bytes.todayPerSensorDay, 0)} → ${round(bytes.keptPerSensorDay, 0)}`,
      `≤ ${GOALS.bytesRatio * 100} % (${round(100 * bytes.ratio, 2)} %)`,
      goal(bytes.ratio <= GOALS.bytesRatio),
    ],
    [
      "  bytes: heartbeat row (indexes incl.) / sensor_days row / evidence per sensor-day (in both designs)",
      "",
      `${round(bytes.heartbeatRow, 1)} / ${round(bytes.sensorDayRow, 1)} / ${round(bytes.evidencePerSensorDay, 1)}`,
      "",
      "",
    ],
    [
      "  raw heartbeat window per sensor (7 days × 2,880 rows), bounded, MB",
      "",
      round(bytes.rawWindowPerSensor / 2 ** 20, 2),
      "",
      "",
    ],
  );
  printTable(["figure", "empty", "filled", "goal", ""], rows);

  const missed = readList.filter((_, i) => {
    const r = readsFilled[i] as ReadFigures;
    return r.failed !== null || r.p99 > GOALS.readP99Ms;
  });
  for (const read of missed) {
    console.log(`\nEXPLAIN (ANALYZE, BUFFERS) of ${read.path}'s statements, slowest first:\n`);
    const plans = await explainRead(database, read.path, city.streetOfficeKey);
    console.log(plans.slice(0, 2).join("\n\n"));
  }
  log(`done in ${seconds(started)} s`);
  const readKeys = ["stats", "incidents", "dashboard", "contracts"];
  printFigures({
    ingest_empty_events_per_s: round(e.eventsPerS, 0),
    ingest_filled_events_per_s: round(f.eventsPerS, 0),
    ingest_ratio: round(ingestRatio, 2),
    latency_p99_empty_ms: ms(e.latency.p99),
    latency_p99_filled_ms: ms(f.latency.p99),
    ...Object.fromEntries(
      readKeys.flatMap((k, i) => [
        [`${k}_p99_empty_ms`, (readsEmpty[i] as ReadFigures).p99],
        [`${k}_p99_filled_ms`, (readsFilled[i] as ReadFigures).p99],
      ]),
    ),
    bytes_today_per_sensor_day: round(bytes.todayPerSensorDay, 0),
    bytes_kept_per_sensor_day: round(bytes.keptPerSensorDay, 0),
    bytes_ratio: round(bytes.ratio, 4),
    fill_s: filled.seconds,
    events: filled.rows.events ?? 0,
    lost: e.lost + f.lost,
    duplicated: e.duplicated + f.duplicated,
  });
  if (e.lost || e.duplicated || f.lost || f.duplicated) process.exitCode = 1;
});
