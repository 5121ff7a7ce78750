/**
 * The error log never carries a request's values (issue 17): a request that fails in the database
 * with a resident's name in its parameters is logged by its SQLSTATE and the names of the
 * constraint, table and column, never the SQL parameters, PostgreSQL's detail ("Key (name)=(…)
 * already exists") or a message that quotes the value. Checked on the errors the database under
 * test really raises (PostgreSQL or PGlite), through the app's own error path, with a logger
 * writing to a buffer.
 */
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { districts } from "../../db/schema.js";
import type { AppEnv } from "../../src/context.js";
import { handleError } from "../../src/errors.js";
import { loggableError } from "../../src/logger.js";
import { openTestDatabase } from "../support/db.js";

let database: DatabaseHandle;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

/** A resident's name and phone number: what must never reach a log. */
const RESIDENT = "张三丰 13800138000";

/** The log lines of one request to a route that runs `work` and fails, through the app's onError. */
async function logOf(work: (value: string) => Promise<unknown>): Promise<{ status: number; log: string }> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = pino({ level: "debug" }, sink);
  const probe = new Hono<AppEnv>();
  probe.use(async (c, next) => {
    c.set("requestId", randomUUID());
    c.set("logger", logger);
    await next();
  });
  probe.post("/residents", async (c) => {
    await work((await c.req.json<{ name: string }>()).name);
    return c.json({});
  });
  probe.onError(handleError);
  const res = await probe.request("/residents", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: RESIDENT }),
  });
  return { status: res.status, log: lines.join("") };
}

function expectNoValues(log: string) {
  expect(log).not.toBe("");
  expect(log).not.toContain("张三丰");
  expect(log).not.toContain("13800138000");
  expect(log).not.toContain("params");
}

describe("the error log of a request that failed in the database", () => {
  it("holds the SQLSTATE, not the value, of a value the database refused (400)", async () => {
    const { status, log } = await logOf((name) => database.db.execute(sql`select ${name}::int`));
    expect(status).toBe(400);
    expectNoValues(log);
    expect(log).toContain("22P02");
  });

  it("holds the constraint, not the detail's key, of an unexpected unique violation (500)", async () => {
    const name = `${RESIDENT} ${randomUUID().slice(0, 8)}`;
    await database.db.insert(districts).values({ name });
    const { status, log } = await logOf(() => database.db.insert(districts).values({ name }));
    expect(status).toBe(500);
    expectNoValues(log);
    expect(log).toContain("23505");
    expect(log).toContain("districts_name_unique");
  });

  it("holds the error, not the SQL parameters, of a defect in a query (500)", async () => {
    const { status, log } = await logOf((name) =>
      database.db.execute(sql`select * from no_such_table where name = ${name}`),
    );
    expect(status).toBe(500);
    expectNoValues(log);
    expect(log).toContain("42P01");
  });
});

describe("an error as any logger records it", () => {
  it("drops drizzle's query text and parameters, keeping what it wraps", async () => {
    const err = await database.db.execute(sql`select * from no_such_table where name = ${RESIDENT}`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(JSON.stringify(err instanceof Error ? { m: err.message } : err)).toContain("13800138000");
    const logged = JSON.stringify(loggableError(err));
    expect(logged).not.toContain("13800138000");
    expect(logged).toContain("42P01");
  });
});
