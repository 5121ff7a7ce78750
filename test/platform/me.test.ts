/**
 * GET /v1/me: an integration asks which organization, role and key it holds — for an API key, a
 * person's portal session (which the API accepts for reading) and the platform admin — and never
 * gets a secret back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { client, createTestApp, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createKey, createPerson, createWorld, type World } from "../support/factories.js";
import { portalClient } from "../support/portal.js";

let database: DatabaseHandle;
let app: TestApp;
let world: World;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
  world = await createWorld(database.db);
});
afterAll(() => database.close());

describe("GET /v1/me", () => {
  it("an organization's key: its organization, role and key, never the key itself", async () => {
    const member = await createKey(database.db, world.propertyCompany.org.id, "member");
    const res = await client(app, member.key).get("/v1/me");
    expect(res.status).toBe(200);
    const org = world.propertyCompany.org;
    expect(res.body).toEqual({
      credential: "api_key",
      role: "property_company",
      access: "member",
      organization: { id: org.id, name: org.name, kind: "property_company", streetId: world.street.id },
      key: { id: member.id, name: expect.any(String), role: "member", prefix: expect.any(String) },
      person: null,
    });
    expect(member.key.startsWith(res.body.key.prefix)).toBe(true);
    expect(JSON.stringify(res.body)).not.toContain(member.key);
  });

  it("a person's portal session (a read): the person, their role, no key", async () => {
    const person = await createPerson(database.db, world.ownersCommittee.org.id, { role: "admin" });
    const portal = portalClient(app);
    await portal.signIn(person.login, person.password);
    const cookie = [...portal.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await client(app).get("/v1/me", { cookie });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      credential: "session",
      role: "owners_committee",
      access: "admin",
      organization: { id: world.ownersCommittee.org.id, kind: "owners_committee" },
      key: null,
      person: { id: person.id, name: person.name, role: "admin" },
    });
    for (const value of portal.cookies.values()) expect(JSON.stringify(res.body)).not.toContain(value);
  });

  it("the platform admin: no organization, no key", async () => {
    const res = await client(app, TEST_ADMIN_TOKEN).get("/v1/me");
    expect(res.body).toEqual({
      credential: "admin_token",
      role: "platform_admin",
      access: "admin",
      organization: null,
      key: null,
      person: null,
    });
  });

  it("no key, or a revoked one: 401", async () => {
    expect((await client(app).get("/v1/me")).status).toBe(401);
    const spare = await createKey(database.db, world.enterprise.org.id, "admin");
    const revoked = await client(app, world.enterprise.key).delete(
      `/v1/organizations/${world.enterprise.org.id}/keys/${spare.id}`,
    );
    expect(revoked.status).toBeLessThan(300);
    expect((await client(createTestApp(database.db), spare.key).get("/v1/me")).status).toBe(401);
  });
});
