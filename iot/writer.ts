/**
 * Group commit: messages from every MQTT connection (or the embedded broker) are collected and
 * written in one transaction per batch. A message's promise resolves only after its batch is
 * committed, and that is when the caller acknowledges it (PUBACK). While a batch commits, new
 * messages wait for the next one, so batches grow with load and latency stays low when idle.
 *
 * On a database error the batch is retried with backoff, forever, and nothing is acknowledged:
 * MQTT.js connections stay blocked on their unacknowledged message (back-pressure on the broker,
 * which keeps queueing), and the stream resumes without a restart when the database returns.
 */
import type { Logger } from "pino";
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
}: WriterOptions): Writer {
  let queue: Waiting[] = [];
  let flushing: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  let healthy = true;
  let inFlight = 0;
  let wake: (() => void) | null = null;

  const setHealthy = (value: boolean) => {
    if (healthy === value) return;
    healthy = value;
    onHealthy?.(value);
  };

  function schedule() {
    if (flushing || closed || queue.length === 0) return;
    if (queue.length >= maxBatch || lingerMs === 0) {
      if (timer) clearTimeout(timer);
      timer = null;
      flushing = flush().finally(() => {
        flushing = null;
        schedule();
      });
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = null;
        if (!flushing && queue.length) {
          flushing = flush().finally(() => {
            flushing = null;
            schedule();
          });
        }
      }, lingerMs);
    }
  }

  async function flush() {
    const batch = queue.slice(0, maxBatch);
    queue = queue.slice(batch.length);
    inFlight = batch.length;
    let backoff = minBackoffMs;
    for (let attempt = 1; ; attempt++) {
      // A commit that neither succeeds nor fails for this long means the database is not
      // answering (e.g. the driver waiting out a reconnect): report unhealthy meanwhile.
      const slow = setTimeout(() => {
        if (!healthy) return;
        setHealthy(false);
        logger.warn(
          { messages: batch.length, waitingMs: slowCommitMs },
          "ingest: commit not answered; nothing acknowledged",
        );
      }, slowCommitMs);
      try {
        const result = await ingestBatch(batch.map((w) => w.item));
        clearTimeout(slow);
        setHealthy(true);
        inFlight = 0;
        batch.forEach((w, i) => {
          const outcome = result.outcomes[i];
          if (outcome) w.resolve(outcome);
          else w.reject(new Error("ingest returned no outcome for a message"));
        });
        return;
      } catch (err) {
        clearTimeout(slow);
        setHealthy(false);
        if (closed) {
          inFlight = 0;
          for (const w of batch) w.reject(new WriterClosedError());
          return;
        }
        logger.error(
          { err, attempt, messages: batch.length, retryInMs: backoff },
          "ingest: commit failed, nothing acknowledged; retrying",
        );
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, backoff);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = null;
        backoff = Math.min(backoff * 2, maxBackoffMs);
      }
    }
  }

  return {
    push(item) {
      if (closed) return Promise.reject(new WriterClosedError());
      return new Promise<ItemOutcome>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
    get pending() {
      return queue.length + inFlight;
    },
    get healthy() {
      return healthy;
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      wake?.();
      for (const w of queue) w.reject(new WriterClosedError());
      queue = [];
      await flushing;
    },
  };
}
