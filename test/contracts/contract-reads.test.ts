/**
 * The reads a user reaches for beside the lists: a contract's milestones and signatures (pages of
 * the one envelope), one comment, vote or milestone, one credit note, one household — each scoped
 * as the list it belongs to.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { driveContract } from "../authz/fixtures.js";
import { NOW } from "../authz/matrix.js";
import { client, createTestApp, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
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

describe("one comment, one vote, one milestone", () => {
  const unknownId = "00000000-0000-4000-8000-000000000000";

  it("a comment's Location reads as the create answered and the list shows; 404 elsewhere", async () => {
    const mine = await createWorld(database.db);
    const id = await driveContract(mine, app, "submitted");
    const committee = client(app, mine.ownersCommittee.key);
    const created = await committee.post(`/v1/contracts/${id}/comments`, { body: "请补充维保响应时间" });
    expect(created.status).toBe(201);
    const location = created.headers.get("location");
    expect(location).toBe(`/v1/contracts/${id}/comments/${created.body.id}`);
    // Every party reads it, the same as the create answered and the list shows.
    for (const key of [mine.enterprise.key, mine.streetOffice.key, mine.propertyCompany.key]) {
      const read = await client(app, key).get(`${location}`);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(created.body);
    }
    const list = await committee.get(`/v1/contracts/${id}/comments`);
    expect(list.body.items).toContainEqual(created.body);

    const elsewhere = await client(app, other.ownersCommittee.key).get(`${location}`);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.code).toBe("not_found");
    expect((await committee.get(`/v1/contracts/${id}/comments/${unknownId}`)).status).toBe(404);
    // A comment of another contract, under this one's id: 404 too.
    const second = await driveContract(await createWorld(database.db), app, "draft");
    const admin = client(app, TEST_ADMIN_TOKEN);
    expect((await admin.get(`/v1/contracts/${second}/comments/${created.body.id}`)).status).toBe(404);
  });

  it("a vote's Location reads as the create answered, with its ratios; 404 elsewhere", async () => {
    const mine = await createWorld(database.db);
    const id = await driveContract(mine, app, "submitted");
    const committee = client(app, mine.ownersCommittee.key);
    const created = await committee.post(`/v1/contracts/${id}/votes`, {
      heldOn: "2025-03-01",
      participatingArea: "720.00",
      participatingOwners: 12,
      yesArea: "720.00",
      yesOwners: 12,
    });
    expect(created.status).toBe(201);
    const location = created.headers.get("location");
    expect(location).toBe(`/v1/contracts/${id}/votes/${created.body.id}`);
    const read = await client(app, mine.enterprise.key).get(`${location}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    expect(read.body).toMatchObject({ passed: true, failed: [] });
    expect(read.body.ratios.length).toBe(4);
    const list = await client(app, mine.propertyCompany.key).get(`/v1/contracts/${id}/votes`);
    expect(list.body.items).toEqual([read.body]);

    expect((await client(app, other.enterprise.key).get(`${location}`)).status).toBe(404);
    const unknown = await committee.get(`/v1/contracts/${id}/votes/${unknownId}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("not_found");
  });

  it("a milestone's Location is its kind, read as the contract shows it; 404 until recorded and elsewhere", async () => {
    const mine = await createWorld(database.db);
    const id = await driveContract(mine, app, "signed");
    const enterprise = client(app, mine.enterprise.key);
    const committee = client(app, mine.ownersCommittee.key);
    const path = `/v1/contracts/${id}/milestones/construction_start`;
    expect((await committee.get(path)).status).toBe(404);

    const created = await enterprise.post(`/v1/contracts/${id}/milestones`, {
      kind: "construction_start",
      occurredOn: "2025-03-01",
      note: "进场施工",
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe(path);
    const read = await committee.get(path);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(
      created.body.milestones.find((m: { kind: string }) => m.kind === "construction_start"),
    );
    expect(read.body).toMatchObject({
      kind: "construction_start",
      occurredOn: "2025-03-01",
      note: "进场施工",
      recordedByOrgId: mine.enterprise.org.id,
      confirmedByOrgId: null,
    });
    const list = await committee.get(`/v1/contracts/${id}/milestones`);
    expect(list.body.items).toEqual([read.body]);

    expect((await committee.post(`${path}/confirm`, {})).status).toBe(200);
    expect((await client(app, mine.streetOffice.key).get(path)).body).toMatchObject({
      confirmedByOrgId: mine.ownersCommittee.org.id,
    });
    expect((await committee.get(`/v1/contracts/${id}/milestones/operation_start`)).status).toBe(404);
    expect((await client(app, other.ownersCommittee.key).get(path)).status).toBe(404);
    expect((await committee.get(`/v1/contracts/${unknownId}/milestones/construction_start`)).status).toBe(
      404,
    );
    expect((await committee.get(`/v1/contracts/${id}/milestones/groundbreaking`)).status).toBe(400);
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
