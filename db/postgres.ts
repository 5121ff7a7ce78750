import { drizzle } from "drizzle-orm/postgres-js";
import type { Sql } from "postgres";
import type { Database } from "./database.js";
import * as schema from "./schema.js";

/** drizzle over a postgres.js client: the one place the driver is wired (Node and Workers). */
export function drizzleOverPostgres(client: Sql): Database {
  return drizzle(client, { schema, casing: "snake_case" }) as unknown as Database;
}
