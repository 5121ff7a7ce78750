/**
 * The live incident feed against hostile or careless clients: an open stream ends when its key is
 * revoked or its organization's scope changes, a key (and the server) may hold only so many
 * streams, and a process with hundreds of open streams polls the change log once per interval
 * (the shared poller, src/services/incidents/feed-hub.ts) while /healthz keeps answering. The
 * access and cap checks run with and without the shared poller (Node and Workers paths).
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { hashKey } from "../../db/keys.js";
import { incidents } from "../../db/schema.js";
import { createApp } from "../../src/app.js";
import { createIncidentFeedHub, type IncidentFeedHub } from "../../src/services/incidents/feed-hub.js";
import { client, TEST_ADMIN_TOKEN } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createCommunity, createKey, type World } from "../support/factories.js";
import { createIotWorld, createSensor, waitFor } from "./support.js";

let database: DatabaseHandle;
const hubs: IncidentFeedHub[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(async () => {
  await Promise.all(hubs.map((h) => h.close()));
  await database.close();
});

interface AppOptions {
  hub: boolean;
  perKey?: number;
  max?: number;
  pollMs?: number;
  maxQueued?: number;
  maxMs?: number;
}

function makeApp({ hub, perKey, max, pollMs = 100, maxQueued, maxMs }: AppOptions) {
  const logger = pino({ level: "silent" });
  const feedHub = hub
    ? createIncidentFeedHub({ db: database.db, logger, pollMs, ...(maxQueued ? { maxQueued } : {}) })
    : undefined;
  if (feedHub) hubs.push(feedHub);
  const app = createApp({
    db: database.db,
    logger,
    clock: () => new Date(),
    adminTokenHash: hashKey(TEST_ADMIN_TOKEN),
    feedRecheckMs: 200,
    ...(feedHub ? { incidentFeedHub: feedHub } : {}),
    ...(perKey ? { feedStreamsPerKey: perKey } : {}),
    ...(max ? { feedStreamsMax: max } : {}),
    ...(maxMs ? { feedMaxMs: maxMs } : {}),
  });
  return { app, hub: feedHub };
}

type Fetcher = (path: string, init: RequestInit) => Promise<Response>;

interface FeedEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** An open stream read in the background: its events and comments as they come. */
interface Stream {
  events: FeedEvent[];
  comments: string[];
  ended: boolean;
  /** Resolves when the server ended the stream (or the test closed it). */
  finished: Promise<void>;
  close(): Promise<void>;
}

const streams: Stream[] = [];
afterEach(async () => {
  await Promise.all(streams.splice(0).map((s) => s.close()));
});

function parseBlock(block: string, into: Stream) {
  let id: number | undefined;
  let name: string | undefined;
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      into.comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(":");
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") id = Number(value);
    else if (field === "event") name = value;
    else if (field === "data") data.push(value);
  }
  if (id !== undefined && name !== undefined) {
    into.events.push({ id, event: name, data: JSON.parse(data.join("\n")) as Record<string, unknown> });
  }
}

/** Opens the feed; a 200 is read in the background, anything else is returned as it is. */
async function openStream(
  fetcher: Fetcher,
  key: string,
  opts: { lastEventId?: number } = {},
): Promise<{ res: Response; stream: Stream }> {
  const abort = new AbortController();
  const res = await fetcher("/v1/incidents/stream", {
    headers: {
      authorization: `Bearer ${key}`,
      ...(opts.lastEventId !== undefined ? { "last-event-id": String(opts.lastEventId) } : {}),
    },
    signal: abort.signal,
  });
  const stream: Stream = {
    events: [],
    comments: [],
    ended: false,
    finished: Promise.resolve(),
    async close() {
      abort.abort();
      await this.finished;
    },
  };
  if (res.status !== 200 || !res.body) return { res, stream };
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  stream.finished = (async () => {
    let buffer = "";
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer += chunk.value;
        for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
          parseBlock(buffer.slice(0, cut), stream);
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch {
      // aborted by the test
    } finally {
      stream.ended = true;
      await reader.cancel().catch(() => undefined);
    }
  })();
  streams.push(stream);
  return { res, stream };
}

