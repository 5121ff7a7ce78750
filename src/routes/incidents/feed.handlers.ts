/**
 * The live incident feed as Server-Sent Events: the incidents service opens the caller's feed (its
 * scope and cursor) and reads each poll (src/services/incidents/feed.ts, which says why the feed
 * polls); this handler only streams, paces and ends the connection.
 */
import { streamSSE } from "hono/streaming";
import { classifyDbError, describeDbError } from "../../../db/pg-errors.js";
import { holdRequestUntil, serviceContext } from "../../context.js";
import type { AppRouteHandler } from "../../openapi.js";
import { openIncidentFeed } from "../../services/incidents/feed.js";
import { incidentJson } from "./incidents.presenters.js";
import {
  FEED_HEARTBEAT_MS,
  FEED_MAX_MS,
  FEED_POLL_MS,
  type streamIncidents as streamRoute,
} from "./incidents.routes.js";

/** How long an EventSource waits before reconnecting after the stream ends. */
const RETRY_MS = 2_000;

/** Resolves after `ms`, or as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

export const streamIncidents: AppRouteHandler<typeof streamRoute> = async (c) => {
  const logger = c.var.logger;
  const maxMs = c.var.deps.feedMaxMs ?? FEED_MAX_MS;
  const query = c.req.valid("query");
  const header = c.req.valid("header")["last-event-id"];
  const follow = query.follow === "true";
  // The cursor is fixed before the response starts: a change committed right after the request
  // (even before the client reads the first byte) is after it, so it is delivered.
  const feed = await openIncidentFeed(serviceContext(c), { after: header ?? query.lastEventId });
  let cursor = feed.cursor;
  // The stream outlives this handler: the request's database client must too (Workers).
  let ended = () => {};
  holdRequestUntil(c, new Promise<void>((resolve) => (ended = resolve)));

  return streamSSE(c, async (stream) => {
    // Ends the loop at once when the client goes away: the response body is cancelled (Node
    // server, app.request readers) or the request's signal aborts (runtimes that signal it).
    const gone = new AbortController();
    const stop = () => gone.abort();
    stream.onAbort(stop);
    c.req.raw.signal.addEventListener("abort", stop, { once: true });
    try {
      await stream.write(`retry: ${RETRY_MS}\n: incident feed after event ${cursor}\n\n`);
      // Elapsed time of the connection, not business time: a monotonic clock, not the app's clock.
      const endsAt = performance.now() + maxMs;
      let quietSince = performance.now();
      while (!gone.signal.aborted) {
        const page = await feed.read(cursor);
        for (const change of page.changes) {
          if (gone.signal.aborted) return;
          await stream.writeSSE({
            id: String(change.id),
            event: `incident.${change.kind}`,
            data: JSON.stringify(incidentJson(change.incident)),
          });
          cursor = change.id;
        }
        if (page.more) continue;
        if (!follow) return;
        if (performance.now() >= endsAt) {
          // Ends before the platform's limits do (Workers bill the whole stream to one request);
          // the client reconnects with Last-Event-ID after the retry delay and misses nothing.
          await stream.write(`: reconnect: this stream ends after ${maxMs / 1000} s\n\n`);
          return;
        }
        if (page.changes.length) quietSince = performance.now();
        else if (performance.now() - quietSince >= FEED_HEARTBEAT_MS) {
          await stream.write(": heartbeat\n\n");
          quietSince = performance.now();
        }
        await pause(Math.min(FEED_POLL_MS, endsAt - performance.now()), gone.signal);
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
      c.req.raw.signal.removeEventListener("abort", stop);
      ended();
    }
  });
};
