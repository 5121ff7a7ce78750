/**
 * A passing database outage is never a verdict on a request: the API answers 503 with
 * Retry-After, the HTTP ingest rejects nothing, /readyz answers within a second and says why,
 * and the background jobs try again on their next run, saying so once. The database really goes
 * away: a proxy in front of it is cut or stalled (test/support/database-behind-proxy.ts), or its handle is closed
 * under the app.
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { startSweeper } from "../../iot/sweeper.js";
import { loadConfig } from "../../src/config.js";
import { RETRY_AFTER_S } from "../../src/errors.js";
import { DATABASE_CHECK_MS } from "../../src/routes/health/health.index.js";
import { startArrearsSweep } from "../../src/services/fees/arrears.js";
import {
  countEvents,
  createIotWorld,
  createSensor,
  deadLetterReasons,
  event,
  waitFor,
} from "../iot/support.js";
import { client, createTestApp, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { type DatabaseBehindProxy, openDatabaseBehindProxy } from "../support/database-behind-proxy.js";
import { openTestDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

let outage: DatabaseBehindProxy;
let app: TestApp;
let world: World;

beforeAll(async () => {
  outage = await openDatabaseBehindProxy();
  world = await createIotWorld(outage.direct);
  app = createTestApp(outage.proxied.db);
});
afterEach(() => outage.proxy.restore());
afterAll(() => outage?.close());

/** What a 503 of the one error path looks like. */
function expectUnavailable(res: { status: number; headers: Headers; body: unknown }, requestId?: string) {
  expect(res.status).toBe(503);
  expect(res.headers.get("retry-after")).toBe(String(RETRY_AFTER_S));
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  expect(res.body).toMatchObject({
    type: "/problems/database_unavailable",
    status: 503,
    code: "database_unavailable",
    title: "Database unavailable",
    requestId: requestId ?? expect.any(String),
  });
}

describe("the database cut off under the API", () => {
  it("a GET answers 503 problem+json with Retry-After, and the same request succeeds once it is back", async () => {
    const pc = client(app, world.propertyCompany.key);
    const path = `/v1/incidents?facilityId=${world.elevator.id}`;
    expect((await pc.get(path)).status).toBe(200);

    await outage.proxy.refuse();
    const during = await pc.get(path);
    expectUnavailable(during, during.headers.get("x-request-id") ?? "no id");

    await outage.proxy.restore();
    expect((await pc.get(path)).status).toBe(200);
  });

  it("the HTTP ingest answers 503 for the whole request, rejects nothing, and stores it all once back", async () => {
    const sensor = await createSensor(outage.direct, world);
    const device = client(app, sensor.key);
    const path = `/v1/sensors/${sensor.id}/events`;
    const batch = [event("heartbeat", 0), event("ebike_detected", 10), event("ebike_cleared", 20)];

    await outage.proxy.refuse();
    const refused = await device.post(path, batch);
    expectUnavailable(refused);
    expect(refused.body).not.toHaveProperty("rejected");
    expect(await countEvents(outage.direct, sensor.id)).toBe(0);
    expect(await deadLetterReasons(outage.direct, sensor.id)).toEqual([]);

    await outage.proxy.restore();
    const again = await device.post(path, batch);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ stored: batch.map((e) => e.eventId), duplicates: [], rejected: [] });
    expect(await countEvents(outage.direct, sensor.id)).toBe(3);
    expect(await deadLetterReasons(outage.direct, sensor.id)).toEqual([]);
  });
});

