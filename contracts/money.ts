/**
 * Money: CNY amounts, exact to the fen.
 *
 * In code every amount is a decimal.js `Decimal`; at the boundary (JSON, database) it is a
 * decimal string with exactly two places ("128.50"). A JS `number` never holds money.
 */
import { Decimal } from "decimal.js";

export { Decimal };

/** Largest amount that fits a numeric(14,2) column. */
export const MONEY_MAX = new Decimal("999999999999.99");
/** Sane upper bound for the price of one fee item. */
export const PRICE_MAX = new Decimal("100000.00");
/** The street office's customary guidance-fund share of the total investment, in percent. */
export const DEFAULT_GUIDANCE_SHARE = "15.00";

/**
 * A private constructor with ample precision, for ratios whose result is rounded once at the
 * end (so no double rounding can move a value across a half-fen boundary).
 */
const Exact = Decimal.clone({ precision: 80, rounding: Decimal.ROUND_HALF_UP });

const MONEY_RE = /^\d+(\.\d{1,2})?$/;
const NEGATIVE_RE = /^-(\d+(\.\d*)?|\.\d+)$/;
const DECIMAL_RE = /^-?\d+(\.\d+)?$/;

/** True when `value` is a non-negative decimal string with at most two decimal places. */
export function isMoneyString(value: unknown): value is string {
  return typeof value === "string" && MONEY_RE.test(value);
}

/**
 * Validate an amount given as a string at the boundary.
 * Returns null when valid, else a human reason. Only /^\d+(\.\d{1,2})?$/ is accepted: no sign,
 * no exponent, no spaces. `max` defaults to MONEY_MAX; `allowZero` defaults to true.
 */
export function checkMoney(value: string, opts?: { max?: Decimal; allowZero?: boolean }): string | null {
  if (typeof value !== "string" || !MONEY_RE.test(value)) {
    if (typeof value === "string" && NEGATIVE_RE.test(value)) return "must not be negative";
    return "must be a decimal string with at most 2 decimal places";
  }
  const d = new Decimal(value);
  const allowZero = opts?.allowZero ?? true;
  if (!allowZero && d.isZero()) return "must be greater than 0";
  const max = opts?.max ?? MONEY_MAX;
  if (d.gt(max)) return `must be at most ${formatMoney(max)}`;
  return null;
}

/**
 * Parse an amount into a Decimal. Accepts a Decimal, or a plain decimal string (optional
 * leading '-', no exponent, no spaces). Throws a RangeError on anything else. Does not round.
 */
export function money(value: string | Decimal): Decimal {
  if (Decimal.isDecimal(value)) {
    if (!value.isFinite()) throw new RangeError("amount must be finite");
    return value;
  }
  if (typeof value !== "string" || !DECIMAL_RE.test(value)) {
    throw new RangeError(`not a decimal amount: ${JSON.stringify(value)}`);
  }
  return new Decimal(value);
}

/** Format to exactly two places, rounding half up (away from zero): 0.005 → "0.01". */
export function formatMoney(d: Decimal): string {
  if (!d.isFinite()) throw new RangeError("amount must be finite");
  const s = d.toFixed(2, Decimal.ROUND_HALF_UP);
  return s === "-0.00" ? "0.00" : s;
}

/** Exact sum of amounts. */
export function sumMoney(values: readonly (string | Decimal)[]): Decimal {
  let total = new Exact(0);
  for (const v of values) total = total.plus(money(v).toString());
  return new Decimal(total.toString());
}

/**
 * Share of the guidance funds in the total investment, as a percentage with two places
 * ("15.00"), rounded half up once. "0.00" when the investment is 0.
 */
export function guidanceShare(guidanceFunds: string, totalInvestment: string): string {
  const total = new Exact(money(totalInvestment).toString());
  if (total.isZero()) return "0.00";
  const share = new Exact(money(guidanceFunds).toString()).times(100).div(total);
  const s = share.toFixed(2, Decimal.ROUND_HALF_UP);
  return s === "-0.00" ? "0.00" : s;
}
