/**
 * Business dates: Asia/Shanghai calendar dates as 'YYYY-MM-DD' strings.
 * China has used UTC+8 all year round since 1991 (no DST), so Shanghai time is a fixed offset.
 */

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;
const SHANGHAI_OFFSET_MS = 8 * 3_600_000;

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Number of days in month `m` (1..12) of year `y`. */
export function daysInMonth(y: number, m: number): number {
  if (m === 2) return isLeapYear(y) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

function parts(s: string): { y: number; m: number; d: number } | null {
  if (typeof s !== "string") return null;
  const match = DATE_RE.exec(s);
  if (!match) return null;
  const y = Number(match[1]);
  const m = Number(match[2]);
  const d = Number(match[3]);
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return null;
  return { y, m, d };
}

function parse(s: string): { y: number; m: number; d: number } {
  const p = parts(s);
  if (!p) throw new RangeError(`not a calendar date 'YYYY-MM-DD': ${JSON.stringify(s)}`);
  return p;
}

function format(y: number, m: number, d: number): string {
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** True for a real calendar date written 'YYYY-MM-DD' (years 0001–9999). */
export function isDate(s: string): boolean {
  return parts(s) !== null;
}

/**
 * Add calendar months. The result keeps the same day of the month, or falls on the last day of
 * the target month when that month has fewer days (month-end clamping):
 * 2026-01-31 + 1 = 2026-02-28, 2028-01-31 + 1 = 2028-02-29, 2026-03-31 + 1 = 2026-04-30,
 * 2026-01-15 + 1 = 2026-02-15. `months` may be negative; it must be an integer.
 * Throws a RangeError on a malformed date, a non-integer month count, or a result outside
 * years 0001–9999.
 */
export function addMonths(date: string, months: number): string {
  const { y, m, d } = parse(date);
  if (!Number.isSafeInteger(months)) throw new RangeError(`months must be an integer: ${months}`);
  const index = y * 12 + (m - 1) + months;
  const ty = Math.floor(index / 12);
  const tm = index - ty * 12 + 1;
  if (ty < 1 || ty > 9999) throw new RangeError(`date out of range: ${date} + ${months} months`);
  return format(ty, tm, Math.min(d, daysInMonth(ty, tm)));
}

/** Add (or subtract) whole days. */
export function addDays(date: string, days: number): string {
  const { y, m, d } = parse(date);
  if (!Number.isSafeInteger(days)) throw new RangeError(`days must be an integer: ${days}`);
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d + days);
  const ty = t.getUTCFullYear();
  if (ty < 1 || ty > 9999) throw new RangeError(`date out of range: ${date} + ${days} days`);
  return format(ty, t.getUTCMonth() + 1, t.getUTCDate());
}

/** The transfer (handback) date: operation start plus the operation term, by addMonths. */
export function transferDate(operationStart: string, termMonths: number): string {
  return addMonths(operationStart, termMonths);
}

/** The Asia/Shanghai calendar date of an instant (UTC+8). 2026-01-31T23:30:00Z → "2026-02-01". */
export function shanghaiDate(instant: Date): string {
  const ms = instant.getTime();
  if (!Number.isFinite(ms)) throw new RangeError("invalid instant");
  const t = new Date(ms + SHANGHAI_OFFSET_MS);
  return format(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate());
}

/**
 * An instant as Asia/Shanghai wall-clock time with its offset, to the millisecond, as a reader
 * there reads it: 2026-01-31T23:30:00Z → "2026-02-01T07:30:00.000+08:00" (the same instant).
 */
export function shanghaiDateTime(instant: Date): string {
  const ms = instant.getTime();
  if (!Number.isFinite(ms)) throw new RangeError("invalid instant");
  const local = new Date(ms + SHANGHAI_OFFSET_MS).toISOString();
  if (!local.endsWith("Z") || local.length !== 24) throw new RangeError("instant outside years 0000–9999");
  return `${local.slice(0, -1)}+08:00`;
}

function epochDay(date: string): number {
  const { y, m, d } = parse(date);
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d);
  return Math.round(t.getTime() / DAY_MS);
}

/** `to − from` in days (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return epochDay(to) - epochDay(from);
}

/** Compare two dates: negative, 0 or positive (ISO strings order lexicographically). */
export function compareDates(a: string, b: string): number {
  parse(a);
  parse(b);
  return a < b ? -1 : a > b ? 1 : 0;
}
