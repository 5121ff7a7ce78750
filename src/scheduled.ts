/**
 * The scheduled work by cron schedule, as the Workers cron trigger runs it (wrangler.toml
 * `[triggers] crons`, src/worker.ts). Each job is the function the Node process runs on its
 * timers, one idempotent statement, so a deployment may run it on Workers and on Node at once.
 */
import type { Logger } from "pino";
import { runDeadLetterRetention } from "../iot/dead-letter-retention.js";
import { type EventRetention, runEventPartitionUpkeep } from "../iot/event-partitions.js";
import { runOfflineSweep } from "../iot/sweeper.js";
import type { SystemContext } from "./services/context.js";
import { runArrearsPass } from "./services/fees/arrears.js";
import { runIdempotencyRetention } from "./services/idempotency.js";
import { runNotificationCauses } from "./services/notifications/causes.js";
import { runNotifications } from "./services/notifications/jobs.js";
import { runPortalUpkeep } from "./services/people.js";
import { runCommandExpiry } from "./services/sensors/commands.js";
import { runSnapshotRetention } from "./services/snapshots/snapshots.js";
import { databaseSnapshotStore, type SnapshotStore } from "./services/snapshots/store.js";

/** A job acts as the platform (no principal) and says what it did in the log. */
interface JobContext extends SystemContext {
  logger: Logger;
  /** DEAD_LETTER_RETENTION_DAYS; the retention's default when absent. */
  deadLetterRetentionDays?: number;
  /** SENSOR_HEARTBEAT_RETENTION_DAYS and EVENT_EVIDENCE_MARGIN_DAYS; the defaults when absent. */
  eventRetention?: EventRetention;
  /** Where snapshots are kept (the R2 binding or S3 bucket); PostgreSQL when absent. */
  snapshotStore?: SnapshotStore;
  /** SNAPSHOT_RETENTION_DAYS; the retention's default when absent. */
  snapshotRetentionDays?: number;
}

/** Each cron expression of wrangler.toml and the job it runs. */
export const SCHEDULED_JOBS: Record<string, (ctx: JobContext) => Promise<unknown>> = {
  // The offline sweep. Sensors go offline after three missed heartbeats (90 s at the default
  // 30 s): a minute is the cron trigger's finest step. Node sweeps every 5 s.
  // Commands no device answered within DEVICE_COMMAND_TTL_S expire (Node: every 5 s).
  // Notifications: record the causes found by time (escalation steps, transfer reminders, the 08:00
  // digest), then fan out the waiting causes and deliver one bounded batch (Node: every second).
  // All run, whichever fails.
  "* * * * *": async (ctx) => {
    // The causes first, so that this minute's are delivered in this run.
    const results: PromiseSettledResult<unknown>[] = await Promise.allSettled([
      runOfflineSweep(ctx),
      runCommandExpiry(ctx),
      runNotificationCauses(ctx),
    ]);
    results.push(...(await Promise.allSettled([runNotifications(ctx)])));
    for (const r of results) if (r.status === "rejected") throw r.reason;
  },
  // The arrears pass, the dead-letter, snapshot and Idempotency-Key retentions, the portal's
  // upkeep and sensor_events' partitions (made ahead, dropped behind). All run, whichever fails.
  "0 * * * *": async (ctx) => {
    const results = await Promise.allSettled([
      runArrearsPass(ctx),
      runPortalUpkeep(ctx),
      runIdempotencyRetention(ctx),
      runDeadLetterRetention({
        ...ctx,
        ...(ctx.deadLetterRetentionDays ? { retentionDays: ctx.deadLetterRetentionDays } : {}),
      }),
      runEventPartitionUpkeep({
        ...ctx,
        ...(ctx.eventRetention ? { retention: ctx.eventRetention } : {}),
      }),
      runSnapshotRetention({
        ...ctx,
        store: ctx.snapshotStore ?? databaseSnapshotStore,
        ...(ctx.snapshotRetentionDays ? { retentionDays: ctx.snapshotRetentionDays } : {}),
      }),
    ]);
    for (const r of results) if (r.status === "rejected") throw r.reason;
  },
};

/** Runs the job of one cron expression; throws when it fails, so that the platform records it. */
export async function runScheduled(cron: string, ctx: JobContext): Promise<void> {
  const job = SCHEDULED_JOBS[cron];
  if (!job) throw new Error(`no scheduled job for the cron expression "${cron}"`);
  await job(ctx);
}
