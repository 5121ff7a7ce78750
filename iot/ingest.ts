/**
 * The ingest core: a batch of raw messages (from MQTT or HTTP) → events stored exactly once,
 * dead letters for the rest, sensor health and incidents updated, all in ONE transaction.
 * Set-based SQL throughout: one statement per table per batch, whatever the batch size, each a
 * prepared statement (queryPrepared), sent in rounds of statements that need no answer from each
 * other: BEGIN; the writes with the incident windows; the sightings and incident writes with the
 * COMMIT (three round trips).
 */
import { setImmediate } from "node:timers";
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import { type Database, queryPrepared, type Tx } from "../db/database.js";
import { classifyDbError, sqlState } from "../db/pg-errors.js";
import { acceptedFrom, DEFAULT_EVENT_RETENTION, type EventRetention } from "./event-partitions.js";
import { type DerivedIncident, deriveIncidents, type EbikeEvent, planIncidents } from "./incidents.js";
import {
  isSensorId,
  MAX_PAYLOAD_BYTES,
  type ParsedTopic,
  parseEvent,
  parseStatus,
  parseTopic,
  type RejectReason,
  type SensorEvent,
} from "./protocol.js";
import { createSensorRateLimiter, type RateLimit } from "./rate-limit.js";
import { applySightings, MISSED_HEARTBEATS, type Sighting } from "./sweeper.js";

export interface IngestItem {
  topic: string;
  payload: Uint8Array;
  receivedAt: Date;
  /**
   * Delivered from the broker's retained store when the consumer (re)subscribed, not live: a
   * status of unknown age. It is applied only where it agrees with what the sensor did since.
   */
  retained?: boolean;
}

/** A status message of one sensor in a batch. */
interface Status {
  sensor: SensorInfo;
  online: boolean;
  at: Date;
  retained: boolean;
}

export type ItemOutcome =
  | { status: "stored"; eventId: string }
  | { status: "duplicate"; eventId: string }
  | { status: "rejected"; reason: RejectReason; eventId?: string }
  /** A status message (`online`/`offline`) applied to the sensor. */
  | { status: "status" };

export interface IngestResult {
  stored: number;
  duplicates: number;
  rejected: { index: number; reason: RejectReason; eventId?: string }[];
  outcomes: ItemOutcome[];
}

export interface IngestCounters {
  stored: number;
  duplicates: number;
  /** Messages dead-lettered, stored or not (a rate-limited flood counts each message). */
  deadLetters: number;
  byReason: Record<string, number>;
  /** Of those, the ones only counted: their sensor was over its dead-letter quota. */
  deadLettersNotStored: number;
}

/** What one sensor may cost the ingest. */
export interface IngestLimits {
  /** Messages (events and status) per sensor; null: none (benchmarks replaying days at full speed). */
  sensorRate: RateLimit | null;
  /** Dead letters stored per sensor within DEAD_LETTER_QUOTA_WINDOW_MS; beyond, only counted. */
  deadLettersPerSensor: number;
}

/**
 * A device of protocol v1 sends a heartbeat per interval and rare detections: the rate is far
 * above that, and the burst takes a backlog re-sent after a reconnect (hours of heartbeats at the
 * default interval) and a full HTTP batch at once. The quota keeps enough of a misbehaving
 * device's dead letters to see what it sends, every day, and bounds what it can store.
 */
export const DEFAULT_SENSOR_RATE: RateLimit = { perSecond: 5, burst: 500 };
export const DEFAULT_INGEST_LIMITS: IngestLimits = {
  sensorRate: DEFAULT_SENSOR_RATE,
  deadLettersPerSensor: 200,
};

/** The ingest's limits from the settings (the defaults where one is absent). */
export function ingestLimitsOf(config: {
  INGEST_SENSOR_RATE_PER_S?: number;
  INGEST_SENSOR_BURST?: number;
  DEAD_LETTERS_PER_SENSOR_PER_DAY?: number;
}): IngestLimits {
  return {
    sensorRate: {
      perSecond: config.INGEST_SENSOR_RATE_PER_S ?? DEFAULT_SENSOR_RATE.perSecond,
      burst: config.INGEST_SENSOR_BURST ?? DEFAULT_SENSOR_RATE.burst,
    },
    deadLettersPerSensor:
      config.DEAD_LETTERS_PER_SENSOR_PER_DAY ?? DEFAULT_INGEST_LIMITS.deadLettersPerSensor,
  };
}

/** The window of the dead-letter quota: a rolling day. */
export const DEAD_LETTER_QUOTA_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface Ingest {
  /**
   * Stores a batch in one transaction on `db`, or on the ingest's own database when not given
   * (a Workers request passes its own client).
   */
  ingestBatch(items: readonly IngestItem[], db?: Database): Promise<IngestResult>;
  /** Forget what is cached about a sensor (call after revoking or rotating it). */
  invalidateSensor(sensorId: string): void;
  readonly counters: IngestCounters;
}

export interface IngestOptions {
  /** The database of every batch that names none (the MQTT writer's). */
  db?: Database;
  logger: Logger;
  clock: () => Date;
  /** How long a sensor lookup is trusted; a revoke in another process takes effect within it. */
  sensorCacheTtlMs?: number;
  /** Default: DEFAULT_INGEST_LIMITS. */
  limits?: Partial<IngestLimits>;
  /** How far back events are taken (iot/event-partitions.ts); default DEFAULT_EVENT_RETENTION. */
  retention?: EventRetention;
}

