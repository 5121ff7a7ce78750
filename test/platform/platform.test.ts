import { eq } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DatabaseHandle, openDatabase } from "../../db/client.js";
import { hashKey } from "../../db/keys.js";
import { apiKeys, invitations } from "../../db/schema.js";
import { createApp } from "../../src/app.js";
import { client, createTestApp, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createCommunity, createKey, createOrg, createStreet } from "../support/factories.js";

let database: DatabaseHandle;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
});
afterAll(() => database.close());

describe("the platform's front door", () => {
  it("answers /healthz and /readyz with the database checked", async () => {
    const api = client(app);
    expect((await api.get("/healthz")).body).toEqual({ status: "ok" });
    const ready = await api.get("/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: "ready", checks: { database: true }, reasons: {} });
  });

  it("reports not ready when the database is unreachable", async () => {
    // A real client pointed at a port where no PostgreSQL listens.
    const unreachable = await openDatabase({ url: "postgres://postgres@127.0.0.1:1/none", max: 1 });
    const failing = createTestApp(unreachable.db);
    const res = await client(failing).get("/readyz");
    await unreachable.close();
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      status: "not_ready",
      checks: { database: false },
      reasons: { database: "the database is unreachable or not accepting queries" },
    });
  });

  it("publishes an OpenAPI 3.1 document with the bearer scheme and problem responses", async () => {
    const { status, body } = await client(app).get("/openapi.json");
    expect(status).toBe(200);
    expect(body.openapi).toBe("3.1.0");
    expect(body.components.securitySchemes.Bearer).toMatchObject({ type: "http", scheme: "bearer" });
    const create = body.paths["/v1/organizations"].post;
    expect(create.security).toEqual([{ Bearer: [] }]);
    expect(Object.keys(create.responses)).toEqual(
      expect.arrayContaining(["201", "400", "401", "403", "404", "409"]),
    );
    expect(create.responses["400"].content["application/problem+json"]).toBeDefined();
  });

  it("serves Swagger UI with its assets from this server, not a CDN, with no inline script and no kept keys", async () => {
    const res = await app.request("/docs");
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain('href="/docs/assets/swagger-ui-dist/swagger-ui.css"');
    expect(html).not.toMatch(/https?:\/\//);
    // Every <script> loads a file of this server: the CSP forbids inline ones.
    expect(html.match(/<script[^>]*>/g)).toEqual([
      '<script src="/docs/assets/swagger-ui-dist/swagger-ui-bundle.js">',
      '<script src="/docs/assets/docs-init.js">',
    ]);
    const init = await app.request("/docs/assets/docs-init.js");
    expect(init.headers.get("content-type")).toMatch(/^text\/javascript/);
    const script = await init.text();
    expect(script).toContain("persistAuthorization: false");
    expect(script).not.toContain("persistAuthorization: true");
    const css = await app.request("/docs/assets/swagger-ui-dist/swagger-ui.css");
    expect(css.status).toBe(200);
    expect((await app.request("/docs/assets/swagger-ui-dist/package.json")).status).toBe(404);
  });

  it("answers an unknown route with a 404 problem under the server's own request id, not the client's", async () => {
    const res = await app.request("/v2/nothing", { headers: { "x-request-id": "req-123" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await res.json()).toMatchObject({ status: 404, code: "route_not_found", requestId: id });
  });

  it("sends the security headers on the docs page, the API and its errors", async () => {
    for (const path of ["/docs", "/openapi.json", "/v1/organizations", "/v2/nothing"]) {
      const res = await app.request(path);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toMatch(/script-src[^;]*'unsafe-inline'/);
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(res.headers.get("x-frame-options"), path).toBe("DENY");
      expect(res.headers.get("referrer-policy"), path).toBe("same-origin");
    }
  });

  it("refuses a missing or unknown key with 401", async () => {
    const none = await client(app).get("/v1/organizations");
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ code: "unauthorized", status: 401 });
    const bad = await client(app, "bot_k_not-a-key").get("/v1/organizations");
    expect(bad.status).toBe(401);
  });

  it("refuses a body over 1 MiB with 413", async () => {
    const res = await client(app, TEST_ADMIN_TOKEN).post(
      "/v1/organizations",
      `{"name":"${"x".repeat(1024 * 1024)}"}`,
    );
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: "payload_too_large" });
  });

  it("rejects unknown JSON fields and malformed JSON with a problem naming the field", async () => {
    const street = await createStreet(database.db);
    const admin = client(app, TEST_ADMIN_TOKEN);
    const unknown = await admin.post("/v1/organizations", {
      kind: "enterprise",
      name: "X",
      streetId: street.id,
      colour: "red",
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([{ field: "body.colour", message: "is not a known field" }]);
    const plain = await app.request("/v1/organizations", {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "text/plain" },
      body: "kind=enterprise",
    });
    expect(plain.status).toBe(415);
    expect(await plain.json()).toMatchObject({ code: "unsupported_media_type" });
    const malformed = await admin.post("/v1/organizations", "{not json");
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get("content-type")).toBe("application/problem+json");
  });
});

