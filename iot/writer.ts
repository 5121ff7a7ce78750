/**
 * Group commit: messages from every MQTT connection (or the embedded broker) are collected and
 * written in one transaction per batch. A message's promise resolves only after its batch is
 * committed, and that is when the caller acknowledges it (PUBACK). While a batch commits, new
 * messages wait for the next one, so batches grow with load and latency stays low when idle.
 *
 * With `partitions` > 1, messages are split by sensor (the topic) into that many independent
 * queues, each committing its own batches on its own connection: while one batch's statements run
 * in PostgreSQL, the next batch is parsed and sent, so the database and this process work at the
 * same time instead of in turn. A sensor's messages always share a partition, so they commit in
 * order and two batches never update the same sensor's row (no lock waits or deadlocks between
 * them); incidents are rebuilt under per-elevator advisory locks, as with several app instances.
 * Across partitions, batches commit in any order: callers that must acknowledge in arrival order
 * (MQTT) keep that order themselves.
 *
 * On a database error the batch is retried with backoff, forever, and nothing is acknowledged:
 * the broker stops sending once every connection has its Receive Maximum unacknowledged
 * (back-pressure; it keeps queueing), and the stream resumes without a restart when the database
 * returns.
 */
import type { Logger } from "pino";
import { createFailureLog, type FailureLog } from "../db/failure-log.js";
import type { IngestItem, IngestResult, ItemOutcome } from "./ingest.js";

export interface WriterOptions {
  ingestBatch: (items: readonly IngestItem[]) => Promise<IngestResult>;
  logger: Logger;
  /** Most messages in one transaction. */
  maxBatch?: number;
  /** How long the first message of a batch may wait for company (0: flush as soon as idle). */
  lingerMs?: number;
  /** Retry backoff after a failed commit: from minBackoffMs doubling up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A commit still unanswered after this long marks the writer unhealthy (/readyz) until it settles. */
  slowCommitMs?: number;
  /** Called when the database state flips (for /readyz and logs). */
  onHealthy?: (healthy: boolean) => void;
  /** Independent queues, split by sensor; 1 for PGlite (one session). Default 1. */
  partitions?: number;
  /**
   * An attempt still unsettled after this long is given up and retried (0: never). A driver can
   * wedge a query past every time-out of its own (a reconnect that never completes); a batch
   * must not wait on it for ever. Should the abandoned attempt commit after all, the retry finds
   * its events stored (duplicates) and the incidents are rebuilt from them the same way.
   */
  attemptTimeoutMs?: number;
}

export class AttemptTimedOutError extends Error {
  /** Transient (db/pg-errors.ts): the batch is retried, nothing acknowledged. */
  readonly code = "DATABASE_UNANSWERED";
  constructor(ms: number) {
    super(`the commit was not answered within ${ms} ms: given up and retried`);
  }
}

export interface Writer {
  /** Resolves with the message's outcome once it is committed; rejects only when the writer closes. */
  push(item: IngestItem): Promise<ItemOutcome>;
  /** Pending messages (waiting or being committed). */
  readonly pending: number;
  readonly healthy: boolean;
  /** Stops: waits for the batch being committed (unless it is failing); later messages are refused. */
  close(): Promise<void>;
}

interface Waiting {
  item: IngestItem;
  resolve: (outcome: ItemOutcome) => void;
  reject: (err: Error) => void;
}

export class WriterClosedError extends Error {
  constructor() {
    super("the ingest writer is closed");
  }
}

