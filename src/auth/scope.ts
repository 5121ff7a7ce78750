import { type AnyColumn, and, eq, inArray, isNull, or, type Placeholder, type SQL, sql } from "drizzle-orm";
import { outer } from "../../db/database.js";
import { contracts, facilities } from "../../db/schema.js";
import { ApiError } from "../errors.js";
import { isOrgPrincipal, type OrgPrincipal, type Principal, type Role } from "./principal.js";

/**
 * What each role may see. Every query of a resource ANDs one of these conditions in, so a row
 * outside the caller's scope is never read (and answers 404, not 403: its existence stays hidden).
 */
const TRUE = sql`true`;
const FALSE = sql`false`;

function inList(column: AnyColumn, ids: readonly (string | Placeholder)[]): SQL {
  return ids.length ? inArray(column, ids) : FALSE;
}

/** Rows of a street: the platform admin sees every street, everyone else only their own. */
export function streetScope(p: Principal, streetColumn: AnyColumn): SQL {
  return p.streetId === null ? TRUE : eq(streetColumn, p.streetId);
}

/** Community-level data (buildings, households): the street's, or an OC/PC's own communities. */
export function communityScope(p: Principal, streetColumn: AnyColumn, communityColumn: AnyColumn): SQL {
  switch (p.role) {
    case "owners_committee":
    case "property_company":
      return inList(communityColumn, p.communityIds);
    default:
      return streetScope(p, streetColumn);
  }
}

export function contractScope(p: Principal): SQL {
  return contractScopeOver(p.role, {
    orgId: p.orgId ?? "",
    streetId: p.streetId,
    communityIds: p.communityIds,
  });
}

/**
 * `contractScope(p)` with placeholders for the principal's values, for a hot read prepared once
 * per `shape` (the role, and how many communities) and run with `values`. The condition is the
 * same function's, so a prepared statement can never scope differently from a built one.
 */
export function preparedContractScope(p: Principal): {
  shape: string;
  where: SQL;
  values: Record<string, string>;
} {
  const values: Record<string, string> = {};
  const bind = (name: string, value: string) => {
    values[name] = value;
    return sql.placeholder(name);
  };
  const where = contractScopeOver(p.role, {
    orgId: bind("scopeOrgId", p.orgId ?? ""),
    streetId: p.streetId === null ? null : bind("scopeStreetId", p.streetId),
    communityIds: p.communityIds.map((id, i) => bind(`scopeCommunity${i}`, id)),
  });
  return {
    shape: `${p.role}:${p.streetId === null ? "any" : "street"}:${p.communityIds.length}`,
    where,
    values,
  };
}

/** What a contract's scope compares with: the principal's values, or placeholders standing for them. */
interface ScopeValues {
  orgId: string | Placeholder;
  streetId: string | Placeholder | null;
  communityIds: readonly (string | Placeholder)[];
}

function contractScopeOver(role: Role, v: ScopeValues): SQL {
  switch (role) {
    case "platform_admin":
      return TRUE;
    case "street_office":
      return v.streetId === null ? TRUE : eq(contracts.streetId, v.streetId);
    case "enterprise":
      return eq(contracts.enterpriseOrgId, v.orgId);
    case "owners_committee":
      return (
        or(eq(contracts.ownersCommitteeOrgId, v.orgId), inList(contracts.communityId, v.communityIds)) ??
        FALSE
      );
    case "property_company":
      return (
        or(eq(contracts.propertyCompanyOrgId, v.orgId), inList(contracts.communityId, v.communityIds)) ??
        FALSE
      );
  }
}

/**
 * Facilities: the street office its street; OC/PC their communities; an enterprise the ones it
 * operates or has under contract, plus planned ones nobody operates yet in its street (so it can
 * propose a contract for them).
 */
export function facilityScope(p: Principal): SQL {
  switch (p.role) {
    case "platform_admin":
    case "street_office":
      return streetScope(p, facilities.streetId);
    case "owners_committee":
    case "property_company":
      return inList(facilities.communityId, p.communityIds);
    case "enterprise": {
      const orgId = p.orgId ?? "";
      return (
        or(
          eq(facilities.operatorOrgId, orgId),
          and(
            eq(facilities.streetId, p.streetId ?? ""),
            isNull(facilities.operatorOrgId),
            eq(facilities.status, "planned"),
          ),
          sql`exists (select 1 from contract_facilities cf join contracts c on c.id = cf.contract_id
                where cf.facility_id = ${outer(facilities.id)} and c.enterprise_org_id = ${orgId})`,
        ) ?? FALSE
      );
    }
  }
}

/** 403 unless the caller's role is one of `roles` (call after the resource was found in scope). */
export function requireRole(p: Principal, roles: readonly Role[], action: string): void {
  if (!roles.includes(p.role)) {
    throw ApiError.forbidden(
      `A ${p.role.replace("_", " ")} may not ${action}; allowed: ${roles.join(", ")}.`,
    );
  }
}

/** 403 unless the caller acts for an organization of one of `roles`. */
export function requireOrg<R extends OrgPrincipal["role"]>(
  p: Principal,
  roles: readonly R[],
  action: string,
): OrgPrincipal & { role: R } {
  requireRole(p, roles, action);
  if (!isOrgPrincipal(p)) throw ApiError.forbidden(`Only an organization's key may ${action}.`);
  return p as OrgPrincipal & { role: R };
}

export function requireAdminKey(p: Principal, action: string): void {
  if (p.keyRole !== "admin") throw ApiError.forbidden(`Only an admin key may ${action}.`);
}
