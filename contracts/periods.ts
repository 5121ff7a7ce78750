/**
 * Billing periods: Asia/Shanghai calendar months written 'YYYY-MM' ("2026-12").
 *
 * A period is the whole calendar month, from its first day to its last day inclusive. Periods
 * order lexicographically, like dates. For SQL, a period maps to the `date` of its first day
 * (`periodStart`), so "the period of a date" is `date_trunc('month', d)::date`.
 */
import { daysInMonth, isDate, shanghaiDate } from "./dates.js";

/** A calendar month 'YYYY-MM' (years 0001–9999). */
export type Period = string;

/**
 * A month written 'YYYY-MM' (months 01–12): the `pattern` of a period in the API's document. Year
 * 0000 also matches it; `isPeriod` refuses that one too.
 */
export const PERIOD_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/;

function parts(p: string): { y: number; m: number } | null {
  if (typeof p !== "string") return null;
  const match = PERIOD_PATTERN.exec(p);
  if (!match) return null;
  const y = Number(match[1]);
  const m = Number(match[2]);
  if (y < 1 || m < 1 || m > 12) return null;
  return { y, m };
}

function parse(p: string): { y: number; m: number } {
  const r = parts(p);
  if (!r) throw new RangeError(`not a period 'YYYY-MM': ${JSON.stringify(p)}`);
  return r;
}

function fromIndex(index: number): Period {
  const y = Math.floor(index / 12);
  const m = index - y * 12 + 1;
  if (y < 1 || y > 9999) throw new RangeError("period out of range");
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}`;
}

/** Months since year 0 (y × 12 + m − 1): consecutive periods have consecutive indexes. */
export function periodIndex(p: Period): number {
  const { y, m } = parse(p);
  return y * 12 + (m - 1);
}

/** True for a real month written 'YYYY-MM' (years 0001–9999, months 01–12). */
export function isPeriod(p: string): boolean {
  return parts(p) !== null;
}

/** The month a calendar date falls in: "2026-02-28" → "2026-02". */
export function periodOf(date: string): Period {
  if (!isDate(date)) throw new RangeError(`not a calendar date 'YYYY-MM-DD': ${JSON.stringify(date)}`);
  return date.slice(0, 7);
}

/** First day of the period: "2026-02" → "2026-02-01". */
export function periodStart(p: Period): string {
  parse(p);
  return `${p}-01`;
}

/** Last day of the period: "2026-02" → "2026-02-28", "2028-02" → "2028-02-29". */
export function periodEnd(p: Period): string {
  const { y, m } = parse(p);
  return `${p}-${String(daysInMonth(y, m)).padStart(2, "0")}`;
}

/** Number of days in the period. */
export function daysInPeriod(p: Period): number {
  const { y, m } = parse(p);
  return daysInMonth(y, m);
}

/** Add (or subtract) whole months: "2026-11" + 3 → "2027-02". `n` must be an integer. */
export function addPeriods(p: Period, n: number): Period {
  if (!Number.isSafeInteger(n)) throw new RangeError(`months must be an integer: ${n}`);
  return fromIndex(periodIndex(p) + n);
}

/** The following month: "2026-12" → "2027-01". */
export function nextPeriod(p: Period): Period {
  return addPeriods(p, 1);
}

/** Compare two periods: negative, 0 or positive. */
export function comparePeriods(a: Period, b: Period): number {
  return Math.sign(periodIndex(a) - periodIndex(b));
}

/**
 * The Asia/Shanghai month an instant belongs to (UTC+8, no DST):
 * 2026-01-31T23:30:00Z is 2026-02-01 07:30 in Shanghai, so it is in "2026-02".
 */
export function periodOfInstant(instant: Date): Period {
  return periodOf(shanghaiDate(instant));
}

/** `b − a` in months (negative when `b` is earlier): monthsBetween("2026-11", "2027-02") = 3. */
export function monthsBetween(a: Period, b: Period): number {
  return periodIndex(b) - periodIndex(a);
}

/** Every period from `from` to `to` inclusive, in order (empty when `to` is before `from`). */
export function periodRange(from: Period, to: Period): Period[] {
  const a = periodIndex(from);
  const b = periodIndex(to);
  const out: Period[] = [];
  for (let i = a; i <= b; i++) out.push(fromIndex(i));
  return out;
}
