/**
 * Action routes of every resource check their bodies like any other route: one that takes
 * nothing accepts no body or `{}`, and answers an unknown field with a 400 naming it and nothing
 * done (the contract actions are covered in test/contracts/command-table.test.ts).
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { client, createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { addSensor, buildFixture } from "./fixtures.js";
import { NOW } from "./matrix.js";

let database: DatabaseHandle;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db, { now: () => NOW });
});
afterAll(() => database.close());

describe("actions that take no body", () => {
  it("a report's acceptance: an unknown field is a 400 naming it, and the report stays submitted", async () => {
    const fx = await buildFixture(database.db, app, "operating");
    const reportId = fx.ledger?.submittedReportId;
    if (!reportId) throw new Error("the fixture has no submitted report");
    const committee = client(app, fx.world.ownersCommittee.key);
    const refused = await committee.post(`/v1/reports/${reportId}/accept`, { status: "accepted" });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ field: "body.status", message: "is not a known field" }]);
    const [row] = await queryRows<{ status: string }>(
      database.db,
      sql`select status::text from operation_reports where id = ${reportId}`,
    );
    expect(row?.status).toBe("submitted");
    const accepted = await committee.post(`/v1/reports/${reportId}/accept`, {});
    expect(accepted.status).toBe(200);
    expect(accepted.body.state).toBe("accepted");
  });

  it("a sensor's key rotation and revocation: an unknown field is a 400 naming it, and the key still works", async () => {
    const fx = await addSensor(database.db, app, await buildFixture(database.db, app, "sensor"));
    const sensor = fx.sensor;
    if (!sensor) throw new Error("the fixture has no sensor");
    const enterprise = client(app, fx.world.enterprise.key);
    for (const action of ["rotate-key", "revoke"]) {
      const refused = await enterprise.post(`/v1/sensors/${sensor.id}/${action}`, { force: true });
      expect(refused.status, action).toBe(400);
      expect(refused.body.errors).toEqual([{ field: "body.force", message: "is not a known field" }]);
    }
    const [row] = await queryRows<{ revoked: boolean }>(
      database.db,
      sql`select revoked_at is not null as revoked from sensors where id = ${sensor.id}`,
    );
    expect(row?.revoked).toBe(false);
    expect((await enterprise.post(`/v1/sensors/${sensor.id}/rotate-key`)).status).toBe(200);
  });
});
