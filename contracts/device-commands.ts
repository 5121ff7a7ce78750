/**
 * Commands to sensors (protocol v1, docs/device-guide in the README): what they are and the states
 * a command passes through. Pure: the rules that refuse a command where it makes no sense live here
 * too, beside the other command tables (contracts/commands.ts, contracts/place-permissions.ts).
 */

/** `release`: let the halted car go; `set_blocking`: stop or resume halting cars; `set_heartbeat`. */
export const DEVICE_COMMAND_TYPES = ["release", "set_blocking", "set_heartbeat"] as const;
export type DeviceCommandType = (typeof DEVICE_COMMAND_TYPES)[number];

/**
 * pending (stored, not yet handed to the broker or fetched over HTTP) → sent → applied | refused
 * (the device's answer) | expired (no answer before `expiresAt`).
 */
export const DEVICE_COMMAND_STATES = ["pending", "sent", "applied", "refused", "expired"] as const;
export type DeviceCommandState = (typeof DEVICE_COMMAND_STATES)[number];

/** The states a device's answer may still change. */
export const OPEN_DEVICE_COMMAND_STATES = [
  "pending",
  "sent",
] as const satisfies readonly DeviceCommandState[];

/** `set_heartbeat`'s bounds (the sensors table's `sensors_heartbeat_interval` check). */
export const HEARTBEAT_INTERVAL_MIN_S = 5;
export const HEARTBEAT_INTERVAL_MAX_S = 3600;

/** The reason a person gives for a command: required, as the audit log records it. */
export const COMMAND_REASON_MAX = 500;

/** The roles a caller acts in (the same as contracts/permissions.ts). */
export type DeviceCommandRole =
  | "platform_admin"
  | "street_office"
  | "owners_committee"
  | "property_company"
  | "enterprise";

/** Who is asking: the role, and its organization (null for the platform admin's ADMIN_TOKEN). */
export interface DeviceCommandActor {
  role: DeviceCommandRole;
  orgId: string | null;
}

/** A command as a person asks for it: the type and its own fields, nothing else allowed. */
export interface DeviceCommandRequest {
  type: DeviceCommandType;
  enabled?: boolean;
  /** When blocking comes back on by itself (only with `enabled: false`). */
  until?: Date;
  /** Seconds between heartbeats (the device receives it as `intervalS`: iot/protocol.ts). */
  intervalSeconds?: number;
}

/** What the decision reads besides the request, loaded by the service (in the caller's scope). */
export interface DeviceCommandFacts {
  sensor: { revoked: boolean; enterpriseOrgId: string };
  /** The open e-bike incident of the sensor's elevator, if there is one. */
  openHaltIncidentId: string | null;
  now: Date;
  /** DEVICE_BLOCKING_OFF_MAX_H: how far ahead blocking may be switched off. */
  blockingOffMaxH: number;
}

export type DeviceCommandRefusalCode =
  | "forbidden"
  | "validation_failed"
  | "sensor_revoked"
  | "no_open_halt"
  | "blocking_off_window";

export interface DeviceCommandRefusal {
  /**
   * 403 the role may not; 400 a field that never fits the type; 409 the sensor or its elevator is
   * not in a state for it; 422 a well-formed `until` outside the window the deployment allows.
   */
  status: 400 | 403 | 409 | 422;
  code: DeviceCommandRefusalCode;
  reason: string;
  /** For a 400 or 422: the request field at fault (`body.until`). */
  field?: string;
}

/** The fields the device receives besides `commandId`, `type`, `issuedAt` and `expiresAt`. */
export type DeviceCommandParams =
  | Record<string, never>
  | { enabled: true }
  | { enabled: false; until: string }
  | { intervalS: number };

export type DeviceCommandDecision =
  | {
      ok: true;
      params: DeviceCommandParams;
      /** For `release`: the e-bike incident it lets go of. */
      incidentId: string | null;
    }
  | { ok: false; refusal: DeviceCommandRefusal };

/**
 * Who may issue commands. The property company runs the elevators day to day (it is alerted of a
 * halt and tells a stroller from an e-bike); the enterprise owns the sensor. The owners committee
 * and the street office watch but do not drive devices (403). The platform admin's ADMIN_TOKEN is
 * no organization, and a command names the organization that issued it (the row's
 * `issued_by_org_id`, the audit row's actor): it is refused too (403), like acknowledging.
 */
export const DEVICE_COMMAND_ISSUERS = [
  "property_company",
  "enterprise",
] as const satisfies readonly DeviceCommandRole[];

/** Whether the role may issue device commands at all (the forms a page offers; the table decides). */
export function mayIssueDeviceCommands(role: DeviceCommandRole): boolean {
  return (DEVICE_COMMAND_ISSUERS as readonly string[]).includes(role);
}

const FIELDS_OF: Record<DeviceCommandType, readonly ("enabled" | "until" | "intervalSeconds")[]> = {
  release: [],
  set_blocking: ["enabled", "until"],
  set_heartbeat: ["intervalSeconds"],
};

