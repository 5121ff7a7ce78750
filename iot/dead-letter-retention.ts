/**
 * Dead letters are kept for a while (to see what a device sent), then deleted: the retention
 * sweep deletes those received before the retention age, in batches (short transactions, no long
 * lock on the table), oldest first through the received_at index. Safe with several instances
 * at once: each batch takes its rows with `skip locked`, so two sweeps delete different rows and
 * never wait on each other.
 */
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import { type Database, queryRows } from "../db/database.js";
import { createFailureLog } from "../db/failure-log.js";

export const DEFAULT_DEAD_LETTER_RETENTION_DAYS = 30;
/** Rows deleted per statement. */
const DELETE_BATCH = 5_000;
/** Batches per sweep: a backlog is worked off over several sweeps, each of bounded length. */
const MAX_BATCHES_PER_SWEEP = 100;
export const DEAD_LETTER_RETENTION_INTERVAL_MS = 60 * 60 * 1000;

export interface RetentionOptions {
  db: Database;
  logger: Logger;
  clock: () => Date;
  /** Dead letters received longer ago than this are deleted. */
  retentionDays?: number;
}

/** One sweep as of the clock: deletes dead letters older than the retention; returns how many. */
export async function runDeadLetterRetention({
  db,
  logger,
  clock,
  retentionDays = DEFAULT_DEAD_LETTER_RETENTION_DAYS,
}: RetentionOptions): Promise<number> {
  const before = new Date(clock().getTime() - retentionDays * 24 * 60 * 60 * 1000).toISOString();
  let deleted = 0;
  for (let batch = 0; batch < MAX_BATCHES_PER_SWEEP; batch++) {
    const [row] = await queryRows<{ n: number }>(
      db,
      sql`with gone as (
            delete from dead_letters where id in (
              select id from dead_letters where received_at < ${before}::timestamptz
              order by received_at limit ${DELETE_BATCH} for update skip locked)
            returning 1)
          select count(*)::int as n from gone`,
    );
    const n = row?.n ?? 0;
    deleted += n;
    if (n < DELETE_BATCH) break;
  }
  if (deleted) logger.info({ deleted, retentionDays }, "dead letters past their retention deleted");
  return deleted;
}

export interface DeadLetterRetention {
  /** Runs one sweep now (also what the timer does). */
  sweep(): Promise<number>;
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/**
 * Sweeps at start and every intervalMs (a sweep never overlaps the previous one); a failed sweep
 * is retried by the next, logged once per change (db/failure-log.ts), never thrown.
 */
export function startDeadLetterRetention(
  opts: RetentionOptions & { intervalMs?: number },
): DeadLetterRetention {
  const { logger, intervalMs = DEAD_LETTER_RETENTION_INTERVAL_MS } = opts;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = false;
  const failures = createFailureLog(logger, "dead-letter retention");
  const sweep = () => runDeadLetterRetention(opts);

  const tick = () => {
    timer = null;
    running = sweep()
      .then(
        () => failures.succeeded(),
        // Each batch commits on its own: the next sweep goes on from what is left.
        (err: unknown) => void failures.failed(err),
      )
      .finally(() => {
        running = null;
        if (!stopped) schedule(intervalMs);
      });
  };
  const schedule = (ms: number) => {
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  schedule(0);

  return {
    sweep,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
