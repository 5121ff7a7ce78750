import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { facilities } from "../../db/schema.js";
import { client, createTestApp, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import {
  createBuilding,
  createCommunity,
  createContractRecord,
  createFacility,
  createOrg,
  createWorld,
  type World,
} from "../support/factories.js";

let database: DatabaseHandle;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
});
afterAll(() => database.close());

const garage = (communityId: string, name = "3号非机动车库") => ({
  kind: "garage",
  communityId,
  name,
  garageSize: "large",
  parkingCapacity: 120,
  chargingPoints: 40,
});

const elevator = (world: World, overrides: Record<string, unknown> = {}) => ({
  kind: "elevator",
  communityId: world.community.id,
  name: "12号楼加装电梯",
  buildingId: world.building.id,
  floorsServed: 6,
  stops: 7,
  ...overrides,
});

async function setStatus(id: string, status: (typeof facilities.$inferSelect)["status"]) {
  await database.db.update(facilities).set({ status }).where(eq(facilities.id, id));
}

describe("registering facilities", () => {
  it("the street office registers a garage; it starts planned with no operator and no elevator fields", async () => {
    const world = await createWorld(database.db);
    const res = await client(app, world.streetOffice.key).post("/v1/facilities", garage(world.community.id));
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      streetId: world.street.id,
      communityId: world.community.id,
      kind: "garage",
      name: "3号非机动车库",
      state: "planned",
      garageSize: "large",
      parkingCapacity: 120,
      chargingPoints: 40,
      buildingId: null,
      floorsServed: null,
      stops: null,
      operatorOrgId: null,
      transferredOn: null,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    });
  });

  it("an enterprise registers an elevator in its street and becomes its operator", async () => {
    const world = await createWorld(database.db);
    const res = await client(app, world.enterprise.key).post("/v1/facilities", elevator(world));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      kind: "elevator",
      state: "planned",
      buildingId: world.building.id,
      floorsServed: 6,
      stops: 7,
      garageSize: null,
      parkingCapacity: null,
      chargingPoints: null,
      operatorOrgId: world.enterprise.org.id,
    });
    const seen = await client(app, world.ownersCommittee.key).get(`/v1/facilities/${res.body.id}`);
    expect(seen.status).toBe(200);
  });

  it("a property company or an owners committee may not register a facility (403)", async () => {
    const world = await createWorld(database.db);
    const body = garage(world.community.id);
    expect((await client(app, world.propertyCompany.key).post("/v1/facilities", body)).status).toBe(403);
    expect((await client(app, world.ownersCommittee.key).post("/v1/facilities", body)).status).toBe(403);
  });

  it("an elevator for a building of another community is refused, naming body.buildingId", async () => {
    const world = await createWorld(database.db);
    const neighbour = await createCommunity(database.db, world.street.id);
    const foreign = await createBuilding(database.db, neighbour.id);
    const res = await client(app, world.streetOffice.key).post(
      "/v1/facilities",
      elevator(world, { buildingId: foreign.id }),
    );
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { field: "body.buildingId", message: "is not a building of this community" },
    ]);
  });

  it("an elevator serving more floors than its building has, or with too many stops, names both fields", async () => {
    const world = await createWorld(database.db); // 6 storeys
    const api = client(app, world.streetOffice.key);
    const res = await api.post("/v1/facilities", elevator(world, { floorsServed: 7, stops: 11 }));
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { field: "body.floorsServed", message: "must be at most 6 (the building's storeys)" },
      { field: "body.stops", message: "must be at most floorsServed + 3 (10)" },
    ]);
    const fewStops = await api.post("/v1/facilities", elevator(world, { stops: 1 }));
    expect(fewStops.body.errors.map((e: { field: string }) => e.field)).toEqual(["body.stops"]);
  });

  it("validation errors name the fields of the kind that was sent", async () => {
    const world = await createWorld(database.db);
    const api = client(app, world.streetOffice.key);
    const mixed = await api.post("/v1/facilities", {
      ...garage(world.community.id),
      parkingCapacity: -1,
      chargingPoints: 1.5,
      buildingId: world.building.id,
    });
    expect(mixed.status).toBe(400);
    expect(mixed.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      "body.buildingId",
      "body.chargingPoints",
      "body.parkingCapacity",
    ]);
    const kind = await api.post("/v1/facilities", { ...garage(world.community.id), kind: "boat" });
    expect(kind.status).toBe(400);
    expect(kind.body.errors[0].field).toBe("body.kind");
  });

  it("a community of another street is refused as a field error", async () => {
    const world = await createWorld(database.db);
    const stranger = await createWorld(database.db);
    const res = await client(app, world.enterprise.key).post("/v1/facilities", garage(stranger.community.id));
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { field: "body.communityId", message: "is not a community of your street" },
    ]);
  });
});

