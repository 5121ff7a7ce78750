/**
 * Organization keys are resolved through a short-lived in-process cache (src/auth/key-cache.ts):
 * what that trades away, and what it must never trade away.
 */
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { hashKey } from "../../db/keys.js";
import { apiKeys } from "../../db/schema.js";
import { createKeyCache } from "../../src/auth/key-cache.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createCommunity, createKey, createOrg, createStreet } from "../support/factories.js";

let database: DatabaseHandle;

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const TTL_MS = 5_000;

/** An app whose key cache runs on a clock the test moves. */
function appWithClock() {
  const clock = { ms: 0 };
  const app = createTestApp(database.db, {
    keyCache: createKeyCache({ ttlMs: TTL_MS, now: () => clock.ms }),
  });
  return { app, clock };
}

async function lastUsedAt(keyId: string): Promise<Date | null> {
  const [row] = await database.db
    .select({ at: apiKeys.lastUsedAt })
    .from(apiKeys)
    .where(eq(apiKeys.id, keyId));
  return row?.at ?? null;
}

describe("the API key cache", () => {
  it("a key revoked through the API is refused on its very next request, though it was cached", async () => {
    const { app } = appWithClock();
    const street = await createStreet(database.db);
    const enterprise = await createOrg(database.db, { kind: "enterprise", streetId: street.id });
    const clerk = await createKey(database.db, enterprise.org.id, "member");
    const asClerk = client(app, clerk.key);
    expect((await asClerk.get("/v1/organizations")).status).toBe(200);
    expect((await asClerk.get("/v1/organizations")).status).toBe(200);

    const revoked = await client(app, enterprise.key).delete(
      `/v1/organizations/${enterprise.org.id}/keys/${clerk.id}`,
    );
    expect(revoked.status).toBe(200);
    const refused = await asClerk.get("/v1/organizations");
    expect(refused.status).toBe(401);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.body).toMatchObject({ status: 401, detail: "The API key is unknown or revoked." });
  });

  it("a key revoked elsewhere (another process, SQL) keeps working until its entry expires, no longer", async () => {
    const { app, clock } = appWithClock();
    const street = await createStreet(database.db);
    const enterprise = await createOrg(database.db, { kind: "enterprise", streetId: street.id });
    const api = client(app, enterprise.key);
    expect((await api.get("/v1/organizations")).status).toBe(200);

    await database.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, enterprise.keyId));
    clock.ms += TTL_MS - 1;
    expect((await api.get("/v1/organizations")).status).toBe(200);
    clock.ms += 1;
    expect((await api.get("/v1/organizations")).status).toBe(401);
  });

  it("does not remember unknown keys: a key issued after a refused attempt works at once", async () => {
    const { app } = appWithClock();
    const street = await createStreet(database.db);
    const enterprise = await createOrg(database.db, { kind: "enterprise", streetId: street.id });
    const key = `bot_k_test_${crypto.randomUUID()}`;
    expect((await client(app, key).get("/v1/organizations")).status).toBe(401);
    await database.db.insert(apiKeys).values({
      organizationId: enterprise.org.id,
      name: "late",
      role: "member",
      keyHash: hashKey(key),
      prefix: key.slice(0, 12),
    });
    expect((await client(app, key).get("/v1/organizations")).status).toBe(200);
  });

  it("a lookup in flight when its key is forgotten (revoked) does not store what it read", async () => {
    const street = await createStreet(database.db);
    const enterprise = await createOrg(database.db, { kind: "enterprise", streetId: street.id });
    const cache = createKeyCache({ ttlMs: 60_000 });
    const hash = hashKey(enterprise.key);
    // The lookup starts before the revoke is known to the cache and reads the key as valid…
    const inFlight = cache.resolve(database.db, hash);
    cache.forgetKey(hash);
    expect(await inFlight).toMatchObject({ orgId: enterprise.org.id });
    // …but must not be what answers after the revoke.
    await database.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, enterprise.keyId));
    expect(await cache.resolve(database.db, hash)).toBeNull();
  });

  it("new communities of an owners committee apply to its cached keys at once", async () => {
    const { app } = appWithClock();
    const street = await createStreet(database.db);
    const [home, added] = [
      await createCommunity(database.db, street.id),
      await createCommunity(database.db, street.id),
    ];
    const office = await createOrg(database.db, { kind: "street_office", streetId: street.id });
    const committee = await createOrg(database.db, {
      kind: "owners_committee",
      streetId: street.id,
      communityIds: [home.id],
    });
    const asCommittee = client(app, committee.key);
    expect((await asCommittee.get(`/v1/communities/${home.id}`)).status).toBe(200);
    expect((await asCommittee.get(`/v1/communities/${added.id}`)).status).toBe(404);

    const updated = await client(app, office.key).put(`/v1/organizations/${committee.org.id}/communities`, {
      communityIds: [home.id, added.id],
    });
    expect(updated.status).toBe(200);
    expect((await asCommittee.get(`/v1/communities/${added.id}`)).status).toBe(200);
  });
});

describe("last_used_at", () => {
  it("is written on a key's first use, left alone within the minute, and moved on after it", async () => {
    const { app, clock } = appWithClock();
    const street = await createStreet(database.db);
    const enterprise = await createOrg(database.db, { kind: "enterprise", streetId: street.id });
    const api = client(app, enterprise.key);
    expect(await lastUsedAt(enterprise.keyId)).toBeNull();

    expect((await api.get("/v1/organizations")).status).toBe(200);
    const first = await lastUsedAt(enterprise.keyId);
    expect(first).not.toBeNull();

    // Within the minute: a refreshed cache entry does not write it again.
    await database.db
      .update(apiKeys)
      .set({ lastUsedAt: sql`now() - interval '30 seconds'` })
      .where(eq(apiKeys.id, enterprise.keyId));
    const recent = await lastUsedAt(enterprise.keyId);
    clock.ms += TTL_MS;
    expect((await api.get("/v1/organizations")).status).toBe(200);
    expect(await lastUsedAt(enterprise.keyId)).toEqual(recent);

    // Over a minute old: the next refresh moves it to now.
    await database.db
      .update(apiKeys)
      .set({ lastUsedAt: sql`now() - interval '2 minutes'` })
      .where(eq(apiKeys.id, enterprise.keyId));
    clock.ms += TTL_MS;
    expect((await api.get("/v1/organizations")).status).toBe(200);
    const [{ fresh } = { fresh: false }] = await queryRows<{ fresh: boolean }>(
      database.db,
      sql`select last_used_at > now() - interval '10 seconds' as fresh from api_keys where id = ${enterprise.keyId}`,
    );
    expect(fresh).toBe(true);
  });

  it("is not written by the requests a cached entry answers", async () => {
    const { app } = appWithClock();
    const street = await createStreet(database.db);
    const enterprise = await createOrg(database.db, { kind: "enterprise", streetId: street.id });
    const api = client(app, enterprise.key);
    expect((await api.get("/v1/organizations")).status).toBe(200);
    await database.db
      .update(apiKeys)
      .set({ lastUsedAt: sql`now() - interval '2 minutes'` })
      .where(eq(apiKeys.id, enterprise.keyId));
    const before = await lastUsedAt(enterprise.keyId);
    expect((await api.get("/v1/organizations")).status).toBe(200);
    expect(await lastUsedAt(enterprise.keyId)).toEqual(before);
  });
});
