import type { z } from "@hono/zod-openapi";
import type { Credential } from "../../context.js";
import type {
  ApiKeyRow,
  Caller,
  IssuedKey as IssuedKeyRow,
  OrganizationWithCommunities,
} from "../../services/organizations.js";
import type { InvitationRow, IssuedInvitation as IssuedInvitationRow } from "../../services/people.js";
import type {
  ApiKey,
  Invitation,
  IssuedInvitation,
  IssuedKey,
  Me,
  Organization,
} from "./organizations.routes.js";

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

/** An invitation without its token's hash: the link is shown once, when issued (issuedInvitationJson). */
export function invitationJson(row: InvitationRow): z.input<typeof Invitation> {
  return {
    id: row.id,
    organizationId: row.organizationId,
    name: row.name,
    role: row.role,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    acceptedAt: row.acceptedAt?.toISOString() ?? null,
    personId: row.personId,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    invitedByPersonId: row.invitedByPersonId,
    invitedByKeyId: row.invitedByKeyId,
  };
}

export function issuedInvitationJson(issued: IssuedInvitationRow): z.input<typeof IssuedInvitation> {
  return { ...invitationJson(issued.row), path: `/invitations/${issued.token}` };
}

/** The caller as GET /v1/me shows it: names and ids only. */
export function meJson(caller: Caller, credential: Credential["kind"]): z.input<typeof Me> {
  const { principal: p, organization: org, key } = caller;
  return {
    credential:
      p.role === "platform_admin" ? "admin_token" : credential === "session" ? "session" : "api_key",
    role: p.role,
    access: p.keyRole,
    organization: org ? { id: org.id, name: org.name, kind: org.kind, streetId: org.streetId } : null,
    key: key ? { id: key.id, name: key.name, role: key.role, prefix: key.prefix } : null,
    person: p.person ? { id: p.person.id, name: p.person.name, role: p.keyRole } : null,
  };
}
