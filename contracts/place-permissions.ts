/**
 * Who may issue each command on places, organizations, facilities and the street dashboard, in
 * which state, and why not: one pure table and the function that reads it. The services
 * (src/services/places, organizations, facilities, dashboard) ask `decidePlaceCommand` after
 * finding the addressed row in the caller's scope (404 stays theirs) and turn a refusal into
 * the answer; no handler decides. Commands on a contract are contracts/commands.ts.
 */
import type { Party } from "./lifecycle.js";

/** The role a caller acts in: its organization's kind (a party), or the platform's bootstrap admin. */
export const CALLER_ROLES = [
  "platform_admin",
  "street_office",
  "enterprise",
  "owners_committee",
  "property_company",
] as const satisfies readonly (Party | "platform_admin")[];
export type CallerRole = (typeof CALLER_ROLES)[number];

/** A facility's status (db/schema.ts `facility_status`). */
export const FACILITY_STATUSES = [
  "planned",
  "under_construction",
  "operating",
  "transferred",
  "decommissioned",
] as const;
export type FacilityStatus = (typeof FACILITY_STATUSES)[number];

/** Statuses from which the street office (or the platform admin) may decommission a facility. */
export const DECOMMISSIONABLE = ["planned", "transferred"] as const satisfies readonly FacilityStatus[];

/** Organization kinds that serve a list of communities (what their keys see). */
export const SERVES_COMMUNITIES = [
  "owners_committee",
  "property_company",
] as const satisfies readonly Party[];

/** Who is asking: what the decisions read of the caller's principal. */
export interface PlaceActor {
  role: CallerRole;
  /** Null only for the platform admin (ADMIN_TOKEN). */
  orgId: string | null;
  /** The caller's street; null = every street (the platform admin). */
  streetId: string | null;
  keyRole: "admin" | "member";
}

/** Every command, with the facts about its target its decision needs. */
export type PlaceCommand =
  | { type: "register_district" }
  | { type: "register_street" }
  /** `streetId`: the street the request names, if any. */
  | { type: "register_community"; streetId?: string }
  | { type: "register_building" }
  | { type: "import_household_register" }
  /** `hasContractInCommunity`: the caller's organization has a contract in the building's community. */
  | { type: "read_household_register"; hasContractInCommunity: boolean }
  | { type: "register_organization"; kind: Party; streetId?: string; communityIds: readonly string[] }
  | { type: "change_organization_communities"; organization: { kind: Party } }
  | { type: "manage_api_keys"; organization: { id: string; kind: Party } }
  /** Inviting people to the portal for the organization, and removing them. */
  | { type: "manage_members"; organization: { id: string; kind: Party } }
  | { type: "register_facility" }
  | { type: "change_facility"; facility: { status: FacilityStatus; operatorOrgId: string | null } }
  /** `openContractIds`: contracts (not transferred, not terminated) the facility is part of. */
  | {
      type: "decommission_facility";
      facility: { status: FacilityStatus };
      openContractIds: readonly string[];
    }
  | { type: "read_street_dashboard" };
export type PlaceCommandType = PlaceCommand["type"];

export interface PlaceCommandRule {
  /** The roles that may issue the command (403 for the others). */
  roles: readonly CallerRole[];
  /** What the command does, as a refusal names it ("A enterprise may not <action>"). */
  action: string;
  /** Only an admin key (not a member key) may issue it. */
  adminKey?: true;
}

const REGISTER_KEEPERS = ["platform_admin", "street_office", "owners_committee", "property_company"] as const;
const STREET = ["platform_admin", "street_office"] as const;
const FACILITY_KEEPERS = ["platform_admin", "street_office", "enterprise"] as const;

/**
 * The table: for each command the roles that may issue it and whether it needs an admin key. The
 * state preconditions each command adds are in `decidePlaceCommand`, in the order they are checked.
 */
export const PLACE_COMMAND_RULES: Record<PlaceCommandType, PlaceCommandRule> = {
  register_district: { roles: ["platform_admin"], action: "register districts" },
  register_street: { roles: ["platform_admin"], action: "register streets" },
  // A street office in its own street; the platform admin names the street.
  register_community: { roles: STREET, action: "register communities" },
  register_building: { roles: REGISTER_KEEPERS, action: "register buildings" },
  import_household_register: { roles: REGISTER_KEEPERS, action: "import the household register" },
  // Personal data: an enterprise only in a community where it has a contract (404 otherwise).
  read_household_register: { roles: CALLER_ROLES, action: "read the household register" },
  // Street offices are registered by the platform admin; other kinds by their street office.
  register_organization: { roles: STREET, action: "register organizations", adminKey: true },
  change_organization_communities: {
    roles: STREET,
    action: "change which communities an organization serves",
    adminKey: true,
  },
  // An organization's own admin keys; the platform admin for street offices (bootstrap, recovery).
  manage_api_keys: { roles: CALLER_ROLES, action: "manage API keys", adminKey: true },
  // The same people as the keys: the organization's admins; the platform admin for street offices.
  manage_members: { roles: CALLER_ROLES, action: "manage the organization's members", adminKey: true },
  // An enterprise's facility is operated by it (`operatorOfRegistered`).
  register_facility: { roles: FACILITY_KEEPERS, action: "register facilities" },
  // An enterprise only the facilities it operates; nobody a decommissioned one.
  change_facility: { roles: FACILITY_KEEPERS, action: "change facilities" },
  // Only a planned or transferred facility that no open contract holds.
  decommission_facility: { roles: STREET, action: "decommission facilities" },
  read_street_dashboard: { roles: STREET, action: "read the street dashboard" },
};