const HOUR_MS = 3_600_000;

const refuse = (
  status: DeviceCommandRefusal["status"],
  code: DeviceCommandRefusalCode,
  reason: string,
  field?: string,
): DeviceCommandDecision => ({ ok: false, refusal: { status, code, reason, ...(field ? { field } : {}) } });
const invalid = (field: string, reason: string) => refuse(400, "validation_failed", reason, field);

/**
 * The device-facing fields of a request, whatever the table would say now: what an idempotent
 * replay is compared by (the stored command's `params`), and what the device receives.
 */
export function deviceCommandParams(request: DeviceCommandRequest): DeviceCommandParams {
  switch (request.type) {
    case "release":
      return {};
    case "set_blocking":
      return request.enabled === false
        ? { enabled: false, until: request.until?.toISOString() ?? "" }
        : { enabled: true };
    case "set_heartbeat":
      // The device protocol's name (iot/protocol.ts), which devices in the field speak.
      return { intervalS: request.intervalSeconds ?? 0 };
  }
}

/** When a command issued at `issuedAt` expires unanswered (DEVICE_COMMAND_TTL_S). */
export function commandExpiresAt(issuedAt: Date, ttlS: number): Date {
  return new Date(issuedAt.getTime() + ttlS * 1000);
}

/**
 * Whether `actor` may send `request` to the sensor now. Checks in order: the role (403), the
 * enterprise's own sensor (403), the request's fields for its type (400), a revoked sensor (409),
 * then the type's own rule: an open halt to release (409), blocking off only until a time within
 * the window (422). Call it once the sensor was found in the caller's scope (404 comes first).
 */
export function decideDeviceCommand(
  actor: DeviceCommandActor,
  request: DeviceCommandRequest,
  facts: DeviceCommandFacts,
): DeviceCommandDecision {
  if (!mayIssueDeviceCommands(actor.role)) {
    return refuse(
      403,
      "forbidden",
      `A ${actor.role.replace("_", " ")} may not issue device commands; allowed: ${DEVICE_COMMAND_ISSUERS.join(", ")}.`,
    );
  }
  if (actor.role === "enterprise" && actor.orgId !== facts.sensor.enterpriseOrgId) {
    return refuse(403, "forbidden", "An enterprise issues commands to its own sensors only.");
  }
  const allowed = FIELDS_OF[request.type];
  for (const f of ["enabled", "until", "intervalSeconds"] as const) {
    if (request[f] !== undefined && !allowed.includes(f)) {
      return invalid(`body.${f}`, `is not a field of ${request.type}`);
    }
  }
  if (request.type === "set_blocking") {
    if (request.enabled === undefined) return invalid("body.enabled", "is required for set_blocking");
    if (request.enabled && request.until !== undefined) {
      return invalid("body.until", "is only for switching blocking off (blocking on has no end)");
    }
    if (!request.enabled && request.until === undefined) {
      return invalid("body.until", "is required to switch blocking off: when it comes back on");
    }
  }
  if (request.type === "set_heartbeat") {
    const s = request.intervalSeconds;
    if (s === undefined) return invalid("body.intervalSeconds", "is required for set_heartbeat");
    if (!Number.isInteger(s) || s < HEARTBEAT_INTERVAL_MIN_S || s > HEARTBEAT_INTERVAL_MAX_S) {
      return invalid(
        "body.intervalSeconds",
        `must be a whole number of seconds from ${HEARTBEAT_INTERVAL_MIN_S} to ${HEARTBEAT_INTERVAL_MAX_S}`,
      );
    }
  }
  if (facts.sensor.revoked)
    return refuse(409, "sensor_revoked", "The sensor is revoked; it takes no commands.");
  let incidentId: string | null = null;
  if (request.type === "release") {
    if (!facts.openHaltIncidentId) {
      return refuse(409, "no_open_halt", "The sensor's elevator has no open e-bike halt to release.");
    }
    incidentId = facts.openHaltIncidentId;
  }
  if (request.type === "set_blocking" && request.until) {
    // 422, not 409: nothing about the sensor would make this `until` acceptable later; not 400:
    // the body is well-formed, it is the deployment's window (DEVICE_BLOCKING_OFF_MAX_H) that
    // refuses it, so a client can tell a malformed request from a limit to respect.
    const ahead = request.until.getTime() - facts.now.getTime();
    if (ahead <= 0) return refuse(422, "blocking_off_window", "must be in the future", "body.until");
    if (ahead > facts.blockingOffMaxH * HOUR_MS) {
      return refuse(
        422,
        "blocking_off_window",
        `must be at most ${facts.blockingOffMaxH} hours ahead (DEVICE_BLOCKING_OFF_MAX_H)`,
        "body.until",
      );
    }
  }
  return { ok: true, params: deviceCommandParams(request), incidentId };
}
