/** Field-by-field differences between two versions of contract terms. */
import { Decimal } from "decimal.js";
import type { ContractTerms, FeeItem, FloorPrice, HandbackCondition } from "./terms.js";

export interface FieldChange {
  path: string;
  change: "added" | "removed" | "changed";
  before?: unknown;
  after?: unknown;
}

const DECIMAL_RE = /^-?\d+(\.\d+)?$/;

/** Amounts compare as decimals ("10" equals "10.00"); anything else compares as a string. */
function sameAmount(a: string, b: string): boolean {
  if (typeof a === "string" && typeof b === "string" && DECIMAL_RE.test(a) && DECIMAL_RE.test(b)) {
    return new Decimal(a).eq(b);
  }
  return a === b;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Index by key; with duplicate keys (invalid terms) the first occurrence wins. */
function index<T>(items: readonly T[] | undefined, key: (t: T) => string): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items ?? []) {
    const k = key(item);
    if (!map.has(k)) map.set(k, item);
  }
  return map;
}

/**
 * Differences from `before` to `after`.
 * - scalars: totalInvestment, enterpriseCapital, guidanceFunds, operationTermMonths,
 *   maintenanceObligations (amounts compared as decimals);
 * - fee items matched by code: `feeSchedule[EL-M]` added/removed (with the whole item), or per
 *   field `feeSchedule[EL-M].name|kind|unit|price`, and floor prices matched by floor:
 *   `feeSchedule[EL-M].floorPrices[6]` (before/after are the prices);
 * - handback conditions matched by code: `handbackConditions[H1]` added/removed, or
 *   `handbackConditions[H1].description` changed.
 * Order of items in the lists is not a change. The output order is stable: scalars in the order
 * above, then fee items by code (UTF-16 code units) with fields in the order above and floors
 * ascending, then handback conditions by code.
 */
export function diffTerms(before: ContractTerms, after: ContractTerms): FieldChange[] {
  const out: FieldChange[] = [];
  const changed = (path: string, b: unknown, a: unknown) =>
    out.push({ path, change: "changed", before: b, after: a });

  for (const field of ["totalInvestment", "enterpriseCapital", "guidanceFunds"] as const) {
    if (!sameAmount(before[field], after[field])) changed(field, before[field], after[field]);
  }
  if (before.operationTermMonths !== after.operationTermMonths) {
    changed("operationTermMonths", before.operationTermMonths, after.operationTermMonths);
  }
  if (before.maintenanceObligations !== after.maintenanceObligations) {
    changed("maintenanceObligations", before.maintenanceObligations, after.maintenanceObligations);
  }

  const feesBefore = index<FeeItem>(before.feeSchedule, (f) => f.code);
  const feesAfter = index<FeeItem>(after.feeSchedule, (f) => f.code);
  const feeCodes = [...new Set([...feesBefore.keys(), ...feesAfter.keys()])].sort(byCodeUnits);
  for (const code of feeCodes) {
    const b = feesBefore.get(code);
    const a = feesAfter.get(code);
    const p = `feeSchedule[${code}]`;
    if (!b && a) out.push({ path: p, change: "added", after: a });
    else if (b && !a) out.push({ path: p, change: "removed", before: b });
    else if (b && a) {
      for (const field of ["name", "kind", "unit"] as const) {
        if (b[field] !== a[field]) changed(`${p}.${field}`, b[field], a[field]);
      }
      if (!sameAmount(b.price, a.price)) changed(`${p}.price`, b.price, a.price);
      diffFloors(p, b.floorPrices, a.floorPrices, out);
    }
  }

  const hbBefore = index<HandbackCondition>(before.handbackConditions, (h) => h.code);
  const hbAfter = index<HandbackCondition>(after.handbackConditions, (h) => h.code);
  const hbCodes = [...new Set([...hbBefore.keys(), ...hbAfter.keys()])].sort(byCodeUnits);
  for (const code of hbCodes) {
    const b = hbBefore.get(code);
    const a = hbAfter.get(code);
    const p = `handbackConditions[${code}]`;
    if (!b && a) out.push({ path: p, change: "added", after: a });
    else if (b && !a) out.push({ path: p, change: "removed", before: b });
    else if (b && a && b.description !== a.description)
      changed(`${p}.description`, b.description, a.description);
  }
  return out;
}

function diffFloors(
  itemPath: string,
  before: FloorPrice[] | undefined,
  after: FloorPrice[] | undefined,
  out: FieldChange[],
): void {
  const b = new Map<number, string>();
  for (const fp of before ?? []) if (!b.has(fp.floor)) b.set(fp.floor, fp.price);
  const a = new Map<number, string>();
  for (const fp of after ?? []) if (!a.has(fp.floor)) a.set(fp.floor, fp.price);
  const floors = [...new Set([...b.keys(), ...a.keys()])].sort((x, y) => x - y);
  for (const floor of floors) {
    const path = `${itemPath}.floorPrices[${floor}]`;
    const pb = b.get(floor);
    const pa = a.get(floor);
    if (pb === undefined && pa !== undefined) out.push({ path, change: "added", after: pa });
    else if (pb !== undefined && pa === undefined) out.push({ path, change: "removed", before: pb });
    else if (pb !== undefined && pa !== undefined && !sameAmount(pb, pa)) {
      out.push({ path, change: "changed", before: pb, after: pa });
    }
  }
}
