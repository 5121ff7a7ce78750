/**
 * Idempotent creates (issue 15, docs/api.md "Idempotent creates"): every POST of the organization
 * API takes an Idempotency-Key. For EACH such route of the authorization matrix (which knows how to
 * make every route succeed), on a fresh world: the same request twice with one key, the second
 * through another app instance on the same database, gets the first answer replayed (with
 * `Idempotent-Replayed: true`) and writes no row anywhere; another body with the key is a 422 that
 * writes nothing; 24 h later the key is new again. Then the cross-cutting cases: concurrent twins,
 * a failed request that frees its key, the header's checks, scopes, sealing, retention and the
 * OpenAPI document.
 *
 * Row counts are taken over every table of the database, so this file has a database of its own: a
 * scratch one on PostgreSQL (no other test file's rows move them), a fresh PGlite otherwise.
 */
import { randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, queryRows } from "../../db/database.js";
import { idempotencyKeys } from "../../db/schema.js";
import { loadConfig } from "../../src/config.js";
import { IDEMPOTENCY_KEY_TTL_MS, runIdempotencyRetention } from "../../src/services/idempotency.js";
import { keyOf, sendCall, told } from "../authz/calls.js";
import { buildFixture } from "../authz/fixtures.js";
import { type Call, MATRIX, NOW, ROLES, type RouteEntry, routeKey } from "../authz/matrix.js";
import { client, createTestApp, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { createScratchDatabase, openTestDatabase } from "../support/db.js";
import { createKey, createWorld } from "../support/factories.js";

const { DATABASE_URL } = loadConfig(process.env);

let db: Database;
let close: () => Promise<void>;
/** Two instances of the API on one database, and a third whose clock is 25 h later. */
let app: TestApp;
let other: TestApp;
let later: TestApp;
const LATER = new Date(NOW.getTime() + IDEMPOTENCY_KEY_TTL_MS + 3600_000);

beforeAll(async () => {
  if (DATABASE_URL) {
    const scratch = await createScratchDatabase(
      DATABASE_URL,
      `idem_${process.pid}_${randomUUID().slice(0, 8)}`,
    );
    db = scratch.db;
    close = () => scratch.drop();
  } else {
    const handle = await openTestDatabase();
    db = handle.db;
    close = () => handle.close();
  }
  app = createTestApp(db, { now: () => NOW });
  other = createTestApp(db, { now: () => NOW });
  later = createTestApp(db, { now: () => LATER });
});
afterAll(() => close());

/** Rows of every table of the schema (partitions counted in their parent), by table. */
async function rowCounts(): Promise<Record<string, number>> {
  const tables = await queryRows<{ name: string }>(
    db,
    sql`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition order by 1`,
  );
  const rows = await queryRows<{ name: string; n: number }>(
    db,
    sql.join(
      tables.map(
        (t) => sql`select ${t.name}::text as name, count(*)::int as n from ${sql.identifier(t.name)}`,
      ),
      sql` union all `,
    ),
  );
  return Object.fromEntries(rows.map((r) => [r.name, Number(r.n)]));
}

/** The tables whose counts differ, with the difference. */
function changed(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.keys(after)
      .map((t): [string, number] => [t, (after[t] ?? 0) - (before[t] ?? 0)])
      .filter(([, d]) => d !== 0),
  );
}

/** A body that differs from `body` (another fingerprint), whatever the route. */
function anotherBody(body: unknown): unknown {
  if (Array.isArray(body)) return [...body, ...body];
  if (body instanceof Uint8Array || typeof body === "string") return body;
  return { ...(body as object | undefined), anotherField: 1 };
}

const replayed = (res: { headers: Headers }) => res.headers.get("idempotent-replayed");
const STORED = ["content-type", "location", "etag"];

/**
 * Rows of the matrix whose request does not succeed at the matrix's clock, and why: there the test
 * checks that the failure is not stored.
 */
const FAILS_AT_NOW: Record<string, string> = {
  "POST /v1/contracts/{id}/transfer": "before the transfer date: 409 transfer_not_due",
};

