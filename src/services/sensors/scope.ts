/**
 * Which sensors, and which sensors' dead letters, a principal sees. Every query of the sensors
 * service ANDs one of these in, so a row outside the caller's scope is never read (404, not 403).
 */
import { eq, type SQL, sql } from "drizzle-orm";
import { outer } from "../../../db/database.js";
import { deadLetters, sensors } from "../../../db/schema.js";
import type { Principal } from "../../auth/principal.js";
import { communityScope } from "../../auth/scope.js";

const FALSE = sql`false`;

/** Enterprise: its own sensors; OC/PC: their communities'; street office: its street's. */
export function sensorScope(p: Principal): SQL {
  switch (p.role) {
    case "enterprise":
      return eq(sensors.enterpriseOrgId, p.orgId ?? "");
    case "platform_admin":
    case "street_office":
    case "owners_committee":
    case "property_company":
      return communityScope(p, sensors.streetId, sensors.communityId);
  }
}

/**
 * Street office: dead letters of its street's sensors; enterprise: of its own sensors; admin: all
 * (undefined: no condition). The other roles never read them (contracts/permissions.ts).
 */
export function deadLetterScope(p: Principal): SQL | undefined {
  if (p.role === "platform_admin") return undefined;
  return sql`exists (select 1 from ${sensors} s where s.id::text = ${outer(deadLetters.sensorId)} and ${
    p.role === "enterprise"
      ? sql`s.enterprise_org_id = ${p.orgId ?? ""}`
      : p.streetId
        ? sql`s.street_id = ${p.streetId}`
        : FALSE
  })`;
}