describe("an idempotent create cut off mid-request", () => {
  // A database of its own: the cuts below would use up the PGlite socket's slots of the others.
  let own: DatabaseBehindProxy;
  let ownApp: TestApp;
  let ownWorld: World;
  beforeAll(async () => {
    own = await openDatabaseBehindProxy();
    ownWorld = await createIotWorld(own.direct);
    ownApp = createTestApp(own.proxied.db);
  });
  afterEach(() => own.proxy.restore());
  afterAll(() => own?.close());

  /** What a client does with a 503: sends the same request again (here without waiting Retry-After). */
  async function sendUntilAnswered(send: () => ReturnType<ReturnType<typeof client>["post"]>) {
    let res = await send();
    for (let tries = 1; res.status === 503 && tries < 20; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await send();
    }
    return res;
  }

  // Twenty cuts on PostgreSQL, each a few milliseconds later into the request: before the key is claimed, inside
  // the transaction, or after the commit while the answer is on its way. Before the postgres.js
  // patch of a connection closed by a reset (db/patch-postgres-js.mjs), a request after the fourth
  // or so waited for ever. PGlite is in-process, where no network can cut a transaction (and
  // pglite-socket, which serves it to this test, would keep the cut one open): there the cut comes
  // before the request is sent, four times, as pglite-socket keeps a slot of each cut connection.
  const midRequest = Boolean(loadConfig(process.env).DATABASE_URL);
  const cuts = midRequest ? 20 : 4;
  it("answers 201 or 503; the retry with the same key then creates it once or replays it, never twice", async () => {
    const admin = client(ownApp, TEST_ADMIN_TOKEN);
    const told: number[] = [];
    for (let attempt = 0; attempt < cuts; attempt++) {
      const idem = { "idempotency-key": randomUUID() };
      const body = { districtId: ownWorld.street.districtId, name: `断网街道 ${randomUUID().slice(0, 8)}` };
      if (!midRequest) await own.proxy.refuse();
      const first = admin.post("/v1/streets", body, idem);
      await new Promise((r) => setTimeout(r, attempt * 3));
      await own.proxy.refuse();
      const cut = await first;
      expect([201, 503], JSON.stringify(cut.body)).toContain(cut.status);
      if (cut.status === 503) expectUnavailable(cut);
      told.push(cut.status);
      await own.proxy.restore();

      const retry = await sendUntilAnswered(() => admin.post("/v1/streets", body, idem));
      expect(retry.status, JSON.stringify(retry.body)).toBe(201);
      const rows = await queryRows<{ id: string }>(
        own.direct,
        sql`select id from streets where name = ${body.name}`,
      );
      expect(rows.map((r) => r.id)).toEqual([retry.body.id]);
      // A 201 the client saw is replayed as it was; a 503 may hide a commit, which replays too.
      if (cut.status === 201) {
        expect(retry.headers.get("idempotent-replayed")).toBe("true");
        expect(retry.body).toEqual(cut.body);
      }
    }
    // The first cut comes before the request's first round trip: at least one cut was a 503.
    expect(told).toContain(503);
  }, 120_000);
});

describe("/readyz during an outage", () => {
  /** An app whose database is reached through a proxy of its own, to stall or cut. */
  async function appBehind(proxy: TcpProxy) {
    const handle = await openDatabase({ url: `postgres://postgres@127.0.0.1:${proxy.port}/none`, max: 2 });
    return { app: createTestApp(handle.db), handle };
  }

  async function timedReadyz(readyApp: TestApp) {
    const started = performance.now();
    const res = await client(readyApp).get("/readyz");
    return { ...res, ms: performance.now() - started };
  }

  it("answers 503 within a second with the reason when the database does not answer at all", async () => {
    // Accepts connections and never answers: a ping waits for postgres.js's 5 s connect_timeout,
    // or for ever on a connection it already had.
    const stalled = await startTcpProxy({ host: "127.0.0.1", port: 9 });
    stalled.stall();
    const { app: stalledApp, handle } = await appBehind(stalled);
    try {
      for (let probe = 0; probe < 3; probe++) {
        const res = await timedReadyz(stalledApp);
        expect(res.ms).toBeLessThan(1_000);
        expect(res.status).toBe(503);
        expect(res.body).toEqual({
          status: "not_ready",
          checks: { database: false },
          reasons: { database: `the database did not answer within ${DATABASE_CHECK_MS} ms` },
        });
      }
    } finally {
      await stalled.close();
      await handle.close();
    }
  });

  it("answers 503 at once with the reason when the database is cut off, and 200 once it is back", async () => {
    expect((await client(app).get("/readyz")).status).toBe(200);
    await outage.proxy.refuse();
    const res = await timedReadyz(app);
    expect(res.ms).toBeLessThan(1_000);
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      status: "not_ready",
      checks: { database: false },
      reasons: { database: "the database is unreachable or not accepting queries" },
    });
    await outage.proxy.restore();
    await waitFor(async () => (await client(app).get("/readyz")).status === 200, 20_000, "ready again");
  });
});

