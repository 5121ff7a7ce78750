import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createFacility, createWorld, type World } from "../support/factories.js";
import { elevatorTerms } from "../support/terms.js";

let database: DatabaseHandle;
const now = new Date("2025-03-01T02:00:00Z");

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const api = (key: string) => client(createTestApp(database.db, { now: () => now }), key);

async function draft(world: World, overrides: Record<string, unknown> = {}) {
  const res = await api(world.enterprise.key).post("/v1/contracts", {
    title: "加装电梯合同",
    communityId: world.community.id,
    ownersCommitteeOrgId: world.ownersCommittee.org.id,
    propertyCompanyOrgId: world.propertyCompany.org.id,
    streetOfficeOrgId: world.streetOffice.org.id,
    facilityIds: [world.elevator.id],
    terms: elevatorTerms(),
    ...overrides,
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** Drives a contract to `signed`: submit, a passing vote, approval, four signatures. */
async function signContract(world: World, id: string) {
  await api(world.enterprise.key).post(`/v1/contracts/${id}/submit`);
  await api(world.ownersCommittee.key).post(`/v1/contracts/${id}/votes`, {
    heldOn: "2025-03-01",
    participatingArea: "720.00",
    participatingOwners: 12,
    yesArea: "720.00",
    yesOwners: 12,
  });
  await api(world.ownersCommittee.key).post(`/v1/contracts/${id}/approve`);
  for (const party of [world.enterprise, world.propertyCompany, world.streetOffice, world.ownersCommittee]) {
    await api(party.key).post(`/v1/contracts/${id}/sign`);
  }
  const res = await api(world.enterprise.key).get(`/v1/contracts/${id}`);
  expect(res.body.state).toBe("signed");
}

describe("drafting a contract", () => {
  it("rejects malformed terms with every failing field named", async () => {
    const world = await createWorld(database.db);
    const res = await api(world.enterprise.key).post("/v1/contracts", {
      title: "",
      communityId: world.community.id,
      ownersCommitteeOrgId: world.ownersCommittee.org.id,
      propertyCompanyOrgId: world.propertyCompany.org.id,
      facilityIds: [world.elevator.id],
      terms: elevatorTerms({ totalInvestment: "12.345", operationTermMonths: 0, guidanceFunds: -5 }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body.code).toBe("validation_failed");
    const fields = res.body.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual([
      "body.terms.guidanceFunds",
      "body.terms.operationTermMonths",
      "body.terms.totalInvestment",
      "body.title",
    ]);
  });

  it("checks the domain rules: capital plus guidance within the investment, parties of this community, planned facilities", async () => {
    const world = await createWorld(database.db);
    const other = await createWorld(database.db);
    const res = await api(world.enterprise.key).post("/v1/contracts", {
      title: "越界合同",
      communityId: world.community.id,
      ownersCommitteeOrgId: other.ownersCommittee.org.id,
      propertyCompanyOrgId: world.propertyCompany.org.id,
      facilityIds: [world.elevator.id, other.elevator.id],
      terms: elevatorTerms({ enterpriseCapital: "700000.00" }),
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        { field: "body.ownersCommitteeOrgId", message: "is not the owners committee of this community" },
        {
          field: "body.streetOfficeOrgId",
          message: "is required when the street office contributes guidance funds",
        },
        { field: "body.facilityIds.1", message: "is not a facility of this community" },
        expect.objectContaining({ field: "body.terms.enterpriseCapital" }),
      ]),
    );
    const count = await queryRows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from contracts where community_id = ${world.community.id}`,
    );
    expect(count[0]?.n).toBe(0);
  });

  it("refuses a facility that is already in another open contract", async () => {
    const world = await createWorld(database.db);
    await draft(world);
    const again = await api(world.enterprise.key).post("/v1/contracts", {
      title: "重复",
      communityId: world.community.id,
      ownersCommitteeOrgId: world.ownersCommittee.org.id,
      propertyCompanyOrgId: world.propertyCompany.org.id,
      streetOfficeOrgId: world.streetOffice.org.id,
      facilityIds: [world.elevator.id],
      terms: elevatorTerms(),
    });
    expect(again.status).toBe(400);
    expect(again.body.errors).toEqual([
      { field: "body.facilityIds.0", message: "is already in another open contract" },
    ]);
  });

  it("two concurrent edits of one draft with the same ETag: exactly one wins, the other gets 412", async () => {
    const world = await createWorld(database.db);
    const id = await draft(world);
    const enterprise = api(world.enterprise.key);
    const edits = await Promise.all(
      ["每月一次保养", "每月三次保养"].map((m) =>
        enterprise.put(
          `/v1/contracts/${id}/versions/1`,
          { terms: elevatorTerms({ maintenanceObligations: m }) },
          { "if-match": '"r1"' },
        ),
      ),
    );
    expect(edits.map((e) => e.status).sort()).toEqual([200, 412]);
    const winner = edits.find((e) => e.status === 200)?.body.terms.maintenanceObligations;
    const stored = await enterprise.get(`/v1/contracts/${id}/versions/1`);
    expect(stored.body).toMatchObject({ revision: 2, terms: { maintenanceObligations: winner } });
    expect((await enterprise.put(`/v1/contracts/${id}/versions/1`, { terms: elevatorTerms() })).status).toBe(
      428,
    );
  });
});

describe("read-modify-write of a draft", () => {
  /** The fields of a version the edit takes, exactly as GET gave them. */
  const editable = (version: Record<string, unknown>) => ({
    summary: version.summary,
    effectiveDate: version.effectiveDate,
    terms: version.terms,
  });

  it("the original draft reads effectiveDate null, and the edit takes back what it read", async () => {
    const world = await createWorld(database.db);
    const id = await draft(world);
    const enterprise = api(world.enterprise.key);
    const read = await enterprise.get(`/v1/contracts/${id}/versions/1`);
    expect(read.body.effectiveDate).toBeNull();
    const body = editable(read.body);
    body.terms = { ...(read.body.terms as object), maintenanceObligations: "每月两次保养" };
    const saved = await enterprise.put(`/v1/contracts/${id}/versions/1`, body, {
      "if-match": read.headers.get("etag") ?? "",
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body).toMatchObject({ revision: 2, effectiveDate: null, summary: read.body.summary });
    expect(saved.body.terms).toEqual(body.terms);
  });

  it("an amendment's draft round-trips too, and its effective date cannot be set to null", async () => {
    const world = await createWorld(database.db);
    const id = await draft(world);
    await signContract(world, id);
    const enterprise = api(world.enterprise.key);
    const amended = await enterprise.post(`/v1/contracts/${id}/amendments`, {
      effectiveDate: "2025-06-01",
      summary: "运营期延长",
      terms: elevatorTerms({ operationTermMonths: 15 }),
    });
    expect(amended.status).toBe(201);
    const read = await enterprise.get(`/v1/contracts/${id}/versions/2`);
    const etag = { "if-match": read.headers.get("etag") ?? "" };
    const cleared = await enterprise.put(
      `/v1/contracts/${id}/versions/2`,
      { ...editable(read.body), effectiveDate: null },
      etag,
    );
    expect(cleared.status).toBe(400);
    expect(cleared.body.errors).toEqual([
      { field: "body.effectiveDate", message: "is the date the amendment takes effect: it cannot be null" },
    ]);
    const saved = await enterprise.put(`/v1/contracts/${id}/versions/2`, editable(read.body), etag);
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body).toMatchObject({ revision: read.body.revision + 1, effectiveDate: "2025-06-01" });
  });
});

describe("the lifecycle refuses what is not allowed", () => {
  it("an illegal transition answers 409 with the current state and the actions it allows", async () => {
    const world = await createWorld(database.db);
    const id = await draft(world);
    const res = await api(world.ownersCommittee.key).post(`/v1/contracts/${id}/approve`);
    expect(res.status).toBe(409);
    // What the caller may do instead, and what would make it allowed.
    expect(res.body).toMatchObject({
      code: "illegal_transition",
      currentState: "draft",
      versionState: "draft",
      allowedActions: ["comment"],
      detail:
        "Only a submitted version is approved; version 1 is draft. Next: the enterprise submits the draft.",
    });
    const sign = await api(world.enterprise.key).post(`/v1/contracts/${id}/sign`);
    expect(sign.status).toBe(409);
  });

  it("a party may only do its own part (403), a stranger sees nothing (404)", async () => {
    const world = await createWorld(database.db);
    const stranger = await createWorld(database.db);
    const id = await draft(world);
    const submitByCommittee = await api(world.ownersCommittee.key).post(`/v1/contracts/${id}/submit`);
    expect(submitByCommittee.status).toBe(403);
    expect(submitByCommittee.body.code).toBe("forbidden");
    for (const key of [stranger.enterprise.key, stranger.ownersCommittee.key, stranger.streetOffice.key]) {
      expect((await api(key).get(`/v1/contracts/${id}`)).status).toBe(404);
      expect((await api(key).post(`/v1/contracts/${id}/submit`)).status).toBe(404);
    }
    const list = await api(stranger.streetOffice.key).get("/v1/contracts");
    expect(list.body.items.map((c: { id: string }) => c.id)).not.toContain(id);
  });

  it("a contract without street-office funds is signed by three parties; the street office may not sign", async () => {
    const world = await createWorld(database.db);
    const id = await draft(world, {
      streetOfficeOrgId: undefined,
      terms: elevatorTerms({ enterpriseCapital: "800000.00", guidanceFunds: "0.00" }),
    });
    await api(world.enterprise.key).post(`/v1/contracts/${id}/submit`);
    await api(world.ownersCommittee.key).post(`/v1/contracts/${id}/votes`, {
      heldOn: "2025-03-01",
      participatingArea: "720.00",
      participatingOwners: 12,
      yesArea: "600.00",
      yesOwners: 10,
    });
    await api(world.ownersCommittee.key).post(`/v1/contracts/${id}/approve`);
    expect((await api(world.streetOffice.key).post(`/v1/contracts/${id}/sign`)).status).toBe(403);
    for (const party of [world.enterprise, world.propertyCompany, world.ownersCommittee]) {
      await api(party.key).post(`/v1/contracts/${id}/sign`);
    }
    expect((await api(world.streetOffice.key).get(`/v1/contracts/${id}`)).body).toMatchObject({
      state: "signed",
      requiredSigners: ["enterprise", "owners_committee", "property_company"],
    });
    // Not a party, the street office watches: it reads, but neither comments nor terminates.
    const office = api(world.streetOffice.key);
    expect((await office.post(`/v1/contracts/${id}/comments`, { body: "x" })).status).toBe(403);
    expect((await office.post(`/v1/contracts/${id}/terminate`, { reason: "x" })).status).toBe(403);
    expect((await office.get(`/v1/contracts/${id}/audit/verify`)).body.intact).toBe(true);
  });

  it("a vote that does not fit the register is refused, naming the field", async () => {
    const world = await createWorld(database.db);
    const id = await draft(world);
    await api(world.enterprise.key).post(`/v1/contracts/${id}/submit`);
    const res = await api(world.ownersCommittee.key).post(`/v1/contracts/${id}/votes`, {
      heldOn: "2025-03-01",
      participatingArea: "800.00",
      participatingOwners: 13,
      yesArea: "100.00",
      yesOwners: 2,
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      "body.participatingArea",
      "body.participatingOwners",
    ]);
  });

  it("termination during construction frees the facility for a new contract", async () => {
    const world = await createWorld(database.db);
    const id = await draft(world);
    await signContract(world, id);
    await api(world.enterprise.key).post(`/v1/contracts/${id}/milestones`, {
      kind: "construction_start",
      occurredOn: "2025-02-20",
    });
    await api(world.ownersCommittee.key).post(`/v1/contracts/${id}/milestones/construction_start/confirm`);
    expect(
      (await api(world.propertyCompany.key).post(`/v1/contracts/${id}/terminate`, { reason: "x" })).status,
    ).toBe(403);
    const ended = await api(world.streetOffice.key).post(`/v1/contracts/${id}/terminate`, {
      reason: "企业资金链断裂，停工",
    });
    expect(ended.body).toMatchObject({
      state: "terminated",
      terminatedReason: "企业资金链断裂，停工",
      allowedActions: ["comment"],
    });
    const facility = await api(world.streetOffice.key).get(`/v1/facilities/${world.elevator.id}`);
    expect(facility.body).toMatchObject({ state: "planned", operatorOrgId: null });
    await draft(world, { title: "重新招标" });
  });
});

describe("amendments after signing", () => {
  it("a fee change goes through submit, vote, approval and signatures, then supersedes the signed version", async () => {
    const world = await createWorld(database.db);
    const id = await draft(world);
    await signContract(world, id);
    const enterprise = api(world.enterprise.key);
    const committee = api(world.ownersCommittee.key);
    const amended = await enterprise.post(`/v1/contracts/${id}/amendments`, {
      effectiveDate: "2025-04-01",
      summary: "经营期延长至24个月",
      terms: elevatorTerms({ operationTermMonths: 24 }),
    });
    expect(amended.status).toBe(201);
    expect(amended.body).toMatchObject({
      state: "signed",
      currentVersionNo: 2,
      // The amendment's review, and the contract's own next step, which an amendment does not hold up.
      allowedActions: [
        "submit",
        "record_construction_start",
        "terminate",
        "comment",
        "edit_draft",
        "set_financial_assumptions",
      ],
    });
    expect(
      (
        await enterprise.post(`/v1/contracts/${id}/amendments`, {
          effectiveDate: "2025-04-01",
          summary: "x",
          terms: elevatorTerms(),
        })
      ).body.code,
    ).toBe("amendment_open");
    await enterprise.post(`/v1/contracts/${id}/submit`);
    await committee.post(`/v1/contracts/${id}/votes`, {
      heldOn: "2025-03-01",
      participatingArea: "720.00",
      participatingOwners: 12,
      yesArea: "720.00",
      yesOwners: 12,
    });
    expect((await committee.post(`/v1/contracts/${id}/approve`)).status).toBe(200);
    for (const party of [
      world.enterprise,
      world.propertyCompany,
      world.streetOffice,
      world.ownersCommittee,
    ]) {
      expect((await api(party.key).post(`/v1/contracts/${id}/sign`)).status).toBe(200);
    }
    const after = await committee.get(`/v1/contracts/${id}/versions`);
    expect(after.body.items.map((v: { versionNo: number; state: string }) => [v.versionNo, v.state])).toEqual(
      [
        [1, "superseded"],
        [2, "signed"],
      ],
    );
    const contract = await committee.get(`/v1/contracts/${id}`);
    expect(contract.body).toMatchObject({ state: "signed", signedVersionNo: 2 });
    const diff = await committee.get(`/v1/contracts/${id}/diff?fromVersionNo=1&toVersionNo=2`);
    expect(diff.body.changes).toEqual([
      { path: "operationTermMonths", change: "changed", before: 13, after: 24 },
    ]);
  });
});

describe("the audit log", () => {
  it("verifies, refuses updates, and detects a row changed behind the application's back", async () => {
    const world = await createWorld(database.db);
    const id = await draft(world);
    await api(world.enterprise.key).post(`/v1/contracts/${id}/submit`);
    await api(world.ownersCommittee.key).post(`/v1/contracts/${id}/comments`, { body: "请补充维保单位资质" });
    const office = api(world.streetOffice.key);
    expect((await office.get(`/v1/contracts/${id}/audit/verify`)).body).toEqual({ intact: true, length: 3 });

    await expect(
      database.db.execute(sql`update audit_log set payload = '{}' where contract_id = ${id} and seq = 2`),
    ).rejects.toThrow();

    // A superuser bypassing the trigger is still caught by the hash chain.
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      await tx.execute(
        sql`update audit_log set payload = '{"body":"改过"}' where contract_id = ${id} and seq = 3`,
      );
    });
    const verdict = await office.get(`/v1/contracts/${id}/audit/verify`);
    expect(verdict.body).toMatchObject({ intact: false, brokenAtSeq: 3 });
  });
});

describe("finding contracts", () => {
  it("filters by state, facility kind and title words, within the caller's scope", async () => {
    const world = await createWorld(database.db);
    const garage = await createFacility(database.db, {
      kind: "garage",
      streetId: world.street.id,
      communityId: world.community.id,
    });
    const elevatorContract = await draft(world, { title: "1号楼加装电梯" });
    const garageContract = await draft(world, {
      title: "智能车库改造",
      facilityIds: [garage.id],
      terms: elevatorTerms({
        feeSchedule: [{ code: "GR-M", name: "停车包月", kind: "monthly", price: "20.00", unit: "slot" }],
      }),
    });
    await api(world.enterprise.key).post(`/v1/contracts/${garageContract}/submit`);
    const office = api(world.streetOffice.key);
    const ids = async (query: string) =>
      (await office.get(`/v1/contracts?${query}`)).body.items.map((c: { id: string }) => c.id);
    expect(await ids("facilityKind=garage")).toEqual([garageContract]);
    expect(await ids("facilityKind=elevator")).toEqual([elevatorContract]);
    expect(await ids("state=submitted")).toEqual([garageContract]);
    expect(await ids("q=车库")).toEqual([garageContract]);
    const page = await office.get("/v1/contracts?limit=1");
    expect(page.body).toMatchObject({ total: 2 });
    expect(page.body.items).toHaveLength(1);
    // The enterprise sees the facilities of its contracts, and no other enterprise does.
    const rival = await createWorld(database.db);
    expect((await api(world.enterprise.key).get(`/v1/facilities/${garage.id}`)).status).toBe(200);
    expect((await api(rival.enterprise.key).get(`/v1/facilities/${garage.id}`)).status).toBe(404);
    expect((await office.get("/v1/contracts?limit=0")).status).toBe(400);
  });
  it("pages newest first (ties by id), counting every match, also past the last page", async () => {
    const world = await createWorld(database.db);
    // Each contract needs a facility of its own: four garages.
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const garage = await createFacility(database.db, {
        kind: "garage",
        streetId: world.street.id,
        communityId: world.community.id,
      });
      ids.push(
        await draft(world, {
          facilityIds: [garage.id],
          terms: elevatorTerms({
            feeSchedule: [{ code: "GR-M", name: "停车包月", kind: "monthly", price: "20.00", unit: "slot" }],
          }),
        }),
      );
    }
    const [a, b, c, d] = ids as [string, string, string, string];
    // b newest; a, c and d updated at the same instant, so their ids decide.
    await database.db.execute(sql`update contracts set updated_at = case id
        when ${b} then '2026-03-02T00:00:00Z'::timestamptz else '2026-03-01T00:00:00Z'::timestamptz end
      where id in (${a}, ${b}, ${c}, ${d})`);
    const expected = [b, ...[a, c, d].sort()];
    const enterprise = api(world.enterprise.key);
    const first = await enterprise.get("/v1/contracts?limit=3");
    const second = await enterprise.get("/v1/contracts?limit=3&offset=3");
    expect(first.body.total).toBe(4);
    expect(second.body.total).toBe(4);
    expect([...first.body.items, ...second.body.items].map((x: { id: string }) => x.id)).toEqual(expected);
    expect(first.body.items[0]).toMatchObject({ id: b, updatedAt: "2026-03-02T00:00:00.000Z" });
    const past = await enterprise.get("/v1/contracts?limit=3&offset=10");
    expect(first.body.next).toBe("/v1/contracts?limit=3&offset=3");
    expect(second.body.next).toBeNull();
    expect(past.body).toEqual({ items: [], total: 4, limit: 3, offset: 10, next: null });
    expect((await enterprise.get("/v1/contracts?state=operating")).body).toEqual({
      items: [],
      total: 0,
      limit: 50,
      offset: 0,
      next: null,
    });
    // Another enterprise's contracts count neither in its page nor in its total.
    const rival = await createWorld(database.db);
    expect((await api(rival.enterprise.key).get("/v1/contracts")).body).toMatchObject({
      items: [],
      total: 0,
    });
  });
});

describe("facilities outside the contract's community", () => {
  it("a garage of another community cannot join an elevator contract", async () => {
    const world = await createWorld(database.db);
    const other = await createWorld(database.db);
    const garage = await createFacility(database.db, {
      kind: "garage",
      streetId: other.street.id,
      communityId: other.community.id,
    });
    const res = await api(world.enterprise.key).post("/v1/contracts", {
      title: "x",
      communityId: world.community.id,
      ownersCommitteeOrgId: world.ownersCommittee.org.id,
      propertyCompanyOrgId: world.propertyCompany.org.id,
      streetOfficeOrgId: world.streetOffice.org.id,
      facilityIds: [garage.id],
      terms: elevatorTerms(),
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toContainEqual({
      field: "body.facilityIds.0",
      message: "is not a facility of this community",
    });
  });
});
