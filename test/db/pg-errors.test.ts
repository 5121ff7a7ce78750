/**
 * One classification of database errors (db/pg-errors.ts), checked on errors the database under
 * test really raises (PostgreSQL or PGlite) and on the connection errors the drivers give.
 * What is `data` may become a rejection; everything else must be retried or answered 500.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { classifyDbError } from "../../db/pg-errors.js";
import { openTestDatabase } from "../support/db.js";

let database: DatabaseHandle;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

/** The error statements raise, run in turn in one transaction (fails the test when none does). */
async function errorOf(...statements: string[]): Promise<unknown> {
  try {
    await database.db.transaction(async (tx) => {
      for (const statement of statements) await tx.execute(sql.raw(statement));
    });
  } catch (err) {
    return err;
  }
  throw new Error(`no error from: ${statements.join("; ")}`);
}

describe("errors the database raises", () => {
  it.each([
    ["a value that is not a number (22P02)", "select 'x'::int", "data"],
    ["a division by zero (22012)", "select 1 / 0", "data"],
    [
      "a check violation (23514)",
      "do $$ begin raise exception using errcode = 'check_violation'; end $$",
      "data",
    ],
    [
      "not accepting connections (55000)",
      "do $$ begin raise exception using errcode = '55000'; end $$",
      "transient",
    ],
    [
      "an administrator's shutdown (57P01)",
      "do $$ begin raise exception using errcode = '57P01'; end $$",
      "transient",
    ],
    [
      "too many connections (53300)",
      "do $$ begin raise exception using errcode = '53300'; end $$",
      "transient",
    ],
    ["a deadlock (40P01)", "do $$ begin raise exception using errcode = '40P01'; end $$", "transient"],
    [
      "a serialization failure (40001)",
      "do $$ begin raise exception using errcode = '40001'; end $$",
      "transient",
    ],
    [
      "a cancelled statement (57014)",
      "do $$ begin raise exception using errcode = '57014'; end $$",
      "transient",
    ],
    ["a missing table (42P01): a defect", "select * from no_such_table", "defect"],
    ["a trigger's own exception (P0001): a defect", "do $$ begin raise exception 'boom'; end $$", "defect"],
  ])("%s", async (_what, statement, expected) => {
    expect(classifyDbError(await errorOf(statement))).toBe(expected);
  });

  it("a repeat of an event under the exactly-once key is transient (retried, it is a duplicate); any other unique key is data", async () => {
    // The same event twice in one statement: the key of the partition it goes to is violated
    // before any foreign key is checked. A day partition the migration made, and a default one.
    const twice = (type: string, at: string) => {
      const row = `('00000000-0000-4000-8000-000000000001', 'e-1', '00000000-0000-4000-8000-000000000002', '${type}', '${at}', now(), '{}')`;
      return `insert into sensor_events (sensor_id, event_id, facility_id, type, occurred_at, received_at, payload) values ${row}, ${row}`;
    };
    for (const statement of [
      twice("heartbeat", new Date().toISOString()),
      twice("ebike_detected", new Date().toISOString()),
      twice("fault", "2999-01-01T00:00:00Z"),
    ]) {
      expect(classifyDbError(await errorOf(statement))).toBe("transient");
    }
    const other = await errorOf(
      "create temp table u (x int primary key)",
      "insert into u values (1)",
      "insert into u values (1)",
    );
    expect(classifyDbError(other)).toBe("data");
  });
});

describe("connection errors (no SQLSTATE)", () => {
  it.each([
    ["postgres.js: connection closed", { code: "CONNECTION_CLOSED" }],
    ["postgres.js: connect timeout", { code: "CONNECT_TIMEOUT" }],
    ["postgres.js: pool ended", { code: "CONNECTION_ENDED" }],
    ["Node: connection refused", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })],
    [
      "Node: connection reset, wrapped by drizzle",
      { message: "Failed query", cause: { code: "ECONNRESET" } },
    ],
    ["the socket watchdog: no answer in time", { code: "DATABASE_UNANSWERED" }],
    ["PGlite closed", new Error("PGlite is closed")],
  ])("%s → transient", (_what, err) => {
    expect(classifyDbError(err)).toBe("transient");
  });

  it("a bug of ours is a defect, not a passing condition", () => {
    expect(classifyDbError(new TypeError("x.map is not a function"))).toBe("defect");
  });
});
