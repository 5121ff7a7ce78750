import { describe, expect, it } from "vitest";
import { PARTIES } from "./lifecycle.js";
import {
  CALLER_ROLES,
  type CallerRole,
  decidePlaceCommand,
  FACILITY_STATUSES,
  operatorOfRegistered,
  PLACE_COMMAND_RULES,
  type PlaceActor,
  type PlaceCommand,
  type PlaceCommandType,
  registrationStreet,
} from "./place-permissions.js";

const OWN_STREET = "street-own";
const OTHER_STREET = "street-other";

/** A caller of `role` in its own street (the platform admin: every street, no organization). */
function actor(role: CallerRole, keyRole: PlaceActor["keyRole"] = "admin"): PlaceActor {
  return role === "platform_admin"
    ? { role, orgId: null, streetId: null, keyRole }
    : { role, orgId: `org-${role}`, streetId: OWN_STREET, keyRole };
}

/** One command of each type whose facts allow it for a caller the table admits. */
function sample(type: PlaceCommandType, by: PlaceActor): PlaceCommand {
  switch (type) {
    case "register_community":
      return { type, streetId: OWN_STREET };
    case "read_household_register":
      return { type, hasContractInCommunity: true };
    case "register_organization":
      return { type, kind: "owners_committee", streetId: OWN_STREET, communityIds: ["c-1"] };
    case "change_organization_communities":
      return { type, organization: { kind: "property_company" } };
    case "manage_api_keys":
    case "manage_members":
      return { type, organization: { id: by.orgId ?? "org-street_office", kind: "street_office" } };
    case "change_facility":
      return { type, facility: { status: "planned", operatorOrgId: by.orgId } };
    case "decommission_facility":
      return { type, facility: { status: "planned" }, openContractIds: [] };
    default:
      return { type } as PlaceCommand;
  }
}

/** The table spelled out independently of the code: who may, and whether a member key may too. */
const EXPECTED: Record<PlaceCommandType, { by: readonly CallerRole[]; memberKey: boolean }> = {
  register_district: { by: ["platform_admin"], memberKey: true },
  register_street: { by: ["platform_admin"], memberKey: true },
  register_community: { by: ["platform_admin", "street_office"], memberKey: true },
  register_building: {
    by: ["platform_admin", "street_office", "owners_committee", "property_company"],
    memberKey: true,
  },
  import_household_register: {
    by: ["platform_admin", "street_office", "owners_committee", "property_company"],
    memberKey: true,
  },
  read_household_register: { by: CALLER_ROLES, memberKey: true },
  register_organization: { by: ["platform_admin", "street_office"], memberKey: false },
  change_organization_communities: { by: ["platform_admin", "street_office"], memberKey: false },
  manage_api_keys: { by: CALLER_ROLES, memberKey: false },
  manage_members: { by: CALLER_ROLES, memberKey: false },
  register_facility: { by: ["platform_admin", "street_office", "enterprise"], memberKey: true },
  change_facility: { by: ["platform_admin", "street_office", "enterprise"], memberKey: true },
  decommission_facility: { by: ["platform_admin", "street_office"], memberKey: true },
  read_street_dashboard: { by: ["platform_admin", "street_office"], memberKey: true },
};

const refusal = (status: number, code: string, reason: string, extra: object = {}) => ({
  ok: false,
  refusal: { status, code, reason, ...extra },
});
const forbidden = (reason: string) => refusal(403, "forbidden", reason);

