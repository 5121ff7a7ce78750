import { describe, expect, it } from "vitest";
import {
  commandExpiresAt,
  DEVICE_COMMAND_TYPES,
  type DeviceCommandActor,
  type DeviceCommandFacts,
  type DeviceCommandRequest,
  type DeviceCommandRole,
  type DeviceCommandType,
  decideDeviceCommand,
  deviceCommandParams,
} from "./device-commands.js";

const NOW = new Date("2026-12-05T02:00:00.000Z");
const HOUR = 3_600_000;
const OWNER = "org-enterprise";

const ROLES: readonly DeviceCommandRole[] = [
  "platform_admin",
  "street_office",
  "owners_committee",
  "property_company",
  "enterprise",
];

function actor(role: DeviceCommandRole): DeviceCommandActor {
  if (role === "platform_admin") return { role, orgId: null };
  return { role, orgId: role === "enterprise" ? OWNER : `org-${role}` };
}

function facts(overrides: Partial<DeviceCommandFacts> = {}): DeviceCommandFacts {
  return {
    sensor: { revoked: false, enterpriseOrgId: OWNER },
    openHaltIncidentId: "incident-1",
    now: NOW,
    blockingOffMaxH: 24,
    ...overrides,
  };
}

/** A request of each type that the table allows for an issuer. */
const SAMPLE: Record<DeviceCommandType, DeviceCommandRequest> = {
  release: { type: "release" },
  set_blocking: { type: "set_blocking", enabled: false, until: new Date(NOW.getTime() + 2 * HOUR) },
  set_heartbeat: { type: "set_heartbeat", intervalSeconds: 60 },
};

/** Who may issue, spelled out independently of the code. */
const MAY_ISSUE: Record<DeviceCommandRole, boolean> = {
  platform_admin: false,
  street_office: false,
  owners_committee: false,
  property_company: true,
  enterprise: true,
};

const refusal = (status: number, code: string, reason: string, field?: string) => ({
  ok: false,
  refusal: { status, code, reason, ...(field ? { field } : {}) },
});

describe("the device command table: every type × role", () => {
  for (const type of DEVICE_COMMAND_TYPES) {
    for (const role of ROLES) {
      it(`${role} ${MAY_ISSUE[role] ? "may" : "may not"} issue ${type}`, () => {
        const decision = decideDeviceCommand(actor(role), SAMPLE[type], facts());
        if (MAY_ISSUE[role]) {
          expect(decision.ok).toBe(true);
        } else {
          expect(decision).toEqual(
            refusal(
              403,
              "forbidden",
              `A ${role.replace("_", " ")} may not issue device commands; allowed: property_company, enterprise.`,
            ),
          );
        }
      });
    }
  }

  it("an enterprise may not command another enterprise's sensor", () => {
    const other = { role: "enterprise", orgId: "org-other" } as const;
    expect(decideDeviceCommand(other, SAMPLE.release, facts())).toEqual(
      refusal(403, "forbidden", "An enterprise issues commands to its own sensors only."),
    );
  });

  it("a revoked sensor takes no command of any type", () => {
    for (const type of DEVICE_COMMAND_TYPES) {
      expect(
        decideDeviceCommand(
          actor("property_company"),
          SAMPLE[type],
          facts({ sensor: { revoked: true, enterpriseOrgId: OWNER } }),
        ),
      ).toEqual(refusal(409, "sensor_revoked", "The sensor is revoked; it takes no commands."));
    }
  });
});

describe("release", () => {
  it("records the open halt it lets go of, and sends no fields", () => {
    expect(decideDeviceCommand(actor("property_company"), SAMPLE.release, facts())).toEqual({
      ok: true,
      params: {},
      incidentId: "incident-1",
    });
  });

  it("is refused when the elevator has no open e-bike halt", () => {
    expect(
      decideDeviceCommand(actor("enterprise"), SAMPLE.release, facts({ openHaltIncidentId: null })),
    ).toEqual(refusal(409, "no_open_halt", "The sensor's elevator has no open e-bike halt to release."));
  });

  it("takes none of the other types' fields", () => {
    expect(
      decideDeviceCommand(actor("property_company"), { type: "release", intervalSeconds: 30 }, facts()),
    ).toEqual(refusal(400, "validation_failed", "is not a field of release", "body.intervalSeconds"));
  });
});

