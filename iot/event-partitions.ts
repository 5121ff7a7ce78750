/**
 * How long sensor events are kept, and the upkeep of `sensor_events`' partitions (db/schema.ts,
 * db/migrations/0016_sensor_event_partitions.sql): partitions are made ahead and dropped behind,
 * so expiry drops a table instead of deleting rows.
 *
 * - Heartbeats: one partition per Asia/Shanghai day, kept SENSOR_HEARTBEAT_RETENTION_DAYS full
 *   days before today. Their figures stay for good in `sensor_days`.
 * - Evidence (ebike_detected, ebike_cleared, fault): one partition per Asia/Shanghai month. A
 *   month is dropped once it is EVENT_EVIDENCE_MARGIN_DAYS behind and every elevator with an event
 *   in it is that margin past its contract's transfer (the transfer made, else the date agreed);
 *   an elevator with no contract, or a contract with no transfer date, keeps it.
 *
 * The ingest takes an event only inside its window (`acceptedFrom`): an older one is dead-lettered
 * `outside_retention_window`, so no partition behind the window is ever written to. A range ahead
 * that has no partition yet (the upkeep has not run for days) goes to its class's default
 * partition, and the upkeep moves those rows into the partition when it makes it.
 *
 * Safe with several instances: a run takes a transaction-level advisory lock and skips when
 * another instance holds it; every step is idempotent.
 */
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import { type Database, queryRows, type Tx } from "../db/database.js";

export const DEFAULT_HEARTBEAT_RETENTION_DAYS = 7;
export const DEFAULT_EVIDENCE_MARGIN_DAYS = 365;
/** Days of heartbeat partitions and months of evidence partitions made ahead of today. */
const HEARTBEAT_DAYS_AHEAD = 7;
const EVIDENCE_MONTHS_AHEAD = 3;
export const EVENT_PARTITION_UPKEEP_INTERVAL_MS = 60 * 60 * 1000;
/** How long a run waits for the tables' locks (behind a long read) before it gives up until the next. */
const LOCK_TIMEOUT_MS = 5_000;

export interface EventRetention {
  /** Full Asia/Shanghai days of raw heartbeats kept before today. */
  heartbeatDays: number;
  /** Days evidence is kept at least, and past each elevator's transfer. */
  evidenceMarginDays: number;
}

export const DEFAULT_EVENT_RETENTION: EventRetention = {
  heartbeatDays: DEFAULT_HEARTBEAT_RETENTION_DAYS,
  evidenceMarginDays: DEFAULT_EVIDENCE_MARGIN_DAYS,
};

/** The retention from the settings (the defaults where one is absent). */
export function eventRetentionOf(config: {
  SENSOR_HEARTBEAT_RETENTION_DAYS?: number;
  EVENT_EVIDENCE_MARGIN_DAYS?: number;
}): EventRetention {
  return {
    heartbeatDays: config.SENSOR_HEARTBEAT_RETENTION_DAYS ?? DEFAULT_HEARTBEAT_RETENTION_DAYS,
    evidenceMarginDays: config.EVENT_EVIDENCE_MARGIN_DAYS ?? DEFAULT_EVIDENCE_MARGIN_DAYS,
  };
}

export type EventClass = "heartbeat" | "evidence";
export const eventClassOf = (type: string): EventClass => (type === "heartbeat" ? "heartbeat" : "evidence");

const DAY_MS = 24 * 60 * 60 * 1000;
/** Asia/Shanghai is UTC+8 all year (no DST). */
const SHANGHAI_MS = 8 * 60 * 60 * 1000;

/** The Asia/Shanghai calendar date (YYYY-MM-DD) of an instant. */
export const shanghaiDate = (at: Date | number) =>
  new Date(new Date(at).getTime() + SHANGHAI_MS).toISOString().slice(0, 10);
/** Midnight in Asia/Shanghai that starts a date (YYYY-MM-DD). */
const shanghaiMidnight = (date: string) => new Date(Date.parse(`${date}T00:00:00+08:00`));
const addDays = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
const monthOf = (date: string) => `${date.slice(0, 7)}-01`;
const addMonths = (date: string, months: number) => {
  const d = new Date(Date.parse(`${monthOf(date)}T00:00:00Z`));
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.toISOString().slice(0, 10);
};

/** The first date of the window of a class (heartbeats: a day; evidence: the first of a month). */
function firstKeptDate(cls: EventClass, now: Date, retention: EventRetention): string {
  const today = shanghaiDate(now);
  return cls === "heartbeat"
    ? addDays(today, -retention.heartbeatDays)
    : monthOf(shanghaiDate(now.getTime() - retention.evidenceMarginDays * DAY_MS));
}

/**
 * The earliest occurredAt the ingest takes for an event of the type at `now`: the start of the
 * oldest partition the upkeep keeps for certain. Older is dead-lettered `outside_retention_window`.
 */
export function acceptedFrom(type: string, now: Date, retention: EventRetention): Date {
  return shanghaiMidnight(firstKeptDate(eventClassOf(type), now, retention));
}

