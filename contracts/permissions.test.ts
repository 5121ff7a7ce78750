import { describe, expect, it } from "vitest";
import {
  decidePermission,
  PERMISSION_ROLES,
  PERMISSIONS,
  type PermissionCommand,
  type PermissionCommandType,
  type PermissionDecision,
  type PermissionRefusal,
  type PermissionRefusalCode,
  type PermissionRole,
} from "./permissions.js";

/** Who may issue each command and what the 403 calls it, spelled out independently of the code. */
const EXPECTED: Record<
  PermissionCommandType,
  { roles: readonly PermissionRole[]; action: string; organization: boolean }
> = {
  read_sensors: { roles: PERMISSION_ROLES, action: "read sensors", organization: false },
  register_sensor: { roles: ["enterprise"], action: "register sensors", organization: true },
  rotate_sensor_key: { roles: ["enterprise"], action: "rotate sensor keys", organization: false },
  revoke_sensor: { roles: ["enterprise"], action: "revoke sensors", organization: false },
  read_dead_letters: {
    roles: ["platform_admin", "street_office", "enterprise"],
    action: "read dead letters",
    organization: false,
  },
  read_incidents: { roles: PERMISSION_ROLES, action: "read incidents", organization: false },
  acknowledge_incident: { roles: ["property_company"], action: "acknowledge incidents", organization: true },
  read_snapshots: {
    roles: ["owners_committee", "property_company"],
    action: "see incident snapshots",
    organization: true,
  },
};

/** The roles as the API's messages spell them ("A street office may not …"). */
const ROLE_WORDS: Record<PermissionRole, string> = {
  platform_admin: "platform admin",
  street_office: "street office",
  owners_committee: "owners committee",
  property_company: "property company",
  enterprise: "enterprise",
};

const bools = [false, true] as const;

/** Every state a command's preconditions can see. */
function everyState(type: PermissionCommandType): PermissionCommand[] {
  switch (type) {
    case "read_sensors":
    case "read_dead_letters":
    case "read_incidents":
    case "read_snapshots":
      return [{ type }];
    case "register_sensor":
      return [
        { type, facility: null },
        ...bools.flatMap((isElevator) =>
          bools.map((operatedByActor) => ({ type, facility: { isElevator, operatedByActor } })),
        ),
      ];
    case "rotate_sensor_key":
    case "revoke_sensor":
      return bools.map((revoked) => ({ type, sensor: { revoked } }));
    case "acknowledge_incident":
      return (["ebike", "sensor_offline"] as const).flatMap((kind) =>
        bools.flatMap((acknowledged) =>
          (["confirmed", "false_alarm"] as const).flatMap((classification) =>
            bools.map((hasReason) => ({
              type,
              incident: { kind, acknowledged },
              classification,
              hasReason,
            })),
          ),
        ),
      );
  }
}

const refused = (
  status: PermissionRefusal["status"],
  code: PermissionRefusalCode,
  reason: string,
  field?: string,
): PermissionDecision => ({ ok: false, refusal: { status, code, reason, ...(field ? { field } : {}) } });

/** What an allowed role with an organization's key gets, by the state of the thing acted on. */
function expectedForAllowedRole(c: PermissionCommand): PermissionDecision {
  switch (c.type) {
    case "read_sensors":
    case "read_dead_letters":
    case "read_incidents":
    case "read_snapshots":
      return { ok: true };
    case "register_sensor":
      return c.facility?.isElevator && c.facility.operatedByActor
        ? { ok: true }
        : refused(400, "validation_failed", "is not an elevator your enterprise operates", "body.facilityId");
    case "rotate_sensor_key":
      return c.sensor.revoked
        ? refused(409, "sensor_revoked", "The sensor is revoked; register a new one.")
        : { ok: true };
    case "revoke_sensor":
      return c.sensor.revoked
        ? refused(409, "sensor_revoked", "The sensor is already revoked.")
        : { ok: true };
    case "acknowledge_incident":
      // The request's own fields first (400), then the incident's kind, then whether it was acknowledged.
      if (c.classification === "false_alarm" && !c.hasReason)
        return refused(400, "validation_failed", "is required for a false alarm", "body.reason");
      if (c.classification === "confirmed" && c.hasReason)
        return refused(400, "validation_failed", "is only for a false alarm", "body.reason");
      if (c.incident.kind !== "ebike")
        return refused(409, "not_classifiable", "Only e-bike incidents are acknowledged and classified.");
      if (c.incident.acknowledged)
        return refused(409, "already_acknowledged", "The incident was already acknowledged.");
      return { ok: true };
  }
}