describe("the place command table: every command × role × key", () => {
  it("names the same commands and roles as the independent table", () => {
    expect(Object.keys(PLACE_COMMAND_RULES).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [type, rule] of Object.entries(PLACE_COMMAND_RULES)) {
      const expected = EXPECTED[type as PlaceCommandType];
      expect([...rule.roles].sort(), type).toEqual([...expected.by].sort());
      expect(rule.adminKey === true, type).toBe(!expected.memberKey);
    }
  });

  for (const type of Object.keys(EXPECTED) as PlaceCommandType[]) {
    it(type, () => {
      const { by, memberKey } = EXPECTED[type];
      const { action } = PLACE_COMMAND_RULES[type];
      for (const role of CALLER_ROLES) {
        for (const keyRole of ["admin", "member"] as const) {
          const caller = actor(role, keyRole);
          const d = decidePlaceCommand(caller, sample(type, caller));
          const label = `${role} (${keyRole} key)`;
          if (!by.includes(role)) {
            // The role is checked first, whatever the key and the target.
            expect(d, label).toEqual(
              forbidden(`A ${role.replace("_", " ")} may not ${action}; allowed: ${by.join(", ")}.`),
            );
          } else if (keyRole === "member" && !memberKey) {
            expect(d, label).toEqual(forbidden(`Only an admin key may ${action}.`));
          } else {
            expect(d, label).toEqual({ ok: true });
          }
        }
      }
    });
  }
});

describe("communities and organizations are registered in the caller's street", () => {
  const STREETS = [undefined, OWN_STREET, OTHER_STREET];

  it("the platform admin names any street and must name one; a street office only its own", () => {
    for (const requested of STREETS) {
      const byAdmin = decidePlaceCommand(actor("platform_admin"), {
        type: "register_community",
        streetId: requested,
      });
      const bySO = decidePlaceCommand(actor("street_office"), {
        type: "register_community",
        streetId: requested,
      });
      if (requested === undefined) {
        expect(byAdmin).toEqual(
          refusal(400, "validation_failed", "is required for the platform admin", { field: "body.streetId" }),
        );
      } else expect(byAdmin).toEqual({ ok: true });
      expect(bySO).toEqual(
        requested === OTHER_STREET
          ? forbidden("A street office registers communities in its own street only.")
          : { ok: true },
      );
    }
    expect(registrationStreet(actor("platform_admin"), OTHER_STREET)).toBe(OTHER_STREET);
    expect(registrationStreet(actor("platform_admin"), undefined)).toBeNull();
    expect(registrationStreet(actor("street_office"), undefined)).toBe(OWN_STREET);
  });

  it("organizations: every kind × street × communities, for each role that may register", () => {
    for (const role of ["platform_admin", "street_office"] as const) {
      for (const kind of PARTIES) {
        for (const streetId of STREETS) {
          for (const communityIds of [[], ["c-1"]]) {
            const d = decidePlaceCommand(actor(role), {
              type: "register_organization",
              kind,
              streetId,
              communityIds,
            });
            const label = `${role} registers a ${kind} in ${streetId} serving ${communityIds.length}`;
            const serves = kind === "owners_committee" || kind === "property_company";
            if (role === "street_office" && kind === "street_office") {
              expect(d, label).toEqual(forbidden("Street offices are registered by the platform admin."));
            } else if (role === "platform_admin" && streetId === undefined) {
              expect(d, label).toMatchObject({ ok: false, refusal: { status: 400, field: "body.streetId" } });
            } else if (role === "street_office" && streetId === OTHER_STREET) {
              expect(d, label).toEqual(
                forbidden("A street office registers organizations in its own street only."),
              );
            } else if (!serves && communityIds.length) {
              expect(d, label).toEqual(
                refusal(400, "validation_failed", `a ${kind} serves no communities`, {
                  field: "body.communityIds",
                }),
              );
            } else {
              expect(d, label).toEqual({ ok: true });
            }
          }
        }
      }
    }
  });

  it("only owners committees and property companies serve communities", () => {
    for (const kind of PARTIES) {
      const d = decidePlaceCommand(actor("street_office"), {
        type: "change_organization_communities",
        organization: { kind },
      });
      expect(d, kind).toEqual(
        kind === "owners_committee" || kind === "property_company"
          ? { ok: true }
          : refusal(400, "validation_failed", `a ${kind} serves no communities`, {
              field: "body.communityIds",
            }),
      );
    }
  });
});

