/**
 * The live incident feed as Server-Sent Events: the incidents service opens the caller's feed (its
 * scope and cursor) and reads each poll (src/services/incidents/feed.ts, which says why the feed
 * polls); with the process's shared poller (src/services/incidents/feed-hub.ts) a followed stream
 * reads only its backlog itself and then takes what the hub hands it. This handler streams, paces,
 * bounds and ends the connection, and checks the caller's access again while it lasts.
 */
import { streamSSE } from "hono/streaming";
import { hashKey } from "../../../db/keys.js";
import { classifyDbError, describeDbError } from "../../../db/pg-errors.js";
import { resolveCredential } from "../../auth/authenticate.js";
import type { Principal } from "../../auth/principal.js";
import { type AppDeps, type Credential, holdRequestUntil, serviceContext } from "../../context.js";
import { ApiError } from "../../errors.js";
import type { AppRouteHandler } from "../../openapi.js";
import { type IncidentChange, type IncidentFeed, openIncidentFeed } from "../../services/incidents/feed.js";
import { type FeedSubscription, type SubscriptionEnd, sleep } from "../../services/incidents/feed-hub.js";
import { incidentReleases } from "../../services/sensors/commands.js";
import { incidentJson } from "./incidents.presenters.js";
import {
  FEED_BUSY_RETRY_S,
  FEED_HEARTBEAT_MS,
  FEED_MAX_MS,
  FEED_POLL_MS,
  FEED_RECHECK_MS,
  FEED_STREAMS_MAX,
  FEED_STREAMS_PER_KEY,
  type streamIncidents as streamRoute,
} from "./incidents.routes.js";

/** How long an EventSource waits before reconnecting after the stream ends. */
const RETRY_MS = 2_000;

/** The streams an app holds open: overall and per credential (`slotOf`: hashes, never a secret). */
interface OpenStreams {
  total: number;
  perKey: Map<string, number>;
}

/** Whose streams count together: one key's, or one signed-in session's. */
function slotOf(credential: Credential): string {
  return credential.kind === "key" ? `key:${credential.hash}` : `session:${hashKey(credential.token)}`;
}

/**
 * Per app, not per module: the count belongs to the app built from these deps (two apps in one
 * process, as tests build them, count apart), and it goes with the app.
 */
const openStreamsOf = new WeakMap<AppDeps, OpenStreams>();

/**
 * Takes a stream slot for the credential (a key, or a person's session), or throws 429 `too_many_streams`. The check and the count are
 * one synchronous step, so concurrent requests cannot both take the last slot. Returns the release.
 */
function takeStreamSlot(deps: AppDeps, credential: Credential): () => void {
  const keyHash = slotOf(credential);
  let open = openStreamsOf.get(deps);
  if (!open) {
    open = { total: 0, perKey: new Map() };
    openStreamsOf.set(deps, open);
  }
  const perKeyMax = deps.feedStreamsPerKey ?? FEED_STREAMS_PER_KEY;
  const overallMax = deps.feedStreamsMax ?? FEED_STREAMS_MAX;
  const ofKey = open.perKey.get(keyHash) ?? 0;
  const refuse = (detail: string) =>
    Object.assign(new ApiError(429, "too_many_streams", "Too many streams", detail), {
      retryAfterS: FEED_BUSY_RETRY_S,
    });
  if (ofKey >= perKeyMax) {
    throw refuse(
      `This ${credential.kind === "key" ? "API key" : "session"} already holds ${perKeyMax} live feed streams open; close one (one stream per client is enough) or retry after ${FEED_BUSY_RETRY_S} s.`,
    );
  }
  if (open.total >= overallMax) {
    throw refuse(
      `The server holds as many live feed streams as it may (${overallMax}); retry after ${FEED_BUSY_RETRY_S} s.`,
    );
  }
  const slots = open;
  slots.total++;
  slots.perKey.set(keyHash, ofKey + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    slots.total--;
    const left = (slots.perKey.get(keyHash) ?? 1) - 1;
    if (left > 0) slots.perKey.set(keyHash, left);
    else slots.perKey.delete(keyHash);
  };
}

/** Whether two principals read the same incidents (the inputs of `incidentEventScope`). */
function sameScope(a: Principal, b: Principal): boolean {
  if (a.role !== b.role || a.orgId !== b.orgId || a.streetId !== b.streetId) return false;
  if (a.communityIds.length !== b.communityIds.length) return false;
  const theirs = new Set(b.communityIds);
  return a.communityIds.every((id) => theirs.has(id));
}

const SUBSCRIPTION_ENDS: Record<SubscriptionEnd, string> = {
  too_slow: "reconnect: the client read too slowly to keep up; resume with Last-Event-ID",
  closing: "reconnect: the server is shutting down",
};

