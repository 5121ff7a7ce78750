import { Decimal } from "decimal.js";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { households } from "../../db/schema.js";
import { client, createTestApp, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import {
  createBuilding,
  createCommunity,
  createContractRecord,
  createHouseholds,
  createOrg,
  createStreet,
  createWorld,
} from "../support/factories.js";

let database: DatabaseHandle;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
});
afterAll(() => database.close());

const suffix = () => Math.random().toString(36).slice(2, 8);

async function householdCount(buildingId: string) {
  return database.db.$count(households, eq(households.buildingId, buildingId));
}

function csv(key: string) {
  const api = client(app, key);
  return (path: string, body: string) => api.post(path, body, { "content-type": "text/csv; charset=utf-8" });
}

describe("districts and streets", () => {
  it("the platform admin registers a district and a street in it; everyone lists districts", async () => {
    const admin = client(app, TEST_ADMIN_TOKEN);
    const name = `杨浦区 ${suffix()}`;
    const district = await admin.post("/v1/districts", { name });
    expect(district.status).toBe(201);
    expect(district.body).toMatchObject({ name, id: expect.any(String) });
    expect((await admin.post("/v1/districts", { name })).body.code).toBe("district_exists");

    const street = await admin.post("/v1/streets", {
      districtId: district.body.id,
      name: "殷行街道",
      garageTarget: 153,
      elevatorTarget: 20,
    });
    expect(street.status).toBe(201);
    expect(street.body).toMatchObject({
      districtId: district.body.id,
      garageTarget: 153,
      elevatorTarget: 20,
    });

    const byDistrict = await admin.get(`/v1/streets?districtId=${district.body.id}`);
    expect(byDistrict.body.items.map((s: { id: string }) => s.id)).toEqual([street.body.id]);

    const office = await createOrg(database.db, { kind: "street_office", streetId: street.body.id });
    const listed = await client(app, office.key).get("/v1/districts");
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((d: { id: string }) => d.id)).toContain(district.body.id);
  });

  it("a district's Location reads as the create answered, for any caller; an unknown id is 404", async () => {
    const admin = client(app, TEST_ADMIN_TOKEN);
    const created = await admin.post("/v1/districts", { name: `虹口区 ${suffix()}` });
    expect(created.status).toBe(201);
    const location = created.headers.get("location");
    expect(location).toBe(`/v1/districts/${created.body.id}`);
    expect((await admin.get(`${location}`)).body).toEqual(created.body);
    // Districts hold nothing but names: a key of any street reads any, as the list shows them.
    const elsewhere = await createOrg(database.db, {
      kind: "enterprise",
      streetId: (await createStreet(database.db)).id,
    });
    const read = await client(app, elsewhere.key).get(`${location}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    const unknown = await admin.get("/v1/districts/00000000-0000-4000-8000-000000000000");
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("not_found");
  });

  it("a street office may not register districts or streets (403) and sees only its own street", async () => {
    const street = await createStreet(database.db);
    const other = await createStreet(database.db);
    const office = await createOrg(database.db, { kind: "street_office", streetId: street.id });
    const api = client(app, office.key);
    expect((await api.post("/v1/districts", { name: `x ${suffix()}` })).status).toBe(403);
    expect((await api.post("/v1/streets", { districtId: street.districtId, name: "y" })).status).toBe(403);
    const mine = await api.get("/v1/streets");
    expect(mine.body.items.map((s: { id: string }) => s.id)).toEqual([street.id]);
    expect((await api.get(`/v1/streets/${street.id}`)).body.name).toBe(street.name);
    expect((await api.get(`/v1/streets/${other.id}`)).status).toBe(404);
  });

  it("a street in an unknown district is refused, naming the field", async () => {
    const res = await client(app, TEST_ADMIN_TOKEN).post("/v1/streets", {
      districtId: "00000000-0000-4000-8000-000000000000",
      name: "nowhere",
      garageTarget: -1,
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: "body.garageTarget", message: expect.any(String) }]);
    const unknown = await client(app, TEST_ADMIN_TOKEN).post("/v1/streets", {
      districtId: "00000000-0000-4000-8000-000000000000",
      name: "nowhere",
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([{ field: "body.districtId", message: "is not a known district" }]);
  });
});

describe("communities", () => {
  it("a street office member key registers a community in its own street", async () => {
    const street = await createStreet(database.db);
    const office = await createOrg(database.db, {
      kind: "street_office",
      streetId: street.id,
      keyRole: "member",
    });
    const api = client(app, office.key);
    const res = await api.post("/v1/communities", { name: "国伟新苑", address: "国伟路 100 弄" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ streetId: street.id, name: "国伟新苑", address: "国伟路 100 弄" });
    const dup = await api.post("/v1/communities", { name: "国伟新苑" });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe("community_exists");
  });

  it("the owners committee may not register a community (403), nor a street office in another street", async () => {
    const world = await createWorld(database.db);
    const other = await createStreet(database.db);
    const oc = await client(app, world.ownersCommittee.key).post("/v1/communities", { name: "新小区" });
    expect(oc.status).toBe(403);
    const elsewhere = await client(app, world.streetOffice.key).post("/v1/communities", {
      name: "新小区",
      streetId: other.id,
    });
    expect(elsewhere.status).toBe(403);
  });

  it("the platform admin must name the street; bad fields are all named", async () => {
    const admin = client(app, TEST_ADMIN_TOKEN);
    const missing = await admin.post("/v1/communities", { name: "无街道" });
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual([
      { field: "body.streetId", message: "is required for the platform admin" },
    ]);
    const bad = await admin.post("/v1/communities", { name: " ", colour: "red" });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      "body.colour",
      "body.name",
    ]);
    const street = await createStreet(database.db);
    const ok = await admin.post("/v1/communities", { name: "银行小区", streetId: street.id });
    expect(ok.status).toBe(201);
  });

  it("another street's community is invisible (404) and an owners committee sees only its own", async () => {
    const world = await createWorld(database.db);
    const stranger = await createWorld(database.db);
    const neighbour = await createCommunity(database.db, world.street.id);

    const office = client(app, world.streetOffice.key);
    expect((await office.get(`/v1/communities/${stranger.community.id}`)).status).toBe(404);
    const listed = await office.get("/v1/communities");
    expect(listed.body.total).toBe(2);
    expect(listed.body.items.map((c: { id: string }) => c.id).sort()).toEqual(
      [world.community.id, neighbour.id].sort(),
    );

    const oc = client(app, world.ownersCommittee.key);
    expect((await oc.get(`/v1/communities/${neighbour.id}`)).status).toBe(404);
    expect((await oc.get(`/v1/communities/${world.community.id}`)).status).toBe(200);
    const ocList = await oc.get(`/v1/communities?streetId=${world.street.id}`);
    expect(ocList.body.items.map((c: { id: string }) => c.id)).toEqual([world.community.id]);

    const page = await office.get("/v1/communities?limit=1&offset=1");
    expect(page.body).toMatchObject({ total: 2, limit: 1, offset: 1 });
    expect(page.body.items).toHaveLength(1);
  });

  it("a community's totals equal the sum of its households' floor areas to the fen", async () => {
    const world = await createWorld(database.db); // one building: 12 households of 60.00 m²
    const second = await createBuilding(database.db, world.community.id, 5);
    const areas = ["60.01", "70.99", "0.01", "33.33", "33.33", "33.34", "9999.99", "88.5"];
    const rows = areas.map((floorArea, i) => ({
      unit: "1",
      room: `${i + 1}01`,
      floor: (i % 5) + 1,
      floorArea,
    }));
    const imported = await client(app, world.streetOffice.key).post(
      `/v1/buildings/${second.id}/households/import`,
      rows,
    );
    expect(imported.status).toBe(200);

    const expected = areas.reduce((sum, a) => sum.plus(a), new Decimal("720.00")).toFixed(2);
    const res = await client(app, world.ownersCommittee.key).get(`/v1/communities/${world.community.id}`);
    expect(res.status).toBe(200);
    expect(res.body.totals).toEqual({ buildings: 2, households: 12 + areas.length, floorArea: expected });

    const building = await client(app, world.ownersCommittee.key).get(`/v1/buildings/${second.id}`);
    expect(building.body.totals).toEqual({
      households: areas.length,
      floorArea: areas.reduce((sum, a) => sum.plus(a), new Decimal(0)).toFixed(2),
    });
  });

  it("a community without households totals zero", async () => {
    const world = await createWorld(database.db);
    const empty = await createCommunity(database.db, world.street.id);
    const res = await client(app, world.streetOffice.key).get(`/v1/communities/${empty.id}`);
    expect(res.body.totals).toEqual({ buildings: 0, households: 0, floorArea: "0.00" });
  });
});

describe("buildings", () => {
  it("the owners committee registers a building in its community and lists it with its totals", async () => {
    const world = await createWorld(database.db);
    const oc = client(app, world.ownersCommittee.key);
    const res = await oc.post(`/v1/communities/${world.community.id}/buildings`, {
      name: "12号楼",
      storeys: 6,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      communityId: world.community.id,
      name: "12号楼",
      storeys: 6,
      totals: { households: 0, floorArea: "0.00" },
    });
    const dup = await oc.post(`/v1/communities/${world.community.id}/buildings`, {
      name: "12号楼",
      storeys: 6,
    });
    expect(dup.body.code).toBe("building_exists");

    const list = await client(app, world.enterprise.key).get(
      `/v1/communities/${world.community.id}/buildings`,
    );
    expect(list.status).toBe(200);
    const byId = new Map(list.body.items.map((b: { id: string }) => [b.id, b]));
    expect(byId.get(world.building.id)).toMatchObject({ totals: { households: 12, floorArea: "720.00" } });
    expect(byId.get(res.body.id)).toBeDefined();
  });

  it("an enterprise may not register a building (403); another community's owners committee gets 404", async () => {
    const world = await createWorld(database.db);
    const neighbour = await createCommunity(database.db, world.street.id);
    const body = { name: "1号楼", storeys: 6 };
    const ent = await client(app, world.enterprise.key).post(
      `/v1/communities/${world.community.id}/buildings`,
      body,
    );
    expect(ent.status).toBe(403);
    const oc = await client(app, world.ownersCommittee.key).post(
      `/v1/communities/${neighbour.id}/buildings`,
      body,
    );
    expect(oc.status).toBe(404);
    const building = await createBuilding(database.db, neighbour.id);
    expect((await client(app, world.ownersCommittee.key).get(`/v1/buildings/${building.id}`)).status).toBe(
      404,
    );
  });

  it("another street's building is invisible (404); storeys out of range is a field error", async () => {
    const world = await createWorld(database.db);
    const stranger = await createWorld(database.db);
    const office = client(app, world.streetOffice.key);
    expect((await office.get(`/v1/buildings/${stranger.building.id}`)).status).toBe(404);
    expect((await office.get(`/v1/communities/${stranger.community.id}/buildings`)).status).toBe(404);
    const bad = await office.post(`/v1/communities/${world.community.id}/buildings`, {
      name: "高楼",
      storeys: 0,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(["body.storeys"]);
  });
});

describe("the household register", () => {
  it("the street office imports a CSV with a BOM, CRLF line ends and quoted fields", async () => {
    const world = await createWorld(database.db);
    const building = await createBuilding(database.db, world.community.id, 6);
    const body = [
      "\uFEFFunit,room,floor,floorArea",
      "1,101,1,60.50",
      '"1","2""B",2,"58.2"',
      '"2, east",201,2,70',
      '3,"B 1",-1,12.25',
      "",
    ].join("\r\n");
    const res = await csv(world.streetOffice.key)(`/v1/buildings/${building.id}/households/import`, body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ inserted: 4, updated: 0, total: 4 });

    const list = await client(app, world.propertyCompany.key).get(`/v1/buildings/${building.id}/households`);
    expect(list.status).toBe(200);
    expect(
      list.body.items.map((h: { unit: string; room: string; floor: number; floorArea: string }) => [
        h.unit,
        h.room,
        h.floor,
        h.floorArea,
      ]),
    ).toEqual([
      ["1", "101", 1, "60.50"],
      ["1", '2"B', 2, "58.20"],
      ["2, east", "201", 2, "70.00"],
      ["3", "B 1", -1, "12.25"],
    ]);
  });

  it("an import with 3 bad rows reports all 3 with their row numbers and writes nothing", async () => {
    const world = await createWorld(database.db); // 12 households already registered
    const before = await householdCount(world.building.id);
    const rows = [
      { unit: "1", room: "701", floor: 1, floorArea: "60.00" },
      { unit: "1", room: "702", floor: 7, floorArea: "60.00" },
      { unit: "1", room: "703", floor: 2, floorArea: "61.00" },
      { unit: " ", room: "704", floor: 2, floorArea: "60.123" },
      { unit: "1", room: "701", floor: 3, floorArea: "0" },
    ];
    const res = await client(app, world.ownersCommittee.key).post(
      `/v1/buildings/${world.building.id}/households/import`,
      rows,
    );
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body.code).toBe("validation_failed");
    expect(res.body.errors).toEqual([
      { field: "rows.2.floor", message: "must be between -3 and 6 (the building's storeys)" },
      { field: "rows.4.unit", message: "must not be empty" },
      { field: "rows.4.floorArea", message: expect.stringContaining("at most 2 decimal places") },
      { field: "rows.5.floorArea", message: "must be greater than 0" },
      { field: "rows.5.room", message: "duplicates row 1 (unit 1, room 701)" },
    ]);
    expect(new Set(res.body.errors.map((e: { field: string }) => e.field.split(".")[1]))).toEqual(
      new Set(["2", "4", "5"]),
    );
    expect(await householdCount(world.building.id)).toBe(before);
  });

  it("CSV errors name the row and the line of the file", async () => {
    const world = await createWorld(database.db);
    const building = await createBuilding(database.db, world.community.id, 5);
    const body = [
      "unit,room,floor,floorArea",
      "1,101,1,60.00",
      "1,102,one,60.00",
      "",
      '1,"103\nannex",2,10001',
      "1,104,2",
    ].join("\n");
    const res = await csv(world.streetOffice.key)(`/v1/buildings/${building.id}/households/import`, body);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { field: "rows.2.floor", message: "must be an integer (line 3)" },
      // A room names a household: a line break in it is a control character.
      { field: "rows.3.room", message: "must not contain control characters (line 5)" },
      { field: "rows.3.floorArea", message: "must be at most 10000 m² (line 5)" },
      { field: "rows.4", message: "has 3 fields, expected 4 (line 7)" },
    ]);
    expect(await householdCount(building.id)).toBe(0);
  });

  it("a broken CSV header or an unclosed quote is reported, and nothing is written", async () => {
    const world = await createWorld(database.db);
    const post = csv(world.streetOffice.key);
    const path = `/v1/buildings/${world.building.id}/households/import`;
    const header = await post(path, "unit,room,storey,floorArea\n1,101,1,60\n");
    expect(header.status).toBe(400);
    expect(header.body.errors.map((e: { field: string }) => e.field)).toContain("header");
    const unclosed = await post(path, 'unit,room,floor,floorArea\n1,"101,1,60\n');
    expect(unclosed.status).toBe(400);
    expect(unclosed.body.errors).toEqual([
      { field: "body", message: "line 2: a quoted field is not closed" },
    ]);
    expect(await householdCount(world.building.id)).toBe(12);
  });

  it("a re-import updates the rooms already registered and adds the new ones", async () => {
    const world = await createWorld(database.db);
    const building = await createBuilding(database.db, world.community.id, 6);
    const path = `/v1/buildings/${building.id}/households/import`;
    const pc = client(app, world.propertyCompany.key);
    const first = await pc.post(path, [
      { unit: "1", room: "101", floor: 1, floorArea: "60.00" },
      { unit: "1", room: "102", floor: 1, floorArea: "61.00" },
    ]);
    expect(first.body).toEqual({ inserted: 2, updated: 0, total: 2 });
    const again = await pc.post(path, [
      { unit: "1", room: "101", floor: 1, floorArea: "60.00" },
      { unit: "1", room: "102", floor: 2, floorArea: "65.75" },
      { unit: "2", room: "101", floor: 1, floorArea: "59.10" },
    ]);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ inserted: 1, updated: 2, total: 3 });
    const [row] = await database.db
      .select()
      .from(households)
      .where(sql`${households.buildingId} = ${building.id} and ${households.room} = '102'`);
    expect(row).toMatchObject({ floor: 2, floorArea: "65.75" });
  });

  it("refuses a body that is neither JSON nor CSV with 415, and a non-array JSON with 400", async () => {
    const world = await createWorld(database.db);
    const path = `/v1/buildings/${world.building.id}/households/import`;
    const api = client(app, world.streetOffice.key);
    const text = await api.post(path, "unit,room,floor,floorArea\n", { "content-type": "text/plain" });
    expect(text.status).toBe(415);
    expect(text.body).toMatchObject({ code: "unsupported_media_type", status: 415 });
    const object = await api.post(path, { unit: "1", room: "101", floor: 1, floorArea: "60" });
    expect(object.status).toBe(400);
    expect(object.body.errors[0].field).toBe("rows");
    const numeric = await api.post(path, [{ unit: "1", room: "901", floor: 1, floorArea: 60.5 }]);
    expect(numeric.body.errors).toEqual([
      { field: "rows.1.floorArea", message: expect.stringContaining("string") },
    ]);
  });

  it("refuses more than 5,000 rows in one import", async () => {
    const world = await createWorld(database.db);
    const rows = Array.from({ length: 5001 }, (_, i) => `1,${i},1,1`);
    const res = await csv(world.streetOffice.key)(
      `/v1/buildings/${world.building.id}/households/import`,
      ["unit,room,floor,floorArea", ...rows].join("\n"),
    );
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: "rows", message: "has 5001 rows; at most 5000 per import" }]);
  });

  it("an enterprise reads the register only in a community where it has a contract, and never imports", async () => {
    const world = await createWorld(database.db);
    const path = `/v1/buildings/${world.building.id}/households`;
    const enterprise = client(app, world.enterprise.key);
    expect((await enterprise.get(path)).status).toBe(404);
    await createContractRecord(database.db, {
      streetId: world.street.id,
      communityId: world.community.id,
      enterpriseOrgId: world.enterprise.org.id,
      ownersCommitteeOrgId: world.ownersCommittee.org.id,
      propertyCompanyOrgId: world.propertyCompany.org.id,
    });
    const list = await enterprise.get(`${path}?limit=5&offset=10`);
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ total: 12, limit: 5, offset: 10 });
    expect(list.body.items).toHaveLength(2);
    const imported = await enterprise.post(`${path}/import`, [
      { unit: "1", room: "X", floor: 1, floorArea: "1" },
    ]);
    expect(imported.status).toBe(403);
  });

  it("an owners committee of another community and another street's office get 404", async () => {
    const world = await createWorld(database.db);
    const neighbour = await createCommunity(database.db, world.street.id);
    const building = await createBuilding(database.db, neighbour.id);
    await createHouseholds(database.db, building.id, { floors: 2, perFloor: 2 });
    const oc = client(app, world.ownersCommittee.key);
    expect((await oc.get(`/v1/buildings/${building.id}/households`)).status).toBe(404);
    const row = [{ unit: "1", room: "X", floor: 1, floorArea: "1" }];
    expect((await oc.post(`/v1/buildings/${building.id}/households/import`, row)).status).toBe(404);
    const stranger = await createWorld(database.db);
    const office = client(app, stranger.streetOffice.key);
    expect((await office.get(`/v1/buildings/${building.id}/households`)).status).toBe(404);
  });

  it("the OpenAPI document declares the import's JSON rows and CSV bodies", async () => {
    const { body } = await client(app).get("/openapi.json");
    const op = body.paths["/v1/buildings/{id}/households/import"].post;
    expect(op.security).toEqual([{ Bearer: [] }]);
    expect(op.requestBody.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/HouseholdImportRows",
    });
    expect(op.requestBody.content["text/csv"].schema.type).toBe("string");
    expect(body.components.schemas.HouseholdImportRows.items).toEqual({
      $ref: "#/components/schemas/HouseholdImportRow",
    });
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["200", "400", "403", "404", "415"]));
    expect(body.components.schemas.CommunityDetail).toBeDefined();
  });
});
