import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Database } from "../../db/database.js";
import { apiKeys, organizationCommunities, organizations } from "../../db/schema.js";
import type { Principal } from "./principal.js";

/**
 * Organization keys resolved to their principal, remembered for a few seconds per key hash, so a
 * request does not pay a database round trip to authenticate (the same trade-off the sensor
 * ingest makes for sensor lookups). A key revoked through this process's API stops working at
 * once (the handler calls `forgetKey`); one revoked elsewhere (another process, SQL) within the
 * TTL. Only valid keys are remembered, under their SHA-256, never the key itself.
 */
export interface KeyCache {
  /**
   * The principal of the key with this hash, or null when it is unknown or revoked; a miss is
   * looked up on `db`, the request's database.
   */
  resolve(db: Database, keyHash: string): Promise<Principal | null>;
  /** Call after revoking the key. */
  forgetKey(keyHash: string): void;
  /** Call after changing what a principal of this organization holds (its communities). */
  forgetOrganization(orgId: string): void;
}

export interface KeyCacheOptions {
  /** How long a resolved key is trusted; a revoke in another process takes effect within it. */
  ttlMs?: number;
  /** A monotonic time source in ms (not the app's clock: tests fix that one). */
  now?: () => number;
}

/** last_used_at is refreshed at most this often (and only when the cached entry is refreshed). */
const LAST_USED_RESOLUTION = sql`interval '1 minute'`;
/** Past this many entries the expired ones are swept (only valid keys are stored, so it stays small). */
const SWEEP_ABOVE = 10_000;

export function createKeyCache({
  ttlMs = 5_000,
  now = () => performance.now(),
}: KeyCacheOptions = {}): KeyCache {
  const entries = new Map<string, { principal: Principal; expires: number }>();
  /**
   * One lookup per key and database client at a time: a cold key under load costs one statement,
   * not one per request. Per client, because a Workers request may not wait on another request's
   * I/O (each has its own client there); a Node process has one client, so one lookup per key.
   */
  let inFlight = new WeakMap<Database, Map<string, Promise<Principal | null>>>();
  /** Bumped by every forget: a lookup that started before it must not store what it read. */
  let generation = 0;

  /**
   * One statement: the key with its organization and communities, and, in a data-modifying CTE,
   * last_used_at stamped when it is over a minute old. It runs once per TTL per key, so the
   * write never costs a request a round trip of its own, and it is awaited: no write outlives
   * the request (the Workers entry closes its client after each), none fails unobserved.
   */
  async function lookup(db: Database, keyHash: string): Promise<Principal | null> {
    const touched = db.$with("touched").as(
      db
        .update(apiKeys)
        .set({ lastUsedAt: sql`now()` })
        .where(
          and(
            eq(apiKeys.keyHash, keyHash),
            isNull(apiKeys.revokedAt),
            or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, sql`now() - ${LAST_USED_RESOLUTION}`)),
          ),
        )
        .returning({ id: apiKeys.id }),
    );
    const [row] = await db
      .with(touched)
      .select({
        keyId: apiKeys.id,
        keyRole: apiKeys.role,
        orgId: organizations.id,
        kind: organizations.kind,
        streetId: organizations.streetId,
        communityIds: sql<string[]>`coalesce((select array_agg(oc.community_id::text)
          from ${organizationCommunities} oc where oc.organization_id = ${organizations.id}), '{}')`,
      })
      .from(apiKeys)
      .innerJoin(organizations, eq(organizations.id, apiKeys.organizationId))
      .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)));
    if (!row) return null;
    // Shared by every request of the key while cached: frozen, so no handler can change it for the others.
    return Object.freeze({
      role: row.kind,
      orgId: row.orgId,
      keyId: row.keyId,
      keyRole: row.keyRole,
      streetId: row.streetId,
      communityIds: Object.freeze(row.communityIds),
      person: null,
    });
  }

  function remember(keyHash: string, principal: Principal) {
    const t = now();
    if (entries.size >= SWEEP_ABOVE) {
      for (const [hash, entry] of entries) if (entry.expires <= t) entries.delete(hash);
      if (entries.size >= SWEEP_ABOVE) entries.clear();
    }
    entries.set(keyHash, { principal, expires: t + ttlMs });
  }

  return {
    resolve(db, keyHash) {
      const hit = entries.get(keyHash);
      if (hit && hit.expires > now()) return Promise.resolve(hit.principal);
      let lookups = inFlight.get(db);
      if (!lookups) {
        lookups = new Map();
        inFlight.set(db, lookups);
      }
      const pending = lookups.get(keyHash);
      if (pending) return pending;
      const started = generation;
      const promise = lookup(db, keyHash)
        .then((principal) => {
          if (principal && started === generation) remember(keyHash, principal);
          else if (!principal) entries.delete(keyHash);
          return principal;
        })
        .finally(() => {
          if (lookups.get(keyHash) === promise) lookups.delete(keyHash);
        });
      lookups.set(keyHash, promise);
      return promise;
    },
    forgetKey(keyHash) {
      generation++;
      entries.delete(keyHash);
      inFlight = new WeakMap();
    },
    forgetOrganization(orgId) {
      generation++;
      for (const [hash, entry] of entries) if (entry.principal.orgId === orgId) entries.delete(hash);
      inFlight = new WeakMap();
    },
  };
}
