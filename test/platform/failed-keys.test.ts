/**
 * Refused keys over HTTP are answered ever more slowly, per remote address (a real Node server, so
 * the address is the socket's) and per sensor id (the HTTP ingest), while a right key from the same
 * address or for another sensor is answered without a wait.
 */
import type { Server } from "node:http";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFailedLogins } from "../../contracts/login-throttle.js";
import type { DatabaseHandle } from "../../db/client.js";
import { hashKey } from "../../db/keys.js";
import { createApp } from "../../src/app.js";
import { startHttpServer } from "../../src/http-server.js";
import { createIotWorld, createSensor, event } from "../iot/support.js";
import { TEST_ADMIN_TOKEN } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";

/** Waits double per refusal from 200 ms up to this; a right key never waits. */
const MAX_WAIT_MS = 3_000;

let database: DatabaseHandle;
let server: Server;
let base: string;
let world: World;

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
  const app = createApp({
    db: database.db,
    logger: pino({ level: "silent" }),
    clock: () => new Date(),
    adminTokenHash: hashKey(TEST_ADMIN_TOKEN),
    failedLogins: createFailedLogins({ baseDelayMs: 200, maxDelayMs: MAX_WAIT_MS }),
  });
  const started = await startHttpServer({
    fetch: app.fetch,
    port: 0,
    hostname: "127.0.0.1",
    limits: { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxConnections: 100 },
  });
  server = started.server;
  base = `http://127.0.0.1:${started.port}`;
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await database?.close();
});

async function timed(path: string, key: string, init: RequestInit = {}) {
  const started = performance.now();
  const res = await fetch(`${base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
  });
  const body = (await res.json()) as { code?: string };
  return { status: res.status, code: body.code, ms: performance.now() - started };
}

describe("refused keys over HTTP", () => {
  it("are answered ever more slowly from one address, up to the cap, while a right key is not kept waiting", async () => {
    const refused: number[] = [];
    for (let i = 0; i < 6; i++) {
      const answer = await timed("/v1/organizations", `bot_k_guess-${i}-${"x".repeat(30)}`);
      expect(answer).toMatchObject({ status: 401, code: "unauthorized" });
      refused.push(answer.ms);
    }
    // 200, 400, 800, 1600, 3000 (the cap): the last waits the cap.
    expect(refused.at(-1)).toBeGreaterThanOrEqual(MAX_WAIT_MS - 50);
    const right = await timed("/v1/organizations", world.propertyCompany.key);
    expect(right.status).toBe(200);
    expect(right.ms).toBeLessThan(MAX_WAIT_MS / 2);
  }, 30_000);

  it("slow down the guesses at one sensor's key, not another sensor's posts", async () => {
    const target = await createSensor(database.db, world);
    const neighbour = await createSensor(database.db, world);
    const body = JSON.stringify(event("heartbeat", 0));
    let last = 0;
    for (let i = 0; i < 6; i++) {
      const answer = await timed(`/v1/sensors/${target.id}/events`, `guess-${i}-${"y".repeat(30)}`, {
        method: "POST",
        body,
      });
      expect(answer).toMatchObject({ status: 401, code: "unauthorized" });
      last = answer.ms;
    }
    expect(last).toBeGreaterThanOrEqual(MAX_WAIT_MS - 50);
    const other = await timed(`/v1/sensors/${neighbour.id}/events`, neighbour.key, { method: "POST", body });
    expect(other.status).toBe(200);
    expect(other.ms).toBeLessThan(MAX_WAIT_MS / 2);
  }, 40_000);
});
