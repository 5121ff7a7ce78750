/**
 * `Location` on every 201 (issue 15, item 4): each create of the authorization matrix is made as
 * the first role it allows, and its Location, read with the same key, answers 200 with what was
 * created. A create whose 201 has none fails here: give what it makes a read of its own.
 */
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { keyOf, send } from "../authz/calls.js";
import { buildFixture } from "../authz/fixtures.js";
import { MATRIX, NOW, ROLES } from "../authz/matrix.js";
import { client, createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";

let database: DatabaseHandle;
let app: TestApp;
beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db, { now: () => NOW });
});
afterAll(() => database.close());

describe("a 201", () => {
  it("names what it created in Location, which reads it back with the same key", async () => {
    const located: string[] = [];
    const unlocated: string[] = [];
    const broken: string[] = [];
    for (const route of MATRIX.filter((r) => r.method === "POST" && r.auth !== "sensor")) {
      const role = ROLES.find((r) => route.expect[r] === "allow");
      if (!role) continue;
      const fx = await buildFixture(database.db, app, route.needs);
      const key = keyOf(fx, role);
      const res = await send(app, route, fx, key);
      if (res.status !== 201) continue;
      const location = res.headers.get("location");
      if (!location) {
        unlocated.push(route.path);
        continue;
      }
      located.push(route.path);
      const read = await client(app, key).get(location);
      const created =
        res.body.id ?? Object.values(res.body as object).find((v) => v && typeof v === "object")?.id;
      // An amendment's Location is its version, which has a number rather than an id; a
      // milestone's is its kind, and the contract the 201 answers shows it the same.
      const same =
        read.body.id !== undefined
          ? read.body.id === created
          : read.body.kind !== undefined
            ? isDeepStrictEqual(
                res.body.milestones?.find((m: { kind: string }) => m.kind === read.body.kind),
                read.body,
              )
            : read.body.versionNo === res.body.currentVersionNo;
      if (read.status !== 200 || !same) broken.push(`${route.path} → ${location}: ${read.status}`);
    }
    expect(broken).toEqual([]);
    expect(located.length).toBeGreaterThan(10);
    expect(unlocated).toEqual([]);
  }, 300_000);
});
