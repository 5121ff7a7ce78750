/** How the broker admin brings a role from before commands up to date (iot/dynsec-admin.ts aclChanges). */
import { describe, expect, it } from "vitest";
import { type Acl, INGEST_ROLE, ingestRole, sensorRole } from "../../iot/dynsec.js";
import { aclChanges } from "../../iot/dynsec-admin.js";

const SENSOR = "0b4c2c3e-1111-4222-8333-944445555666";
const own = `bot/v1/sensors/${SENSOR}/#`;
const legacy: Acl[] = [
  { acltype: "publishClientSend", topic: own, allow: true },
  { acltype: "publishClientReceive", topic: own, allow: true },
  { acltype: "subscribePattern", topic: own, allow: true },
];

describe("roles from before commands", () => {
  it("a sensor's whole-prefix role becomes exactly its own topics (no publishing commands)", () => {
    const role = sensorRole(SENSOR);
    const changes = aclChanges(role.rolename, legacy, role.acls, true);
    expect(changes.filter((c) => c.command === "removeRoleACL").map((c) => [c.acltype, c.topic])).toEqual(
      legacy.map((a) => [a.acltype, a.topic]),
    );
    expect(changes.filter((c) => c.command === "addRoleACL").map((c) => [c.acltype, c.topic])).toEqual(
      role.acls.map((a) => [a.acltype, a.topic]),
    );
    expect(role.acls.some((a) => a.acltype === "publishClientSend" && a.topic.endsWith("/commands"))).toBe(
      false,
    );
    // Up to date: nothing to do.
    expect(aclChanges(role.rolename, role.acls, role.acls, true)).toEqual([]);
  });

  it("the app's role only gains what it lacks; what the operator added stays", () => {
    const extra: Acl = {
      acltype: "subscribePattern",
      topic: "$share/bench/bot/v1/sensors/+/events",
      allow: true,
    };
    const old = ingestRole().acls.filter((a) => !a.topic.includes("command"));
    const changes = aclChanges(INGEST_ROLE, [...old, extra], ingestRole().acls, false);
    expect(changes.every((c) => c.command === "addRoleACL")).toBe(true);
    expect(changes.map((c) => c.topic).sort()).toEqual(
      ingestRole()
        .acls.filter((a) => a.topic.includes("command"))
        .map((a) => a.topic)
        .sort(),
    );
  });
});
