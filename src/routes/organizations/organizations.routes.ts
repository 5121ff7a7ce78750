import { z } from "@hono/zod-openapi";
import { organizationKind } from "../../../db/schema.js";
import {
  conflictResponse,
  createRoute,
  errorResponses,
  IdParams,
  jsonBody,
  jsonResponse,
  Name,
  Page,
  Pagination,
  security,
  Timestamp,
  Uuid,
} from "../../openapi.js";

const tags = ["organizations"];
export const OrgKind = z.enum(organizationKind.enumValues);

export const Organization = z
  .object({
    id: Uuid,
    kind: OrgKind,
    name: z.string(),
    streetId: Uuid,
    creditCode: z.string().nullable(),
    invoicePrefix: z
      .string()
      .openapi({ description: "Prefix of an enterprise's invoice numbers (EL-2026-000123)" }),
    communityIds: z.array(Uuid),
    createdAt: Timestamp,
  })
  .openapi("Organization");

export const ApiKey = z
  .object({
    id: Uuid,
    organizationId: Uuid,
    name: z.string(),
    role: z.enum(["admin", "member"]),
    prefix: z.string().openapi({ description: "First characters of the key, to recognise it" }),
    createdAt: Timestamp,
    lastUsedAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
  })
  .openapi("ApiKey");

export const IssuedKey = ApiKey.extend({
  key: z.string().openapi({ description: "The key itself: shown this once, stored only as a hash" }),
}).openapi("IssuedKey");

const NewKey = z.strictObject({
  name: Name.max(100),
  role: z.enum(["admin", "member"]).default("member"),
});

export const Invitation = z
  .object({
    id: Uuid,
    organizationId: Uuid,
    name: z.string(),
    role: z.enum(["admin", "member"]),
    createdAt: Timestamp,
    expiresAt: Timestamp,
    acceptedAt: Timestamp.nullable(),
    personId: Uuid.nullable().openapi({ description: "The person who accepted it" }),
    revokedAt: Timestamp.nullable(),
    invitedByPersonId: Uuid.nullable().openapi({ description: "The admin who invited, in the portal" }),
    invitedByKeyId: Uuid.nullable().openapi({ description: "The admin key that invited, through the API" }),
  })
  .openapi("Invitation");

export const IssuedInvitation = Invitation.extend({
  path: z.string().openapi({
    description:
      "The portal's one-time link for the invited person (append it to the portal's address): shown this once, stored only as a hash",
    example: "/invitations/3q2-7wXy…",
  }),
}).openapi("IssuedInvitation");

const NewInvitation = z.strictObject({
  name: Name.max(100).openapi({ description: "The invited person's name, as the audit log will show it" }),
  role: z.enum(["admin", "member"]).default("member"),
});

const KeyRole = z.enum(["admin", "member"]);

const KeyParams = IdParams.extend({ keyId: Uuid.openapi({ param: { name: "keyId", in: "path" } }) });
const InvitationParams = IdParams.extend({
  invitationId: Uuid.openapi({ param: { name: "invitationId", in: "path" } }),
});

/** Who the caller is: what GET /v1/me answers. Never a key, a hash or a session token. */
export const Me = z
  .object({
    credential: z.enum(["api_key", "session", "admin_token"]).openapi({
      description:
        "How the request proved who it is: an organization's API key, a person's portal session (read-only requests), or the platform's ADMIN_TOKEN",
    }),
    role: z.enum([...organizationKind.enumValues, "platform_admin"]).openapi({
      description: "The role the caller acts in: its organization's kind, or platform_admin",
    }),
    access: KeyRole.openapi({
      description:
        "admin: may also manage its organization's keys and invitations (the key's or the person's role)",
    }),
    organization: z
      .object({ id: Uuid, name: z.string(), kind: OrgKind, streetId: Uuid })
      .nullable()
      .openapi({ description: "The organization the caller acts for; null for the platform admin" }),
    key: z
      .object({
        id: Uuid,
        name: z.string(),
        role: KeyRole,
        prefix: z.string().openapi({ description: "First characters of the key, to recognise it" }),
      })
      .nullable()
      .openapi({ description: "The API key of the request (credential `api_key`)" }),
    person: z
      .object({ id: Uuid, name: z.string(), role: KeyRole })
      .nullable()
      .openapi({ description: "The person signed in (credential `session`)" }),
  })
  .openapi("Me");

export const getMe = createRoute({
  operationId: "getMe",
  method: "get",
  path: "/me",
  tags,
  security,
  summary: "Who is calling: the organization, role and key (or person) of this request",
  description:
    "For an integration to check which organization and role its key stands for. Any valid key or session may ask; the answer names the key by its id, name and prefix, never the key itself.",
  responses: { 200: jsonResponse(Me, "The caller"), ...errorResponses },
});

export const createOrganization = createRoute({
  operationId: "createOrganization",
  method: "post",
  path: "/organizations",
  tags,
  security,
  summary: "Register an organization (street office admin; street offices: platform admin)",
  description:
    "Registers an enterprise, owners committee or property company in the caller's street (the platform admin registers street offices). Returns the organization's first admin key, shown once.",
  request: {
    body: jsonBody(
      z
        .strictObject({
          kind: OrgKind,
          name: Name,
          streetId: Uuid.optional().openapi({
            description: "Required for the platform admin; defaults to the caller's street",
          }),
          creditCode: Name.max(40).optional(),
          invoicePrefix: z
            .string()
            .regex(/^[A-Z][A-Z0-9]{0,9}$/, "must be 1-10 capital letters or digits, starting with a letter")
            .optional()
            .openapi({ description: "Enterprises: prefix of invoice numbers; default BOT" }),
          communityIds: z
            .array(Uuid)
            .max(200)
            .default([])
            .openapi({ description: "Communities an owners committee or property company serves" }),
          firstKeyName: Name.max(100).default("first admin key"),
        })
        .openapi("NewOrganization"),
    ),
  },
  responses: {
    201: jsonResponse(z.object({ organization: Organization, firstKey: IssuedKey }), "Registered"),
    ...conflictResponse,
    ...errorResponses,
  },
});

