/**
 * Standard HTTP an integrator's library relies on (issue 15, item 4): the bearer challenge on a
 * 401, 405 with Allow for a path that exists under other methods, and conditional GET (ETag on
 * every JSON read, If-None-Match → 304 until the resource changes). The 413's Connection: close is
 * tested on a real socket in http-limits.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { client, createTestApp, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createFacility, createWorld, type World } from "../support/factories.js";
import { elevatorTerms } from "../support/terms.js";

let database: DatabaseHandle;
let world: World;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createWorld(database.db);
  app = createTestApp(database.db);
});
afterAll(() => database.close());

/** A draft over an elevator of its own (a facility is in one open contract at a time). */
async function draftContract() {
  const elevator = await createFacility(database.db, {
    kind: "elevator",
    streetId: world.street.id,
    communityId: world.community.id,
    buildingId: world.building.id,
  });
  const drafted = await client(app, world.enterprise.key).post("/v1/contracts", {
    title: "国伟新苑1号楼加装电梯BOT合同",
    communityId: world.community.id,
    ownersCommitteeOrgId: world.ownersCommittee.org.id,
    propertyCompanyOrgId: world.propertyCompany.org.id,
    streetOfficeOrgId: world.streetOffice.org.id,
    facilityIds: [elevator.id],
    terms: elevatorTerms(),
  });
  expect(drafted.status).toBe(201);
  return drafted.body.id as string;
}

describe("a 401", () => {
  it("challenges for a bearer key, and says a sent key was refused", async () => {
    const none = await app.request("/v1/contracts");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="bot-platform"');
    const wrong = await app.request("/v1/contracts", { headers: { authorization: "Bearer bot_k_nope" } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toBe('Bearer realm="bot-platform", error="invalid_token"');
    expect(await wrong.json()).toMatchObject({ status: 401, code: "unauthorized" });
  });
});

describe("a method a path does not take", () => {
  it("is a 405 naming the methods it takes in Allow; an unknown path stays a 404", async () => {
    const admin = client(app, TEST_ADMIN_TOKEN);
    const deleted = await admin.delete("/v1/contracts");
    expect(deleted.status).toBe(405);
    expect(deleted.headers.get("allow")).toBe("GET, HEAD, POST");
    expect(deleted.body).toMatchObject({ status: 405, code: "method_not_allowed" });
    const put = await admin.put(`/v1/contracts/${world.elevator.id}`, {});
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, HEAD");
    const health = await app.request("/healthz", { method: "POST" });
    expect(health.status).toBe(405);
    expect(health.headers.get("allow")).toBe("GET, HEAD");
    // A route of the method that finds nothing (an asset that is not served) is a 404, not a 405.
    expect((await app.request("/docs/assets/swagger-ui-dist/package.json")).status).toBe(404);
    const unknown = await admin.get("/v1/nothing-here");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: "route_not_found" });
  });
});

describe("conditional GET", () => {
  it("gives every JSON read an ETag, answers a matching If-None-Match 304 without a body, and 200 once it changed", async () => {
    const id = await draftContract();
    const enterprise = client(app, world.enterprise.key);
    const first = await enterprise.get(`/v1/contracts/${id}`);
    expect(first.status).toBe(200);
    const etag = first.headers.get("etag");
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(first.headers.get("cache-control")).toBe("private, no-cache");
    const again = await app.request(`/v1/contracts/${id}`, {
      headers: { authorization: `Bearer ${world.enterprise.key}`, "if-none-match": `W/${etag}, "other"` },
    });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect(again.headers.get("etag")).toBe(etag);
    expect(again.headers.get("content-type")).toBeNull();
    // An edit of the draft changes what the contract reads: the old tag no longer matches.
    const edited = await enterprise.put(
      `/v1/contracts/${id}/versions/1`,
      { terms: elevatorTerms({ maintenanceObligations: "每月两次例行保养，24小时应急响应。" }) },
      { "if-match": '"r1"' },
    );
    expect(edited.status).toBe(200);
    const changed = await enterprise.get(`/v1/contracts/${id}`, { "if-none-match": etag ?? "" });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    // A list has one too; a tag of another resource does not match.
    const list = await enterprise.get("/v1/contracts", { "if-none-match": etag ?? "" });
    expect(list.status).toBe(200);
    expect(list.headers.get("etag")).toMatch(/^"[\w-]+"$/);
  });

  it("keeps a draft version's revision as its ETag (what an edit names in If-Match), and changes it when the version is submitted", async () => {
    const id = await draftContract();
    const enterprise = client(app, world.enterprise.key);
    const draft = await enterprise.get(`/v1/contracts/${id}/versions/1`);
    expect(draft.headers.get("etag")).toBe('"r1"');
    expect((await enterprise.get(`/v1/contracts/${id}/versions/1`, { "if-none-match": '"r1"' })).status).toBe(
      304,
    );
    expect((await enterprise.post(`/v1/contracts/${id}/submit`)).status).toBe(200);
    const submitted = await enterprise.get(`/v1/contracts/${id}/versions/1`, { "if-none-match": '"r1"' });
    expect(submitted.status).toBe(200);
    expect(submitted.headers.get("etag")).toBe('"r1-submitted"');
  });

  it("documents If-Match as required where leaving it out is a 428", async () => {
    const doc = (await (await app.request("/openapi.json")).json()) as {
      paths: Record<
        string,
        Record<string, { parameters?: { name: string; in: string; required?: boolean }[] }>
      >;
    };
    const edit = doc.paths["/v1/contracts/{id}/versions/{versionNo}"]?.put;
    expect(edit?.parameters?.find((p) => p.in === "header" && p.name === "if-match")?.required).toBe(true);
    const id = await draftContract();
    const missing = await client(app, world.enterprise.key).put(`/v1/contracts/${id}/versions/1`, {
      terms: elevatorTerms(),
    });
    expect(missing.status).toBe(428);
    expect(missing.body).toMatchObject({ code: "if_match_required" });
  });
});
