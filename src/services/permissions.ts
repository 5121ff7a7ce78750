/**
 * Asking the permission table of sensors and incidents (contracts/permissions.ts) for a principal,
 * and turning its refusal into the API's error.
 */
import {
  decidePermission,
  type PermissionCommand,
  type PermissionRefusal,
  type PermissionRole,
} from "../../contracts/permissions.js";
import { isOrgPrincipal, type OrgPrincipal, type Principal } from "../auth/principal.js";
import { ApiError } from "../errors.js";

/** A refusal of the permission table as the API's error: 403, 400 naming the field, or 409. */
export function permissionError(refusal: PermissionRefusal): ApiError {
  switch (refusal.status) {
    case 403:
      return ApiError.forbidden(refusal.reason);
    case 400:
      return ApiError.validation([{ field: refusal.field ?? "body", message: refusal.reason }]);
    case 409:
      return ApiError.conflict(refusal.code, refusal.reason);
  }
}

/** Throws the table's refusal unless `p` may issue `command` now. */
export function authorize(p: Principal, command: PermissionCommand): void {
  const role: PermissionRole = p.role;
  const decision = decidePermission(command, { role, organization: isOrgPrincipal(p) });
  if (!decision.ok) throw permissionError(decision.refusal);
}

/**
 * `authorize` for a command the table admits only from an organization's key: the principal,
 * typed as acting for its organization.
 */
export function authorizeOrg(p: Principal, command: PermissionCommand): OrgPrincipal {
  authorize(p, command);
  if (!isOrgPrincipal(p))
    throw new Error(`the permission table let ${command.type} through without an organization`);
  return p;
}
