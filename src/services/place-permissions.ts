/**
 * Asking the table of place, organization and facility commands (contracts/place-permissions.ts)
 * and turning its refusal into the API's answer. The services call this after finding the
 * addressed row in the caller's scope; no handler decides.
 */
import { decidePlaceCommand, type PlaceCommand, type PlaceRefusal } from "../../contracts/index.js";
import type { Principal } from "../auth/principal.js";
import { ApiError } from "../errors.js";

/** Throws the refusal when the table refuses the caller the command. */
export function requirePlaceCommand(p: Principal, command: PlaceCommand): void {
  const decision = decidePlaceCommand(p, command);
  if (!decision.ok) throw placeRefusalError(decision.refusal);
}

export function placeRefusalError(refusal: PlaceRefusal): ApiError {
  switch (refusal.status) {
    case 400:
      return ApiError.validation([{ field: refusal.field ?? "body", message: refusal.reason }]);
    case 403:
      return ApiError.forbidden(refusal.reason);
    case 404:
      return new ApiError(404, "not_found", "Not found", refusal.reason);
    case 409:
      return ApiError.conflict(refusal.code, refusal.reason, {
        ...(refusal.facilityState ? { currentState: refusal.facilityState } : {}),
        ...(refusal.contractIds ? { contractIds: refusal.contractIds } : {}),
      });
  }
}
