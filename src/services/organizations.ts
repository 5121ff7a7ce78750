/**
 * Organizations, the communities owners committees and property companies serve, and their API
 * keys. Reads are scoped to the caller's street (404 outside it); who may register, change and
 * manage keys is the command table's (contracts/place-permissions.ts).
 */
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { registrationStreet } from "../../contracts/index.js";
import { outer, type Queryable } from "../../db/database.js";
import { generateKey } from "../../db/keys.js";
import { isUniqueViolation } from "../../db/pg-errors.js";
import { apiKeys, communities, organizationCommunities, organizations, streets } from "../../db/schema.js";
import type { KeyCache } from "../auth/key-cache.js";
import type { OrgKind, Principal } from "../auth/principal.js";
import { streetScope } from "../auth/scope.js";
import { ApiError } from "../errors.js";
import type { ServiceContext } from "./context.js";
import { type Page, type PageRequest, pageOf } from "./pages.js";
import { requirePlaceCommand } from "./place-permissions.js";

export type OrganizationRow = typeof organizations.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
/** An organization with the communities it serves (sorted; empty for kinds that serve none). */
export type OrganizationWithCommunities = OrganizationRow & { communityIds: string[] };
/** A key as issued: its row, and the key itself, shown this once. */
export interface IssuedKey {
  row: ApiKeyRow;
  key: string;
}
/** What the service tells the process's cache of resolved keys (src/auth/key-cache.ts). */
export type KeyCacheInvalidation = Pick<KeyCache, "forgetKey" | "forgetOrganization">;

const communityIdsOf = sql<
  string[]
>`coalesce((select array_agg(oc.community_id::text order by oc.community_id)
  from organization_communities oc where oc.organization_id = ${outer(organizations.id)}), '{}')`;

function organizationsColumns() {
  return {
    id: organizations.id,
    kind: organizations.kind,
    name: organizations.name,
    streetId: organizations.streetId,
    creditCode: organizations.creditCode,
    invoicePrefix: organizations.invoicePrefix,
    createdAt: organizations.createdAt,
  };
}

/** The caller and the rows it stands for: its organization (none for the platform admin) and its key (none for a session). */
export interface Caller {
  principal: Principal;
  organization: OrganizationRow | null;
  key: ApiKeyRow | null;
}

/** Who the request's principal is (GET /v1/me): read from its own rows, so names are current. */
export async function whoAmI(ctx: ServiceContext): Promise<Caller> {
  const p = ctx.principal;
  const [organization, key] = await Promise.all([
    p.orgId ? ctx.db.select().from(organizations).where(eq(organizations.id, p.orgId)) : [],
    p.keyId ? ctx.db.select().from(apiKeys).where(eq(apiKeys.id, p.keyId)) : [],
  ]);
  return { principal: p, organization: organization[0] ?? null, key: key[0] ?? null };
}

export async function findOrganization(
  db: Queryable,
  p: Principal,
  id: string,
): Promise<OrganizationWithCommunities> {
  const [row] = await db
    .select({ ...organizationsColumns(), communityIds: communityIdsOf })
    .from(organizations)
    .where(and(eq(organizations.id, id), streetScope(p, organizations.streetId)));
  if (!row) throw ApiError.notFound("The organization");
  return row;
}

/** Communities must be in the organization's street; a field error for each that is not. */
async function checkCommunities(db: Queryable, streetId: string, ids: string[]) {
  if (!ids.length) return;
  const found = await db
    .select({ id: communities.id })
    .from(communities)
    .where(and(inArray(communities.id, ids), eq(communities.streetId, streetId)));
  const known = new Set(found.map((r) => r.id));
  const errors = ids.flatMap((id, i) =>
    known.has(id) ? [] : [{ field: `body.communityIds.${i}`, message: "is not a community of this street" }],
  );
  if (errors.length) throw ApiError.validation(errors);
}

// ---- organizations ---------------------------------------------------------------------------

export interface NewOrganization {
  kind: OrgKind;
  name: string;
  /** Required of the platform admin; a street office's own street otherwise. */
  streetId?: string;
  creditCode?: string | null;
  invoicePrefix?: string;
  communityIds: string[];
  firstKeyName: string;
}

/** Registers an organization with its first admin key (every organization but a street office gets its keys so). */
export async function createOrganization(
  ctx: ServiceContext,
  input: NewOrganization,
): Promise<{ organization: OrganizationWithCommunities; firstKey: IssuedKey }> {
  const p = ctx.principal;
  requirePlaceCommand(p, {
    type: "register_organization",
    kind: input.kind,
    streetId: input.streetId,
    communityIds: input.communityIds,
  });
  const streetId = registrationStreet(p, input.streetId);
  if (!streetId) throw new Error("the command table lets no organization through without a street");
  const communityIds = [...new Set(input.communityIds)];
  const result = await ctx.db
    .transaction(async (tx) => {
      // The platform admin names any street: one that does not exist is the input's fault.
      const [street] = await tx.select({ id: streets.id }).from(streets).where(eq(streets.id, streetId));
      if (!street) throw ApiError.validation([{ field: "body.streetId", message: "is not a known street" }]);
      await checkCommunities(tx, streetId, input.communityIds);
      const [org] = await tx
        .insert(organizations)
        .values({
          kind: input.kind,
          name: input.name,
          streetId,
          creditCode: input.creditCode ?? null,
          ...(input.invoicePrefix ? { invoicePrefix: input.invoicePrefix } : {}),
        })
        .returning();
      if (!org) throw new Error("insert returned nothing");
      if (communityIds.length) {
        await tx
          .insert(organizationCommunities)
          .values(communityIds.map((communityId) => ({ organizationId: org.id, communityId })));
      }
      const issued = generateKey("org");
      const [key] = await tx
        .insert(apiKeys)
        .values({
          organizationId: org.id,
          name: input.firstKeyName,
          role: "admin",
          keyHash: issued.hash,
          prefix: issued.prefix,
        })
        .returning();
      if (!key) throw new Error("insert returned nothing");
      return { org, key, secret: issued.key };
    })
    .catch((err: unknown) => {
      if (isUniqueViolation(err)) {
        throw ApiError.conflict(
          "organization_exists",
          `A ${input.kind} named "${input.name}" is already registered in this street.`,
        );
      }
      throw err;
    });
  return {
    organization: { ...result.org, communityIds: [...communityIds].sort() },
    firstKey: { row: result.key, key: result.secret },
  };
}

