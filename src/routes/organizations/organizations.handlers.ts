import { and, eq, inArray, sql } from "drizzle-orm";
import { outer, type Queryable } from "../../../db/database.js";
import { generateKey } from "../../../db/keys.js";
import { isUniqueViolation } from "../../../db/pg-errors.js";
import { apiKeys, communities, organizationCommunities, organizations } from "../../../db/schema.js";
import type { Principal } from "../../auth/principal.js";
import { requireAdminKey, requireRole, streetScope } from "../../auth/scope.js";
import { ApiError } from "../../errors.js";
import type { AppRouteHandler } from "../../openapi.js";
import { issuedKeyJson, keyJson, orgJson } from "./organizations.presenters.js";
import type * as routes from "./organizations.routes.js";

type OrgRow = typeof organizations.$inferSelect;

const communityIdsOf = sql<
  string[]
>`coalesce((select array_agg(oc.community_id::text order by oc.community_id)
  from organization_communities oc where oc.organization_id = ${outer(organizations.id)}), '{}')`;

async function findOrganization(db: Queryable, p: Principal, id: string) {
  const [row] = await db
    .select({ ...organizationsColumns(), communityIds: communityIdsOf })
    .from(organizations)
    .where(and(eq(organizations.id, id), streetScope(p, organizations.streetId)));
  if (!row) throw ApiError.notFound("The organization");
  return row;
}

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

/** Communities must be in the organization's street; returns field errors for those that are not. */
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

/**
 * Who may manage an organization's keys: its own admin keys only, so nobody can act for another
 * organization (a street office mints no key an owners committee could sign with). The one
 * exception is the platform admin for street offices: the bootstrap, and their key recovery.
 * Every other organization gets its first key when it is registered.
 */
function requireKeyManager(p: Principal, org: OrgRow) {
  requireAdminKey(p, "manage API keys");
  if (p.orgId === org.id) return;
  if (p.role === "platform_admin" && org.kind === "street_office") return;
  throw ApiError.forbidden("Only the organization's own admin keys may manage its keys.");
}

export const createOrganization: AppRouteHandler<typeof routes.createOrganization> = async (c) => {
  const p = c.var.principal;
  const body = c.req.valid("json");
  requireRole(p, ["platform_admin", "street_office"], "register organizations");
  requireAdminKey(p, "register organizations");
  if (p.role === "street_office" && body.kind === "street_office") {
    throw ApiError.forbidden("Street offices are registered by the platform admin.");
  }
  const streetId = p.streetId ?? body.streetId;
  if (!streetId)
    throw ApiError.validation([{ field: "body.streetId", message: "is required for the platform admin" }]);
  if (body.streetId && body.streetId !== streetId) {
    throw ApiError.forbidden("A street office registers organizations in its own street only.");
  }
  const servesCommunities = body.kind === "owners_committee" || body.kind === "property_company";
  if (!servesCommunities && body.communityIds.length) {
    throw ApiError.validation([
      { field: "body.communityIds", message: `a ${body.kind} serves no communities` },
    ]);
  }
  const { db } = c.var;
  const result = await db
    .transaction(async (tx) => {
      await checkCommunities(tx, streetId, body.communityIds);
      const [org] = await tx
        .insert(organizations)
        .values({
          kind: body.kind,
          name: body.name,
          streetId,
          creditCode: body.creditCode ?? null,
          ...(body.invoicePrefix ? { invoicePrefix: body.invoicePrefix } : {}),
        })
        .returning();
      if (!org) throw new Error("insert returned nothing");
      if (body.communityIds.length) {
        await tx
          .insert(organizationCommunities)
          .values(
            [...new Set(body.communityIds)].map((communityId) => ({ organizationId: org.id, communityId })),
          );
      }
      const issued = generateKey("org");
      const [key] = await tx
        .insert(apiKeys)
        .values({
          organizationId: org.id,
          name: body.firstKeyName,
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
          `A ${body.kind} named "${body.name}" is already registered in this street.`,
        );
      }
      throw err;
    });
  c.var.logger.info({ organizationId: result.org.id, kind: body.kind }, "organization registered");
  return c.json(
    {
      organization: orgJson({ ...result.org, communityIds: [...new Set(body.communityIds)].sort() }),
      firstKey: issuedKeyJson(result.key, result.secret),
    },
    201,
  );
};