const TYPES = Object.keys(EXPECTED) as PermissionCommandType[];

describe("the permission table of sensors and incidents: every command × role × state", () => {
  it("names the same commands, roles and actions as the independent table", () => {
    expect(Object.keys(PERMISSIONS).sort()).toEqual([...TYPES].sort());
    for (const type of TYPES) {
      expect([...PERMISSIONS[type].roles].sort(), type).toEqual([...EXPECTED[type].roles].sort());
      expect(PERMISSIONS[type].action, type).toBe(EXPECTED[type].action);
      expect(PERMISSIONS[type].organization, type).toBe(EXPECTED[type].organization);
    }
  });

  for (const type of TYPES) {
    it(type, () => {
      const rule = EXPECTED[type];
      for (const role of PERMISSION_ROLES) {
        for (const organization of bools) {
          for (const command of everyState(type)) {
            const what = `${role} (${organization ? "an organization's key" : "no organization"}): ${JSON.stringify(command)}`;
            const decision = decidePermission(command, { role, organization });
            if (!rule.roles.includes(role)) {
              // The role is checked before anything else: a 403 whatever the state.
              expect(decision, what).toEqual(
                refused(
                  403,
                  "forbidden",
                  `A ${ROLE_WORDS[role]} may not ${rule.action}; allowed: ${rule.roles.join(", ")}.`,
                ),
              );
            } else if (rule.organization && !organization) {
              expect(decision, what).toEqual(
                refused(403, "forbidden", `Only an organization's key may ${rule.action}.`),
              );
            } else {
              expect(decision, what).toEqual(expectedForAllowedRole(command));
            }
          }
        }
      }
    });
  }
});

describe("the answers the API gives today", () => {
  it("only the enterprise operating an elevator registers a sensor on it", () => {
    const operated = {
      type: "register_sensor",
      facility: { isElevator: true, operatedByActor: true },
    } as const;
    expect(decidePermission(operated, { role: "enterprise", organization: true })).toEqual({ ok: true });
    expect(decidePermission(operated, { role: "street_office", organization: true })).toEqual(
      refused(403, "forbidden", "A street office may not register sensors; allowed: enterprise."),
    );
    expect(
      decidePermission(
        { type: "register_sensor", facility: { isElevator: true, operatedByActor: false } },
        { role: "enterprise", organization: true },
      ),
    ).toEqual(
      refused(400, "validation_failed", "is not an elevator your enterprise operates", "body.facilityId"),
    );
  });

  it("the property company classifies; the owners committee and the enterprise may not", () => {
    const ack = {
      type: "acknowledge_incident",
      incident: { kind: "ebike", acknowledged: false },
      classification: "confirmed",
      hasReason: false,
    } as const;
    expect(decidePermission(ack, { role: "property_company", organization: true })).toEqual({ ok: true });
    expect(decidePermission(ack, { role: "enterprise", organization: true })).toEqual(
      refused(403, "forbidden", "A enterprise may not acknowledge incidents; allowed: property_company."),
    );
    expect(decidePermission(ack, { role: "owners_committee", organization: true })).toEqual(
      refused(
        403,
        "forbidden",
        "A owners committee may not acknowledge incidents; allowed: property_company.",
      ),
    );
  });

  it("dead letters: the platform admin, the street office and the enterprise", () => {
    expect(
      decidePermission({ type: "read_dead_letters" }, { role: "property_company", organization: true }),
    ).toEqual(
      refused(
        403,
        "forbidden",
        "A property company may not read dead letters; allowed: platform_admin, street_office, enterprise.",
      ),
    );
    expect(
      decidePermission({ type: "read_dead_letters" }, { role: "platform_admin", organization: false }),
    ).toEqual({
      ok: true,
    });
  });
});