describe("logs", () => {
  it("are JSON lines under the server's request id (a client's id only beside it), and never contain a key", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    const street = await createStreet(database.db);
    const office = await createOrg(database.db, { kind: "street_office", streetId: street.id });
    const logged = createApp({
      db: database.db,
      logger,
      clock: () => new Date(),
      adminTokenHash: hashKey(TEST_ADMIN_TOKEN),
    });
    const issued = await client(logged, office.key).post(`/v1/organizations/${office.org.id}/keys`, {
      name: "clerk",
    });
    expect(issued.status).toBe(201);
    const traced = await client(logged, TEST_ADMIN_TOKEN).get("/v1/organizations", {
      "x-request-id": "trace-me",
    });
    const hostile = await client(logged, TEST_ADMIN_TOKEN).get("/v1/organizations", {
      "x-request-id": "forged id;drop",
    });
    const records = lines.map((l) => JSON.parse(l));
    expect(records).toContainEqual(
      expect.objectContaining({
        requestId: traced.headers.get("x-request-id"),
        clientRequestId: "trace-me",
        status: 200,
        path: "/v1/organizations",
      }),
    );
    const forged = records.find((r) => r.requestId === hostile.headers.get("x-request-id"));
    expect(forged).toMatchObject({ status: 200 });
    expect(forged).not.toHaveProperty("clientRequestId");
    expect(records.some((r) => r.requestId === "trace-me")).toBe(false);
    const all = lines.join("\n");
    for (const secret of [office.key, issued.body.key, TEST_ADMIN_TOKEN]) expect(all).not.toContain(secret);
  });
});

