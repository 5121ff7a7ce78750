/**
 * `Location` on every 201 whose created resource can be read on its own (issue 15, item 4): each
 * create of the authorization matrix is made as the first role it allows, and its Location, read
 * with the same key, answers 200 with the created id. Creates of what is read only within a list
 * (comments, votes, payments, …) have none: the list below names them, so a new one is a decision.
 */
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
  it("names what it created in Location where that can be read on its own", async () => {
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
      // An amendment's Location is its version, which has a number rather than an id.
      const same =
        read.body.id === undefined
          ? read.body.versionNo === res.body.currentVersionNo
          : read.body.id === created;
      if (read.status !== 200 || !same) broken.push(`${route.path} → ${location}: ${read.status}`);
    }
    expect(broken).toEqual([]);
    expect(located.length).toBeGreaterThan(10);
    expect(unlocated.sort()).toMatchInlineSnapshot(`
      [
        "/v1/contracts/{id}/billing-runs",
        "/v1/contracts/{id}/comments",
        "/v1/contracts/{id}/guidance-disbursements",
        "/v1/contracts/{id}/milestones",
        "/v1/contracts/{id}/votes",
        "/v1/credit-notes/{id}/refunds",
        "/v1/districts",
        "/v1/invoices/{id}/payments",
      ]
    `);
  }, 300_000);
});