describe("set_blocking", () => {
  const off = (hoursAhead: number): DeviceCommandRequest => ({
    type: "set_blocking",
    enabled: false,
    until: new Date(NOW.getTime() + hoursAhead * HOUR),
  });

  it("off until a time within the window: the device gets enabled false and until", () => {
    expect(decideDeviceCommand(actor("property_company"), off(24), facts())).toEqual({
      ok: true,
      params: { enabled: false, until: new Date(NOW.getTime() + 24 * HOUR).toISOString() },
      incidentId: null,
    });
  });

  it("on takes no until and needs no halt", () => {
    expect(
      decideDeviceCommand(
        actor("enterprise"),
        { type: "set_blocking", enabled: true },
        facts({ openHaltIncidentId: null }),
      ),
    ).toEqual({ ok: true, params: { enabled: true }, incidentId: null });
    expect(
      decideDeviceCommand(
        actor("enterprise"),
        { type: "set_blocking", enabled: true, until: new Date(NOW.getTime() + HOUR) },
        facts(),
      ),
    ).toEqual(
      refusal(
        400,
        "validation_failed",
        "is only for switching blocking off (blocking on has no end)",
        "body.until",
      ),
    );
  });

  it("off needs until; enabled is required", () => {
    expect(
      decideDeviceCommand(actor("property_company"), { type: "set_blocking", enabled: false }, facts()),
    ).toEqual(
      refusal(
        400,
        "validation_failed",
        "is required to switch blocking off: when it comes back on",
        "body.until",
      ),
    );
    expect(decideDeviceCommand(actor("property_company"), { type: "set_blocking" }, facts())).toEqual(
      refusal(400, "validation_failed", "is required for set_blocking", "body.enabled"),
    );
  });

  it("until in the past, now, or beyond DEVICE_BLOCKING_OFF_MAX_H is refused with 422", () => {
    for (const h of [-1, 0]) {
      expect(decideDeviceCommand(actor("property_company"), off(h), facts())).toEqual(
        refusal(422, "blocking_off_window", "must be in the future", "body.until"),
      );
    }
    expect(decideDeviceCommand(actor("property_company"), off(24.01), facts())).toEqual(
      refusal(
        422,
        "blocking_off_window",
        "must be at most 24 hours ahead (DEVICE_BLOCKING_OFF_MAX_H)",
        "body.until",
      ),
    );
    expect(decideDeviceCommand(actor("property_company"), off(30), facts({ blockingOffMaxH: 48 })).ok).toBe(
      true,
    );
  });
});

describe("set_heartbeat", () => {
  it("takes 5 to 3600 whole seconds (the sensors table's check)", () => {
    for (const s of [5, 3600]) {
      expect(
        decideDeviceCommand(actor("enterprise"), { type: "set_heartbeat", intervalSeconds: s }, facts()),
      ).toEqual({ ok: true, params: { intervalS: s }, incidentId: null });
    }
    for (const s of [4, 3601, 30.5]) {
      expect(
        decideDeviceCommand(actor("enterprise"), { type: "set_heartbeat", intervalSeconds: s }, facts()),
      ).toEqual(
        refusal(
          400,
          "validation_failed",
          "must be a whole number of seconds from 5 to 3600",
          "body.intervalSeconds",
        ),
      );
    }
    expect(decideDeviceCommand(actor("enterprise"), { type: "set_heartbeat" }, facts())).toEqual(
      refusal(400, "validation_failed", "is required for set_heartbeat", "body.intervalSeconds"),
    );
  });
});

describe("params and expiry", () => {
  it("params are what a replay is compared by, whatever the table says now", () => {
    expect(deviceCommandParams({ type: "release" })).toEqual({});
    expect(deviceCommandParams({ type: "set_blocking", enabled: true })).toEqual({ enabled: true });
    expect(deviceCommandParams({ type: "set_heartbeat", intervalSeconds: 10 })).toEqual({ intervalS: 10 });
  });

  it("expires DEVICE_COMMAND_TTL_S after it was issued", () => {
    expect(commandExpiresAt(NOW, 120).toISOString()).toBe("2026-12-05T02:02:00.000Z");
  });
});