describe("organizations and their keys", () => {
  it("a street office registers an owners committee, whose first key works once and is stored only as a hash", async () => {
    const street = await createStreet(database.db);
    const community = await createCommunity(database.db, street.id);
    const office = await createOrg(database.db, { kind: "street_office", streetId: street.id });
    const res = await client(app, office.key).post("/v1/organizations", {
      kind: "owners_committee",
      name: "国伟新苑业主委员会",
      communityIds: [community.id],
    });
    expect(res.status).toBe(201);
    expect(res.body.organization).toMatchObject({
      kind: "owners_committee",
      streetId: street.id,
      communityIds: [community.id],
    });
    const firstKey: string = res.body.firstKey.key;
    expect(firstKey).toMatch(/^bot_k_/);

    const committee = client(app, firstKey);
    const me = await committee.get(`/v1/organizations/${res.body.organization.id}`);
    expect(me.status).toBe(200);

    const keys = await committee.get(`/v1/organizations/${res.body.organization.id}/keys`);
    expect(keys.status).toBe(200);
    expect(JSON.stringify(keys.body)).not.toContain(firstKey);
    expect(keys.body.items[0]).toMatchObject({ role: "admin", prefix: firstKey.slice(0, 12) });
    expect(keys.body.items[0].lastUsedAt).not.toBeNull();

    const dup = await client(app, office.key).post("/v1/organizations", {
      kind: "owners_committee",
      name: "国伟新苑业主委员会",
    });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe("organization_exists");
  });

  it("a revoked key answers 401 from then on", async () => {
    const street = await createStreet(database.db);
    const enterprise = await createOrg(database.db, { kind: "enterprise", streetId: street.id });
    const api = client(app, enterprise.key);
    const issued = await api.post(`/v1/organizations/${enterprise.org.id}/keys`, { name: "billing clerk" });
    expect(issued.status).toBe(201);
    expect(issued.body.role).toBe("member");
    const clerk = client(app, issued.body.key);
    expect((await clerk.get("/v1/organizations")).status).toBe(200);
    const revoked = await api.delete(`/v1/organizations/${enterprise.org.id}/keys/${issued.body.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect((await clerk.get("/v1/organizations")).status).toBe(401);
  });

  it("nobody mints keys for another organization: not even the street office that registered it", async () => {
    const street = await createStreet(database.db);
    const office = await createOrg(database.db, { kind: "street_office", streetId: street.id });
    const committee = await createOrg(database.db, { kind: "owners_committee", streetId: street.id });
    const api = client(app, office.key);
    const minted = await api.post(`/v1/organizations/${committee.org.id}/keys`, {
      name: "impostor",
      role: "admin",
    });
    expect(minted.status).toBe(403);
    expect((await api.get(`/v1/organizations/${committee.org.id}/keys`)).status).toBe(403);
    expect((await api.delete(`/v1/organizations/${committee.org.id}/keys/${committee.keyId}`)).status).toBe(
      403,
    );
    const platform = client(app, TEST_ADMIN_TOKEN);
    expect((await platform.post(`/v1/organizations/${committee.org.id}/keys`, { name: "x" })).status).toBe(
      403,
    );
    const recovery = await platform.post(`/v1/organizations/${office.org.id}/keys`, {
      name: "recovery",
      role: "admin",
    });
    expect(recovery.status).toBe(201);
  });

  it("a member key may not issue keys (403), and another street's organization is invisible (404)", async () => {
    const street = await createStreet(database.db);
    const other = await createStreet(database.db);
    const member = await createOrg(database.db, {
      kind: "enterprise",
      streetId: street.id,
      keyRole: "member",
    });
    const stranger = await createOrg(database.db, { kind: "enterprise", streetId: other.id });
    const api = client(app, member.key);
    expect((await api.post(`/v1/organizations/${member.org.id}/keys`, { name: "x" })).status).toBe(403);
    expect((await api.get(`/v1/organizations/${stranger.org.id}`)).status).toBe(404);
    expect((await api.get(`/v1/organizations/${stranger.org.id}/keys`)).status).toBe(404);
  });
});

describe("an organization's keys and invitations, one at a time", () => {
  it("an issued key reads at its Location as the list shows it, never its secret; 404 outside the organization", async () => {
    const street = await createStreet(database.db);
    const enterprise = await createOrg(database.db, { kind: "enterprise", streetId: street.id });
    const stranger = await createOrg(database.db, {
      kind: "enterprise",
      streetId: (await createStreet(database.db)).id,
    });
    const api = client(app, enterprise.key);
    const issued = await api.post(`/v1/organizations/${enterprise.org.id}/keys`, { name: "billing clerk" });
    expect(issued.status).toBe(201);
    const location = issued.headers.get("location");
    expect(location).toBe(`/v1/organizations/${enterprise.org.id}/keys/${issued.body.id}`);

    const read = await api.get(location ?? "");
    expect(read.status).toBe(200);
    const { key: secret, ...metadata } = issued.body;
    expect(read.body).toEqual(metadata);
    expect(Object.keys(read.body)).not.toContain("key");
    const [stored] = await database.db.select().from(apiKeys).where(eq(apiKeys.id, issued.body.id));
    for (const hidden of [secret, stored?.keyHash]) expect(JSON.stringify(read.body)).not.toContain(hidden);
    const listed = await api.get(`/v1/organizations/${enterprise.org.id}/keys`);
    expect(listed.body.items.find((k: { id: string }) => k.id === issued.body.id)).toEqual(read.body);

    // Revoked, it still reads, showing when.
    await api.delete(location ?? "");
    const revoked = await api.get(location ?? "");
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();

    const strangers = await client(app, stranger.key).get(location ?? "");
    expect(strangers.status).toBe(404);
    expect(strangers.body.code).toBe("not_found");
    // Another organization's key under this organization's path, and an unknown id: 404 too.
    for (const keyId of [stranger.keyId, crypto.randomUUID()]) {
      const missing = await api.get(`/v1/organizations/${enterprise.org.id}/keys/${keyId}`);
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe("not_found");
    }
    const member = await createKey(database.db, enterprise.org.id, "member");
    expect((await client(app, member.key).get(location ?? "")).status).toBe(403);
  });

  it("an invitation reads at its Location as the create answered it without its link, newest first in the list; 404 outside the organization", async () => {
    const street = await createStreet(database.db);
    const enterprise = await createOrg(database.db, { kind: "enterprise", streetId: street.id });
    const stranger = await createOrg(database.db, {
      kind: "enterprise",
      streetId: (await createStreet(database.db)).id,
    });
    const api = client(app, enterprise.key);
    const path = `/v1/organizations/${enterprise.org.id}/invitations`;
    const first = await api.post(path, { name: "王秀英" });
    const second = await api.post(path, { name: "李建国", role: "admin" });
    expect([first.status, second.status]).toEqual([201, 201]);
    const location = second.headers.get("location");
    expect(location).toBe(`${path}/${second.body.id}`);

    const read = await api.get(location ?? "");
    expect(read.status).toBe(200);
    const { path: link, ...invitation } = second.body;
    expect(read.body).toEqual(invitation);
    expect(read.body).toMatchObject({
      organizationId: enterprise.org.id,
      name: "李建国",
      role: "admin",
      acceptedAt: null,
      personId: null,
      revokedAt: null,
      invitedByKeyId: enterprise.keyId,
    });
    const [stored] = await database.db.select().from(invitations).where(eq(invitations.id, second.body.id));
    const token = String(link).replace("/invitations/", "");
    for (const hidden of [token, stored?.tokenHash]) expect(JSON.stringify(read.body)).not.toContain(hidden);

    const listed = await api.get(path);
    expect(listed.status).toBe(200);
    expect(listed.body.total).toBe(2);
    expect(listed.body.items).toEqual([read.body, (await api.get(`${path}/${first.body.id}`)).body]);
    expect(JSON.stringify(listed.body)).not.toContain(token);

    const strangers = await client(app, stranger.key).get(location ?? "");
    expect(strangers.status).toBe(404);
    expect(strangers.body.code).toBe("not_found");
    const unknown = await api.get(`${path}/${crypto.randomUUID()}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("not_found");
    const member = await createKey(database.db, enterprise.org.id, "member");
    expect((await client(app, member.key).get(location ?? "")).status).toBe(403);
    expect((await client(app, member.key).get(path)).status).toBe(403);
  });

  it("the platform admin reads a street office's invitations, as it may issue them", async () => {
    const street = await createStreet(database.db);
    const office = await createOrg(database.db, { kind: "street_office", streetId: street.id });
    const platform = client(app, TEST_ADMIN_TOKEN);
    const issued = await platform.post(`/v1/organizations/${office.org.id}/invitations`, {
      name: "张主任",
      role: "admin",
    });
    expect(issued.status).toBe(201);
    const read = await platform.get(issued.headers.get("location") ?? "");
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: issued.body.id, invitedByKeyId: null, invitedByPersonId: null });
    const listed = await client(app, office.key).get(`/v1/organizations/${office.org.id}/invitations`);
    expect(listed.body.items.map((i: { id: string }) => i.id)).toEqual([issued.body.id]);
  });
});