export const listOrganizations = createRoute({
  operationId: "listOrganizations",
  method: "get",
  path: "/organizations",
  tags,
  security,
  summary: "Organizations of the caller's street",
  description:
    "The organizations of the caller's street, by kind and name; the platform admin sees every organization.",
  request: { query: Pagination.extend({ kind: OrgKind.optional() }) },
  responses: {
    200: jsonResponse(Page(Organization, "OrganizationPage"), "Organizations, by kind then name"),
    ...errorResponses,
  },
});

export const getOrganization = createRoute({
  operationId: "getOrganization",
  method: "get",
  path: "/organizations/{id}",
  tags,
  security,
  summary: "One organization",
  description: "One organization of the caller's street (every one for the platform admin); 404 otherwise.",
  request: { params: IdParams },
  responses: { 200: jsonResponse(Organization, "The organization"), ...errorResponses },
});

export const updateOrganizationCommunities = createRoute({
  operationId: "updateOrganizationCommunities",
  method: "put",
  path: "/organizations/{id}/communities",
  tags,
  security,
  summary: "Set the communities an owners committee or property company serves (street office)",
  description:
    "Replaces the set of communities an owners committee or property company serves: that set is its scope for facilities, contracts, incidents and residents. The street office of the organization's street only.",
  request: {
    params: IdParams,
    body: jsonBody(z.strictObject({ communityIds: z.array(Uuid).max(200) })),
  },
  responses: { 200: jsonResponse(Organization, "Updated"), ...errorResponses },
});

export const listKeys = createRoute({
  operationId: "listApiKeys",
  method: "get",
  path: "/organizations/{id}/keys",
  tags,
  security,
  summary: "The organization's API keys (its own admin keys)",
  description:
    "An organization's keys with their prefixes and roles, never the secrets (only hashes are stored). The organization's own admin keys only.",
  request: { params: IdParams, query: Pagination },
  responses: {
    200: jsonResponse(Page(ApiKey, "ApiKeyPage"), "Keys, oldest first, never the secrets"),
    ...errorResponses,
  },
});

export const createKey = createRoute({
  operationId: "createApiKey",
  method: "post",
  path: "/organizations/{id}/keys",
  tags,
  security,
  summary: "Issue an API key (shown once)",
  description:
    "A new key for the organization (admin or member role). The secret is in this answer only: store it now; only its hash is kept.",
  request: { params: IdParams, body: jsonBody(NewKey.openapi("NewKey")) },
  responses: { 201: jsonResponse(IssuedKey, "The key, shown this once"), ...errorResponses },
});

export const revokeKey = createRoute({
  operationId: "revokeApiKey",
  method: "delete",
  path: "/organizations/{id}/keys/{keyId}",
  tags,
  security,
  summary: "Revoke an API key",
  description:
    "The key stops working at once on the instance that revokes it, and within seconds on other instances (each caches keys briefly); the answer shows the key revoked.",
  request: { params: KeyParams },
  responses: { 200: jsonResponse(ApiKey, "Revoked"), ...errorResponses },
});

export const getKey = createRoute({
  operationId: "getApiKey",
  method: "get",
  path: "/organizations/{id}/keys/{keyId}",
  tags,
  security,
  summary: "One API key of the organization (never its secret)",
  description:
    "A key with its prefix, role, last use and revocation, never the secret (shown once, when issued). The same readers as the organization's keys: its own admin keys only (the platform admin: street offices' keys); 404 for a key of another organization.",
  request: { params: KeyParams },
  responses: { 200: jsonResponse(ApiKey, "The key, never the secret"), ...errorResponses },
});

export const createInvitation = createRoute({
  operationId: "createInvitation",
  method: "post",
  path: "/organizations/{id}/invitations",
  tags,
  security,
  summary: "Invite a person to the portal (a one-time link, shown once; valid 7 days)",
  description:
    "How an organization's first person reaches the portal: its admin key (the platform admin for a street office) invites them; later invitations can be made in the portal's members page.",
  request: { params: IdParams, body: jsonBody(NewInvitation.openapi("NewInvitation")) },
  responses: {
    201: jsonResponse(IssuedInvitation, "The invitation, its link shown this once"),
    ...errorResponses,
  },
});

export const listInvitations = createRoute({
  operationId: "listInvitations",
  method: "get",
  path: "/organizations/{id}/invitations",
  tags,
  security,
  summary: "The organization's invitations to the portal (its own admins)",
  description:
    "Every invitation of the organization, pending, accepted, revoked or expired, never its link (shown once, when issued). The organization's own admins only (the platform admin: street offices').",
  request: { params: IdParams, query: Pagination },
  responses: {
    200: jsonResponse(Page(Invitation, "InvitationPage"), "Invitations, newest first, never their links"),
    ...errorResponses,
  },
});

export const getInvitation = createRoute({
  operationId: "getInvitation",
  method: "get",
  path: "/organizations/{id}/invitations/{invitationId}",
  tags,
  security,
  summary: "One invitation of the organization (never its link)",
  description:
    "Whether an invitation was accepted (and by whom), revoked, or is still pending until it expires; never its link. The same readers as the organization's invitations; 404 for an invitation of another organization.",
  request: { params: InvitationParams },
  responses: { 200: jsonResponse(Invitation, "The invitation, never its link"), ...errorResponses },
});
