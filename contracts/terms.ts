/** The negotiated terms of one contract version, their validation and fee arithmetic. */
import type { Decimal } from "decimal.js";
import { checkMoney, formatMoney, guidanceShare, MONEY_MAX, money, PRICE_MAX } from "./money.js";

export const FEE_KINDS = ["monthly", "yearly", "per_use", "one_off"] as const;
export const FEE_UNITS = ["household", "slot", "ride", "kWh", "hour"] as const;
export type FeeKind = (typeof FEE_KINDS)[number];
export type FeeUnit = (typeof FEE_UNITS)[number];

/** Which units each kind of fee may be charged in. `one_off` is not restricted. */
export const UNITS_FOR_KIND: Record<FeeKind, readonly FeeUnit[]> = {
  monthly: ["household", "slot"],
  yearly: ["household", "slot"],
  per_use: ["ride", "kWh", "hour"],
  one_off: FEE_UNITS,
};

export const FLOOR_MIN = -3;
export const FLOOR_MAX = 100;
export const TERM_MONTHS_MIN = 1;
export const TERM_MONTHS_MAX = 600;

export interface FloorPrice {
  floor: number;
  price: string;
}
export interface FeeItem {
  code: string;
  name: string;
  kind: FeeKind;
  price: string;
  unit: FeeUnit;
  floorPrices?: FloorPrice[];
}
export interface HandbackCondition {
  code: string;
  description: string;
}
export interface ContractTerms {
  totalInvestment: string;
  enterpriseCapital: string;
  guidanceFunds: string;
  operationTermMonths: number;
  handbackConditions: HandbackCondition[];
  maintenanceObligations: string;
  feeSchedule: FeeItem[];
}
/** One validation problem; `path` is dotted with array indexes, e.g. "feeSchedule.2.price". */
export interface TermsIssue {
  path: string;
  message: string;
}

export type FacilityKind = "garage" | "elevator";

function isBlank(s: unknown): boolean {
  return typeof s !== "string" || s.trim() === "";
}

/**
 * Validate terms. Returns every problem found (empty array = valid).
 * - amounts pass checkMoney (investment figures up to MONEY_MAX, prices up to PRICE_MAX);
 * - enterpriseCapital + guidanceFunds ≤ totalInvestment;
 * - operationTermMonths is an integer in 1..600;
 * - fee codes and handback codes are non-empty and unique;
 * - floor numbers are integers in −3..100, unique per item;
 * - floorPrices only when opts.facilityKinds (if given) includes "elevator";
 * - per_use items use ride/kWh/hour, monthly/yearly items use household/slot.
 */