async function openOk(fetcher: Fetcher, key: string, opts: { lastEventId?: number } = {}) {
  const { res, stream } = await openStream(fetcher, key, opts);
  expect(res.status, res.status === 200 ? "" : await res.text()).toBe(200);
  return stream;
}

const viaApp =
  (app: ReturnType<typeof createApp>): Fetcher =>
  async (path, init) =>
    app.request(path, init);

/** An incident of the world's elevator, opened and closed at once: two changes in the log. */
async function incidentIn(world: World, sensorId: string): Promise<string> {
  const openedAt = new Date(Date.now() - 60_000);
  const [row] = await database.db
    .insert(incidents)
    .values({
      kind: "ebike",
      sensorId,
      facilityId: world.elevator.id,
      communityId: world.community.id,
      streetId: world.street.id,
      openedAt,
      closedAt: new Date(openedAt.getTime() + 10_000),
      haltSeconds: 10,
      detections: 1,
    })
    .returning({ id: incidents.id });
  if (!row) throw new Error("no incident");
  return row.id;
}

const incidentIds = (s: Stream) => new Set(s.events.map((e) => e.data.id));

/** How long a stream may take to notice lost access: a few rechecks, generously. */
const ENDS_WITHIN_MS = 5_000;

for (const mode of [{ hub: true }, { hub: false }]) {
  describe(mode.hub ? "with the shared poller (Node)" : "with a poll per stream (Workers)", () => {
    it("ends a revoked key's open stream within seconds, saying why", async () => {
      const { app } = makeApp(mode);
      const world = await createIotWorld(database.db);
      const sensor = await createSensor(database.db, world);
      const member = await createKey(database.db, world.ownersCommittee.org.id, "member");
      const stream = await openOk(viaApp(app), member.key);
      const before = await incidentIn(world, sensor.id);
      await waitFor(async () => incidentIds(stream).has(before), 5_000, "the incident before the revoke");

      const revoked = await client(app, world.ownersCommittee.key).delete(
        `/v1/organizations/${world.ownersCommittee.org.id}/keys/${member.id}`,
      );
      expect(revoked.status).toBe(200);
      await waitFor(async () => stream.ended, ENDS_WITHIN_MS, "the stream to end");
      expect(stream.comments).toContain("access ended: the API key was revoked");
      // And it does not come back: the key is refused.
      expect((await openStream(viaApp(app), member.key)).res.status).toBe(401);
    });

    it("ends an owners committee's stream when its organization loses the community", async () => {
      const { app } = makeApp(mode);
      const world = await createIotWorld(database.db);
      const sensor = await createSensor(database.db, world);
      const stream = await openOk(viaApp(app), world.ownersCommittee.key);
      const other = await createCommunity(database.db, world.street.id);

      const changed = await client(app, world.streetOffice.key).put(
        `/v1/organizations/${world.ownersCommittee.org.id}/communities`,
        { communityIds: [other.id] },
      );
      expect(changed.status).toBe(200);
      await waitFor(async () => stream.ended, ENDS_WITHIN_MS, "the stream to end");
      expect(stream.comments.some((c) => c.startsWith("access ended: what this key may read changed"))).toBe(
        true,
      );
      // Reconnected, the key reads in its new scope: the old community's incidents no longer come.
      const again = await openOk(viaApp(app), world.ownersCommittee.key);
      const watcher = await openOk(viaApp(app), world.propertyCompany.key);
      const lost = await incidentIn(world, sensor.id);
      await waitFor(async () => incidentIds(watcher).has(lost), 5_000, "the incident on the PC's stream");
      await new Promise((r) => setTimeout(r, 300));
      expect(incidentIds(again).has(lost)).toBe(false);
    });

    it("ends a stream at its maximum lifetime, telling the client to reconnect after the retry delay", async () => {
      const { app } = makeApp({ ...mode, maxMs: 600 });
      const world = await createIotWorld(database.db);
      const stream = await openOk(viaApp(app), world.ownersCommittee.key);
      await waitFor(async () => stream.ended, ENDS_WITHIN_MS, "the stream to end");
      expect(stream.comments).toContain("reconnect: this stream ends after 0.6 s");
    });

    it("keeps the ADMIN_TOKEN's stream open past several rechecks", async () => {
      const { app } = makeApp(mode);
      const world = await createIotWorld(database.db);
      const sensor = await createSensor(database.db, world);
      const stream = await openOk(viaApp(app), TEST_ADMIN_TOKEN);
      await new Promise((r) => setTimeout(r, 1_000));
      const incident = await incidentIn(world, sensor.id);
      await waitFor(async () => incidentIds(stream).has(incident), 5_000, "the incident");
      expect(stream.ended).toBe(false);
    });

    it("refuses a key's stream over its cap with 429 problem+json, the others keep working; the server's cap likewise", async () => {
      const { app } = makeApp({ ...mode, perKey: 2, max: 3 });
      const fetcher = viaApp(app);
      const world = await createIotWorld(database.db);
      const sensor = await createSensor(database.db, world);
      const first = await openOk(fetcher, world.ownersCommittee.key);
      const second = await openOk(fetcher, world.ownersCommittee.key);

      const refused = await openStream(fetcher, world.ownersCommittee.key);
      expect(refused.res.status).toBe(429);
      expect(refused.res.headers.get("content-type")).toContain("application/problem+json");
      expect(Number(refused.res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await refused.res.json()).toMatchObject({ status: 429, code: "too_many_streams" });

      // Another key still gets one: the server holds 3; a fourth of anyone's is refused.
      const third = await openOk(fetcher, world.propertyCompany.key);
      const overall = await openStream(fetcher, world.streetOffice.key);
      expect(overall.res.status).toBe(429);
      expect(await overall.res.json()).toMatchObject({ code: "too_many_streams" });

      const incident = await incidentIn(world, sensor.id);
      for (const s of [first, second, third]) {
        await waitFor(async () => incidentIds(s).has(incident), 5_000, "the incident on every open stream");
      }
      // A stream that ends gives its slot back.
      await second.close();
      await waitFor(
        async () => {
          const retry = await openStream(fetcher, world.ownersCommittee.key);
          return retry.res.status === 200;
        },
        5_000,
        "a slot after a stream closed",
      );
    });
  });
}

describe("many streams on a real server", () => {
  it("polls the change log once per interval for hundreds of streams, and /healthz answers", async () => {
    const STREAMS = 300;
    const pollMs = 100;
    const { app, hub } = makeApp({ hub: true, perKey: STREAMS, max: STREAMS, pollMs });
    if (!hub) throw new Error("no hub");
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const fetcher: Fetcher = (path, init) => fetch(`${base}${path}`, init);
    try {
      const world = await createIotWorld(database.db);
      const sensor = await createSensor(database.db, world);
      const open: Stream[] = [];
      for (let i = 0; i < STREAMS; i += 50) {
        open.push(
          ...(await Promise.all(
            Array.from({ length: Math.min(50, STREAMS - i) }, () =>
              openOk(fetcher, world.ownersCommittee.key),
            ),
          )),
        );
      }
      await waitFor(async () => hub.subscribers === STREAMS, 10_000, "every stream subscribed");
      // One more is refused: the server's cap.
      expect((await openStream(fetcher, world.propertyCompany.key)).res.status).toBe(429);

      const polled = hub.polls;
      const started = performance.now();
      await new Promise((r) => setTimeout(r, 1_500));
      const health = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(10_000) });
      expect(health.status).toBe(200);
      const intervals = (performance.now() - started) / pollMs;
      // One query per interval for all streams (a few more while a poll's pages follow at once).
      expect(hub.polls - polled).toBeLessThanOrEqual(intervals + 3);
      expect(hub.polls - polled).toBeGreaterThan(0);

      const incident = await incidentIn(world, sensor.id);
      await waitFor(
        async () => open.every((s) => s.events.filter((e) => e.data.id === incident).length === 2),
        10_000,
        "both changes on every stream",
      );

      // The poller stops once no stream is open.
      await Promise.all(open.map((s) => s.close()));
      await waitFor(async () => hub.subscribers === 0, 10_000, "every stream gone");
      await new Promise((r) => setTimeout(r, 3 * pollMs));
      const idle = hub.polls;
      await new Promise((r) => setTimeout(r, 5 * pollMs));
      expect(hub.polls).toBe(idle);
    } finally {
      server.close();
    }
  }, 60_000);
});

