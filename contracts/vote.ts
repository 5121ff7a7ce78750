/**
 * The owners' vote under PRC Civil Code art. 278.
 *
 * - Participation (all matters): owners holding at least 2/3 of the total floor area AND at least
 *   2/3 of the owners take part.
 * - Special matters (rebuilding or altering buildings and ancillary facilities, e.g. adding an
 *   elevator; using common parts for business, e.g. a garage): at least 3/4 of the participating
 *   area AND at least 3/4 of the participating owners vote yes.
 * - Ordinary matters: more than half (过半数) of the participating area AND of the participating
 *   owners vote yes.
 *
 * Decisions are exact: cross-multiplication on decimals (2/3 exactly passes: part·3 ≥ total·2;
 * 3/4 exactly passes: yes·4 ≥ part·3; majority: yes·2 > part). The `ratio` strings are for
 * display only (4 places, rounded down).
 */
import { Decimal } from "decimal.js";

export type VoteMatter = "special" | "ordinary";
export interface VoteTally {
  matter: VoteMatter;
  totalArea: string;
  totalOwners: number;
  participatingArea: string;
  participatingOwners: number;
  yesArea: string;
  yesOwners: number;
}
export type VoteMeasure = "participation_area" | "participation_owners" | "approval_area" | "approval_owners";
export type VoteThreshold = "2/3" | "3/4" | "1/2";
export interface VoteRatio {
  measure: VoteMeasure;
  numerator: string;
  denominator: string;
  /** numerator / denominator with 4 decimals, rounded down; "0.0000" when the denominator is 0. */
  ratio: string;
  threshold: VoteThreshold;
  met: boolean;
}
export type VoteIssue = { field: string; message: string };
export type VoteResult =
  | { valid: true; passed: boolean; ratios: VoteRatio[]; failed: VoteRatio["measure"][] }
  | { valid: false; issues: VoteIssue[] };

/** Enough precision that products of any sane tally are exact. */
const D = Decimal.clone({ precision: 100, rounding: Decimal.ROUND_DOWN });

const AREA_RE = /^\d+(\.\d{1,2})?$/;

function checkArea(field: string, value: unknown, issues: VoteIssue[]): boolean {
  if (typeof value !== "string" || !AREA_RE.test(value)) {
    issues.push({
      field,
      message:
        typeof value === "string" && value.trim().startsWith("-")
          ? "must not be negative"
          : "must be a decimal string (m²) with at most 2 decimal places",
    });
    return false;
  }
  return true;
}

function checkCount(field: string, value: unknown, issues: VoteIssue[]): boolean {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    issues.push({ field, message: "must be a non-negative integer" });
    return false;
  }
  return true;
}

/** Validate a tally; returns every problem found. */
export function validateTally(t: VoteTally): VoteIssue[] {
  const issues: VoteIssue[] = [];
  if (t.matter !== "special" && t.matter !== "ordinary") {
    issues.push({ field: "matter", message: 'must be "special" or "ordinary"' });
  }
  const areasOk = [
    checkArea("totalArea", t.totalArea, issues),
    checkArea("participatingArea", t.participatingArea, issues),
    checkArea("yesArea", t.yesArea, issues),
  ].every(Boolean);
  const countsOk = [
    checkCount("totalOwners", t.totalOwners, issues),
    checkCount("participatingOwners", t.participatingOwners, issues),
    checkCount("yesOwners", t.yesOwners, issues),
  ].every(Boolean);
  if (areasOk) {
    const total = new D(t.totalArea);
    const part = new D(t.participatingArea);
    const yes = new D(t.yesArea);
    if (total.isZero()) issues.push({ field: "totalArea", message: "must be greater than 0" });
    if (part.gt(total)) issues.push({ field: "participatingArea", message: "must not exceed totalArea" });
    if (yes.gt(part)) issues.push({ field: "yesArea", message: "must not exceed participatingArea" });
  }
  if (countsOk) {
    if (t.totalOwners === 0) issues.push({ field: "totalOwners", message: "must be greater than 0" });
    if (t.participatingOwners > t.totalOwners) {
      issues.push({ field: "participatingOwners", message: "must not exceed totalOwners" });
    }
    if (t.yesOwners > t.participatingOwners) {
      issues.push({ field: "yesOwners", message: "must not exceed participatingOwners" });
    }
  }
  return issues;
}

function ratioString(num: Decimal, den: Decimal): string {
  if (den.isZero()) return "0.0000";
  return num.div(den).toFixed(4, Decimal.ROUND_DOWN);
}

function meets(num: Decimal, den: Decimal, threshold: VoteThreshold): boolean {
  switch (threshold) {
    case "2/3":
      return num.times(3).gte(den.times(2));
    case "3/4":
      return num.times(4).gte(den.times(3));
    case "1/2":
      return num.times(2).gt(den);
  }
}

function ratio(
  measure: VoteMeasure,
  num: Decimal,
  den: Decimal,
  threshold: VoteThreshold,
  show: (d: Decimal) => string,
): VoteRatio {
  return {
    measure,
    numerator: show(num),
    denominator: show(den),
    ratio: ratioString(num, den),
    threshold,
    // Nobody taking part never approves anything.
    met: !den.isZero() && meets(num, den, threshold),
  };
}

/** Evaluate a tally: validity, each of the four measures, and whether the motion passed. */
export function evaluateVote(t: VoteTally): VoteResult {
  const issues = validateTally(t);
  if (issues.length > 0) return { valid: false, issues };

  const area = (d: Decimal) => d.toFixed(2);
  const count = (d: Decimal) => d.toFixed(0);
  const approval: VoteThreshold = t.matter === "special" ? "3/4" : "1/2";
  const totalArea = new D(t.totalArea);
  const partArea = new D(t.participatingArea);
  const yesArea = new D(t.yesArea);
  const totalOwners = new D(t.totalOwners);
  const partOwners = new D(t.participatingOwners);
  const yesOwners = new D(t.yesOwners);

  const ratios: VoteRatio[] = [
    ratio("participation_area", partArea, totalArea, "2/3", area),
    ratio("participation_owners", partOwners, totalOwners, "2/3", count),
    ratio("approval_area", yesArea, partArea, approval, area),
    ratio("approval_owners", yesOwners, partOwners, approval, count),
  ];
  const failed = ratios.filter((r) => !r.met).map((r) => r.measure);
  return { valid: true, passed: failed.length === 0, ratios, failed };
}