/** Every POST of the organization API: sensors' own routes are exactly-once by eventId and commandId. */
const IDEMPOTENT = MATRIX.filter((r) => r.method === "POST" && r.auth !== "sensor");

describe("every POST of the organization API takes an Idempotency-Key", () => {
  it("covers every POST of the matrix but the sensors' own", () => {
    expect(IDEMPOTENT.length).toBeGreaterThan(40);
    expect(
      MATRIX.filter((r) => r.method === "POST" && r.auth === "sensor")
        .map(routeKey)
        .sort(),
    ).toEqual(["POST /v1/sensors/{id}/command-results", "POST /v1/sensors/{id}/events"]);
  });

  describe.each(IDEMPOTENT.map((route) => [routeKey(route), route] as const))(
    "%s",
    (_label, route: RouteEntry) => {
      it("replays the first answer across instances, refuses another body with 422, and forgets the key after 24 h", async () => {
        const fx = await buildFixture(db, app, route.needs);
        const role = ROLES.find((r) => route.expect[r] === "allow");
        if (!role) throw new Error(`${routeKey(route)}: no role may call it`);
        const key = keyOf(fx, role);
        const call: Call = route.request(fx);
        const idem = { "idempotency-key": randomUUID() };

        const before = await rowCounts();
        const first = await sendCall(app, route, call, key, idem);
        const afterFirst = await rowCounts();
        const second = await sendCall(other, route, call, key, idem);

        if (FAILS_AT_NOW[routeKey(route)]) {
          // An answer that is not a success is not stored: the same request again runs again, and
          // nothing was written.
          expect(first.status, told(first)).toBeGreaterThanOrEqual(400);
          expect(changed(before, afterFirst)).toEqual({});
          expect(second.status, told(second)).toBe(first.status);
          expect(replayed(second)).toBeNull();
          expect(changed(before, await rowCounts())).toEqual({});
          return;
        }
        expect(first.status, told(first)).toBeLessThan(300);
        expect(replayed(first)).toBeNull();
        expect(changed(before, afterFirst).idempotency_keys).toBe(1);
        expect(second.status, told(second)).toBe(first.status);
        expect(JSON.stringify(second.body)).toBe(JSON.stringify(first.body));
        for (const name of STORED) expect(second.headers.get(name), name).toBe(first.headers.get(name));
        expect(replayed(second)).toBe("true");
        expect(changed(afterFirst, await rowCounts()), "the replay wrote nothing").toEqual({});

        const reused = await sendCall(app, route, { ...call, body: anotherBody(call.body) }, key, idem);
        expect(reused.status, told(reused)).toBe(422);
        expect(reused.body.code).toBe("idempotency_key_reused");
        expect(changed(afterFirst, await rowCounts()), "the 422 wrote nothing").toEqual({});

        // 24 h later the key is a new request: run again (done again, or refused by the state it left).
        const again = await sendCall(later, route, call, key, idem);
        expect(replayed(again), told(again)).toBeNull();
        expect(again.status, told(again)).not.toBe(422);
        if (again.status < 300) {
          const [row] = await db
            .select()
            .from(idempotencyKeys)
            .where(eq(idempotencyKeys.key, idem["idempotency-key"]));
          expect(row?.createdAt).toEqual(LATER);
        }
      });
    },
  );
});

