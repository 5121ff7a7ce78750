/**
 * The reads a user reaches for beside the lists: a contract's milestones and signatures (pages of
 * the one envelope), one credit note, one household — each scoped as the list it belongs to.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { driveContract } from "../authz/fixtures.js";
import { NOW } from "../authz/matrix.js";
import { client, createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import {
  createCreditNoteRecord,
  createOperatingContract,
  createWorld,
  type World,
} from "../support/factories.js";

let database: DatabaseHandle;
let app: TestApp;
let world: World;
let other: World;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db, { now: () => NOW });
  world = await createWorld(database.db);
  other = await createWorld(database.db);
});
afterAll(() => database.close());

describe("a contract's milestones and signatures", () => {
  it("lists the milestones in their order and the signatures by version, paged, for every party", async () => {
    const id = await driveContract(world, app, "operating");
    const committee = client(app, world.ownersCommittee.key);
    const milestones = await committee.get(`/v1/contracts/${id}/milestones?limit=2`);
    expect(milestones.status).toBe(200);
    expect(milestones.body).toMatchObject({ total: 3, limit: 2, offset: 0 });
    expect(milestones.body.next).toBe(`/v1/contracts/${id}/milestones?limit=2&offset=2`);
    expect(milestones.body.items.map((m: { kind: string }) => m.kind)).toEqual([
      "construction_start",
      "completion_acceptance",
    ]);
    expect(milestones.body.items[0]).toMatchObject({
      recordedByOrgId: world.enterprise.org.id,
      confirmedByOrgId: world.ownersCommittee.org.id,
    });
    const rest = await committee.get(milestones.body.next);
    expect(rest.body).toMatchObject({ total: 3, next: null, items: [{ kind: "operation_start" }] });

    const signatures = await client(app, world.streetOffice.key).get(`/v1/contracts/${id}/signatures`);
    expect(signatures.status).toBe(200);
    expect(signatures.body.total).toBe(4);
    expect(new Set(signatures.body.items.map((s: { party: string }) => s.party))).toEqual(
      new Set(["enterprise", "property_company", "street_office", "owners_committee"]),
    );
    const detail = await committee.get(`/v1/contracts/${id}`);
    // The same signatures as the contract's detail shows, with the hash each party signed.
    expect(signatures.body.items).toEqual(expect.arrayContaining(detail.body.signatures));
    expect((await committee.get(`/v1/contracts/${id}/signatures?versionNo=2`)).body).toMatchObject({
      items: [],
      total: 0,
    });
  });

  it("answers 404 outside the caller's scope, as the contract does", async () => {
    const id = await driveContract(await createWorld(database.db), app, "signed");
    for (const path of ["milestones", "signatures"]) {
      const res = await client(app, other.ownersCommittee.key).get(`/v1/contracts/${id}/${path}`);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe("not_found");
    }
  });
});

describe("one credit note", () => {
  it("reads as in the contract's list, and 404 for another street", async () => {
    const { contract } = await createOperatingContract(database.db, world, {
      operationStart: "2024-12-01",
      termMonths: 24,
    });
    const note = await createCreditNoteRecord(database.db, contract, {
      subscriberKey: `household:${world.households[0]?.id}`,
      amount: "20.00",
    });
    const committee = client(app, world.ownersCommittee.key);
    const res = await committee.get(`/v1/credit-notes/${note.id}`);
    expect(res.status).toBe(200);
    const list = await committee.get(`/v1/contracts/${contract.id}/credit-notes`);
    expect(list.body.items).toContainEqual(res.body);
    expect(res.body).toMatchObject({
      amount: "20.00",
      remaining: "20.00",
      applied: "0.00",
      refunded: "0.00",
    });
    expect((await client(app, other.enterprise.key).get(`/v1/credit-notes/${note.id}`)).status).toBe(404);
  });
});

describe("one household", () => {
  it("reads as in its building's register; hidden where the register is", async () => {
    const household = world.households[0];
    if (!household) throw new Error("the world has no households");
    const res = await client(app, world.propertyCompany.key).get(`/v1/households/${household.id}`);
    expect(res.status).toBe(200);
    const register = await client(app, world.propertyCompany.key).get(
      `/v1/buildings/${world.building.id}/households?limit=200`,
    );
    expect(register.body.items).toContainEqual(res.body);
    // An enterprise without a contract in the community, and another street: 404, as the list.
    const fresh = await createWorld(database.db);
    const freshHousehold = fresh.households[0];
    if (!freshHousehold) throw new Error("the world has no households");
    expect((await client(app, fresh.enterprise.key).get(`/v1/households/${freshHousehold.id}`)).status).toBe(
      404,
    );
    expect((await client(app, other.propertyCompany.key).get(`/v1/households/${household.id}`)).status).toBe(
      404,
    );
  });
});