/** An event the checks let through, to be stored (or found stored) in this batch. */
interface Accepted {
  /** Its position in the batch's items. */
  index: number;
  sensor: SensorInfo;
  event: SensorEvent;
  /** The payload's text as the device sent it (valid JSON of exactly `event`). */
  json: string;
  receivedAt: Date;
}

interface SensorInfo {
  id: string;
  facilityId: string;
  communityId: string;
  streetId: string;
  revoked: boolean;
}

/**
 * A dead letter keeps the start of its payload, enough to recognise what a device sent (the
 * fields of any v1 event, the start of a larger one); `payload_bytes` keeps the whole size. A
 * constant, not a setting: it bounds a row, the quota and the retention bound the rows.
 */
export const DEAD_LETTER_PAYLOAD_BYTES = 1024;
const INT4_MAX = 2 ** 31 - 1;
/** How long a sensor found over its dead-letter quota has its dead letters only counted. */
const OVER_QUOTA_TTL_MS = 60_000;
const utf8 = new TextDecoder("utf-8", { fatal: true });

export function createIngest({
  db: ownDb,
  logger,
  clock,
  sensorCacheTtlMs = 5_000,
  limits = {},
  retention = DEFAULT_EVENT_RETENTION,
}: IngestOptions): Ingest {
  const { sensorRate, deadLettersPerSensor } = { ...DEFAULT_INGEST_LIMITS, ...limits };
  const cache = new Map<string, { info: SensorInfo | null; expires: number }>();
  const counters: IngestCounters = {
    stored: 0,
    duplicates: 0,
    deadLetters: 0,
    byReason: {},
    deadLettersNotStored: 0,
  };
  const rateLimiter = sensorRate ? createSensorRateLimiter(sensorRate) : null;
  /**
   * Sensors the database found at their quota, until when: their dead letters are counted without
   * a round trip (a flood of them costs nothing). The database's count decides; this only saves
   * asking it again for a while.
   */
  const overQuota = new Map<string, number>();
  let overQuotaSwept = Number.NEGATIVE_INFINITY;

  async function lookupSensors(db: Database, ids: Set<string>): Promise<Map<string, SensorInfo | null>> {
    const now = clock().getTime();
    const found = new Map<string, SensorInfo | null>();
    const missing: string[] = [];
    for (const id of ids) {
      const hit = cache.get(id);
      if (hit && hit.expires > now) found.set(id, hit.info);
      else if (!isSensorId(id)) found.set(id, null);
      else missing.push(id);
    }
    if (missing.length) {
      const rows = await queryPrepared<{
        id: string;
        facility_id: string;
        community_id: string;
        street_id: string;
        revoked: boolean;
      }>(
        db,
        sql`select s.id, s.facility_id, s.community_id, s.street_id, s.revoked_at is not null as revoked
            from sensors s join jsonb_array_elements_text(${JSON.stringify(missing)}::jsonb) x(id) on s.id = x.id::uuid`,
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const id of missing) {
        const r = byId.get(id);
        const info = r
          ? {
              id,
              facilityId: r.facility_id,
              communityId: r.community_id,
              streetId: r.street_id,
              revoked: r.revoked,
            }
          : null;
        cache.set(id, { info, expires: now + sensorCacheTtlMs });
        found.set(id, info);
      }
    }
    return found;
  }

  async function ingestBatch(items: readonly IngestItem[], db = ownDb): Promise<IngestResult> {
    if (items.length === 0) return { stored: 0, duplicates: 0, rejected: [], outcomes: [] };
    if (!db) throw new Error("ingestBatch: no database (createIngest was given none)");
    try {
      return await ingestOnce(db, items);
    } catch (err) {
      // A passing outage or a defect of ours: the writer retries the batch, nothing is
      // acknowledged or dead-lettered meanwhile (db/pg-errors.ts).
      if (classifyDbError(err) !== "data") throw err;
      // The data broke a rule of the schema that the checks missed: never let one message block
      // the stream. Store the items one by one; the one that still fails becomes a dead letter.
      logger.error({ err, items: items.length }, "ingest batch failed; retrying its items one by one");
      const results: IngestResult[] = [];
      for (const item of items) results.push(await ingestAlone(db, item));
      return merge(results);
    }
  }

  async function ingestAlone(db: Database, item: IngestItem): Promise<IngestResult> {
    try {
      return await ingestOnce(db, [item]);
    } catch (err) {
      if (classifyDbError(err) !== "data") throw err;
      const reason: RejectReason = `storage_rejected: ${sqlState(err) ?? "error"}`;
      const sensorId = parseTopic(item.topic)?.sensorId ?? null;
      const dead = [deadLetter(item, reason, sensorId)];
      const quota = await db.transaction((tx) => insertDeadLetters(tx, dead, clock(), deadLettersPerSensor));
      settleDeadLetters(dead, quota);
      return {
        stored: 0,
        duplicates: 0,
        rejected: [{ index: 0, reason }],
        outcomes: [{ status: "rejected", reason }],
      };
    }
  }

  /** After the commit: counts the dead letters and remembers the sensors found at their quota. */
  function settleDeadLetters(dead: readonly DeadLetter[], quota: QuotaAnswer) {
    for (const d of quota.dropped) d.notStored = true;
    for (const d of dead) {
      counters.deadLetters += d.messages;
      const key = d.reason.startsWith("schema_violation")
        ? "schema_violation"
        : (d.reason.split(":")[0] ?? d.reason);
      counters.byReason[key] = (counters.byReason[key] ?? 0) + d.messages;
      if (d.notStored) counters.deadLettersNotStored += d.messages;
    }
    const until = quota.at + OVER_QUOTA_TTL_MS;
    for (const id of quota.full) overQuota.set(id, until);
  }

  /** Whether the sensor's dead letters are only counted for now (see overQuota). */
  function isOverQuota(sensorId: string | null, now: number): boolean {
    if (sensorId === null) return false;
    if (now - overQuotaSwept >= OVER_QUOTA_TTL_MS) {
      overQuotaSwept = now;
      for (const [id, until] of overQuota) if (until <= now) overQuota.delete(id);
    }
    const until = overQuota.get(sensorId);
    return until !== undefined && until > now;
  }

  async function ingestOnce(db: Database, items: readonly IngestItem[]): Promise<IngestResult> {
    const topics = items.map((item) => parseTopic(item.topic));
    const sensorsById = await lookupSensors(db, new Set(topics.flatMap((t) => (t ? [t.sensorId] : []))));
    const now = clock();
    /** Tokens taken from each sensor's bucket: given back if this attempt does not commit. */
    const taken = new Map<string, number>();
    try {
      return await ingestChecked(db, items, topics, sensorsById, now, taken);
    } catch (err) {
      // The writer retries the batch (or the items alone): a device within its limit must not
      // be refused for an attempt that stored nothing.
      for (const [id, n] of taken) rateLimiter?.giveBack(id, n);
      throw err;
    }
  }

  async function ingestChecked(
    db: Database,
    items: readonly IngestItem[],
    topics: readonly (ParsedTopic | null)[],
    sensorsById: ReadonlyMap<string, SensorInfo | null>,
    now: Date,
    taken: Map<string, number>,
  ): Promise<IngestResult> {
    const outcomes: ItemOutcome[] = new Array(items.length);
    const dead: DeadLetter[] = [];
    /** Per sensor, the one dead letter that stands for all its messages over the rate limit. */
    const limited = new Map<string, DeadLetter>();
    const accepted: Accepted[] = [];
    const statuses: Status[] = [];
    const seen = new Set<string>();
    // The window of each class, once per batch: an event before it is not stored (a dead letter).
    const heartbeatsFrom = acceptedFrom("heartbeat", now, retention).getTime();
    const evidenceFrom = acceptedFrom("ebike_detected", now, retention).getTime();

    for (const [index, item] of items.entries()) {
      const reject = (reason: RejectReason, eventId?: string) => {
        outcomes[index] = { status: "rejected", reason, ...(eventId ? { eventId } : {}) };
        dead.push(deadLetter(item, reason, topics[index]?.sensorId ?? null));
      };
      const topic = topics[index];
      if (!topic) {
        reject("bad_topic");
        continue;
      }
      const sensor = sensorsById.get(topic.sensorId);
      if (!sensor) {
        reject("unknown_sensor");
        continue;
      }
      if (sensor.revoked) {
        reject("revoked_sensor");
        continue;
      }
      // Before anything reads the payload: a flood costs a map lookup per message.
      if (rateLimiter) {
        if (rateLimiter.take(sensor.id, 1, now.getTime()) === 0) {
          outcomes[index] = { status: "rejected", reason: "rate_limited" };
          const row = limited.get(sensor.id);
          if (row) {
            row.messages += 1;
            // An int4 column: a flood of huge payloads is "at least" this much.
            row.payloadBytes = Math.min(INT4_MAX, row.payloadBytes + item.payload.byteLength);
          } else {
            const first = { ...deadLetter(item, "rate_limited", sensor.id), keepPayload: false };
            limited.set(sensor.id, first);
            dead.push(first);
          }
          continue;
        }
        taken.set(sensor.id, (taken.get(sensor.id) ?? 0) + 1);
      }
      // Refused unread: the protocol's limit, whatever the payload says (no eventId is looked for).
      if (item.payload.byteLength > MAX_PAYLOAD_BYTES) {
        reject("payload_too_large");
        continue;
      }
      if (topic.kind === "status") {
        const status = parseStatus(item.payload);
        if (!status) {
          reject("schema_violation: status must be online or offline");
          continue;
        }
        statuses.push({
          sensor,
          online: status === "online",
          at: item.receivedAt,
          retained: item.retained === true,
        });
        outcomes[index] = { status: "status" };
        continue;
      }
      const parsed = parseEvent(item.topic, item.payload, item.receivedAt);
      if (!parsed.ok) {
        reject(parsed.reason, eventIdOf(item.payload));
        continue;
      }
      if (
        Date.parse(parsed.event.occurredAt) <
        (parsed.event.type === "heartbeat" ? heartbeatsFrom : evidenceFrom)
      ) {
        reject("outside_retention_window", parsed.event.eventId);
        continue;
      }
      const key = eventKey(sensor.id, parsed.event);
      if (seen.has(key)) {
        outcomes[index] = { status: "duplicate", eventId: parsed.event.eventId };
        continue;
      }
      seen.add(key);
      accepted.push({ index, sensor, event: parsed.event, json: parsed.json, receivedAt: item.receivedAt });
    }

    const quotaNow = now.getTime();
    for (const d of dead) d.notStored = isOverQuota(d.sensorId, quotaNow);
    const toStore = dead.filter((d) => !d.notStored);

    // A batch of nothing but messages over their limits (a flood) writes nothing: no transaction.
    const nothingToWrite = !accepted.length && !statuses.length && !toStore.length;
    const { storedEbike, tail, quota } = nothingToWrite
      ? { storedEbike: 0, tail: Promise.resolve([]), quota: noQuotaAnswer(now) }
      : await db.transaction(async (tx) => {
          // One round trip for the statements that need no answer from each other: postgres.js sends
          // what is not awaited back to back, and PostgreSQL runs them in this order on the
          // transaction's connection (the incident windows after the insert and after the locks).
          // The windows are read for every elevator with an accepted e-bike event, stored or a
          // duplicate: a superset, which the replay rule allows (iot/incidents.ts).
          const [duplicates, quota, , online, windows] = await Promise.all([
            insertEvents(tx, accepted),
            insertDeadLetters(tx, toStore, now, deadLettersPerSensor),
            // From here on, each statement is planned for the tables as they are now. A prepared
            // statement's generic plan is made once: one made while `incidents` was small (or
            // `sensors` unbloated) kept seq-scanning it for every batch once it held 58,000 rows
            // (14 ms a statement in bench:ingest), until an ANALYZE came. The two inserts above keep
            // theirs (a scan of the batch, nothing to go stale): the setting also covers the foreign
            // key checks' own statements, which it would re-plan for every event row (EXPLAIN
            // ANALYZE of a 700-event insert: 17 → 30 ms).
            queryPrepared(tx, sql`set local plan_cache_mode = force_custom_plan`),
            updateSensors(tx, accepted, statuses),
            readIncidentWindows(tx, accepted),
          ]);
          let fresh = 0;
          for (const [i, a] of accepted.entries()) {
            const isNew = !duplicates.has(i);
            if (isNew) fresh += 1;
            outcomes[a.index] = { status: isNew ? "stored" : "duplicate", eventId: a.event.eventId };
          }
          // A sign of life from a sensor that is online (which then has no open sensor_offline
          // incident: the sweeper and the last-will set both together) changes nothing: only the
          // rest goes through applySightings, usually nothing at all.
          // The last statements go out with the COMMIT, in the same round trip: both send all theirs
          // at once (the sightings' first: they touch sensor_offline incidents, writeIncidents ebike
          // ones), and the transaction ends without waiting for their answers. Should one fail,
          // PostgreSQL answers the COMMIT with a ROLLBACK: checked below, the batch then fails whole.
          const tail = Promise.allSettled([
            applySightings(
              tx,
              sightings(accepted, statuses).filter((s) => !s.online || online.get(s.sensorId) !== true),
            ),
            writeIncidents(tx, windows),
          ]);
          await handedToConnection();
          return { storedEbike: fresh, tail, quota };
        });
    // The COMMIT was answered, so every statement sent before it was too.
    for (const r of await tail) if (r.status === "rejected") throw r.reason;

    settleDeadLetters(dead, quota);
    const result = summarize(outcomes);
    counters.stored += result.stored;
    counters.duplicates += result.duplicates;
    // Only what was stored: a sensor's log lines are bounded by its quota, as its rows are.
    const logged = dead.filter((d) => !d.notStored);
    if (logged.length) {
      logger.warn(
        {
          deadLetters: logged.map((d) =>
            d.messages > 1 ? { reason: d.reason, messages: d.messages } : d.reason,
          ),
        },
        "ingest: messages dead-lettered",
      );
    }
    logger.debug(
      { items: items.length, stored: result.stored, ebike: storedEbike },
      "ingest batch committed",
    );
    return result;
  }

  return {
    ingestBatch,
    invalidateSensor: (id) => {
      cache.delete(id);
    },
    counters,
  };

  // ---- the statements of one batch ------------------------------------------------------------

  /**
   * Inserts the accepted events and rolls the new heartbeats up into their sensor's days
   * (`sensor_days`), in one statement; returns the positions in `accepted` of the events that were
   * already stored (usually none), so the answer is a row per duplicate, not per event. Only the
   * rows the insert returns are rolled up, so a duplicate counts nothing.
   */
  async function insertEvents(tx: Tx, accepted: readonly Accepted[]): Promise<Set<number>> {
    if (!accepted.length) return new Set();
    // A column per array, zipped by ROWS FROM: uuids and ISO timestamps need no quoting in an
    // array literal, and each payload goes as the device sent it (its text, checked by
    // parseEvent), so nothing is serialised again and PostgreSQL parses each value once.
    const n = accepted.length;
    const sensorIds = new Array<string>(n);
    const facilityIds = new Array<string>(n);
    const occurredAt = new Array<string>(n);
    const receivedAt = new Array<string>(n);
    const payloads = new Array<string>(n);
    for (const [i, a] of accepted.entries()) {
      sensorIds[i] = a.sensor.id;
      facilityIds[i] = a.sensor.facilityId;
      occurredAt[i] = new Date(a.event.occurredAt).toISOString();
      receivedAt[i] = a.receivedAt.toISOString();
      payloads[i] = a.json;
    }
    const array = (values: string[]) => `{${values.join(",")}}`;
    // The day's figures merge with the stored ones in time order: a batch after the day's last
    // heartbeat (or before its first) adds the gap between them; one that overlaps the stored
    // span adds its counts but no gap (see sensorDays in db/schema.ts).
    const duplicates = await queryPrepared<{ i: number }>(
      tx,
      sql`with batch as materialized (
            select x.sensor_id, x.facility_id, x.occurred_at, x.received_at, x.payload,
              x.payload->>'eventId' as event_id, (x.payload->>'type')::sensor_event_type as type, x.i
            from rows from (
              unnest(${array(sensorIds)}::text::uuid[]), unnest(${array(facilityIds)}::text::uuid[]),
              unnest(${array(occurredAt)}::text::timestamptz[]), unnest(${array(receivedAt)}::text::timestamptz[]),
              jsonb_array_elements(${`[${payloads.join(",")}]`}::text::jsonb)
            ) with ordinality as x(sensor_id, facility_id, occurred_at, received_at, payload, i)
          ), ins as (
            insert into sensor_events (sensor_id, event_id, facility_id, type, occurred_at, received_at, payload)
            select sensor_id, event_id, facility_id, type, occurred_at, received_at, payload from batch
            on conflict (sensor_id, event_id, occurred_at, type) do nothing
            returning sensor_id, event_id, type, occurred_at
          ), beats as (
            select sensor_id, day, occurred_at,
              extract(epoch from occurred_at - lag(occurred_at) over (partition by sensor_id, day order by occurred_at))::float8 as gap
            from (select sensor_id, occurred_at, (occurred_at at time zone 'Asia/Shanghai')::date as day
              from ins where type = 'heartbeat') h
          ), days as (
            insert into sensor_days as d (sensor_id, day, heartbeats, first_at, last_at, longest_gap_s, online_s, interval_s)
            select b.sensor_id, b.day, count(*)::int, min(b.occurred_at), max(b.occurred_at), coalesce(max(b.gap), 0),
              coalesce(sum(b.gap) filter (where b.gap <= ${MISSED_HEARTBEATS} * s.heartbeat_interval_s), 0),
              s.heartbeat_interval_s
            from beats b join sensors s on s.id = b.sensor_id
            group by b.sensor_id, b.day, s.heartbeat_interval_s
            on conflict (sensor_id, day) do update set
              heartbeats = d.heartbeats + excluded.heartbeats,
              first_at = least(d.first_at, excluded.first_at),
              last_at = greatest(d.last_at, excluded.last_at),
              longest_gap_s = greatest(d.longest_gap_s, ${JOINING_GAP},
                case when ${JOINING_GAP} is not null then excluded.longest_gap_s end),
              online_s = d.online_s + case when ${JOINING_GAP} is null then 0
                else excluded.online_s + case when ${JOINING_GAP} <= ${MISSED_HEARTBEATS} * excluded.interval_s
                  then ${JOINING_GAP} else 0 end end,
              interval_s = excluded.interval_s
          )
          select (b.i - 1)::int as i from batch b
          where not exists (select 1 from ins where ins.sensor_id = b.sensor_id and ins.event_id = b.event_id
            and ins.occurred_at = b.occurred_at and ins.type = b.type)`,
    );
    return new Set(duplicates.map((r) => r.i));
  }

  /**
   * last_seen_at / last_heartbeat_at move forward only; a device clock ahead of ours is capped at
   * receipt. Returns whether each sensor of the batch is online. For a sensor it updated, read
   * from the row as updated (the latest committed version, under our row lock), so a sweeper that
   * just took it offline is seen. For one whose signs are no newer than what it has (a backlog
   * delivered late), from the statement's snapshot: a sweeper that took it offline since opened
   * its incident after last_seen_at, so these older signs could not have brought it back anyway.
   */
  async function updateSensors(
    tx: Tx,
    accepted: readonly { sensor: SensorInfo; event: SensorEvent; receivedAt: Date }[],
    statuses: readonly Status[],
  ): Promise<Map<string, boolean>> {
    const bySensor = new Map<string, { seen: number; heartbeat: number | null }>();
    const entry = (id: string) => {
      let e = bySensor.get(id);
      if (!e) {
        e = { seen: 0, heartbeat: null };
        bySensor.set(id, e);
      }
      return e;
    };
    for (const a of accepted) {
      const e = entry(a.sensor.id);
      const at = Math.min(Date.parse(a.event.occurredAt), a.receivedAt.getTime());
      e.seen = Math.max(e.seen, at);
      if (a.event.type === "heartbeat") e.heartbeat = Math.max(e.heartbeat ?? 0, at);
    }
    // A live status is a sign of life at receipt; a retained one says nothing about now.
    for (const s of statuses.filter((x) => !x.retained)) {
      const e = entry(s.sensor.id);
      e.seen = Math.max(e.seen, s.at.getTime());
    }
    if (!bySensor.size) return new Map();
    const rows = [...bySensor].map(([id, e]) => ({
      id,
      seen: new Date(e.seen).toISOString(),
      heartbeat: e.heartbeat === null ? null : new Date(e.heartbeat).toISOString(),
    }));
    const updated = await queryPrepared<{ id: string; online: boolean }>(
      tx,
      sql`with x as materialized (
            select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(id uuid, seen timestamptz, heartbeat timestamptz)
          ), updated as (
            update sensors s set
              last_seen_at = greatest(s.last_seen_at, x.seen),
              last_heartbeat_at = greatest(s.last_heartbeat_at, x.heartbeat)
            from x
            where s.id = x.id and (x.seen > coalesce(s.last_seen_at, '-infinity')
              or x.heartbeat > coalesce(s.last_heartbeat_at, '-infinity'))
            returning s.id, s.online
          )
          select id, online from updated
          union all
          select s.id, s.online from x join sensors s on s.id = x.id
          where not exists (select 1 from updated u where u.id = x.id)`,
    );
    return new Map(updated.map((r) => [r.id, r.online]));
  }

  /**
   * Every stored event is a sign of life at min(occurredAt, receivedAt) (as last_seen_at), every
   * status message its state at receipt; iot/sweeper.ts applies them (online/offline, incidents).
   */
  function sightings(
    accepted: readonly { sensor: SensorInfo; event: SensorEvent; receivedAt: Date }[],
    statuses: readonly Status[],
  ): Sighting[] {
    const of = (sensor: SensorInfo, online: boolean, at: Date, retained = false): Sighting => ({
      sensorId: sensor.id,
      facilityId: sensor.facilityId,
      communityId: sensor.communityId,
      streetId: sensor.streetId,
      online,
      at,
      retained,
    });
    return [
      ...accepted.map((a) =>
        of(a.sensor, true, new Date(Math.min(Date.parse(a.event.occurredAt), a.receivedAt.getTime()))),
      ),
      // A retained `online` adds nothing (events and the sweeper tell); a retained `offline`
      // (the last-will, delivered again on subscribing) is checked against recent life.
      ...statuses
        .filter((s) => !(s.retained && s.online))
        .map((s) => of(s.sensor, s.online, s.at, s.retained)),
    ];
  }

  /**
   * The e-bike incidents of every elevator with e-bike events in the batch are re-derived from its
   * stored events in occurredAt order (see iot/incidents.ts). First, under per-elevator advisory
   * locks (sorted, so two batches never rebuild the same elevator at once; the partial unique
   * index backs it up), each elevator's window: where its replay starts (the latest incident
   * opened at or before the earliest event of the batch), its e-bike events and incidents since.
   */
  async function readIncidentWindows(
    tx: Tx,
    accepted: readonly { sensor: SensorInfo; event: SensorEvent }[],
  ): Promise<IncidentWindows> {
    const earliest = new Map<string, { sensor: SensorInfo; t0: number }>();
    for (const { sensor, event } of accepted) {
      if (event.type !== "ebike_detected" && event.type !== "ebike_cleared") continue;
      const t = Date.parse(event.occurredAt);
      const e = earliest.get(sensor.facilityId);
      if (!e || t < e.t0) earliest.set(sensor.facilityId, { sensor, t0: t });
    }
    if (!earliest.size) return { earliest, byFacility: new Map() };
    const facilities = [...earliest.keys()].sort();
    // Sent without waiting for the lock (queryPrepared sends in call order; PostgreSQL runs the
    // windows statement after the lock is granted, with a snapshot taken then).
    const locked = queryPrepared(
      tx,
      sql`select pg_advisory_xact_lock(k) from (
            select hashtextextended('incidents:' || f, 0) as k
            from jsonb_array_elements_text(${JSON.stringify(facilities)}::jsonb) f order by 1) locks`,
    );
    const windows = JSON.stringify(
      [...earliest].map(([facility_id, { t0 }]) => ({ facility_id, t0: new Date(t0).toISOString() })),
    );
    // Per elevator, in one statement. `starts` is materialised and the rest are per-elevator
    // subqueries, so each is an index range scan (inlined, the planner hash-joined every incident
    // of the table against the batch).
    const [, windowsRows] = await Promise.all([
      locked,
      queryPrepared<IncidentWindow>(
        tx,
        sql`with starts as materialized (
            select x.facility_id, coalesce(
              (select max(i.opened_at) from incidents i
                where i.facility_id = x.facility_id and i.kind = 'ebike' and i.opened_at <= x.t0), x.t0) as start
            from jsonb_to_recordset(${windows}::jsonb) as x(facility_id uuid, t0 timestamptz))
          select s.facility_id,
            coalesce((select json_agg(json_build_array(e.sensor_id, e.event_id, e.type, e.occurred_at,
                e.type = 'ebike_detected' and e.payload @> '{"carHalted": true}'::jsonb))
              from sensor_events e
              where e.facility_id = s.facility_id and e.occurred_at >= s.start
                and e.type in ('ebike_detected', 'ebike_cleared')), '[]') as events,
            coalesce((select json_agg(json_build_array(i.id, i.sensor_id, i.opened_at, i.closed_at, i.detections,
                i.halt_seconds, i.halted))
              from incidents i
              where i.facility_id = s.facility_id and i.kind = 'ebike' and i.opened_at >= s.start), '[]') as incidents
          from starts s`,
      ),
    ]);
    return { earliest, byFacility: new Map(windowsRows.map((w) => [w.facility_id, w])) };
  }

  /** Reconciles each elevator's stored incidents with those its window's events give. */
  async function writeIncidents(tx: Tx, { earliest, byFacility }: IncidentWindows): Promise<void> {
    const deletes: string[] = [];
    const updates: Record<string, unknown>[] = [];
    const inserts: Record<string, unknown>[] = [];
    const asJson = (d: DerivedIncident) => ({
      sensor_id: d.sensorId,
      opened_at: d.openedAt.toISOString(),
      closed_at: d.closedAt?.toISOString() ?? null,
      detections: d.detections,
      halt_seconds: d.haltSeconds,
      halted: d.halted,
    });
    for (const [facilityId, { sensor }] of earliest) {
      const window = byFacility.get(facilityId);
      const replay: EbikeEvent[] = (window?.events ?? []).map(([sensorId, eventId, type, at, carHalted]) => ({
        sensorId,
        eventId,
        type,
        occurredAt: new Date(at),
        carHalted,
      }));
      const current = (window?.incidents ?? []).map(
        ([id, sensorId, openedAt, closedAt, detections, haltSeconds, halted]) => ({
          id,
          sensorId,
          openedAt: new Date(openedAt),
          closedAt: closedAt === null ? null : new Date(closedAt),
          detections,
          haltSeconds,
          halted,
        }),
      );
      const plan = planIncidents(current, deriveIncidents(replay));
      deletes.push(...plan.deletes);
      for (const u of plan.updates) updates.push({ id: u.id, ...asJson(u) });
      for (const d of plan.inserts) {
        inserts.push({
          ...asJson(d),
          facility_id: facilityId,
          community_id: sensor.communityId,
          street_id: sensor.streetId,
        });
      }
    }
    // Sent together, in this order (one round trip; see applySightings).
    const statements: Promise<unknown>[] = [];
    if (deletes.length) {
      logger.warn({ incidents: deletes }, "ingest: incidents no longer supported by events, removed");
      statements.push(
        queryPrepared(
          tx,
          sql`delete from incidents where id in (select x::uuid from jsonb_array_elements_text(${JSON.stringify(deletes)}::jsonb) x)`,
        ),
      );
    }
    // Closing updates before opening ones (two statements), so the one-open-incident-per-elevator
    // index never sees two open at once: a non-deferrable unique index is checked row by row.
    // Each elevator has at most one open incident in its plan, so the opening ones never collide.
    for (const part of [
      updates.filter((u) => u.closed_at !== null),
      updates.filter((u) => u.closed_at === null),
    ]) {
      if (!part.length) continue;
      statements.push(
        queryPrepared(
          tx,
          sql`update incidents i set sensor_id = x.sensor_id, opened_at = x.opened_at, closed_at = x.closed_at,
                detections = x.detections, halt_seconds = x.halt_seconds, halted = x.halted, updated_at = now()
              from jsonb_to_recordset(${JSON.stringify(part)}::jsonb) as x(id uuid, sensor_id uuid, opened_at timestamptz,
                closed_at timestamptz, detections int, halt_seconds int, halted boolean)
              where i.id = x.id`,
        ),
      );
    }
    // The batch's last reads of growing tables are above. What runs from here on plans statements
    // that look rows up by key, once per connection: the inserts' foreign-key checks, the
    // notification trigger (0015) and, at COMMIT, the incident log's trigger (0004). Planned for
    // every row under force_custom_plan, they cost a sixth of PostgreSQL's CPU in bench:ingest.
    if (updates.length || inserts.length) {
      statements.push(queryPrepared(tx, sql`set local plan_cache_mode = auto`));
    }
    if (inserts.length) {
      statements.push(
        queryPrepared(
          tx,
          sql`insert into incidents (kind, sensor_id, facility_id, community_id, street_id, opened_at, closed_at, detections,
                halt_seconds, halted)
              select 'ebike', x.sensor_id, x.facility_id, x.community_id, x.street_id, x.opened_at, x.closed_at, x.detections,
                x.halt_seconds, x.halted
              from jsonb_to_recordset(${JSON.stringify(inserts)}::jsonb) as x(sensor_id uuid, facility_id uuid,
                community_id uuid, street_id uuid, opened_at timestamptz, closed_at timestamptz, detections int,
                halt_seconds int, halted boolean)
              order by x.closed_at is null, x.opened_at`,
        ),
      );
    }
    await Promise.all(statements);
  }
}

