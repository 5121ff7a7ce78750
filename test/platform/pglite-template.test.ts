/**
 * The embedded database's template (db/pglite-template.ts): a new data directory comes up with
 * every committed migration already applied, and an existing one is opened as it is, never
 * replaced by the template.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { MIGRATIONS_FOLDER, openDatabase, pendingMigrations } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { makePgliteTemplate } from "../../db/pglite-template.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("a new embedded database", () => {
  it("starts from the template with every migration applied, and an existing one keeps its rows", async () => {
    expect(existsSync(await makePgliteTemplate(MIGRATIONS_FOLDER))).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), "bot-pglite-"));
    dirs.push(dir);
    const dataDir = join(dir, "pglite");

    const first = await openDatabase({ dataDir });
    expect(await pendingMigrations(first)).toBe(0); // before migrate(): the template had them
    await first.db.execute(sql`create table kept (note text)`);
    await first.db.execute(sql`insert into kept values ('written before the restart')`);
    await first.close();

    const again = await openDatabase({ dataDir });
    const rows = await queryRows<{ note: string }>(again.db, sql`select note from kept`);
    await again.close();
    expect(rows).toEqual([{ note: "written before the restart" }]);
  });
});