describe("Idempotency-Key across requests", () => {
  async function commentable() {
    const fx = await buildFixture(db, app, "submitted");
    if (!fx.contractId) throw new Error("no contract");
    return { fx, path: `/v1/contracts/${fx.contractId}/comments` };
  }
  const commentsOf = async (contractId: string) =>
    (await client(app, TEST_ADMIN_TOKEN).get(`/v1/contracts/${contractId}/comments`)).body.items.length;

  it("two concurrent requests with one key, on two instances, make one comment and get one answer", async () => {
    const { fx, path } = await commentable();
    const key = fx.world.enterprise.key;
    const idem = { "idempotency-key": randomUUID() };
    const before = await commentsOf(fx.contractId ?? "");
    const pair = await Promise.all([
      client(app, key).post(path, { body: "请补充维保响应时间" }, idem),
      client(other, key).post(path, { body: "请补充维保响应时间" }, idem),
    ]);
    expect(pair.map((r) => r.status)).toEqual([201, 201]);
    expect(pair[0]?.body).toEqual(pair[1]?.body);
    expect(pair.filter((r) => replayed(r) === "true")).toHaveLength(1);
    expect(await commentsOf(fx.contractId ?? "")).toBe(before + 1);
  });

  it("replays the stored bytes exactly, with the replay's own request id", async () => {
    const { fx, path } = await commentable();
    const send = () =>
      app.request(path, {
        method: "POST",
        headers: {
          authorization: `Bearer ${fx.world.enterprise.key}`,
          "content-type": "application/json",
          "idempotency-key": "order-42",
        },
        // Key order and spacing do not make another request: the body's canonical JSON is compared.
        body: '{ "body": "请补充维保响应时间" }',
      });
    const first = await send();
    const second = await send();
    expect(await second.text()).toBe(await first.text());
    expect(second.headers.get("content-type")).toBe(first.headers.get("content-type"));
    expect(second.headers.get("x-request-id")).not.toBe(first.headers.get("x-request-id"));
  });

  it("does not store a failed request: the corrected retry with the same key succeeds", async () => {
    const world = await createWorld(db);
    const admin = client(app, TEST_ADMIN_TOKEN);
    const idem = { "idempotency-key": randomUUID() };
    const taken = (await admin.get(`/v1/streets/${world.street.id}`)).body.name as string;
    const conflict = await admin.post(
      "/v1/streets",
      { districtId: world.street.districtId, name: taken },
      idem,
    );
    expect(conflict.status, told(conflict)).toBe(409);
    const invalid = await admin.post("/v1/streets", { districtId: world.street.districtId }, idem);
    expect(invalid.status).toBe(400);
    const corrected = await admin.post(
      "/v1/streets",
      { districtId: world.street.districtId, name: `新街道 ${randomUUID().slice(0, 8)}` },
      idem,
    );
    expect(corrected.status, told(corrected)).toBe(201);
    expect(replayed(corrected)).toBeNull();
  });

  it("refuses the key sent to another path with 422, and keeps keys apart per API key", async () => {
    const { fx, path } = await commentable();
    const idem = { "idempotency-key": randomUUID() };
    const enterprise = client(app, fx.world.enterprise.key);
    expect((await enterprise.post(path, { body: "第一条" }, idem)).status).toBe(201);
    const elsewhere = await enterprise.post(`/v1/contracts/${fx.contractId}/submit`, {}, idem);
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.body.code).toBe("idempotency_key_reused");
    expect(elsewhere.body.detail).toContain(path);
    // Another key of the same organization: its own request, not a replay of the first key's.
    const spare = await createKey(db, fx.world.enterprise.org.id);
    const own = await client(app, spare.key).post(path, { body: "第一条" }, idem);
    expect(own.status).toBe(201);
    expect(replayed(own)).toBeNull();
  });

  it.each([
    ["empty", ""],
    ["a space", "has space"],
    ["a non-ASCII character", "café"],
    ["256 characters", "k".repeat(256)],
  ])("answers 400 naming header.idempotency-key for a key with %s", async (_what, value) => {
    const { fx, path } = await commentable();
    const res = await client(app, fx.world.enterprise.key).post(
      path,
      { body: "x" },
      { "idempotency-key": value },
    );
    expect(res.status, told(res)).toBe(400);
    expect(res.body.errors).toEqual([{ field: "header.idempotency-key", message: expect.any(String) }]);
  });

  it("takes a key of 255 visible characters", async () => {
    const { fx, path } = await commentable();
    const res = await client(app, fx.world.enterprise.key).post(
      path,
      { body: "x" },
      { "idempotency-key": "~".repeat(255) },
    );
    expect(res.status, told(res)).toBe(201);
  });

  it("stores an answer that shows a secret sealed: the database never holds the new API key", async () => {
    const world = await createWorld(db);
    const idem = { "idempotency-key": randomUUID() };
    const path = `/v1/organizations/${world.enterprise.org.id}/keys`;
    const first = await client(app, world.enterprise.key).post(path, { name: "ERP" }, idem);
    expect(first.status).toBe(201);
    const secret = first.body.key as string;
    const [row] = await db
      .select()
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.key, idem["idempotency-key"]));
    expect(row?.body).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(row?.body ?? []).includes(Buffer.from(secret))).toBe(false);
    expect(row?.scope).not.toContain(world.enterprise.key);
    const replay = await client(app, world.enterprise.key).post(path, { name: "ERP" }, idem);
    expect(replay.body.key).toBe(secret);
  });

  it("kicks the command dispatcher only once the command is committed (it reads on its own connection)", async () => {
    const log: string[] = [];
    // The app's database, noting each commit of a transaction begun on it (the request's; the
    // services' own are savepoints inside it).
    const noting: Database = Object.create(db);
    noting.transaction = async (run, config) => {
      const result = await db.transaction(run, config);
      log.push("commit");
      return result;
    };
    const kicked = createTestApp(noting, {
      now: () => NOW,
      commandDispatcher: { kick: () => log.push("kick") },
    });
    const fx = await buildFixture(db, kicked, "sensor");
    log.length = 0;
    const res = await client(kicked, fx.world.enterprise.key).post(
      `/v1/sensors/${fx.sensor?.id}/commands`,
      { type: "release", reason: "误报：婴儿车" },
      { "idempotency-key": randomUUID() },
    );
    expect(res.status, told(res)).toBe(201);
    expect(log).toEqual(["commit", "kick"]);
  });

  it("purges keys past 24 h with the hourly retention, and only those", async () => {
    const { fx, path } = await commentable();
    const idem = { "idempotency-key": randomUUID() };
    expect((await client(app, fx.world.enterprise.key).post(path, { body: "x" }, idem)).status).toBe(201);
    const stored = () =>
      db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, idem["idempotency-key"]));
    await runIdempotencyRetention({
      db,
      clock: () => new Date(NOW.getTime() + IDEMPOTENCY_KEY_TTL_MS - 1000),
    });
    expect(await stored()).toHaveLength(1);
    const { deleted } = await runIdempotencyRetention({ db, clock: () => LATER });
    expect(deleted).toBeGreaterThanOrEqual(1);
    expect(await stored()).toHaveLength(0);
  });
});

