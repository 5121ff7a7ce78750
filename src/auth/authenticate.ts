import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { hashKey, sameHash } from "../../db/keys.js";
import { apiKeys, organizationCommunities, organizations } from "../../db/schema.js";
import type { AppEnv } from "../context.js";
import { ApiError } from "../errors.js";
import type { Principal } from "./principal.js";

const BEARER = /^Bearer\s+(\S+)\s*$/i;
/** last_used_at is refreshed at most this often, so reads do not each cost a write. */
const LAST_USED_RESOLUTION = sql`interval '1 minute'`;

/** Resolves `Authorization: Bearer <key>` to the principal, or answers 401. */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const match = BEARER.exec(c.req.header("authorization") ?? "");
  if (!match?.[1]) throw ApiError.unauthorized();
  const principal = await resolveKey(c.var.deps, match[1]);
  if (!principal) throw ApiError.unauthorized("The API key is unknown or revoked.");
  c.set("principal", principal);
  await next();
});

async function resolveKey(deps: AppEnv["Variables"]["deps"], key: string): Promise<Principal | null> {
  const hash = hashKey(key);
  if (deps.adminTokenHash && sameHash(hash, deps.adminTokenHash)) {
    return {
      role: "platform_admin",
      orgId: null,
      keyId: null,
      keyRole: "admin",
      streetId: null,
      communityIds: [],
    };
  }
  const [row] = await deps.db
    .select({
      keyId: apiKeys.id,
      keyRole: apiKeys.role,
      orgId: organizations.id,
      kind: organizations.kind,
      streetId: organizations.streetId,
      communityIds: sql<string[]>`coalesce((select array_agg(${organizationCommunities.communityId}::text)
        from ${organizationCommunities} where ${organizationCommunities.organizationId} = ${organizations.id}), '{}')`,
    })
    .from(apiKeys)
    .innerJoin(organizations, eq(organizations.id, apiKeys.organizationId))
    .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)));
  if (!row) return null;
  await deps.db
    .update(apiKeys)
    .set({ lastUsedAt: sql`now()` })
    .where(
      and(
        eq(apiKeys.id, row.keyId),
        or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, sql`now() - ${LAST_USED_RESOLUTION}`)),
      ),
    );
  return {
    role: row.kind,
    orgId: row.orgId,
    keyId: row.keyId,
    keyRole: row.keyRole,
    streetId: row.streetId,
    communityIds: row.communityIds,
  };
}
