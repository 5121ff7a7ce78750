/**
 * Which version of a contract's terms is in force on a date. The SQL twin is
 * `versionInForceId` (db/versions.ts); test/contracts/version-in-force.property.test.ts pins the
 * two together on a real database.
 */
import { compareDates } from "./dates.js";
import type { VersionStatus } from "./lifecycle.js";

/** Statuses of a version whose terms applied at some time: the signed one, and those it replaced. */
export const IN_FORCE_STATUSES = ["signed", "superseded"] as const satisfies readonly VersionStatus[];

/** What the rule reads of a version. */
export interface VersionDates {
  versionNo: number;
  status: VersionStatus;
  isAmendment: boolean;
  /** For an amendment: the date from which its terms apply (none: it never applies). */
  effectiveDate: string | null;
}

/**
 * The version in force on `date`: of the signed or superseded versions that are the original or
 * an amendment effective on or before `date`, the highest-numbered. (A superseded version still
 * applied before its successor's effective date.) Null when nothing is signed yet.
 */
export function versionInForceOn<V extends VersionDates>(versions: readonly V[], date: string): V | null {
  let inForce: V | null = null;
  for (const v of versions) {
    if (!(IN_FORCE_STATUSES as readonly VersionStatus[]).includes(v.status)) continue;
    if (v.isAmendment && (v.effectiveDate === null || compareDates(v.effectiveDate, date) > 0)) continue;
    if (!inForce || v.versionNo > inForce.versionNo) inForce = v;
  }
  return inForce;
}
