/**
 * The live incident feed (GET /v1/incidents/stream): incidents made by the real ingest reach the
 * parties in scope as Server-Sent Events, a client resumes with Last-Event-ID, and acknowledging
 * is an event too. The response body is read as a stream, with a timeout, and aborted at the end.
 * Each story runs twice: with the Node process's shared poller, and with a poll per stream (Workers).
 */
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { hashKey } from "../../db/keys.js";
import { createApp } from "../../src/app.js";
import { createIncidentFeedHub, type IncidentFeedHub } from "../../src/services/incidents/feed-hub.js";
import { client, createTestApp, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createOrg, type World } from "../support/factories.js";
import { createIotWorld, createSensor, event } from "./support.js";

let database: DatabaseHandle;
/** The app of the running describe block. */
let app: TestApp;
let hub: IncidentFeedHub;

beforeAll(async () => {
  database = await openTestDatabase();
  hub = createIncidentFeedHub({ db: database.db, logger: pino({ level: "silent" }) });
});
afterAll(async () => {
  await hub.close();
  await database.close();
});

/** The app as the Node entry builds it: with the process's shared poller. */
function appWithHub(): TestApp {
  return createApp({
    db: database.db,
    logger: pino({ level: "silent" }),
    clock: () => new Date(),
    adminTokenHash: hashKey(TEST_ADMIN_TOKEN),
    incidentFeedHub: hub,
  });
}

interface FeedEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** Every feed a test opened, aborted after it (also when it fails). */
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});

/** Opens the feed as `key` and reads it event by event. */
async function openFeed(key: string, opts: { query?: string; lastEventId?: string | number } = {}) {
  const abort = new AbortController();
  const res = await app.request(`/v1/incidents/stream${opts.query ?? ""}`, {
    headers: {
      authorization: `Bearer ${key}`,
      ...(opts.lastEventId !== undefined ? { "last-event-id": String(opts.lastEventId) } : {}),
    },
    signal: abort.signal,
  });
  expect(res.status, await peekProblem(res)).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  if (!res.body) throw new Error("the feed has no body");
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let ended = false;

  /** The next event (comment-only blocks skipped); null when the server ended the stream. */
  async function next(timeoutMs = 5_000): Promise<FeedEvent | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const cut = buffer.indexOf("\n\n");
      if (cut >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const parsed = parseBlock(block);
        if (parsed) return parsed;
        continue;
      }
      if (ended) return null;
      const left = deadline - Date.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), Math.max(0, left));
      });
      const chunk = await Promise.race([reader.read(), timeout]);
      clearTimeout(timer);
      if (chunk === "timeout") throw new Error(`no feed event within ${timeoutMs} ms; buffered: ${buffer}`);
      if (chunk.done) ended = true;
      else buffer += chunk.value;
    }
  }

  /** Every event until the server ends the stream (follow=false). */
  async function rest(): Promise<FeedEvent[]> {
    const events: FeedEvent[] = [];
    for (let e = await next(); e; e = await next()) events.push(e);
    return events;
  }

  const feed = {
    next,
    rest,
    async close() {
      abort.abort();
      await reader.cancel().catch(() => undefined);
    },
  };
  open.push(feed);
  return feed;
}

async function peekProblem(res: Response): Promise<string> {
  return res.status === 200 ? "" : await res.clone().text();
}

function parseBlock(block: string): FeedEvent | null {
  let id: number | undefined;
  let name: string | undefined;
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":") || line.startsWith("retry:")) continue;
    const colon = line.indexOf(":");
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") id = Number(value);
    else if (field === "event") name = value;
    else if (field === "data") data.push(value);
  }
  if (id === undefined || name === undefined) return null;
  return { id, event: name, data: JSON.parse(data.join("\n")) as Record<string, unknown> };
}

/** Posts events as the sensor (the HTTP ingest route, the same ingestBatch as MQTT). */
async function send(sensor: { id: string; key: string }, events: Record<string, unknown>[]) {
  const res = await client(app, sensor.key).post(`/v1/sensors/${sensor.id}/events`, events);
  expect(res.status).toBe(200);
  expect(res.body.stored).toHaveLength(events.length);
}

async function iotWorld(): Promise<{ world: World; sensor: { id: string; key: string } }> {
  const world = await createIotWorld(database.db);
  return { world, sensor: await createSensor(database.db, world) };
}

const names = (events: FeedEvent[]) => events.map((e) => e.event);