export function validateTerms(t: ContractTerms, opts?: { facilityKinds?: FacilityKind[] }): TermsIssue[] {
  const issues: TermsIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });

  const amounts = ["totalInvestment", "enterpriseCapital", "guidanceFunds"] as const;
  let amountsOk = true;
  for (const field of amounts) {
    const reason = checkMoney(t[field], { max: MONEY_MAX });
    if (reason) {
      add(field, reason);
      amountsOk = false;
    }
  }
  if (amountsOk && money(t.enterpriseCapital).plus(money(t.guidanceFunds)).gt(money(t.totalInvestment))) {
    add("enterpriseCapital", "enterpriseCapital + guidanceFunds must not exceed totalInvestment");
  }

  const months = t.operationTermMonths;
  if (!Number.isInteger(months) || months < TERM_MONTHS_MIN || months > TERM_MONTHS_MAX) {
    add(
      "operationTermMonths",
      `must be an integer number of months from ${TERM_MONTHS_MIN} to ${TERM_MONTHS_MAX}`,
    );
  }

  if (typeof t.maintenanceObligations !== "string") {
    add("maintenanceObligations", "must be a string");
  }

  if (!Array.isArray(t.handbackConditions)) {
    add("handbackConditions", "must be a list");
  } else {
    const seen = new Set<string>();
    t.handbackConditions.forEach((h, i) => {
      if (isBlank(h.code)) add(`handbackConditions.${i}.code`, "must not be empty");
      else if (seen.has(h.code)) add(`handbackConditions.${i}.code`, `duplicate code "${h.code}"`);
      else seen.add(h.code);
      if (isBlank(h.description)) add(`handbackConditions.${i}.description`, "must not be empty");
    });
  }

  if (!Array.isArray(t.feeSchedule)) {
    add("feeSchedule", "must be a list");
    return issues;
  }
  const floorPricesAllowed = opts?.facilityKinds === undefined || opts.facilityKinds.includes("elevator");
  const codes = new Set<string>();
  t.feeSchedule.forEach((item, i) => {
    const p = `feeSchedule.${i}`;
    if (isBlank(item.code)) add(`${p}.code`, "must not be empty");
    else if (codes.has(item.code)) add(`${p}.code`, `duplicate code "${item.code}"`);
    else codes.add(item.code);
    if (isBlank(item.name)) add(`${p}.name`, "must not be empty");

    const kindOk = FEE_KINDS.includes(item.kind);
    if (!kindOk) add(`${p}.kind`, `must be one of ${FEE_KINDS.join(", ")}`);
    if (!FEE_UNITS.includes(item.unit)) add(`${p}.unit`, `must be one of ${FEE_UNITS.join(", ")}`);
    else if (kindOk && !UNITS_FOR_KIND[item.kind].includes(item.unit)) {
      add(`${p}.unit`, `a ${item.kind} fee must use one of ${UNITS_FOR_KIND[item.kind].join(", ")}`);
    }

    const priceReason = checkMoney(item.price, { max: PRICE_MAX });
    if (priceReason) add(`${p}.price`, priceReason);

    if (item.floorPrices === undefined) return;
    if (!Array.isArray(item.floorPrices)) {
      add(`${p}.floorPrices`, "must be a list");
      return;
    }
    if (!floorPricesAllowed && item.floorPrices.length > 0) {
      add(`${p}.floorPrices`, "per-floor prices are only allowed for elevators");
    }
    const floors = new Set<number>();
    item.floorPrices.forEach((fp, j) => {
      const fpPath = `${p}.floorPrices.${j}`;
      if (!Number.isInteger(fp.floor) || fp.floor < FLOOR_MIN || fp.floor > FLOOR_MAX) {
        add(`${fpPath}.floor`, `must be an integer floor from ${FLOOR_MIN} to ${FLOOR_MAX}`);
      } else if (floors.has(fp.floor)) {
        add(`${fpPath}.floor`, `duplicate floor ${fp.floor}`);
      } else {
        floors.add(fp.floor);
      }
      const r = checkMoney(fp.price, { max: PRICE_MAX });
      if (r) add(`${fpPath}.price`, r);
    });
  });
  return issues;
}

/**
 * The unit price of a fee item.
 * - With per-floor prices (a non-empty `floorPrices`) and a floor: that floor's price; a floor
 *   without a price pays 0 (the ground floor often pays nothing).
 * - Without per-floor prices, or when no floor is given: `item.price` (the base price).
 */
export function priceFor(item: FeeItem, floor?: number): Decimal {
  const floorPrices = item.floorPrices;
  if (floorPrices && floorPrices.length > 0 && floor !== undefined) {
    const fp = floorPrices.find((x) => x.floor === floor);
    return money(fp ? fp.price : "0");
  }
  return money(item.price);
}

export interface FundingSummary {
  totalInvestment: string;
  enterpriseCapital: string;
  guidanceFunds: string;
  /** totalInvestment − enterpriseCapital − guidanceFunds (other sources, e.g. owners' funds). */
  otherFunding: string;
  guidanceSharePercent: string;
}

/** Funding split of the terms, amounts formatted with two places. Throws on malformed amounts. */
export function fundingSummary(t: ContractTerms): FundingSummary {
  const total = money(t.totalInvestment);
  const enterprise = money(t.enterpriseCapital);
  const guidance = money(t.guidanceFunds);
  return {
    totalInvestment: formatMoney(total),
    enterpriseCapital: formatMoney(enterprise),
    guidanceFunds: formatMoney(guidance),
    otherFunding: formatMoney(total.minus(enterprise).minus(guidance)),
    guidanceSharePercent: guidanceShare(t.guidanceFunds, t.totalInvestment),
  };
}