describe("background jobs during an outage", () => {
  // postgres.js backs off between connection attempts (seconds after a few): room for that.
  it("the offline sweeper and the arrears sweep retry on their next run and say so once, without a stack", {
    timeout: 60_000,
  }, async () => {
    const lines: { level: number; msg: string; err?: unknown }[] = [];
    const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const said = (msg: string) => lines.filter((l) => l.msg === msg).length;

    await outage.proxy.refuse();
    const sweeper = startSweeper({
      db: outage.proxied.db,
      logger,
      scope: { communityId: world.community.id },
      intervalMs: 20,
    });
    const arrears = startArrearsSweep({
      db: outage.proxied.db,
      logger,
      clock: () => new Date(),
      intervalMs: 20,
      only: { contractId: randomUUID() },
    });
    try {
      await waitFor(
        async () => said("offline sweeper: still failing") >= 2 && said("arrears sweep: still failing") >= 2,
        20_000,
        "several failed runs of each",
      );
      await outage.proxy.restore();
      await waitFor(
        async () => said("offline sweeper: working again") && said("arrears sweep: working again"),
        20_000,
        "both working again",
      );
    } finally {
      await sweeper.stop();
      arrears.stop();
    }
    // (The sweeper may also report sensors of earlier tests offline: a warning of its own.)
    const warnings = lines.filter((l) => l.level === 40 && l.msg.includes("database")).map((l) => l.msg);
    expect(warnings.sort()).toEqual([
      "arrears sweep: database unavailable; retrying on the next run",
      "offline sweeper: database unavailable; retrying on the next run",
    ]);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    expect(lines.filter((l) => l.err !== undefined)).toEqual([]);
  });
});

describe("the database handle closed under the app", () => {
  it("answers 503, not 401 or 500, for the API, the HTTP ingest and /readyz", async () => {
    const handle = await openTestDatabase();
    const closed = createTestApp(handle.db);
    await handle.close();
    // Whether the key is known can not be told now: 503, never a 401 that would make a client drop it.
    expectUnavailable(await client(closed, "bot_k_unknown-for-now").get("/v1/incidents"));
    expectUnavailable(
      await client(closed, "bot_s_unknown-for-now").post(`/v1/sensors/${randomUUID()}/events`, [
        event("heartbeat", 0),
      ]),
    );
    const ready = await client(closed).get("/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body.reasons).toEqual({
      database: "the database is unreachable or not accepting queries",
    });
  });
});

describe("the OpenAPI document", () => {
  it("lists the 503 with its Retry-After header on every /v1 operation", async () => {
    const { body } = await client(app).get("/openapi.json");
    const operations = Object.entries(body.paths as Record<string, Record<string, unknown>>)
      .filter(([path]) => path.startsWith("/v1/"))
      .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));
    expect(operations.length).toBeGreaterThan(50);
    for (const { path, method, op } of operations) {
      const unavailable = (op as { responses: Record<string, Record<string, unknown>> }).responses["503"];
      expect(unavailable, `${method} ${path}`).toMatchObject({
        content: { "application/problem+json": expect.any(Object) },
        headers: { "Retry-After": expect.any(Object) },
      });
    }
  });
});
