/**
 * Every route a sensor calls with its own key (events, snapshot upload, pending commands, command
 * results) checks that key before anything of the request's body or query: without the key, or
 * with a wrong one, the answer is 401 whatever the body breaks, so an anonymous caller learns
 * nothing about the body's rules. With the key, the same requests get the rule's own answer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createIotWorld, createSensor, event } from "./support.js";

let database: DatabaseHandle;
let app: TestApp;
let sensor: { id: string; key: string };

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
  const world = await createIotWorld(database.db);
  sensor = await createSensor(database.db, world);
});
afterAll(() => database.close());

const JSON_TYPE = { "content-type": "application/json" };
const TWO_MIB = "x".repeat(2 * 1024 * 1024);

interface BadRequest {
  what: string;
  method: "GET" | "POST" | "PUT";
  path: (sensorId: string) => string;
  headers?: Record<string, string>;
  body?: string;
  /** What the sensor's own key gets for it: the rule exists, only the anonymous never learn it. */
  withKey: number;
}

const events = (id: string) => `/v1/sensors/${id}/events`;
const results = (id: string) => `/v1/sensors/${id}/command-results`;
const snapshot = (id: string) => `/v1/sensors/${id}/events/ev-1/snapshot`;

const BAD: BadRequest[] = [
  {
    what: "events: an empty list",
    method: "POST",
    path: events,
    headers: JSON_TYPE,
    body: "[]",
    withKey: 400,
  },
  { what: "events: not JSON", method: "POST", path: events, headers: JSON_TYPE, body: "{oops", withKey: 400 },
  {
    what: "events: not an event",
    method: "POST",
    path: events,
    headers: JSON_TYPE,
    body: "42",
    withKey: 400,
  },
  {
    what: "events: over 500 events",
    method: "POST",
    path: events,
    headers: JSON_TYPE,
    body: JSON.stringify(Array.from({ length: 501 }, (_, i) => event("heartbeat", i))),
    withKey: 400,
  },
  {
    what: "events: over 1 MiB",
    method: "POST",
    path: events,
    headers: JSON_TYPE,
    body: TWO_MIB,
    withKey: 413,
  },
  {
    what: "events: not JSON's media type",
    method: "POST",
    path: events,
    headers: { "content-type": "text/plain" },
    body: "{}",
    withKey: 415,
  },
  {
    what: "results: a wrong answer",
    method: "POST",
    path: results,
    headers: JSON_TYPE,
    body: '{"result":"maybe"}',
    withKey: 400,
  },
  {
    what: "results: over 1 MiB",
    method: "POST",
    path: results,
    headers: JSON_TYPE,
    body: TWO_MIB,
    withKey: 413,
  },
  {
    what: "pending commands: an unknown query parameter",
    method: "GET",
    path: (id) => `/v1/sensors/${id}/commands/pending?stat=open`,
    withKey: 400,
  },
  {
    what: "snapshot: not a JPEG's media type",
    method: "PUT",
    path: snapshot,
    headers: JSON_TYPE,
    body: "{}",
    withKey: 415,
  },
  {
    what: "snapshot: over 512 KiB",
    method: "PUT",
    path: snapshot,
    headers: { "content-type": "image/jpeg" },
    body: TWO_MIB,
    withKey: 413,
  },
];

function send(req: BadRequest, sensorId: string, key: string | undefined) {
  return app.request(req.path(sensorId), {
    method: req.method,
    headers: { ...req.headers, ...(key ? { authorization: `Bearer ${key}` } : {}) },
    ...(req.body !== undefined ? { body: req.body } : {}),
  });
}

describe("sensor routes check the sensor's key before the body", () => {
  it.each(BAD.map((req) => [req.what, req] as const))(
    "%s: 401 without the key or with a wrong one",
    async (_what, req) => {
      for (const [sensorId, key] of [
        [sensor.id, undefined],
        [sensor.id, "bot_s_not-the-key"],
        ["not-a-sensor-id", undefined],
      ] as const) {
        const res = await send(req, sensorId, key);
        expect(res.status, `${sensorId} ${key ?? "no key"}`).toBe(401);
        expect(await res.json()).toMatchObject({ code: "unauthorized" });
      }
    },
  );

  it.each(BAD.map((req) => [req.what, req] as const))(
    "%s: with the sensor's key, the rule's own answer",
    async (_what, req) => {
      const res = await send(req, sensor.id, sensor.key);
      expect(res.status).toBe(req.withKey);
    },
  );
});
