/**
 * The permission table of sensors and incidents: the commands that act on no contract. For each,
 * the roles that may issue it, whether it needs an organization's key, and what the thing it acts
 * on must be like — with, for a refusal, a status, a reason code and a sentence. `decidePermission`
 * is pure: the sensors and incidents services load what the command needs, ask, and write only on
 * `ok`. Which rows a role sees (404 outside its scope) is the services' query, not a decision here.
 * The commands on a contract have their own table (contracts/commands.ts).
 */
import type { Party } from "./lifecycle.js";

/** Every role a caller acts in: an organization's kind, or the platform's bootstrap admin. */
export const PERMISSION_ROLES = [
  "platform_admin",
  "street_office",
  "owners_committee",
  "property_company",
  "enterprise",
] as const satisfies readonly (Party | "platform_admin")[];
export type PermissionRole = (typeof PERMISSION_ROLES)[number];

/** Who is asking: the role, and whether the key is an organization's (ADMIN_TOKEN is not). */
export interface PermissionActor {
  role: PermissionRole;
  organization: boolean;
}

/** A command and what its preconditions look at, loaded by the service before it asks. */
export type PermissionCommand =
  /** Sensors and their health in the caller's scope (list, one). */
  | { type: "read_sensors" }
  /**
   * Register a sensor on `facility`: null when no facility has the id given. Only the enterprise
   * operating an elevator puts a sensor in it.
   */
  | { type: "register_sensor"; facility: { isElevator: boolean; operatedByActor: boolean } | null }
  | { type: "rotate_sensor_key"; sensor: { revoked: boolean } }
  | { type: "revoke_sensor"; sensor: { revoked: boolean } }
  | { type: "read_dead_letters" }
  /** Incidents in the caller's scope: the list, one, the live feed and the statistics. */
  | { type: "read_incidents" }
  /** The snapshots of an incident's e-bike detections (evidence, shown to those who act on it). */
  | { type: "read_snapshots" }
  | {
      type: "acknowledge_incident";
      incident: { kind: "ebike" | "sensor_offline"; acknowledged: boolean };
      classification: "confirmed" | "false_alarm";
      /** Whether a false-alarm reason was given. */
      hasReason: boolean;
    };
export type PermissionCommandType = PermissionCommand["type"];

export type PermissionRefusalCode =
  | "forbidden"
  | "validation_failed"
  | "sensor_revoked"
  | "not_classifiable"
  | "already_acknowledged";

export interface PermissionRefusal {
  /** 403 the role may not; 400 a field of the request; 409 not in the state the thing is in. */
  status: 400 | 403 | 409;
  code: PermissionRefusalCode;
  /** What is wrong, in a sentence (for a 400: the field's message). */
  reason: string;
  /** For a 400: the request field at fault (`body.facilityId`). */
  field?: string;
}

export type PermissionDecision = { ok: true } | { ok: false; refusal: PermissionRefusal };

type CommandOf<T extends PermissionCommandType> = Extract<PermissionCommand, { type: T }>;

interface PermissionRule<T extends PermissionCommandType> {
  roles: readonly PermissionRole[];
  /** What the command does, as in "may not <action>". */
  action: string;
  /** Only an organization's key may issue it (the organization is written on the row). */
  organization: boolean;
  /** Checked in order once the role is allowed: the first refusal wins. */
  preconditions: readonly ((c: CommandOf<T>) => PermissionRefusal | null)[];
}

const EVERYONE = PERMISSION_ROLES;

const invalid = (field: string, reason: string): PermissionRefusal => ({
  status: 400,
  code: "validation_failed",
  reason,
  field,
});
const conflict = (code: PermissionRefusalCode, reason: string): PermissionRefusal => ({
  status: 409,
  code,
  reason,
});

/** The table: each command's roles, and its preconditions in the order they are checked. */
export const PERMISSIONS: { [T in PermissionCommandType]: PermissionRule<T> } = {
  read_sensors: { roles: EVERYONE, action: "read sensors", organization: false, preconditions: [] },
  register_sensor: {
    roles: ["enterprise"],
    action: "register sensors",
    organization: true,
    preconditions: [
      (c) =>
        c.facility?.isElevator && c.facility.operatedByActor
          ? null
          : invalid("body.facilityId", "is not an elevator your enterprise operates"),
    ],
  },
  rotate_sensor_key: {
    roles: ["enterprise"],
    action: "rotate sensor keys",
    organization: false,
    preconditions: [
      (c) =>
        c.sensor.revoked ? conflict("sensor_revoked", "The sensor is revoked; register a new one.") : null,
    ],
  },
  revoke_sensor: {
    roles: ["enterprise"],
    action: "revoke sensors",
    organization: false,
    preconditions: [
      (c) => (c.sensor.revoked ? conflict("sensor_revoked", "The sensor is already revoked.") : null),
    ],
  },
  read_dead_letters: {
    roles: ["platform_admin", "street_office", "enterprise"],
    action: "read dead letters",
    organization: false,
    preconditions: [],
  },
  read_incidents: { roles: EVERYONE, action: "read incidents", organization: false, preconditions: [] },
  read_snapshots: {
    roles: ["owners_committee", "property_company"],
    action: "see incident snapshots",
    organization: true,
    preconditions: [],
  },
  acknowledge_incident: {
    roles: ["property_company"],
    action: "acknowledge incidents",
    organization: true,
    preconditions: [
      (c) =>
        c.classification === "false_alarm" && !c.hasReason
          ? invalid("body.reason", "is required for a false alarm")
          : null,
      (c) =>
        c.classification === "confirmed" && c.hasReason
          ? invalid("body.reason", "is only for a false alarm")
          : null,
      (c) =>
        c.incident.kind !== "ebike"
          ? conflict("not_classifiable", "Only e-bike incidents are acknowledged and classified.")
          : null,
      (c) =>
        c.incident.acknowledged
          ? conflict("already_acknowledged", "The incident was already acknowledged.")
          : null,
    ],
  },
};

/** "A street office may not …; allowed: enterprise." (role names as the API spells them). */
function roleRefusal(
  role: PermissionRole,
  action: string,
  roles: readonly PermissionRole[],
): PermissionRefusal {
  return {
    status: 403,
    code: "forbidden",
    reason: `A ${role.replace("_", " ")} may not ${action}; allowed: ${roles.join(", ")}.`,
  };
}

/**
 * Whether `actor` may issue `command` now. Checks in order: the role (403), an organization's key
 * where the command writes the organization (403), then the command's preconditions (400, 409).
 * Call it once the thing acted on was found in the caller's scope (else 404 comes first).
 */
export function decidePermission(command: PermissionCommand, actor: PermissionActor): PermissionDecision {
  const rule = PERMISSIONS[command.type] as PermissionRule<PermissionCommandType>;
  if (!rule.roles.includes(actor.role)) {
    return { ok: false, refusal: roleRefusal(actor.role, rule.action, rule.roles) };
  }
  if (rule.organization && !actor.organization) {
    return {
      ok: false,
      refusal: { status: 403, code: "forbidden", reason: `Only an organization's key may ${rule.action}.` },
    };
  }
  for (const check of rule.preconditions) {
    const refusal = check(command);
    if (refusal) return { ok: false, refusal };
  }
  return { ok: true };
}
