import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { contracts, facilities } from "../../db/schema.js";
import { findDemoStreet } from "../../db/seed.js";
import { seedDemoOnce } from "../../src/demo/seed.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { portalClient, textOf } from "../support/portal.js";

let database: DatabaseHandle;
let keysFile: string;
let first: Awaited<ReturnType<typeof seedDemoOnce>>;

beforeAll(async () => {
  database = await openTestDatabase();
  keysFile = join(await mkdtemp(join(tmpdir(), "bot-demo-")), "demo-keys.json");
  // On a shared PostgreSQL an earlier run may have seeded already; either way the demo is there.
  first = await seedDemoOnce(database.db, { keysFile, logger: pino({ level: "silent" }) });
});
afterAll(() => database.close());

describe("the demo seed a newcomer clicks through after npm start", () => {
  it("has Guowei Xinyuan's six elevators in every state of the lifecycle, and an operating garage contract", async () => {
    const street = await findDemoStreet(database.db);
    expect(street).toBeDefined();
    const rows = await database.db
      .select({ state: contracts.state, title: contracts.title })
      .from(contracts)
      .where(eq(contracts.streetId, street?.id ?? ""));
    expect(rows.map((r) => r.state).sort()).toEqual(
      ["approved", "draft", "operating", "operating", "signed", "submitted", "under_construction"].sort(),
    );
    const kinds = await database.db
      .select({ kind: facilities.kind, status: facilities.status })
      .from(facilities)
      .where(eq(facilities.streetId, street?.id ?? ""));
    expect(kinds.filter((f) => f.kind === "elevator")).toHaveLength(6);
    expect(kinds.filter((f) => f.kind === "garage" && f.status === "operating")).toHaveLength(2);
    expect(kinds.filter((f) => f.kind === "garage" && f.status === "planned")).toHaveLength(2);
    // Six buildings of six floors, two units of two flats per floor; 10,292.40 m² in all.
    const [register] = await queryRows<{ n: number; area: string }>(
      database.db,
      sql`select count(*)::int as n, sum(h.floor_area)::text as area from households h
        join buildings b on b.id = h.building_id join communities c on c.id = b.community_id
        where c.street_id = ${street?.id ?? null} and c.name = '国伟新苑'`,
    );
    expect(register).toEqual({ n: 144, area: "10292.40" });
  });

  it("prints keys that work, written once to a file only its owner can read", async () => {
    // A database seeded by an earlier run keeps only hashes: the keys were printed back then.
    const keys = first.created
      ? (JSON.parse(await readFile(keysFile, "utf8")) as { keys: Record<string, string> }).keys
      : first.keys;
    if (first.created) expect(((await stat(keysFile)).mode & 0o777).toString(8)).toBe("600");
    else expect(keys).toHaveProperty("note");
    if (!keys.street_office) return;
    const office = client(createTestApp(database.db), keys.street_office);
    const list = await office.get("/v1/contracts?limit=50");
    expect(list.status).toBe(200);
    for (const c of list.body.items as { id: string }[]) {
      expect((await office.get(`/v1/contracts/${c.id}/audit/verify`)).body.intact).toBe(true);
    }
    const again = await seedDemoOnce(database.db, { keysFile, logger: pino({ level: "silent" }) });
    expect(again).toEqual({
      created: false,
      keys,
      signIns: first.signIns,
      ...(first.householdLink ? { householdLink: first.householdLink } : {}),
    });
  });

  it("prints a household link that opens a resident's page with what is left to pay", async () => {
    if (!first.created) return; // seeded by an earlier run: its link was printed back then
    expect(first.householdLink).toMatch(/^\/h\/[\w-]{43}$/);
    const page = await portalClient(createTestApp(database.db)).get(first.householdLink ?? "");
    expect(page.status).toBe(200);
    expect(textOf(page.html)).toMatch(/¥\d[\d,]*\.\d\d/);
  });

  it("prints a sign-in of each role that opens the portal as that organization's person", async () => {
    if (!first.created) return; // seeded by an earlier run: its passwords were printed back then
    expect(Object.keys(first.signIns).sort()).toEqual(
      ["enterprise", "garage_enterprise", "owners_committee", "property_company", "street_office"].sort(),
    );
    const app = createTestApp(database.db);
    for (const [label, person] of Object.entries(first.signIns)) {
      const browser = portalClient(app);
      await browser.signIn(person.login, person.password);
      const home = await browser.get("/home");
      expect(home.status, label).toBe(200);
      expect(textOf(home.html), label).toContain(`您好，${person.name}`);
    }
  });
});