/** Reason codes of a refused command (each an error code of the API). */
export type PlaceRefusalCode =
  | "forbidden"
  | "not_found"
  | "validation_failed"
  | "facility_state"
  | "facility_under_contract";

export interface PlaceRefusal {
  /** 403 the caller may not; 404 the target stays hidden from it; 409 not in this state; 400 a value. */
  status: 400 | 403 | 404 | 409;
  code: PlaceRefusalCode;
  /** What is wrong, in a sentence (for a 400: the message of `field`). */
  reason: string;
  /** For a 400: the request field at fault (`body.streetId`). */
  field?: string;
  /** For a 409 on a facility: its status. */
  facilityState?: FacilityStatus;
  /** For facility_under_contract: the open contracts holding the facility, oldest first. */
  contractIds?: readonly string[];
}

export type PlaceDecision = { ok: true } | { ok: false; refusal: PlaceRefusal };

const ALLOWED: PlaceDecision = { ok: true };
const words = (s: string) => s.replaceAll("_", " ");

function refuse(
  status: PlaceRefusal["status"],
  code: PlaceRefusalCode,
  reason: string,
  extra: Partial<PlaceRefusal> = {},
): PlaceDecision {
  return { ok: false, refusal: { status, code, reason, ...extra } };
}
const forbidden = (reason: string) => refuse(403, "forbidden", reason);
const invalid = (field: string, reason: string) => refuse(400, "validation_failed", reason, { field });

/**
 * The street a registration goes to: the caller's own, or the one the platform admin names.
 * Null when the platform admin named none.
 */
export function registrationStreet(actor: PlaceActor, requested: string | undefined): string | null {
  return actor.streetId ?? requested ?? null;
}

/** The operator of a facility the caller registers: an enterprise operates its own; others leave it open. */
export function operatorOfRegistered(actor: PlaceActor): string | null {
  return actor.role === "enterprise" ? actor.orgId : null;
}

/** The street checks of a registration that names (or must name) a street. */
function streetRefusal(actor: PlaceActor, requested: string | undefined, what: string): PlaceDecision | null {
  const streetId = registrationStreet(actor, requested);
  if (!streetId) return invalid("body.streetId", "is required for the platform admin");
  if (requested && requested !== streetId) {
    return forbidden(`A street office registers ${what} in its own street only.`);
  }
  return null;
}

/** Allowed, or why not: the role, then the key, then the command's own preconditions in order. */
export function decidePlaceCommand(actor: PlaceActor, command: PlaceCommand): PlaceDecision {
  const rule = PLACE_COMMAND_RULES[command.type];
  if (!rule.roles.includes(actor.role)) {
    return forbidden(`A ${words(actor.role)} may not ${rule.action}; allowed: ${rule.roles.join(", ")}.`);
  }
  if (rule.adminKey && actor.keyRole !== "admin") return forbidden(`Only an admin key may ${rule.action}.`);

  switch (command.type) {
    case "register_community":
      return streetRefusal(actor, command.streetId, "communities") ?? ALLOWED;
    case "read_household_register":
      if (actor.role === "enterprise" && !command.hasContractInCommunity) {
        return refuse(404, "not_found", "The building was not found.");
      }
      return ALLOWED;
    case "register_organization": {
      if (actor.role === "street_office" && command.kind === "street_office") {
        return forbidden("Street offices are registered by the platform admin.");
      }
      const street = streetRefusal(actor, command.streetId, "organizations");
      if (street) return street;
      if (!servesCommunities(command.kind) && command.communityIds.length) {
        return invalid("body.communityIds", `a ${command.kind} serves no communities`);
      }
      return ALLOWED;
    }
    case "change_organization_communities":
      if (!servesCommunities(command.organization.kind)) {
        return invalid("body.communityIds", `a ${command.organization.kind} serves no communities`);
      }
      return ALLOWED;
    case "manage_api_keys": {
      const { organization } = command;
      if (actor.orgId === organization.id) return ALLOWED;
      if (actor.role === "platform_admin" && organization.kind === "street_office") return ALLOWED;
      return forbidden("Only the organization's own admin keys may manage its keys.");
    }
    case "manage_members": {
      const { organization } = command;
      if (actor.orgId === organization.id) return ALLOWED;
      if (actor.role === "platform_admin" && organization.kind === "street_office") return ALLOWED;
      return forbidden("Only the organization's own admins may manage its members.");
    }
    case "change_facility": {
      const { facility } = command;
      if (actor.role === "enterprise" && facility.operatorOrgId !== actor.orgId) {
        return forbidden("Only the enterprise operating the facility may change it.");
      }
      if (facility.status === "decommissioned") {
        return refuse(409, "facility_state", "A decommissioned facility can no longer be changed.", {
          facilityState: facility.status,
        });
      }
      return ALLOWED;
    }
    case "decommission_facility": {
      const { status } = command.facility;
      if (!(DECOMMISSIONABLE as readonly FacilityStatus[]).includes(status)) {
        return refuse(
          409,
          "facility_state",
          `A facility that is ${words(status)} cannot be decommissioned; only a planned or transferred one.`,
          { facilityState: status },
        );
      }
      if (command.openContractIds.length) {
        return refuse(
          409,
          "facility_under_contract",
          "The facility is part of a contract that is still open; terminate or finish it first.",
          { facilityState: status, contractIds: command.openContractIds },
        );
      }
      return ALLOWED;
    }
    case "register_district":
    case "register_street":
    case "register_building":
    case "import_household_register":
    case "register_facility":
    case "read_street_dashboard":
      return ALLOWED;
  }
}

export function servesCommunities(kind: Party): boolean {
  return (SERVES_COMMUNITIES as readonly Party[]).includes(kind);
}