export const listOrganizations: AppRouteHandler<typeof routes.listOrganizations> = async (c) => {
  const p = c.var.principal;
  const { kind } = c.req.valid("query");
  const rows = await c.var.db
    .select({ ...organizationsColumns(), communityIds: communityIdsOf })
    .from(organizations)
    .where(and(streetScope(p, organizations.streetId), kind ? eq(organizations.kind, kind) : undefined))
    .orderBy(organizations.kind, organizations.name);
  return c.json({ items: rows.map(orgJson) }, 200);
};

export const getOrganization: AppRouteHandler<typeof routes.getOrganization> = async (c) => {
  const row = await findOrganization(c.var.db, c.var.principal, c.req.valid("param").id);
  return c.json(orgJson(row), 200);
};

export const updateOrganizationCommunities: AppRouteHandler<
  typeof routes.updateOrganizationCommunities
> = async (c) => {
  const p = c.var.principal;
  const { id } = c.req.valid("param");
  const { communityIds } = c.req.valid("json");
  const { db } = c.var;
  const org = await findOrganization(db, p, id);
  requireRole(p, ["platform_admin", "street_office"], "change which communities an organization serves");
  requireAdminKey(p, "change which communities an organization serves");
  if (org.kind !== "owners_committee" && org.kind !== "property_company") {
    throw ApiError.validation([
      { field: "body.communityIds", message: `a ${org.kind} serves no communities` },
    ]);
  }
  const unique = [...new Set(communityIds)].sort();
  await db.transaction(async (tx) => {
    await checkCommunities(tx, org.streetId, unique);
    await tx.delete(organizationCommunities).where(eq(organizationCommunities.organizationId, id));
    if (unique.length) {
      await tx
        .insert(organizationCommunities)
        .values(unique.map((communityId) => ({ organizationId: id, communityId })));
    }
  });
  c.var.deps.keyCache.forgetOrganization(id);
  return c.json(orgJson({ ...org, communityIds: unique }), 200);
};

export const listKeys: AppRouteHandler<typeof routes.listKeys> = async (c) => {
  const p = c.var.principal;
  const { db } = c.var;
  const org = await findOrganization(db, p, c.req.valid("param").id);
  requireKeyManager(p, org);
  const rows = await db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.organizationId, org.id))
    .orderBy(apiKeys.createdAt);
  return c.json({ items: rows.map(keyJson) }, 200);
};

export const createKey: AppRouteHandler<typeof routes.createKey> = async (c) => {
  const p = c.var.principal;
  const { db } = c.var;
  const org = await findOrganization(db, p, c.req.valid("param").id);
  requireKeyManager(p, org);
  const body = c.req.valid("json");
  const issued = generateKey("org");
  const [row] = await db
    .insert(apiKeys)
    .values({
      organizationId: org.id,
      name: body.name,
      role: body.role,
      keyHash: issued.hash,
      prefix: issued.prefix,
    })
    .returning();
  if (!row) throw new Error("insert returned nothing");
  c.var.logger.info({ organizationId: org.id, keyId: row.id }, "api key issued");
  return c.json(issuedKeyJson(row, issued.key), 201);
};

export const revokeKey: AppRouteHandler<typeof routes.revokeKey> = async (c) => {
  const p = c.var.principal;
  const { db } = c.var;
  const { id, keyId } = c.req.valid("param");
  const org = await findOrganization(db, p, id);
  requireKeyManager(p, org);
  const [row] = await db
    .update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.organizationId, org.id)))
    .returning();
  if (!row) throw ApiError.notFound("The key");
  c.var.deps.keyCache.forgetKey(row.keyHash);
  c.var.logger.info({ organizationId: org.id, keyId }, "api key revoked");
  return c.json(keyJson(row), 200);
};