export interface UpkeepResult {
  /** False: another instance was running it. */
  ran: boolean;
  created: string[];
  dropped: string[];
  /** Rows of a default partition behind the window (only an instance whose clock lagged can write them). */
  strays: number;
}

const PARTITION = /^sensor_events_(heartbeat|evidence)_p(\d{4})(\d{2})(\d{2})?$/;

/**
 * One run as of the clock: makes every partition from the window's start to the days and months
 * ahead (moving rows the default partitions took), drops the partitions behind the window (for
 * evidence, only those no elevator still needs), and deletes what a default partition holds behind
 * it. One transaction.
 */
export async function runEventPartitionUpkeep({
  db,
  logger,
  clock,
  retention = DEFAULT_EVENT_RETENTION,
}: {
  db: Database;
  logger: Logger;
  clock: () => Date;
  retention?: EventRetention;
}): Promise<UpkeepResult> {
  const now = clock();
  const today = shanghaiDate(now);
  const heartbeatFrom = firstKeptDate("heartbeat", now, retention);
  const evidenceFrom = firstKeptDate("evidence", now, retention);
  const result = await db.transaction(async (tx) => {
    const [lock] = await queryRows<{ locked: boolean }>(
      tx,
      sql`select pg_try_advisory_xact_lock(hashtextextended('sensor_events partitions', 0)) as locked`,
    );
    if (!lock?.locked) return { ran: false, created: [], dropped: [], strays: 0 };
    await queryRows(tx, sql.raw(`set local lock_timeout = ${LOCK_TIMEOUT_MS}`));
    const made = await queryRows<{ class: EventClass; starts: string; created: boolean }>(
      tx,
      sql`select class, starts::text, sensor_events_add_partition(class, starts) as created from (
            select 'heartbeat' as class, d::date as starts
            from generate_series(${heartbeatFrom}::date, ${addDays(today, HEARTBEAT_DAYS_AHEAD)}::date, interval '1 day') d
            union all
            select 'evidence', d::date
            from generate_series(${evidenceFrom}::date, ${addMonths(today, EVIDENCE_MONTHS_AHEAD)}::date, interval '1 month') d
          ) wanted order by class, starts`,
    );
    const created = made.filter((m) => m.created).map((m) => `${m.class} ${m.starts}`);

    const partitions = await queryRows<{ name: string }>(
      tx,
      sql`select c.relname as name from pg_inherits i
            join pg_class c on c.oid = i.inhrelid
          where i.inhparent in ('sensor_events_heartbeat'::regclass, 'sensor_events_evidence'::regclass)
          order by 1`,
    );
    const behind: { name: string; cls: EventClass }[] = [];
    for (const { name } of partitions) {
      const m = PARTITION.exec(name);
      if (!m) continue;
      const cls = m[1] as EventClass;
      const starts = `${m[2]}-${m[3]}-${m[4] ?? "01"}`;
      // Its range ends before the window starts: the next day, or the next month.
      const ends = cls === "heartbeat" ? addDays(starts, 1) : addMonths(starts, 1);
      if (ends <= (cls === "heartbeat" ? heartbeatFrom : evidenceFrom)) behind.push({ name, cls });
    }
    const dropped: string[] = [];
    for (const { name, cls } of behind) {
      if (cls === "evidence" && (await evidenceStillNeeded(tx, name, today, retention))) continue;
      await queryRows(tx, sql`drop table ${sql.identifier(name)}`);
      dropped.push(name);
    }
    const [stray] = await queryRows<{ n: number }>(
      tx,
      sql`with heartbeats as (
            delete from sensor_events_heartbeat_default
            where occurred_at < ${shanghaiMidnight(heartbeatFrom).toISOString()}::timestamptz returning 1
          ), evidence as (
            delete from sensor_events_evidence_default
            where occurred_at < ${shanghaiMidnight(evidenceFrom).toISOString()}::timestamptz returning 1
          )
          select ((select count(*) from heartbeats) + (select count(*) from evidence))::int as n`,
    );
    return { ran: true, created, dropped, strays: stray?.n ?? 0 };
  });
  if (result.created.length || result.dropped.length || result.strays) {
    logger.info(
      { created: result.created, dropped: result.dropped, strays: result.strays, retention },
      "sensor event partitions made ahead and dropped behind",
    );
  }
  return result;
}

/**
 * Whether an evidence partition holds an event of an elevator that still needs it: one with no
 * contract, a contract with no transfer date, or a transfer less than the margin ago.
 */
async function evidenceStillNeeded(
  tx: Tx,
  partition: string,
  today: string,
  retention: EventRetention,
): Promise<boolean> {
  const [row] = await queryRows<{ needed: boolean }>(
    tx,
    sql`select exists (
          select 1 from (select distinct facility_id from ${sql.identifier(partition)}) f
          where coalesce((
              select case when bool_and(coalesce(c.transferred_on, c.transfer_date) is not null)
                then max(coalesce(c.transferred_on, c.transfer_date)) end
              from contract_facilities cf join contracts c on c.id = cf.contract_id
              where cf.facility_id = f.facility_id) + ${retention.evidenceMarginDays}::int,
            'infinity'::date) >= ${today}::date) as needed`,
  );
  return row?.needed ?? true;
}