describe("API keys and members are managed by the organization's own admins", () => {
  it.each([
    ["manage_api_keys", "Only the organization's own admin keys may manage its keys."],
    ["manage_members", "Only the organization's own admins may manage its members."],
  ] as const)("%s: every role × the organization's kind, own or another's", (type, reason) => {
    for (const role of CALLER_ROLES) {
      for (const kind of PARTIES) {
        for (const own of [true, false]) {
          const caller = actor(role);
          const organization = { id: own && caller.orgId ? caller.orgId : "org-another", kind };
          const d = decidePlaceCommand(caller, { type, organization });
          const label = `${role} on ${own ? "its own" : "another"} ${kind}`;
          if ((own && role !== "platform_admin") || (role === "platform_admin" && kind === "street_office")) {
            expect(d, label).toEqual({ ok: true });
          } else {
            expect(d, label).toEqual(forbidden(reason));
          }
        }
      }
    }
  });
});

describe("the household register is personal data", () => {
  it("an enterprise reads it only in a community where it has a contract (404 otherwise); the others always", () => {
    for (const role of CALLER_ROLES) {
      for (const hasContractInCommunity of [true, false]) {
        const d = decidePlaceCommand(actor(role), {
          type: "read_household_register",
          hasContractInCommunity,
        });
        expect(d, `${role} ${hasContractInCommunity}`).toEqual(
          role === "enterprise" && !hasContractInCommunity
            ? refusal(404, "not_found", "The building was not found.")
            : { ok: true },
        );
      }
    }
  });
});

describe("facilities", () => {
  const OPERATORS = ["self", "another", null] as const;

  it("an enterprise registers facilities it then operates; the street office leaves the operator open", () => {
    expect(operatorOfRegistered(actor("enterprise"))).toBe("org-enterprise");
    expect(operatorOfRegistered(actor("street_office"))).toBeNull();
    expect(operatorOfRegistered(actor("platform_admin"))).toBeNull();
  });

  it("change: every role × status × operator", () => {
    for (const role of CALLER_ROLES) {
      for (const status of FACILITY_STATUSES) {
        for (const operator of OPERATORS) {
          const caller = actor(role);
          const operatorOrgId = operator === "self" ? caller.orgId : operator === "another" ? "org-x" : null;
          const d = decidePlaceCommand(caller, {
            type: "change_facility",
            facility: { status, operatorOrgId },
          });
          const label = `${role} on a ${status} facility operated by ${operator}`;
          if (role === "owners_committee" || role === "property_company") {
            expect(d, label).toMatchObject({ ok: false, refusal: { status: 403, code: "forbidden" } });
          } else if (role === "enterprise" && operator !== "self") {
            expect(d, label).toEqual(forbidden("Only the enterprise operating the facility may change it."));
          } else if (status === "decommissioned") {
            expect(d, label).toEqual(
              refusal(409, "facility_state", "A decommissioned facility can no longer be changed.", {
                facilityState: "decommissioned",
              }),
            );
          } else {
            expect(d, label).toEqual({ ok: true });
          }
        }
      }
    }
  });

  it("decommission: every role × status × open contracts", () => {
    for (const role of CALLER_ROLES) {
      for (const status of FACILITY_STATUSES) {
        for (const openContractIds of [[], ["k-1", "k-2"]]) {
          const d = decidePlaceCommand(actor(role), {
            type: "decommission_facility",
            facility: { status },
            openContractIds,
          });
          const label = `${role} on a ${status} facility with ${openContractIds.length} open contracts`;
          if (role !== "platform_admin" && role !== "street_office") {
            expect(d, label).toMatchObject({ ok: false, refusal: { status: 403, code: "forbidden" } });
          } else if (status !== "planned" && status !== "transferred") {
            expect(d, label).toEqual(
              refusal(
                409,
                "facility_state",
                `A facility that is ${status.replace("_", " ")} cannot be decommissioned; only a planned or transferred one.`,
                { facilityState: status },
              ),
            );
          } else if (openContractIds.length) {
            expect(d, label).toEqual(
              refusal(
                409,
                "facility_under_contract",
                "The facility is part of a contract that is still open; terminate or finish it first.",
                { facilityState: status, contractIds: openContractIds },
              ),
            );
          } else {
            expect(d, label).toEqual({ ok: true });
          }
        }
      }
    }
  });
});
