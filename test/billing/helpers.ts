/** Shared setup of the billing suites: a database, a world, a movable clock and API clients. */
import { sql } from "drizzle-orm";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { client, createTestApp } from "../support/app.js";

/** A clock the test moves: `at("2026-03-05")` is 10:00 in Shanghai that day; `atInstant` any instant. */
export function testClock() {
  let now = new Date("2026-01-01T02:00:00Z");
  return {
    now: () => now,
    at: (date: string) => {
      now = new Date(`${date}T02:00:00Z`);
    },
    atInstant: (iso: string) => {
      now = new Date(iso);
    },
  };
}

export function apiFor(database: DatabaseHandle, clock: ReturnType<typeof testClock>) {
  const app = createTestApp(database.db, { now: clock.now });
  return (key: string) => client(app, key);
}

export async function countRows(database: DatabaseHandle, query: ReturnType<typeof sql>): Promise<number> {
  const [row] = await queryRows<{ n: number | string }>(database.db, query);
  return Number(row?.n ?? 0);
}

export const invoicesOf = (database: DatabaseHandle, contractId: string, period?: string) =>
  countRows(
    database,
    period
      ? sql`select count(*) as n from invoices where contract_id = ${contractId} and period = ${period}`
      : sql`select count(*) as n from invoices where contract_id = ${contractId}`,
  );