/** By kind, then name (id breaks ties). */
export async function listOrganizations(
  ctx: ServiceContext,
  filter: { kind?: OrgKind | undefined },
  page?: PageRequest,
): Promise<Page<OrganizationWithCommunities>> {
  const where = and(
    streetScope(ctx.principal, organizations.streetId),
    filter.kind ? eq(organizations.kind, filter.kind) : undefined,
  );
  const query = ctx.db
    .select({ ...organizationsColumns(), communityIds: communityIdsOf })
    .from(organizations)
    .where(where)
    .orderBy(asc(organizations.kind), asc(organizations.name), asc(organizations.id))
    .$dynamic();
  return pageOf(query, () => ctx.db.$count(organizations, where), page);
}

export async function getOrganization(ctx: ServiceContext, id: string): Promise<OrganizationWithCommunities> {
  return findOrganization(ctx.db, ctx.principal, id);
}

/** Replaces the communities an owners committee or property company serves. */
export async function setOrganizationCommunities(
  ctx: ServiceContext,
  keyCache: KeyCacheInvalidation,
  id: string,
  communityIds: string[],
): Promise<OrganizationWithCommunities> {
  const p = ctx.principal;
  const org = await findOrganization(ctx.db, p, id);
  requirePlaceCommand(p, { type: "change_organization_communities", organization: org });
  const unique = [...new Set(communityIds)].sort();
  await ctx.db.transaction(async (tx) => {
    await checkCommunities(tx, org.streetId, unique);
    await tx.delete(organizationCommunities).where(eq(organizationCommunities.organizationId, id));
    if (unique.length) {
      await tx
        .insert(organizationCommunities)
        .values(unique.map((communityId) => ({ organizationId: id, communityId })));
    }
  });
  // Its keys' principals carry the communities: they are resolved again on their next request.
  keyCache.forgetOrganization(id);
  return { ...org, communityIds: unique };
}

// ---- keys ------------------------------------------------------------------------------------

/** The organization in the caller's scope whose keys the caller may manage (404, then 403). */
async function keysOwner(ctx: ServiceContext, orgId: string) {
  const org = await findOrganization(ctx.db, ctx.principal, orgId);
  requirePlaceCommand(ctx.principal, { type: "manage_api_keys", organization: org });
  return org;
}

/** Oldest first (id breaks ties). */
export async function listKeys(
  ctx: ServiceContext,
  orgId: string,
  page?: PageRequest,
): Promise<Page<ApiKeyRow>> {
  const org = await keysOwner(ctx, orgId);
  const where = eq(apiKeys.organizationId, org.id);
  const query = ctx.db
    .select()
    .from(apiKeys)
    .where(where)
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))
    .$dynamic();
  return pageOf(query, () => ctx.db.$count(apiKeys, where), page);
}

/** One key of the organization, to the readers of its keys (404 for another organization's). */
export async function getKey(ctx: ServiceContext, orgId: string, keyId: string): Promise<ApiKeyRow> {
  const org = await keysOwner(ctx, orgId);
  const [row] = await ctx.db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.organizationId, org.id)));
  if (!row) throw ApiError.notFound("The key");
  return row;
}

export async function createKey(
  ctx: ServiceContext,
  orgId: string,
  input: { name: string; role: "admin" | "member" },
): Promise<IssuedKey> {
  const org = await keysOwner(ctx, orgId);
  const issued = generateKey("org");
  const [row] = await ctx.db
    .insert(apiKeys)
    .values({
      organizationId: org.id,
      name: input.name,
      role: input.role,
      keyHash: issued.hash,
      prefix: issued.prefix,
    })
    .returning();
  if (!row) throw new Error("insert returned nothing");
  return { row, key: issued.key };
}

/** Revokes a key (again: no change) and makes this process forget it at once. */
export async function revokeKey(
  ctx: ServiceContext,
  keyCache: KeyCacheInvalidation,
  orgId: string,
  keyId: string,
): Promise<ApiKeyRow> {
  const org = await keysOwner(ctx, orgId);
  const [row] = await ctx.db
    .update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.organizationId, org.id)))
    .returning();
  if (!row) throw ApiError.notFound("The key");
  keyCache.forgetKey(row.keyHash);
  return row;
}