export const streamIncidents: AppRouteHandler<typeof streamRoute> = async (c) => {
  const { logger, deps } = c.var;
  const maxMs = deps.feedMaxMs ?? FEED_MAX_MS;
  const recheckMs = deps.feedRecheckMs ?? FEED_RECHECK_MS;
  const query = c.req.valid("query");
  const header = c.req.valid("header")["last-event-id"];
  const follow = query.follow === "true";
  const credential = c.var.credential;
  // Before any database read: a flood of refused streams costs no query.
  const release = takeStreamSlot(deps, credential);
  let feed: IncidentFeed;
  try {
    // The cursor is fixed before the response starts: a change committed right after the request
    // (even before the client reads the first byte) is after it, so it is delivered.
    feed = await openIncidentFeed(serviceContext(c), { after: header ?? query.lastEventId });
  } catch (err) {
    release();
    throw err;
  }
  let cursor = feed.cursor;
  // The stream outlives this handler: the request's database client must too (Workers).
  let ended = () => {};
  holdRequestUntil(c, new Promise<void>((resolve) => (ended = resolve)));

  /** Why the caller may no longer read this feed, or null while it may. */
  async function accessEnded(): Promise<string | null> {
    const now = await resolveCredential(deps, c.var.db, credential);
    if (!now) return credential.kind === "key" ? "the API key was revoked" : "the session ended";
    if (!sameScope(now, feed.principal)) {
      return `what this ${credential.kind === "key" ? "key" : "person"} may read changed; reconnect to read in the new scope`;
    }
    return null;
  }

  return streamSSE(c, async (stream) => {
    // Ends the loop at once when the client goes away: the response body is cancelled (Node
    // server, app.request readers) or the request's signal aborts (runtimes that signal it).
    const gone = new AbortController();
    const stop = () => gone.abort();
    stream.onAbort(stop);
    c.req.raw.signal.addEventListener("abort", stop, { once: true });
    let subscription: FeedSubscription | undefined;
    try {
      await stream.write(`retry: ${RETRY_MS}\n: incident feed after event ${cursor}\n\n`);
      const send = async (changes: IncidentChange[]) => {
        // Each e-bike incident as GET /v1/incidents/{id} answers it: with its remote releases.
        const ebike = changes.filter((ch) => ch.id > cursor && ch.incident.kind === "ebike");
        const releases = await incidentReleases(
          { ...serviceContext(c), principal: feed.principal },
          ebike.map((ch) => ch.incident.id),
        );
        for (const change of changes) {
          if (gone.signal.aborted) return;
          // The hub may hand on a change the client already has (it resumed ahead of the hub).
          if (change.id <= cursor) continue;
          await stream.writeSSE({
            id: String(change.id),
            event: `incident.${change.kind}`,
            data: JSON.stringify(incidentJson(change.incident, releases.get(change.incident.id) ?? [])),
          });
          cursor = change.id;
        }
      };
      // A catch-up read: the backlog, then the end of the stream.
      if (!follow) {
        for (let more = true; more && !gone.signal.aborted; ) {
          const page = await feed.read(cursor);
          await send(page.changes);
          more = page.more;
        }
        return;
      }
      // The shared poller hands on every change after `after`; this stream reads up to it itself.
      subscription = await deps.incidentFeedHub?.join(feed.principal);
      let catchingUp = subscription !== undefined && cursor < subscription.after;
      // Elapsed time of the connection, not business time: a monotonic clock, not the app's clock.
      const endsAt = performance.now() + maxMs;
      let checkAt = performance.now() + recheckMs;
      let quietSince = performance.now();
      while (!gone.signal.aborted) {
        let more = false;
        let sent = 0;
        if (!subscription || catchingUp) {
          const page = await feed.read(cursor, subscription?.after);
          await send(page.changes);
          sent = page.changes.length;
          more = page.more;
          if (!more) catchingUp = false;
        }
        if (more) continue;
        const now = performance.now();
        if (now >= endsAt) {
          // Ends before the platform's limits do (Workers bill the whole stream to one request);
          // the client reconnects with Last-Event-ID after the retry delay and misses nothing.
          await stream.write(`: reconnect: this stream ends after ${maxMs / 1000} s\n\n`);
          return;
        }
        if (now >= checkAt) {
          const why = await accessEnded();
          if (why) {
            await stream.write(`: access ended: ${why}\n\n`);
            return;
          }
          checkAt = performance.now() + recheckMs;
        }
        if (sent) quietSince = now;
        else if (now - quietSince >= FEED_HEARTBEAT_MS) {
          await stream.write(": heartbeat\n\n");
          quietSince = now;
        }
        const wakeAt = Math.min(endsAt, checkAt, quietSince + FEED_HEARTBEAT_MS);
        if (!subscription) {
          await sleep(Math.min(FEED_POLL_MS, wakeAt - performance.now()), gone.signal);
          continue;
        }
        const handed = await subscription.take(wakeAt - performance.now(), gone.signal);
        await send(handed);
        if (handed.length) quietSince = performance.now();
        if (subscription.ended) {
          await stream.write(`: ${SUBSCRIPTION_ENDS[subscription.ended]}\n\n`);
          return;
        }
      }
    } catch (err) {
      // The client reconnects with Last-Event-ID and loses nothing; never send internals to it.
      if (classifyDbError(err) === "transient") {
        logger.warn(
          { dbError: describeDbError(err), cursor },
          "incident feed: database unavailable; closing the stream",
        );
      } else logger.error({ err, cursor }, "incident feed failed; closing the stream");
    } finally {
      subscription?.leave();
      release();
      c.req.raw.signal.removeEventListener("abort", stop);
      ended();
    }
  });
};
