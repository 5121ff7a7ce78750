/**
 * Text and numbers a hostile client sends (issue 17): what used to reach the database and come
 * back as a 500 is refused by the schema with a plain sentence naming the field; names that only
 * look like a registered one (NFD, zero-width or direction characters) cannot get past its
 * uniqueness check; and a value the database still refuses (SQLSTATE class 22) is a 400, not a 500.
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { districts } from "../../db/schema.js";
import type { AppEnv } from "../../src/context.js";
import { handleError } from "../../src/errors.js";
import { driveContract } from "../authz/fixtures.js";
import { client, createTestApp, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createWorld, type World } from "../support/factories.js";

let database: DatabaseHandle;
let app: TestApp;
let world: World;
let contractId: string;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
  world = await createWorld(database.db);
  contractId = await driveContract(world, app, "draft");
});
afterAll(() => database.close());

/** The one failing field of a 400 validation_failed answer. */
function refusal(res: { status: number; headers: Headers; body: { code?: string; errors?: unknown[] } }) {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  expect(res.body.code).toBe("validation_failed");
  return res.body.errors;
}

describe("text the database cannot store is refused by the schema", () => {
  it("refuses a NUL character in a comment, naming the field", async () => {
    const res = await client(app, world.enterprise.key).post(`/v1/contracts/${contractId}/comments`, {
      body: "请看\u0000附件",
    });
    expect(refusal(res)).toEqual([{ field: "body.body", message: "must not contain NUL characters" }]);
  });

  it("refuses an unpaired surrogate sent as a JSON escape", async () => {
    const res = await client(app, world.enterprise.key).post(
      `/v1/contracts/${contractId}/comments`,
      '{"body":"broken \\ud800 text"}',
    );
    expect(refusal(res)).toEqual([
      { field: "body.body", message: "must be valid Unicode: it contains an unpaired surrogate" },
    ]);
  });

  it("refuses a NUL character in the search words of a query string", async () => {
    const res = await client(app, world.enterprise.key).get("/v1/contracts?q=a%00b");
    expect(refusal(res)).toEqual([{ field: "query.q", message: "must not contain NUL characters" }]);
  });

  it("keeps a comment's line breaks and stores it as NFC", async () => {
    const api = client(app, world.enterprise.key);
    const res = await api.post(`/v1/contracts/${contractId}/comments`, { body: "Cafe\u0301\n第二行" });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const { body } = await api.get(`/v1/contracts/${contractId}/comments`);
    expect(body.items.map((c: { body: string }) => c.body)).toContain("Caf\u00e9\n第二行");
  });
});

describe("whole numbers are bounded to their column", () => {
  it("refuses a version number past int4 in a body, a path and a query", async () => {
    const api = client(app, world.enterprise.key);
    const message = "must be a whole number from 1 to 2147483647";
    expect(
      refusal(
        await api.post(`/v1/contracts/${contractId}/comments`, { body: "x", versionNo: 99_999_999_999 }),
      ),
    ).toEqual([{ field: "body.versionNo", message }]);
    expect(refusal(await api.get(`/v1/contracts/${contractId}/versions/99999999999`))).toEqual([
      { field: "path.versionNo", message },
    ]);
    expect(refusal(await api.get(`/v1/contracts/${contractId}/comments?versionNo=2147483648`))).toEqual([
      { field: "query.versionNo", message },
    ]);
  });
});