export function createWriter({
  ingestBatch,
  logger,
  maxBatch = 1000,
  lingerMs = 0,
  minBackoffMs = 100,
  maxBackoffMs = 5_000,
  slowCommitMs = 3_000,
  onHealthy,
  partitions = 1,
  attemptTimeoutMs = 0,
}: WriterOptions): Writer {
  let closed = false;
  let healthy = true;
  /** Partitions whose last commit failed (or hangs): the writer is healthy when there are none. */
  const failing = new Set<Partition>();

  const setFailing = (p: Partition, fails: boolean) => {
    if (fails) failing.add(p);
    else failing.delete(p);
    const value = failing.size === 0;
    if (healthy === value) return;
    healthy = value;
    onHealthy?.(value);
  };

  interface Partition {
    queue: Waiting[];
    flushing: Promise<void> | null;
    timer: NodeJS.Timeout | null;
    inFlight: number;
    wake: (() => void) | null;
    /** Its failed commits, logged once per outage, not once per retry. */
    failures: FailureLog;
  }
  const parts: Partition[] = Array.from({ length: Math.max(1, partitions) }, () => ({
    queue: [],
    flushing: null,
    timer: null,
    inFlight: 0,
    wake: null,
    failures: createFailureLog(logger, "ingest: commit"),
  }));

  /** The partition of a message: by its sensor (the topic), so a sensor's messages stay in order. */
  function partitionOf(item: IngestItem): Partition {
    if (parts.length === 1) return parts[0] as Partition;
    let h = 0;
    for (let i = 0; i < item.topic.length; i++) h = (h * 31 + item.topic.charCodeAt(i)) | 0;
    return parts[Math.abs(h) % parts.length] as Partition;
  }

  function schedule(p: Partition) {
    if (p.flushing || closed || p.queue.length === 0) return;
    const start = () => {
      p.flushing = flush(p).finally(() => {
        p.flushing = null;
        schedule(p);
      });
    };
    if (p.queue.length >= maxBatch || lingerMs === 0) {
      if (p.timer) clearTimeout(p.timer);
      p.timer = null;
      start();
    } else if (!p.timer) {
      p.timer = setTimeout(() => {
        p.timer = null;
        if (!p.flushing && p.queue.length) start();
      }, lingerMs);
    }
  }

  async function flush(p: Partition) {
    const batch = p.queue.slice(0, maxBatch);
    p.queue = p.queue.slice(batch.length);
    p.inFlight = batch.length;
    let backoff = minBackoffMs;
    for (let attempt = 1; ; attempt++) {
      // A commit that neither succeeds nor fails for this long means the database is not
      // answering (e.g. the driver waiting out a reconnect): report unhealthy meanwhile.
      const slow = setTimeout(() => {
        if (failing.has(p)) return;
        setFailing(p, true);
        logger.warn(
          { messages: batch.length, waitingMs: slowCommitMs },
          "ingest: commit not answered; nothing acknowledged",
        );
      }, slowCommitMs);
      try {
        const result = await withDeadline(ingestBatch(batch.map((w) => w.item)), attemptTimeoutMs);
        clearTimeout(slow);
        setFailing(p, false);
        p.failures.succeeded();
        p.inFlight = 0;
        batch.forEach((w, i) => {
          const outcome = result.outcomes[i];
          if (outcome) w.resolve(outcome);
          else w.reject(new Error("ingest returned no outcome for a message"));
        });
        return;
      } catch (err) {
        clearTimeout(slow);
        setFailing(p, true);
        if (closed) {
          p.inFlight = 0;
          for (const w of batch) w.reject(new WriterClosedError());
          return;
        }
        // Nothing acknowledged; the same batch is retried after the backoff.
        p.failures.failed(err, { attempt, messages: batch.length, retryInMs: backoff });
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, backoff);
          p.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        p.wake = null;
        backoff = Math.min(backoff * 2, maxBackoffMs);
      }
    }
  }

  return {
    push(item) {
      if (closed) return Promise.reject(new WriterClosedError());
      const p = partitionOf(item);
      return new Promise<ItemOutcome>((resolve, reject) => {
        p.queue.push({ item, resolve, reject });
        schedule(p);
      });
    },
    get pending() {
      return parts.reduce((n, p) => n + p.queue.length + p.inFlight, 0);
    },
    get healthy() {
      return healthy;
    },
    async close() {
      closed = true;
      for (const p of parts) {
        if (p.timer) clearTimeout(p.timer);
        p.wake?.();
        for (const w of p.queue) w.reject(new WriterClosedError());
        p.queue = [];
      }
      await Promise.all(parts.map((p) => p.flushing));
    },
  };
}

/** The promise, or a rejection with AttemptTimedOutError once `ms` pass first (0: no deadline). */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  if (ms <= 0) return work;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AttemptTimedOutError(ms)), ms);
  });
  // An abandoned attempt that fails later must not be an unhandled rejection.
  work.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
