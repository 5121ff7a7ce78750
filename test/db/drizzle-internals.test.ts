/** The start-up check of the one drizzle internal the app uses (db/database.ts queryPrepared). */

import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { assertDrizzleInternals, type Database, queryPrepared } from "../../db/database.js";
import { openTestDatabase } from "../support/db.js";

let database: DatabaseHandle;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

it("passes on the pinned drizzle, whose prepared statements then run", async () => {
  expect(() => assertDrizzleInternals(database.db)).not.toThrow();
  expect(await queryPrepared<{ n: number }>(database.db, sql`select 41 + 1 as n`)).toEqual([{ n: 42 }]);
});

it("stops start-up with the reason when the session API is not there", () => {
  const moved = { _: { session: {} } } as unknown as Database;
  expect(() => assertDrizzleInternals(moved)).toThrow(/db\._\.session\.prepareQuery.*package\.json pins/);
});