describe("a client that reads too slowly", () => {
  it("is ended with a reconnect comment instead of queueing without bound, and resumes without a gap", async () => {
    const { app } = makeApp({ hub: true, pollMs: 20, maxQueued: 3 });
    const world = await createIotWorld(database.db);
    const sensor = await createSensor(database.db, world);
    const abort = new AbortController();
    const res = await app.request("/v1/incidents/stream", {
      headers: { authorization: `Bearer ${world.ownersCommittee.key}` },
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const written: string[] = [];
    // Nothing is read while changes pile up: the stream's writes wait on the client.
    for (let i = 0; i < 12; i++) written.push(await incidentIn(world, sensor.id));
    await new Promise((r) => setTimeout(r, 500));
    const text = await res.text();
    abort.abort();
    expect(text).toContain(": reconnect: the client read too slowly to keep up");
    const got = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    const last = got.at(-1) ?? 0;
    // Resumed where it stopped, it gets the rest: every incident, each opened and closed once.
    const resumed = await client(app, world.ownersCommittee.key).get(
      `/v1/incidents/stream?follow=false&lastEventId=${last}`,
    );
    const ids = [...got, ...[...String(resumed.body).matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))];
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(2 * written.length);
  });
});

describe("the hand-over from a stream's own backlog to the shared poller", () => {
  it("delivers every change in scope after Last-Event-ID exactly once, in order, while changes keep coming", async () => {
    const pollMs = 15;
    const { app, hub } = makeApp({ hub: true, perKey: 100, max: 100, pollMs });
    const fetcher = viaApp(app);
    const worlds = [await createIotWorld(database.db), await createIotWorld(database.db)];
    const sensors = await Promise.all(worlds.map((w) => createSensor(database.db, w)));
    // Who watches: each world's OC, enterprise and street office.
    const keys = worlds.flatMap((w) => [w.ownersCommittee.key, w.enterprise.key, w.streetOffice.key]);
    const { body: start } = await client(app, TEST_ADMIN_TOKEN).get(
      "/v1/incidents/stream?follow=false&lastEventId=0",
    );
    const lastIds = [...String(start).matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    const origin = lastIds.length ? Math.max(...lastIds) : 0;

    // Changes keep coming while streams open at random moments, resuming from random points.
    const opened: { stream: Stream; key: string; after: number }[] = [];
    let writing = true;
    let written = 0;
    const writer = (async () => {
      for (let i = 0; writing; i++, written++) {
        const w = i % 2;
        const world = worlds[w];
        const sensor = sensors[w];
        if (!world || !sensor) throw new Error("no world");
        await incidentIn(world, sensor.id);
        await new Promise((r) => setTimeout(r, Math.random() * 10));
      }
    })();
    for (let i = 0; i < 24; i++) {
      const key = keys[i % keys.length] ?? "";
      const { body: now } = await client(app, TEST_ADMIN_TOKEN).get(
        `/v1/incidents/stream?follow=false&lastEventId=${origin}`,
      );
      const seen = [...String(now).matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
      const latest = seen.length ? Math.max(...seen) : origin;
      // Anywhere from well behind the present to a little ahead of the poller.
      const after = origin + Math.floor(Math.random() * (latest - origin + 3));
      opened.push({ stream: await openOk(fetcher, key, { lastEventId: after }), key, after });
      await new Promise((r) => setTimeout(r, Math.random() * 3 * pollMs));
    }
    writing = false;
    await writer;
    expect(hub?.subscribers).toBe(opened.length);
    expect(written).toBeGreaterThan(10);

    // What each should have: the same key's own catch-up read of everything after its start.
    for (const { stream, key, after } of opened) {
      const { body } = await client(app, key).get(`/v1/incidents/stream?follow=false&lastEventId=${after}`);
      const expected = [...String(body).matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
      const last = expected.at(-1);
      if (last !== undefined) {
        await waitFor(async () => (stream.events.at(-1)?.id ?? 0) >= last, 10_000, `events up to ${last}`);
      }
      await new Promise((r) => setTimeout(r, 3 * pollMs));
      expect(stream.events.map((e) => e.id)).toEqual(expected);
    }
  }, 60_000);
});