describe("a name that only looks like another", () => {
  const admin = () => client(app, TEST_ADMIN_TOKEN);

  it("collides with the registered name when sent decomposed (NFD), and is stored as NFC", async () => {
    const name = `Café区 ${randomUUID().slice(0, 8)}`;
    expect((await admin().post("/v1/districts", { name })).status).toBe(201);
    const again = await admin().post("/v1/districts", { name: name.normalize("NFD") });
    expect(again.status, JSON.stringify(again.body)).toBe(409);
    expect(again.body.code).toBe("district_exists");

    const other = `Ångström区 ${randomUUID().slice(0, 8)}`;
    const created = await admin().post("/v1/districts", { name: other.normalize("NFD") });
    expect(created.status).toBe(201);
    expect(created.body.name).toBe(other.normalize("NFC"));
  });

  it.each([
    [
      "a zero-width space",
      "杨浦\u200b区",
      "must not contain invisible characters (zero-width or direction marks)",
    ],
    [
      "a right-to-left override",
      "\u202e区浦杨",
      "must not contain invisible characters (zero-width or direction marks)",
    ],
    [
      "a byte-order mark inside",
      "杨\ufeff浦区",
      "must not contain invisible characters (zero-width or direction marks)",
    ],
    ["a control character", "杨浦\u0007区", "must not contain control characters"],
    ["a line break", "杨浦\n区", "must not contain control characters"],
  ])("refuses %s in a name", async (_, name, message) => {
    const res = await admin().post("/v1/districts", { name: `${name} ${randomUUID().slice(0, 8)}` });
    expect(refusal(res)).toEqual([{ field: "body.name", message }]);
  });

  it("refuses invisible characters in an organization's and a sensor's name too", async () => {
    const org = await admin().post("/v1/organizations", {
      kind: "enterprise",
      name: `电梯\u200d公司 ${randomUUID().slice(0, 8)}`,
      streetId: world.street.id,
    });
    expect(refusal(org)).toEqual([
      {
        field: "body.name",
        message: "must not contain invisible characters (zero-width or direction marks)",
      },
    ]);
    const sensor = await client(app, world.enterprise.key).post("/v1/sensors", {
      facilityId: world.elevator.id,
      name: "轿厢\u2066摄像头",
    });
    expect(refusal(sensor)).toEqual([
      {
        field: "body.name",
        message: "must not contain invisible characters (zero-width or direction marks)",
      },
    ]);
  });
});

describe("a household register import", () => {
  it("refuses a NUL or a zero-width character in a unit or room, naming the row", async () => {
    const res = await client(app, TEST_ADMIN_TOKEN).post(
      `/v1/buildings/${world.building.id}/households/import`,
      [
        { unit: "2", room: "50\u00001", floor: 1, floorArea: "58.20" },
        { unit: "2\u200b", room: "502", floor: 1, floorArea: "58.20" },
      ],
    );
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.errors).toEqual([
      { field: "rows.1.room", message: "must not contain NUL characters" },
      {
        field: "rows.2.unit",
        message: "must not contain invisible characters (zero-width or direction marks)",
      },
    ]);
  });
});

describe("a value the database refuses", () => {
  /** A route of the app's error path that sends `value` where the database cannot take it. */
  function appSending(run: (value: string) => Promise<unknown>) {
    const probe = new Hono<AppEnv>();
    probe.use(async (c, next) => {
      c.set("requestId", "probe");
      c.set("logger", pino({ level: "silent" }));
      await next();
    });
    probe.post("/probe", async (c) => {
      await run(await c.req.text());
      return c.json({});
    });
    probe.onError(handleError);
    return probe;
  }

  it.each([
    ["not a number (22P02)", (v: string) => database.db.execute(sql`select ${v}::int`)],
    ["past int4 (22003)", () => database.db.execute(sql`select ${"99999999999"}::int`)],
    ["a NUL byte (22021)", (v: string) => database.db.execute(sql`select ${`${v}\u0000`}::text`)],
    [
      "a NUL escape in JSON (22P05)",
      (v: string) => database.db.execute(sql`select ${`{"n":"${v}\\u0000"}`}::jsonb`),
    ],
    ["no date (22007)", (v: string) => database.db.execute(sql`select ${v}::date`)],
    ["not a date (22008)", () => database.db.execute(sql`select ${"2025-13-45"}::date`)],
  ])("answers 400 invalid_value, without the value, when it is %s", async (_, run) => {
    const res = await appSending(run).request("/probe", { method: "POST", body: "张三" });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const text = await res.text();
    expect(JSON.parse(text).code).toBe("invalid_value");
    expect(text).not.toContain("张三");
    expect(text).not.toContain("99999999999");
  });

  it("still answers 500 to a genuine bug: a unique violation no service expected", async () => {
    const name = `重复区 ${randomUUID().slice(0, 8)}`;
    await database.db.insert(districts).values({ name });
    const res = await appSending(() => database.db.insert(districts).values({ name })).request("/probe", {
      method: "POST",
    });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { code: string }).code).toBe("internal_error");
  });
});