// ---- helpers --------------------------------------------------------------------------------

/**
 * In sensor_days' upsert, the seconds between the stored heartbeats of the day (`d`) and the
 * batch's (`excluded`) when one span follows the other; null when they overlap.
 */
const JOINING_GAP =
  sql.raw(`(case when excluded.first_at >= d.last_at then extract(epoch from excluded.first_at - d.last_at)::float8
  when excluded.last_at <= d.first_at then extract(epoch from d.first_at - excluded.last_at)::float8 end)`);

/**
 * An event's identity, the exactly-once key of sensor_events: sensor, eventId, type and the
 * occurredAt instant (to the millisecond, as stored; however its offset was written). A batch
 * holds each key once.
 */
function eventKey(sensorId: string, event: { eventId: string; type: string; occurredAt: string }): string {
  return `${sensorId}\u0000${event.eventId}\u0000${event.type}\u0000${Date.parse(event.occurredAt)}`;
}

/**
 * Resolves once the statements issued so far are queued on the transaction's connection, ahead
 * of anything issued later (the COMMIT). Both drivers queue a statement within the microtasks
 * that follow its call, with no I/O in between; a macrotask runs only after all of them.
 */
function handedToConnection(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** One elevator's window, as the windows statement returns it (positional, to keep it small). */
interface IncidentWindow {
  facility_id: string;
  /** [sensorId, eventId, type, occurredAt, carHalted] */
  events: [string, string, EbikeEvent["type"], string, boolean][];
  /** [id, sensorId, openedAt, closedAt, detections, haltSeconds, halted] */
  incidents: [string, string, string, string | null, number, number | null, boolean][];
}

interface IncidentWindows {
  /** Per elevator: the sensor of its earliest e-bike event in the batch, and that event's time. */
  earliest: Map<string, { sensor: { communityId: string; streetId: string }; t0: number }>;
  byFacility: Map<string, IncidentWindow>;
}

interface DeadLetter {
  item: IngestItem;
  reason: RejectReason;
  sensorId: string | null;
  /** Messages the row stands for (a sensor's messages over its rate limit in a batch are one). */
  messages: number;
  /** Their size in bytes, all of it (the stored payload is a prefix of the first, or nothing). */
  payloadBytes: number;
  /** False where the content says nothing (over the rate limit): no payload is kept. */
  keepPayload: boolean;
  /** Only counted: the sensor was over its dead-letter quota. */
  notStored: boolean;
}

function deadLetter(item: IngestItem, reason: RejectReason, sensorId: string | null): DeadLetter {
  return {
    item,
    reason,
    sensorId,
    messages: 1,
    payloadBytes: item.payload.byteLength,
    keepPayload: true,
    notStored: false,
  };
}

/** What the dead-letter insert found: rows not stored (quota), and sensors now at their quota. */
interface QuotaAnswer {
  at: number;
  dropped: DeadLetter[];
  full: string[];
}

const noQuotaAnswer = (now: Date): QuotaAnswer => ({ at: now.getTime(), dropped: [], full: [] });

/**
 * Stores the dead letters, each sensor's only while it has fewer than `quota` within the quota
 * window before `now`; rows naming no sensor (a topic no device can publish to) are not limited.
 * The count is read in the inserting statement: two batches of one sensor committing at once may
 * both pass its last free places (a sensor's MQTT messages share a writer partition, so only
 * concurrent HTTP requests can), which leaves the bound a bound.
 */
async function insertDeadLetters(
  tx: Tx | Database,
  dead: readonly DeadLetter[],
  now: Date,
  quota: number,
): Promise<QuotaAnswer> {
  const answer = noQuotaAnswer(now);
  if (!dead.length) return answer;
  const rows = dead.map(({ item, reason, sensorId, messages, payloadBytes, keepPayload }, ord) => {
    const bytes = Buffer.from(item.payload.buffer, item.payload.byteOffset, item.payload.byteLength);
    const kept = keepPayload ? prefixOf(bytes) : Buffer.alloc(0);
    const text = storableText(kept);
    return {
      ord,
      topic: storableText(Buffer.from(item.topic)) ?? "",
      sensor_id: sensorId && storableText(Buffer.from(sensorId)),
      payload: text ?? kept.toString("base64"),
      payload_base64: text === null,
      payload_bytes: payloadBytes,
      message_count: messages,
      reason,
      received_at: item.receivedAt.toISOString(),
    };
  });
  const since = new Date(now.getTime() - DEAD_LETTER_QUOTA_WINDOW_MS).toISOString();
  // `used` counts at most `quota` rows of each sensor: an index range scan that stops there.
  const over = await queryPrepared<{ ord: number; sensor_id: string; dropped: boolean }>(
    tx,
    sql`with x as materialized (
          select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(ord int, topic text, sensor_id text,
            payload text, payload_base64 boolean, payload_bytes int, message_count int, reason text, received_at timestamptz)
        ), used as materialized (
          select k.sensor_id, (select count(*)::int from (select 1 from dead_letters d
              where d.sensor_id = k.sensor_id and d.received_at > ${since}::timestamptz limit ${quota}) q) as n
          from (select distinct sensor_id from x where sensor_id is not null) k
        ), ranked as materialized (
          select x.*, u.n + row_number() over (partition by x.sensor_id order by x.ord) as nth
          from x left join used u on u.sensor_id = x.sensor_id
        ), stored as (
          insert into dead_letters (topic, sensor_id, payload, payload_base64, payload_bytes, message_count, reason, received_at)
          select topic, sensor_id, payload, payload_base64, payload_bytes, message_count, reason, received_at
          from ranked where sensor_id is null or nth <= ${quota}
          order by ord
        )
        select ord, sensor_id, nth > ${quota} as dropped from ranked
        where sensor_id is not null and nth >= ${quota}`,
  );
  const full = new Set<string>();
  for (const r of over) {
    full.add(r.sensor_id);
    const d = dead[r.ord];
    if (r.dropped && d) answer.dropped.push(d);
  }
  answer.full = [...full];
  return answer;
}

/**
 * The first DEAD_LETTER_PAYLOAD_BYTES of a payload (a view, not a copy), not ending inside a
 * UTF-8 character: a cut one would turn valid text into base64.
 */
function prefixOf(bytes: Buffer): Buffer {
  if (bytes.byteLength <= DEAD_LETTER_PAYLOAD_BYTES) return bytes;
  let end = DEAD_LETTER_PAYLOAD_BYTES;
  const continues = (i: number) => ((bytes[i] ?? 0) & 0xc0) === 0x80;
  for (let back = 0; back < 3 && continues(end); back++) end--;
  return bytes.subarray(0, end);
}

/** The bytes as text when PostgreSQL can store them as such (valid UTF-8, no NUL), else null. */
function storableText(bytes: Buffer): string | null {
  if (bytes.includes(0)) return null;
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** The eventId of an invalid event when one can be read, so an HTTP client can match its rejects. */
function eventIdOf(payload: Uint8Array): string | undefined {
  try {
    const json: unknown = JSON.parse(Buffer.from(payload).toString("utf8"));
    if (json && typeof json === "object" && "eventId" in json) {
      const id = (json as { eventId: unknown }).eventId;
      if (typeof id === "string" && id.length > 0 && id.length <= 64) return id;
    }
  } catch {
    // not JSON: no event id to report
  }
  return undefined;
}

function summarize(outcomes: readonly ItemOutcome[]): IngestResult {
  const result: IngestResult = { stored: 0, duplicates: 0, rejected: [], outcomes: [...outcomes] };
  outcomes.forEach((o, index) => {
    if (o.status === "stored") result.stored += 1;
    else if (o.status === "duplicate") result.duplicates += 1;
    else if (o.status === "rejected") {
      result.rejected.push({ index, reason: o.reason, ...(o.eventId ? { eventId: o.eventId } : {}) });
    }
  });
  return result;
}

function merge(results: readonly IngestResult[]): IngestResult {
  return summarize(results.flatMap((r) => r.outcomes));
}
