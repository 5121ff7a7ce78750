import type { organizationKind } from "../../db/schema.js";

export type OrgKind = (typeof organizationKind.enumValues)[number];
/** The role a request acts in: its organization's kind, or the platform's bootstrap admin. */
export type Role = OrgKind | "platform_admin";

/** Who is calling, resolved from the bearer key (shared by a key's requests while cached: read-only). */
export interface Principal {
  role: Role;
  /** Null only for the platform admin (ADMIN_TOKEN), which belongs to no organization. */
  orgId: string | null;
  /** Null for ADMIN_TOKEN (it has no row). */
  keyId: string | null;
  /** Admin keys may manage their organization's keys. */
  keyRole: "admin" | "member";
  /** The street the organization belongs to; null = every street (platform admin). */
  streetId: string | null;
  /** Communities an owners committee or property company serves. */
  communityIds: readonly string[];
  /** The person signed in to the portal; null for an API key (a machine) and ADMIN_TOKEN. */
  person: { id: string; name: string } | null;
}

/** A principal that acts for an organization (every contract decision needs one). */
export type OrgPrincipal = Principal & { role: OrgKind; orgId: string; streetId: string };

export function isOrgPrincipal(p: Principal): p is OrgPrincipal {
  return p.role !== "platform_admin" && p.orgId !== null && p.streetId !== null;
}