describe("reading facilities", () => {
  it("lists the caller's facilities by name with filters and paging", async () => {
    const world = await createWorld(database.db); // has one planned elevator
    const office = client(app, world.streetOffice.key);
    const other = await createCommunity(database.db, world.street.id);
    for (const name of ["B 车库", "A 车库", "C 车库"]) {
      expect((await office.post("/v1/facilities", garage(other.id, name))).status).toBe(201);
    }
    const all = await office.get("/v1/facilities");
    expect(all.body.total).toBe(4);
    const garages = await office.get("/v1/facilities?kind=garage");
    expect(garages.body.items.map((f: { name: string }) => f.name)).toEqual(["A 车库", "B 车库", "C 车库"]);
    const paged = await office.get(`/v1/facilities?communityId=${other.id}&limit=1&offset=1`);
    expect(paged.body).toMatchObject({ total: 3, limit: 1, offset: 1 });
    expect(paged.body.items.map((f: { name: string }) => f.name)).toEqual(["B 车库"]);
    const planned = await office.get(`/v1/facilities?state=planned&communityId=${world.community.id}`);
    expect(planned.body.items.map((f: { id: string }) => f.id)).toEqual([world.elevator.id]);
    const bad = await office.get("/v1/facilities?state=broken");
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe("query.state");
  });

  it("another street's facility is invisible (404), and an owners committee sees only its community's", async () => {
    const world = await createWorld(database.db);
    const stranger = await createWorld(database.db);
    expect(
      (await client(app, world.streetOffice.key).get(`/v1/facilities/${stranger.elevator.id}`)).status,
    ).toBe(404);
    expect(
      (await client(app, world.enterprise.key).get(`/v1/facilities/${stranger.elevator.id}`)).status,
    ).toBe(404);
    const neighbour = await createCommunity(database.db, world.street.id);
    const theirs = await createFacility(database.db, {
      kind: "garage",
      streetId: world.street.id,
      communityId: neighbour.id,
    });
    const oc = client(app, world.ownersCommittee.key);
    expect((await oc.get(`/v1/facilities/${theirs.id}`)).status).toBe(404);
    const list = await oc.get("/v1/facilities");
    expect(list.body.items.map((f: { id: string }) => f.id)).toEqual([world.elevator.id]);
  });
});

