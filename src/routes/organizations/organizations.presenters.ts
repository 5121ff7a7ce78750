import type { z } from "@hono/zod-openapi";
import type {
  ApiKeyRow,
  IssuedKey as IssuedKeyRow,
  OrganizationWithCommunities,
} from "../../services/organizations.js";
import type { IssuedInvitation as IssuedInvitationRow } from "../../services/people.js";
import type { ApiKey, IssuedInvitation, IssuedKey, Organization } from "./organizations.routes.js";

export function orgJson(row: OrganizationWithCommunities): z.input<typeof Organization> {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    streetId: row.streetId,
    creditCode: row.creditCode,
    invoicePrefix: row.invoicePrefix,
    communityIds: row.communityIds,
    createdAt: row.createdAt.toISOString(),
  };
}

/** A key without its hash: the key itself is shown once, when issued (issuedKeyJson). */
export function keyJson(row: ApiKeyRow): z.input<typeof ApiKey> {
  return {
    id: row.id,
    organizationId: row.organizationId,
    name: row.name,
    role: row.role,
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

export function issuedKeyJson(issued: IssuedKeyRow): z.input<typeof IssuedKey> {
  return { ...keyJson(issued.row), key: issued.key };
}

export function issuedInvitationJson(issued: IssuedInvitationRow): z.input<typeof IssuedInvitation> {
  return {
    id: issued.row.id,
    organizationId: issued.row.organizationId,
    name: issued.row.name,
    role: issued.row.role,
    expiresAt: issued.row.expiresAt.toISOString(),
    path: `/invitations/${issued.token}`,
  };
}