describe("the OpenAPI document", () => {
  it("documents Idempotency-Key, Idempotent-Replayed and the 422 on every POST taking a key, and on no sensor route", async () => {
    const { body } = await client(app).get("/openapi.json");
    const posts = Object.entries(body.paths as Record<string, { post?: Record<string, unknown> }>).flatMap(
      ([path, item]) => (item.post ? [[path, item.post] as const] : []),
    );
    const missing: string[] = [];
    for (const [path, op] of posts) {
      const bySensor = (op.security as Record<string, unknown>[] | undefined)?.some((s) => "SensorKey" in s);
      const params = (op.parameters as { name: string; in: string; required?: boolean }[] | undefined) ?? [];
      const header = params.find((p) => p.in === "header" && p.name === "idempotency-key");
      const responses = op.responses as Record<string, { headers?: Record<string, unknown> }>;
      if (bySensor) {
        if (header) missing.push(`${path}: a sensor route takes no Idempotency-Key`);
        continue;
      }
      if (!header || header.required) missing.push(`${path}: Idempotency-Key (optional)`);
      if (!responses["422"]) missing.push(`${path}: 422`);
      for (const [status, response] of Object.entries(responses)) {
        if (status.startsWith("2") && !response.headers?.["Idempotent-Replayed"]) {
          missing.push(`${path} ${status}: Idempotent-Replayed`);
        }
      }
    }
    expect(missing).toEqual([]);
    expect(posts.length).toBeGreaterThan(40);
  });
});