describe("changing facilities", () => {
  it("the operating enterprise renames its garage and corrects its capacities", async () => {
    const world = await createWorld(database.db);
    const created = await client(app, world.enterprise.key).post(
      "/v1/facilities",
      garage(world.community.id),
    );
    const res = await client(app, world.enterprise.key).patch(`/v1/facilities/${created.body.id}`, {
      name: "智能车库",
      parkingCapacity: 150,
      chargingPoints: 60,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: "智能车库",
      parkingCapacity: 150,
      chargingPoints: 60,
      state: "planned",
    });
  });

  it("the state is not editable, and an elevator has no garage capacities", async () => {
    const world = await createWorld(database.db);
    const office = client(app, world.streetOffice.key);
    const state = await office.patch(`/v1/facilities/${world.elevator.id}`, { state: "operating" });
    expect(state.status).toBe(400);
    expect(state.body.errors).toEqual([{ field: "body.state", message: "is not a known field" }]);
    const capacity = await office.patch(`/v1/facilities/${world.elevator.id}`, { parkingCapacity: 3 });
    expect(capacity.body.errors).toEqual([
      { field: "body.parkingCapacity", message: "applies to garages only" },
    ]);
    const nothing = await office.patch(`/v1/facilities/${world.elevator.id}`, {});
    expect(nothing.status).toBe(400);
    const renamed = await office.patch(`/v1/facilities/${world.elevator.id}`, { name: "1号电梯" });
    expect(renamed.body).toMatchObject({ name: "1号电梯", state: "planned" });
  });

  it("a property company or an enterprise that does not operate the facility may not change it (403)", async () => {
    const world = await createWorld(database.db);
    const rival = await createOrg(database.db, { kind: "enterprise", streetId: world.street.id });
    const path = `/v1/facilities/${world.elevator.id}`;
    expect((await client(app, world.propertyCompany.key).patch(path, { name: "x" })).status).toBe(403);
    // The planned, unoperated elevator is visible to every enterprise of the street, but not theirs to edit.
    expect((await client(app, rival.key).patch(path, { name: "x" })).status).toBe(403);
  });
});

describe("decommissioning", () => {
  it("the street office decommissions a planned facility, which then cannot be changed", async () => {
    const world = await createWorld(database.db);
    const office = client(app, world.streetOffice.key);
    const path = `/v1/facilities/${world.elevator.id}`;
    const res = await office.post(`${path}/decommission`, { reason: "业主表决未通过" });
    expect(res.status).toBe(200);
    expect(res.body.state).toBe("decommissioned");
    const again = await office.post(`${path}/decommission`, { reason: "again" });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      code: "facility_state",
      status: 409,
      currentState: "decommissioned",
    });
    expect((await office.patch(path, { name: "x" })).status).toBe(409);
  });

  it("an operating facility cannot be decommissioned (409 with its state); a transferred one can", async () => {
    const world = await createWorld(database.db);
    const office = client(app, world.streetOffice.key);
    await setStatus(world.elevator.id, "operating");
    const refused = await office.post(`/v1/facilities/${world.elevator.id}/decommission`, { reason: "old" });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: "facility_state", status: 409, currentState: "operating" });
    await setStatus(world.elevator.id, "transferred");
    const ok = await office.post(`/v1/facilities/${world.elevator.id}/decommission`, { reason: "old" });
    expect(ok.status).toBe(200);
  });

  it("a planned facility under an open contract cannot be decommissioned", async () => {
    const world = await createWorld(database.db);
    const contract = await createContractRecord(database.db, {
      streetId: world.street.id,
      communityId: world.community.id,
      enterpriseOrgId: world.enterprise.org.id,
      ownersCommitteeOrgId: world.ownersCommittee.org.id,
      propertyCompanyOrgId: world.propertyCompany.org.id,
      facilityIds: [world.elevator.id],
    });
    const res = await client(app, world.streetOffice.key).post(
      `/v1/facilities/${world.elevator.id}/decommission`,
      {
        reason: "x",
      },
    );
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: "facility_under_contract", contractIds: [contract.id] });
  });

  it("only the street office decommissions (403 for others); a reason is required", async () => {
    const world = await createWorld(database.db);
    const path = `/v1/facilities/${world.elevator.id}/decommission`;
    expect((await client(app, world.enterprise.key).post(path, { reason: "x" })).status).toBe(403);
    expect((await client(app, world.ownersCommittee.key).post(path, { reason: "x" })).status).toBe(403);
    const noReason = await client(app, world.streetOffice.key).post(path, {});
    expect(noReason.status).toBe(400);
    expect(noReason.body.errors[0].field).toBe("body.reason");
    const stranger = await createWorld(database.db);
    expect((await client(app, stranger.streetOffice.key).post(path, { reason: "x" })).status).toBe(404);
    expect((await client(app, TEST_ADMIN_TOKEN).post(path, { reason: "x" })).status).toBe(200);
  });
});
