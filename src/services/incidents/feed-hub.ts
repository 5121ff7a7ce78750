/**
 * One poller per Node process for the live incident feed: instead of every open stream reading the
 * change log on its own, the hub reads every change after the process's latest one (unscoped, in
 * pages) and queues each on the streams whose caller's scope admits it (`incidentEventAdmits`, the
 * twin of the SQL scope). It polls only while a stream is subscribed, so an idle process sends no
 * queries for the feed.
 *
 * Node only: on Workers a request may not wait on I/O another request started, so each stream
 * polls with its own client there (the handler does so when the app has no hub).
 *
 * A subscription starts at the hub's position at the instant it joins (`after`): every later change
 * in scope is queued on it; the stream reads the changes up to `after` itself. Dispatching a poll's
 * changes and moving the position happen in one synchronous step, so no change falls between a
 * stream's own reads and the hub's.
 */
import type { Logger } from "pino";
import type { Database } from "../../../db/database.js";
import { classifyDbError, describeDbError } from "../../../db/pg-errors.js";
import type { Principal } from "../../auth/principal.js";
import { type IncidentChange, latestEventId, readEveryChange } from "./feed.js";
import { incidentEventAdmits } from "./scope.js";

/** Why the hub stopped serving a subscription; the stream ends and its client reconnects. */
export type SubscriptionEnd = "too_slow" | "closing";

export interface FeedSubscription {
  /** The hub's position when the subscription joined: the changes after it are queued here. */
  readonly after: number;
  /**
   * The queued changes, oldest first, once there are any, or an empty list after `ms` or when
   * `signal` aborts; taken off the queue.
   */
  take(ms: number, signal: AbortSignal): Promise<IncidentChange[]>;
  /** Set when the hub stopped queueing for this subscription (its queue is then empty). */
  readonly ended: SubscriptionEnd | null;
  /** Stops queueing; call when the stream ends. */
  leave(): void;
}

export interface IncidentFeedHub {
  /** Subscribes a stream of `principal` (starting the poller when it is the first). */
  join(principal: Principal): Promise<FeedSubscription>;
  /** Queries the poller has sent since the hub was made (one per interval while streams are open). */
  readonly polls: number;
  /** Subscriptions open now. */
  readonly subscribers: number;
  /** Ends every subscription, stops the poller and waits for its query in flight; later joins fail. */
  close(): Promise<void>;
}

export interface IncidentFeedHubOptions {
  db: Database;
  logger: Logger;
  /** How often the log is read while a stream is open. */
  pollMs?: number;
  /**
   * Changes a subscription may have waiting: a client that reads slower than the changes come is
   * ended (it resumes with Last-Event-ID and reads the rest itself) instead of growing memory.
   */
  maxQueued?: number;
}

export const FEED_HUB_POLL_MS = 500;
const MAX_QUEUED = 1_000;

/** Resolves after `ms`, or as soon as `signal` aborts or the wake handed to `onWake` is called. */
export function sleep(ms: number, signal: AbortSignal, onWake?: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    onWake?.(done);
  });
}

class Subscription implements FeedSubscription {
  private queue: IncidentChange[] = [];
  private wake: (() => void) | null = null;
  ended: SubscriptionEnd | null = null;

  constructor(
    readonly principal: Principal,
    readonly after: number,
    private readonly maxQueued: number,
    private readonly onLeave: (s: Subscription) => void,
  ) {}

  push(change: IncidentChange): void {
    if (this.queue.length >= this.maxQueued) {
      this.end("too_slow");
      return;
    }
    this.queue.push(change);
    this.wake?.();
  }

  end(why: SubscriptionEnd): void {
    if (this.ended) return;
    this.ended = why;
    this.queue = [];
    this.onLeave(this);
    this.wake?.();
  }

  async take(ms: number, signal: AbortSignal): Promise<IncidentChange[]> {
    if (!this.queue.length && !this.ended) {
      await sleep(ms, signal, (wake) => {
        this.wake = wake;
      });
      this.wake = null;
    }
    const taken = this.queue;
    this.queue = [];
    return taken;
  }

  leave(): void {
    this.queue = [];
    this.onLeave(this);
  }
}

export function createIncidentFeedHub({
  db,
  logger,
  pollMs = FEED_HUB_POLL_MS,
  maxQueued = MAX_QUEUED,
}: IncidentFeedHubOptions): IncidentFeedHub {
  const subscriptions = new Set<Subscription>();
  /** The id of the last change handed out; valid while the poller runs. */
  let position = 0;
  let running = false;
  /** The poller's loop while it runs (close waits for it). */
  let loop: Promise<void> = Promise.resolve();
  /** The read of the latest id that a first subscriber waits for. */
  let starting: Promise<void> | null = null;
  let polls = 0;
  let closed = false;
  const closing = new AbortController();

  const forget = (s: Subscription) => {
    subscriptions.delete(s);
  };

  async function poll(): Promise<void> {
    let failing = false;
    // `running` is cleared in the same step as the last check, so a join that finds it set is
    // always served by this loop, and one that finds it clear starts another.
    while (subscriptions.size > 0 && !closed) {
      let page: Awaited<ReturnType<typeof readEveryChange>>;
      try {
        polls++;
        page = await readEveryChange(db, position);
        if (failing) logger.info({ position }, "incident feed hub: the database answers again");
        failing = false;
      } catch (err) {
        // The streams stay open and get the changes once the log can be read again: nothing is
        // lost (the position did not move), and no client reconnects into an outage.
        if (!failing) {
          if (classifyDbError(err) === "transient") {
            logger.warn(
              { dbError: describeDbError(err), position },
              "incident feed hub: database unavailable",
            );
          } else logger.error({ err, position }, "incident feed hub: reading the change log failed");
        }
        failing = true;
        await sleep(pollMs, closing.signal, () => {});
        continue;
      }
      for (const change of page.changes) {
        for (const s of subscriptions) if (incidentEventAdmits(s.principal, change)) s.push(change);
        position = change.id;
      }
      if (!page.more) await sleep(pollMs, closing.signal, () => {});
    }
    running = false;
  }

  return {
    async join(principal) {
      if (closed) throw new Error("the incident feed hub is closed");
      if (!running) {
        starting ??= latestEventId(db)
          .then((latest) => {
            // Changes before it had nobody to go to; a subscriber reads its own backlog.
            if (!running) position = latest;
          })
          .finally(() => {
            starting = null;
          });
        await starting;
        if (closed) throw new Error("the incident feed hub is closed");
      }
      const subscription = new Subscription(principal, position, maxQueued, forget);
      subscriptions.add(subscription);
      if (!running) {
        running = true;
        loop = poll();
      }
      return subscription;
    },
    get polls() {
      return polls;
    },
    get subscribers() {
      return subscriptions.size;
    },
    async close() {
      closed = true;
      closing.abort();
      for (const s of [...subscriptions]) s.end("closing");
      await loop;
    },
  };
}