for (const mode of ["the shared poller", "a poll per stream"] as const)
  describe(`the incident feed, with ${mode}`, () => {
    beforeAll(() => {
      app = mode === "the shared poller" ? appWithHub() : createTestApp(database.db);
    });

    it("delivers an e-bike incident opened then closed to the OC and PC of its community, not to another community's", async () => {
      const { world, sensor } = await iotWorld();
      const oc = await openFeed(world.ownersCommittee.key);
      const pc = await openFeed(world.propertyCompany.key);
      const base = Date.now() - 600_000;

      await send(sensor, [event("ebike_detected", 0, { floor: 3 }, base)]);
      const opened = await oc.next();
      expect(opened).toMatchObject({
        event: "incident.opened",
        data: {
          kind: "ebike",
          state: "open",
          facilityId: world.elevator.id,
          sensorId: sensor.id,
          detections: 1,
        },
      });
      if (!opened) throw new Error("no opened event");

      await send(sensor, [event("ebike_cleared", 42, {}, base)]);
      const closed = await oc.next();
      expect(closed).toMatchObject({
        event: "incident.closed",
        data: { id: opened.data.id, state: "closed", haltSeconds: 42 },
      });
      if (!closed) throw new Error("no closed event");
      expect(closed.id).toBeGreaterThan(opened.id);
      // The data is the incident exactly as GET /v1/incidents/{id} returns it.
      const got = await client(app, world.ownersCommittee.key).get(`/v1/incidents/${opened.data.id}`);
      expect(closed.data).toEqual(got.body);

      expect(await pc.next()).toEqual(opened);
      expect(await pc.next()).toEqual(closed);

      // Everyone else in scope reads the same two events; outside it, nothing.
      const after = `?lastEventId=${opened.id - 1}&follow=false`;
      for (const key of [world.streetOffice.key, world.enterprise.key, world.ownersCommittee.key]) {
        expect(await (await openFeed(key, { query: after })).rest()).toEqual([opened, closed]);
      }
      const elsewhere = await createIotWorld(database.db);
      const otherEnterprise = await createOrg(database.db, { kind: "enterprise", streetId: world.street.id });
      for (const key of [
        elsewhere.ownersCommittee.key,
        elsewhere.propertyCompany.key,
        elsewhere.streetOffice.key,
        otherEnterprise.key,
      ]) {
        expect(await (await openFeed(key, { query: after })).rest()).toEqual([]);
      }
    });

    it("resumes after Last-Event-ID: only later events, then live ones", async () => {
      const { world, sensor } = await iotWorld();
      const base = Date.now() - 600_000;
      await send(sensor, [event("ebike_detected", 0, {}, base)]);
      await send(sensor, [event("ebike_detected", 5, {}, base)]);
      await send(sensor, [event("ebike_cleared", 30, {}, base)]);
      const key = world.ownersCommittee.key;

      const all = await (await openFeed(key, { query: "?lastEventId=0&follow=false" })).rest();
      expect(names(all)).toEqual(["incident.opened", "incident.updated", "incident.closed"]);
      expect(all.map((e) => e.data.detections)).toEqual([1, 2, 2]);
      const [opened, updated, closed] = all;
      if (!opened || !updated || !closed) throw new Error("events missing");

      // The header, as EventSource sends it when it reconnects: the backlog after it, then live.
      const resumed = await openFeed(key, { lastEventId: opened.id });
      expect(await resumed.next()).toEqual(updated);
      expect(await resumed.next()).toEqual(closed);
      await send(sensor, [event("ebike_detected", 60, {}, base)]);
      const live = await resumed.next();
      expect(live?.event).toBe("incident.opened");
      expect(live?.data.id).not.toBe(opened.data.id);
      expect(live?.id).toBeGreaterThan(closed.id);

      // The query parameter too; the header wins over it (EventSource keeps the URL it started with).
      expect(
        await (await openFeed(key, { query: `?lastEventId=${updated.id}&follow=false` })).rest(),
      ).toEqual([closed, ...(live ? [live] : [])]);
      const both = await openFeed(key, { query: "?lastEventId=0&follow=false", lastEventId: closed.id });
      expect(names(await both.rest())).toEqual(["incident.opened"]);
    });

    it("sends incident.acknowledged when the property company classifies an incident", async () => {
      const { world, sensor } = await iotWorld();
      const base = Date.now() - 600_000;
      // Detected and cleared in one batch: the incident is inserted closed, which is both events.
      await send(sensor, [event("ebike_detected", 0, {}, base), event("ebike_cleared", 20, {}, base)]);
      const backlog = await (
        await openFeed(world.ownersCommittee.key, { query: "?lastEventId=0&follow=false" })
      ).rest();
      expect(names(backlog)).toEqual(["incident.opened", "incident.closed"]);
      const incidentId = backlog[0]?.data.id;

      const feed = await openFeed(world.ownersCommittee.key);
      const ack = await client(app, world.propertyCompany.key).post(
        `/v1/incidents/${incidentId}/acknowledge`,
        {
          classification: "false_alarm",
          reason: "stroller",
          note: "婴儿车",
        },
      );
      expect(ack.status).toBe(200);
      const acknowledged = await feed.next();
      expect(acknowledged).toMatchObject({
        event: "incident.acknowledged",
        data: {
          id: incidentId,
          classification: "false_alarm",
          falseAlarmReason: "stroller",
          acknowledgedByOrgId: world.propertyCompany.org.id,
        },
      });
      expect(acknowledged?.data).toEqual(ack.body);
    });

    it("refuses a malformed Last-Event-ID with a problem naming the field", async () => {
      const { world } = await iotWorld();
      const api = client(app, world.ownersCommittee.key);
      const header = await api.get("/v1/incidents/stream", { "last-event-id": "yesterday" });
      expect(header.status).toBe(400);
      expect(header.body.errors[0].field).toBe("header.last-event-id");
      const query = await api.get("/v1/incidents/stream?lastEventId=-1");
      expect(query.status).toBe(400);
      expect(query.body.errors[0].field).toBe("query.lastEventId");
      expect((await client(app).get("/v1/incidents/stream")).status).toBe(401);
    });
  });
