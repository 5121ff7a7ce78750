/**
 * Residents' fees: which subscription is billed for which month, invoice arithmetic, usage
 * charges, cancellation and transfer settlements, arrears, balances and invoice numbers.
 *
 * Every rule is written so that a street-office clerk can check it with a calendar and a
 * calculator, and so that the database layer can apply it as a set-based SQL predicate (the
 * SQL form is given where it is not obvious). Amounts are `Decimal` in code and 2-decimal
 * strings at the boundary; dates are Asia/Shanghai 'YYYY-MM-DD'; periods are 'YYYY-MM'.
 */
import { Decimal } from "decimal.js";
import { addDays, compareDates, daysBetween, isDate } from "./dates.js";
import { checkMoney, MONEY_MAX, money, PRICE_MAX } from "./money.js";
import {
  addPeriods,
  comparePeriods,
  daysInPeriod,
  isPeriod,
  monthsBetween,
  type Period,
  periodEnd,
  periodOf,
  periodRange,
  periodStart,
} from "./periods.js";

/** Ample precision for intermediate ratios; every result is rounded once, to the fen. */
const Exact = Decimal.clone({ precision: 80, rounding: Decimal.ROUND_HALF_UP });

/** Round half up (0.005 → 0.01) to the fen, back into a plain Decimal. */
function fenHalfUp(d: Decimal): Decimal {
  return new Decimal(d.toDecimalPlaces(2, Decimal.ROUND_HALF_UP).toString());
}
/** Round down (towards zero) to the fen: never gives back more than the exact share. */
function fenDown(d: Decimal): Decimal {
  return new Decimal(d.toDecimalPlaces(2, Decimal.ROUND_DOWN).toString());
}
const ZERO = new Decimal(0);

function assertDate(name: string, d: string): void {
  if (!isDate(d)) throw new RangeError(`${name} must be a calendar date 'YYYY-MM-DD': ${JSON.stringify(d)}`);
}
function assertPeriod(name: string, p: string): void {
  if (!isPeriod(p)) throw new RangeError(`${name} must be a period 'YYYY-MM': ${JSON.stringify(p)}`);
}
function assertAmount(name: string, v: string | Decimal, max: Decimal = MONEY_MAX): Decimal {
  if (typeof v === "string") {
    const reason = checkMoney(v, { max });
    if (reason) throw new RangeError(`${name} ${reason}`);
    return new Decimal(v);
  }
  const d = money(v);
  if (d.isNegative()) throw new RangeError(`${name} must not be negative`);
  return d;
}

// ---------------------------------------------------------------------------------------------
// Subscriptions and the billing rule

export const SUBSCRIPTION_KINDS = ["monthly", "yearly"] as const;
export type SubscriptionKind = (typeof SUBSCRIPTION_KINDS)[number];
export const SUBSCRIPTION_STATES = ["active", "suspended", "cancelled", "ended"] as const;
export type SubscriptionState = (typeof SUBSCRIPTION_STATES)[number];
/** The states of a subscription that runs on: billed, cancellable, switchable; one per subscriber. */
export const RUNNING_SUBSCRIPTION_STATES = [
  "active",
  "suspended",
] as const satisfies readonly SubscriptionState[];

export function isRunningSubscription(state: SubscriptionState): boolean {
  return (RUNNING_SUBSCRIPTION_STATES as readonly SubscriptionState[]).includes(state);
}

/**
 * A household's (elevator) or slot holder's (garage) subscription to one fee item.
 * - `unitPrice`: the price per bill, taken from the fee schedule version in force on the start
 *   date (per floor for elevators): the monthly price for 包月, the yearly price for 包年.
 * - `endDate`: the LAST day of use, inclusive (set by a cancellation, a switch or the transfer);
 *   null or absent while the subscription runs on.
 */
export interface Subscription {
  id: string;
  feeCode: string;
  kind: SubscriptionKind;
  unitPrice: string;
  startDate: string;
  endDate?: string | null;
  state: SubscriptionState;
}

/** The contract's limits on billing: the operation start date and the transfer date (if fixed). */
export interface BillingLimits {
  operationStart: string;
  transferDate: string | null;
}

/** Months covered by one yearly bill. */
export const MONTHS_PER_YEAR = 12;

/**
 * Is the subscription billed for `period`? It is when ALL of these hold:
 *
 * 1. The month is not before the month the subscription starts. The start month is billed in
 *    FULL whatever the start day (no day proration): a 包月/包年 pass is sold by calendar month,
 *    like a monthly bus pass, and the resident chooses the start date (the 1st of next month is
 *    offered by default).
 * 2. The month is not before the month of the contract's operation start.
 * 3. When a transfer date is set: the month begins BEFORE the transfer date, and the
 *    subscription starts before the transfer date. The transfer date is the first day the
 *    residents own the facility (operation start + term months, so the operation runs from the
 *    start date up to the day before the transfer date). A month beginning on or after the
 *    transfer date is never billed; the transfer month itself is billed when the transfer falls
 *    on its 2nd day or later, and the final settlement then credits the days from the transfer
 *    date on (see finalSettlement).
 * 4. When the subscription has an end date (its last day of use): the month begins on or before
 *    that day.
 * 5. A subscription that is `cancelled` or `ended` is billed only up to its end date; without an
 *    end date it is not billed at all. A `suspended` (arrears) subscription is still billed:
 *    suspension blocks the access card, it does not pause the subscription (otherwise not paying
 *    would be a way to skip months).
 * 6. Monthly: every such month. Yearly: only the anniversary month — the month with the same
 *    month number as the start month (a yearly pass starting 2026-03-xx is billed in March
 *    2026, March 2027, …); each yearly bill covers that month and the 11 following.
 *
 * SQL form, with :p the first day of the period (a `date`), :op the operation start and :td the
 * transfer date:
 * ```sql
 * date_trunc('month', s.start_date) <= :p
 * AND date_trunc('month', :op::date) <= :p
 * AND (:td IS NULL OR (:p < :td AND s.start_date < :td))
 * AND (s.end_date IS NULL OR :p <= s.end_date)
 * AND (s.state IN ('active', 'suspended') OR s.end_date IS NOT NULL)
 * AND (s.kind = 'monthly'
 *      OR extract(month FROM s.start_date) = extract(month FROM :p::date))
 * ```
 * (the yearly line is the same as `mod(monthsBetween(start month, period), 12) = 0` given the
 * first line).
 */
export function isDue(sub: Subscription, period: Period, limits: BillingLimits): boolean {
  assertPeriod("period", period);
  assertDate("startDate", sub.startDate);
  assertDate("operationStart", limits.operationStart);
  const start = periodStart(period);
  const startMonth = periodOf(sub.startDate);
  if (comparePeriods(startMonth, period) > 0) return false;
  if (comparePeriods(periodOf(limits.operationStart), period) > 0) return false;
  if (limits.transferDate !== null && limits.transferDate !== undefined) {
    assertDate("transferDate", limits.transferDate);
    if (compareDates(start, limits.transferDate) >= 0) return false;
    if (compareDates(sub.startDate, limits.transferDate) >= 0) return false;
  }
  const end = sub.endDate ?? null;
  if (end !== null) {
    assertDate("endDate", end);
    if (compareDates(start, end) > 0) return false;
  } else if (sub.state === "cancelled" || sub.state === "ended") {
    return false;
  }
  if (sub.kind === "monthly") return true;
  return monthsBetween(startMonth, period) % MONTHS_PER_YEAR === 0;
}

/** Every period from `from` to `to` inclusive for which the subscription is billed, in order. */
export function duePeriods(sub: Subscription, from: Period, to: Period, limits: BillingLimits): Period[] {
  return periodRange(from, to).filter((p) => isDue(sub, p, limits));
}

/**
 * The calendar months one bill pays for: a monthly bill covers its own month; a yearly bill
 * covers its anniversary month and the 11 following (12 months).
 */
export function coverageOf(kind: SubscriptionKind, period: Period): { from: Period; to: Period } {
  assertPeriod("period", period);
  return { from: period, to: kind === "monthly" ? period : addPeriods(period, MONTHS_PER_YEAR - 1) };
}

/**
 * Why a billing run for `period` must be refused (the API answers 409), or null when it may run:
 * a period before the month of the operation start, or a period beginning on or after the
 * transfer date.
 */
export function billingRunRefusal(period: Period, limits: BillingLimits): string | null {
  assertPeriod("period", period);
  assertDate("operationStart", limits.operationStart);
  const opMonth = periodOf(limits.operationStart);
  if (comparePeriods(period, opMonth) < 0) {
    return `period ${period} is before the operation start month ${opMonth}`;
  }
  if (limits.transferDate !== null && limits.transferDate !== undefined) {
    assertDate("transferDate", limits.transferDate);
    if (compareDates(periodStart(period), limits.transferDate) >= 0) {
      return `period ${period} begins on or after the transfer date ${limits.transferDate}: billing has ended`;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Invoices

/** Largest quantity on one line (kWh, minutes, rides, months). */
export const QUANTITY_MAX = new Decimal("1000000");
const QUANTITY_RE = /^\d+(\.\d{1,3})?$/;

/**
 * Validate a quantity given as a string at the boundary: a non-negative decimal with at most
 * three decimal places (kWh to the watt-hour), at most 1000000. Null when valid, else a reason.
 */
export function checkQuantity(value: string): string | null {
  if (typeof value !== "string" || !QUANTITY_RE.test(value)) {
    return "must be a non-negative decimal string with at most 3 decimal places";
  }
  if (new Decimal(value).gt(QUANTITY_MAX)) return `must be at most ${QUANTITY_MAX.toString()}`;
  return null;
}

/**
 * The amount of a usage charge (kWh, minutes, rides) or of any invoice line:
 * quantity × unit price, rounded half up to the fen ONCE, on the line (never per session and
 * then summed). 12.345 kWh × 1.20 = 14.814 → 14.81; 0.125 × 0.20 = 0.025 → 0.03.
 * Throws a RangeError on a malformed quantity or price.
 */
export function usageAmount(quantity: string, unitPrice: string): Decimal {
  const qReason = checkQuantity(quantity);
  if (qReason) throw new RangeError(`quantity ${qReason}`);
  const p = assertAmount("unitPrice", unitPrice, PRICE_MAX);
  return fenHalfUp(new Exact(quantity).times(p.toString()));
}

export interface InvoiceLineInput {
  /** The fee code ("EL-M", "CHG-KWH"). */
  code: string;
  description: string;
  /** Decimal string, up to 3 places. */
  quantity: string;
  /** Decimal string, up to 2 places. */
  unitPrice: string;
}
export interface InvoiceLine extends InvoiceLineInput {
  /** quantity × unitPrice, rounded half up to the fen. */
  amount: Decimal;
}
export interface Invoice {
  lines: InvoiceLine[];
  /** The sum of the line amounts, exactly. */
  total: Decimal;
  /** Credit taken from the household's available credit balance: min(credit, total). */
  creditApplied: Decimal;
  /** total − creditApplied; never below 0. */
  amountDue: Decimal;
  /** The credit left over for the next invoice: credit − creditApplied. */
  creditRemaining: Decimal;
}

/**
 * Build an invoice from its lines and the household's available credit balance.
 * - Each line: amount = quantity × unit price, rounded half up to the fen.
 * - total = the sum of the line amounts (no further rounding, so the lines always add up).
 * - The available credit (overpayments, credit notes) is applied up to the total and shown as a
 *   separate field, not as a line and not as an edit of a line: amount due = total − credit
 *   applied, never below 0; the unused credit carries over to the next invoice.
 * At least one line is required. Throws a RangeError on malformed input.
 */
export function invoiceFor(lines: readonly InvoiceLineInput[], credit: string | Decimal = "0"): Invoice {
  if (lines.length === 0) throw new RangeError("an invoice needs at least one line");
  const available = assertAmount("credit", credit);
  const out: InvoiceLine[] = lines.map((l, i) => {
    if (typeof l.code !== "string" || l.code.trim() === "") {
      throw new RangeError(`lines.${i}.code must not be empty`);
    }
    return { ...l, amount: usageAmount(l.quantity, l.unitPrice) };
  });
  let total = ZERO;
  for (const l of out) total = total.plus(l.amount);
  const creditApplied = Decimal.min(available, total);
  return {
    lines: out,
    total,
    creditApplied,
    amountDue: total.minus(creditApplied),
    creditRemaining: available.minus(creditApplied),
  };
}

/** The invoice line for one subscription's bill for `period`: 1 × the subscription's price. */
export function subscriptionLine(sub: Subscription, period: Period): InvoiceLineInput {
  const c = coverageOf(sub.kind, period);
  const what = sub.kind === "monthly" ? "包月" : "包年";
  const span = c.from === c.to ? c.from : `${c.from} – ${c.to}`;
  return {
    code: sub.feeCode,
    description: `${sub.feeCode} ${what} ${span}`,
    quantity: "1",
    unitPrice: sub.unitPrice,
  };
}

// ---------------------------------------------------------------------------------------------
// Cancellation, switching and the transfer

/** The period a bill paid for, by its first and last day, and what was billed for it. */
export interface PaidPeriod {
  start: string;
  end: string;
  amount: string;
}

/**
 * Whole calendar months of a paid period that begin after `lastDayOfUse`: these are "unused".
 * The month in which the last day of use falls counts as used.
 * SQL: greatest(0, least(paid_months, months from the month after the last day of use to the
 * paid period's last month, inclusive)).
 */
export function unusedWholeMonths(paid: { start: string; end: string }, lastDayOfUse: string): number {
  assertDate("paid.start", paid.start);
  assertDate("paid.end", paid.end);
  assertDate("lastDayOfUse", lastDayOfUse);
  const first = periodOf(paid.start);
  const last = periodOf(paid.end);
  const paidMonths = monthsBetween(first, last) + 1;
  if (paidMonths < 1) throw new RangeError("paid period ends before it starts");
  const fromMonth = addPeriods(periodOf(lastDayOfUse), 1);
  const firstUnused = comparePeriods(fromMonth, first) > 0 ? fromMonth : first;
  return Math.max(0, Math.min(paidMonths, monthsBetween(firstUnused, last) + 1));
}

export interface CancellationRefund {
  /** "credit_note" when something is given back, else "none". */
  kind: "credit_note" | "none";
  /** The subscription's last day of use: the cancel date. */
  endDate: string;
  unusedWholeMonths: number;
  /** Calendar months the paid period covers (12 for a yearly bill, 1 for a monthly one). */
  paidMonths: number;
  /** The credit note's amount (0 when none). */
  amount: Decimal;
  rule: string;
}

/**
 * Cancel a subscription on `cancelDate` (its last day of use), given the latest bill.
 * - Monthly: no refund for the month in which it is cancelled. (A month billed in advance that
 *   begins after the cancel date is credited in full: it was never used.)
 * - Yearly: a credit note for the unused WHOLE months = the months of the paid year that begin
 *   after the cancel date: amount × unused months ÷ months paid for (12), rounded DOWN to the
 *   fen. The cancel month itself counts as used. Cancelling on 2026-05-20 a year paid for
 *   2026-03 – 2027-02 (600.00) refunds June – February = 9 months: 600 × 9 ÷ 12 = 450.00.
 * Both cases are the one formula with 1 or 12 paid months; the credit is never negative and
 * never more than the amount paid. Throws a RangeError on malformed input.
 */
export function cancellationRefund(
  sub: Subscription,
  cancelDate: string,
  paid: PaidPeriod,
): CancellationRefund {
  assertDate("cancelDate", cancelDate);
  const amount = assertAmount("paid.amount", paid.amount);
  const unused = unusedWholeMonths(paid, cancelDate);
  const paidMonths = monthsBetween(periodOf(paid.start), periodOf(paid.end)) + 1;
  const refund = fenDown(new Exact(amount.toString()).times(unused).div(paidMonths));
  const rule =
    sub.kind === "monthly"
      ? "monthly: no refund for the month of cancellation; a later month billed in advance is credited in full"
      : "yearly: credit note for unused whole months after the cancel month = amount × months ÷ months paid, rounded down to the fen";
  return {
    kind: refund.isZero() ? "none" : "credit_note",
    endDate: cancelDate,
    unusedWholeMonths: unused,
    paidMonths,
    amount: refund,
    rule,
  };
}

export type SwitchResult =
  | {
      ok: true;
      /** The monthly subscription's last day of use: the last day of the current paid month. */
      monthlyEndDate: string;
      /** The yearly subscription's start date: the 1st of the month after the current paid month. */
      yearlyStartDate: string;
      /** Its first bill's period (and so its anniversary month). */
      firstYearlyPeriod: Period;
    }
  | { ok: false; reason: string };

/**
 * Switch a monthly subscription to yearly, asked for on `switchDate`.
 * The "current paid month" is the later of the switch date's month and the last month already
 * billed to the monthly subscription (a run may have billed ahead). The monthly subscription
 * runs to the end of that month (no refund, nothing lost); the yearly one starts on the 1st of
 * the next month, which is its anniversary month from then on. Refused when the subscription is
 * not monthly, is not active (a suspended one must clear its arrears first), or when the yearly
 * one would start on or after the transfer date.
 */
export function switchToYearly(
  sub: Subscription,
  switchDate: string,
  lastBilledPeriod: Period | null,
  transferDate: string | null = null,
): SwitchResult {
  assertDate("switchDate", switchDate);
  if (sub.kind !== "monthly")
    return { ok: false, reason: "only a monthly subscription can switch to yearly" };
  if (sub.state !== "active") return { ok: false, reason: `a ${sub.state} subscription cannot switch` };
  let current = periodOf(switchDate);
  if (lastBilledPeriod !== null) {
    assertPeriod("lastBilledPeriod", lastBilledPeriod);
    if (comparePeriods(lastBilledPeriod, current) > 0) current = lastBilledPeriod;
  }
  const firstYearlyPeriod = addPeriods(current, 1);
  const yearlyStartDate = periodStart(firstYearlyPeriod);
  if (transferDate !== null) {
    assertDate("transferDate", transferDate);
    if (compareDates(yearlyStartDate, transferDate) >= 0) {
      return {
        ok: false,
        reason: `the yearly subscription would start on or after the transfer date ${transferDate}`,
      };
    }
  }
  return { ok: true, monthlyEndDate: periodEnd(current), yearlyStartDate, firstYearlyPeriod };
}

/** A bill already issued to a subscription: its billing period and the amount billed. */
export interface IssuedBill {
  period: Period;
  amount: string;
}

export interface SettlementCredit {
  /** The bill being credited. */
  period: Period;
  amount: Decimal;
  reason: string;
}

export type FinalSettlement =
  | {
      ok: true;
      /** The subscription ends the day before the transfer date, in state `ended`. */
      endDate: string;
      state: "ended";
      /** A last invoice for the transfer month when it was not billed yet (null when nothing to bill). */
      finalInvoice: {
        period: Period;
        line: InvoiceLineInput;
        amount: Decimal;
      } | null;
      /** Credit notes for the part of issued bills that falls on or after the transfer date. */
      credits: SettlementCredit[];
      totalCredit: Decimal;
    }
  | { ok: false; reason: string };

/**
 * Settle a subscription at the transfer. Billing ends: the subscription's last day of use is the
 * day before the transfer date and its state becomes `ended`.
 *
 * Monthly — the transfer month is charged PRO RATA BY DAYS up to the day before the transfer:
 *   charge = monthly price × days used ÷ days in the month, rounded half up to the fen, where the
 *   days used run from the 1st (or the start date, if later) to the day before the transfer
 *   date. If the run already billed the month in full, a credit note gives back
 *   price − charge; if not, a final invoice asks for the charge. Either way the resident pays
 *   exactly the charge. A transfer on the 1st leaves nothing to bill in that month. A monthly
 *   bill for a later month (should not exist) is credited in full.
 *   Example: 90.00 a month, transfer 2031-03-15: 14 of 31 days → 40.65 charged; if March was
 *   billed 90.00, credit 49.35.
 * Yearly — the year's months that begin on or after the transfer date are credited:
 *   amount × those months ÷ 12, rounded down to the fen (the cancellation rule, with the day
 *   before the transfer as the last day of use); the transfer month itself is kept. If the
 *   anniversary falls in the transfer month and has not been billed, the final invoice is
 *   the yearly price less that credit (so it costs the same as billing then crediting).
 *
 * `bills` are the bills already issued to this subscription (older ones are ignored).
 * Refused for a subscription already cancelled or ended.
 */
export function finalSettlement(
  sub: Subscription,
  transferDate: string,
  bills: readonly IssuedBill[],
): FinalSettlement {
  assertDate("transferDate", transferDate);
  assertDate("startDate", sub.startDate);
  if (sub.state === "cancelled" || sub.state === "ended") {
    return { ok: false, reason: `the subscription is already ${sub.state}` };
  }
  const endDate = addDays(transferDate, -1);
  const transferMonth = periodOf(transferDate);
  const credits: SettlementCredit[] = [];
  let finalInvoice: { period: Period; line: InvoiceLineInput; amount: Decimal } | null = null;
  const startsBeforeTransfer = compareDates(sub.startDate, transferDate) < 0;

  if (sub.kind === "monthly") {
    const firstUsed =
      compareDates(sub.startDate, periodStart(transferMonth)) > 0
        ? sub.startDate
        : periodStart(transferMonth);
    const usedDays = startsBeforeTransfer ? Math.max(0, daysBetween(firstUsed, transferDate)) : 0;
    const dim = daysInPeriod(transferMonth);
    const proRata = (price: Decimal) => fenHalfUp(new Exact(price.toString()).times(usedDays).div(dim));
    let transferMonthBilled = false;
    for (const b of bills) {
      assertPeriod("bills.period", b.period);
      const amount = assertAmount("bills.amount", b.amount);
      const cmp = comparePeriods(b.period, transferMonth);
      if (cmp < 0) continue;
      if (cmp === 0) {
        transferMonthBilled = true;
        const credit = amount.minus(proRata(amount));
        if (credit.gt(0)) {
          credits.push({
            period: b.period,
            amount: credit,
            reason: `transfer on ${transferDate}: ${dim - usedDays} of ${dim} days after the transfer`,
          });
        }
      } else if (amount.gt(0)) {
        credits.push({ period: b.period, amount, reason: "billed for a month after the transfer" });
      }
    }
    const price = assertAmount("unitPrice", sub.unitPrice, PRICE_MAX);
    if (!transferMonthBilled && usedDays > 0 && comparePeriods(periodOf(sub.startDate), transferMonth) <= 0) {
      const amount = proRata(price);
      finalInvoice = {
        period: transferMonth,
        amount,
        line: {
          code: sub.feeCode,
          description: `${sub.feeCode} 包月 ${transferMonth}: ${usedDays} of ${dim} days before the transfer on ${transferDate}`,
          quantity: "1",
          unitPrice: amount.toFixed(2),
        },
      };
    }
  } else {
    let transferMonthCovered = false;
    for (const b of bills) {
      assertPeriod("bills.period", b.period);
      const c = coverageOf("yearly", b.period);
      if (comparePeriods(c.to, transferMonth) < 0) continue;
      if (comparePeriods(c.from, transferMonth) <= 0) transferMonthCovered = true;
      const r = cancellationRefund(sub, endDate, {
        start: periodStart(c.from),
        end: periodEnd(c.to),
        amount: b.amount,
      });
      if (r.amount.gt(0)) {
        credits.push({
          period: b.period,
          amount: r.amount,
          reason: `transfer on ${transferDate}: ${r.unusedWholeMonths} of ${r.paidMonths} months unused`,
        });
      }
    }
    const anniversaryInTransferMonth =
      monthsBetween(periodOf(sub.startDate), transferMonth) >= 0 &&
      monthsBetween(periodOf(sub.startDate), transferMonth) % MONTHS_PER_YEAR === 0;
    if (
      !transferMonthCovered &&
      anniversaryInTransferMonth &&
      startsBeforeTransfer &&
      compareDates(periodStart(transferMonth), transferDate) < 0
    ) {
      const c = coverageOf("yearly", transferMonth);
      const r = cancellationRefund(sub, endDate, {
        start: periodStart(c.from),
        end: periodEnd(c.to),
        amount: sub.unitPrice,
      });
      const amount = money(sub.unitPrice).minus(r.amount);
      finalInvoice = {
        period: transferMonth,
        amount,
        line: {
          code: sub.feeCode,
          description: `${sub.feeCode} 包年 ${transferMonth}: ${r.paidMonths - r.unusedWholeMonths} of ${r.paidMonths} months before the transfer on ${transferDate}`,
          quantity: "1",
          unitPrice: amount.toFixed(2),
        },
      };
    }
  }
  let totalCredit = ZERO;
  for (const c of credits) totalCredit = totalCredit.plus(c.amount);
  return { ok: true, endDate, state: "ended", finalInvoice, credits, totalCredit };
}

// ---------------------------------------------------------------------------------------------
// Payments, arrears and balances

/** The due date of an invoice: the issue date plus `days` calendar days. */
export function dueDate(issueDate: string, days: number): string {
  assertDate("issueDate", issueDate);
  if (!Number.isSafeInteger(days) || days < 0)
    throw new RangeError(`days must be a non-negative integer: ${days}`);
  return addDays(issueDate, days);
}

/** What an arrears check needs of an invoice. */
export interface OpenInvoice {
  dueDate: string;
  /** What is still unpaid on it (total − credit applied − payments − credit notes). */
  outstanding: string | Decimal;
}

/**
 * Does this invoice make its subscription suspendable on `today`? Yes when something is still
 * unpaid AND today is later than the due date plus the grace days. Due 2026-04-15 with 15 grace
 * days: still fine on 2026-04-30, suspendable from 2026-05-01.
 * SQL: `outstanding > 0 AND :today > due_date + grace_days`.
 */
export function isSuspendable(invoice: OpenInvoice, today: string, graceDays: number): boolean {
  assertDate("dueDate", invoice.dueDate);
  assertDate("today", today);
  if (!Number.isSafeInteger(graceDays) || graceDays < 0) {
    throw new RangeError(`graceDays must be a non-negative integer: ${graceDays}`);
  }
  return money(invoice.outstanding).gt(0) && daysBetween(invoice.dueDate, today) > graceDays;
}

/**
 * The state a subscription should have given its open invoices: `suspended` when any invoice is
 * suspendable, else `active` (paying the arrears reinstates it). Cancelled and ended
 * subscriptions keep their state.
 */
export function standing(
  state: SubscriptionState,
  invoices: readonly OpenInvoice[],
  today: string,
  graceDays: number,
): SubscriptionState {
  if (state === "cancelled" || state === "ended") return state;
  return invoices.some((i) => isSuspendable(i, today, graceDays)) ? "suspended" : "active";
}

/** Named so that a client can write them as identifiers (`aging.days1To30`). */
export const AGING_BUCKETS = ["current", "days1To30", "days31To60", "days61To90", "over90Days"] as const;
export type AgingBucket = (typeof AGING_BUCKETS)[number];

/**
 * Arrears aging by days past the due date (today − due date):
 * 0 or less (due today or later) → "current"; 1–30 → "days1To30"; 31–60 → "days31To60";
 * 61–90 → "days61To90"; more than 90 → "over90Days".
 */
export function agingBucket(due: string, today: string): AgingBucket {
  const late = daysBetween(due, today);
  if (late <= 0) return "current";
  if (late <= 30) return "days1To30";
  if (late <= 60) return "days31To60";
  if (late <= 90) return "days61To90";
  return "over90Days";
}

/**
 * What is still unpaid on an invoice: total − credit applied − paid (credit notes reach an invoice
 * only through the credit applied). The SQL twin is db/ledger.ts `outstandingSql`.
 */
export function outstandingOf(invoice: {
  total: string | Decimal;
  creditApplied: string | Decimal;
  paidAmount: string | Decimal;
}): Decimal {
  return money(invoice.total).minus(money(invoice.creditApplied)).minus(money(invoice.paidAmount));
}

/** Outstanding amounts summed per aging bucket (every bucket present, 0 when empty). */
export function agingReport(invoices: readonly OpenInvoice[], today: string): Record<AgingBucket, Decimal> {
  const out = Object.fromEntries(AGING_BUCKETS.map((b) => [b, ZERO])) as Record<AgingBucket, Decimal>;
  for (const i of invoices) {
    const o = money(i.outstanding);
    if (!o.gt(0)) continue;
    const b = agingBucket(i.dueDate, today);
    out[b] = out[b].plus(o);
  }
  return out;
}

/**
 * Split a payment against an invoice's outstanding amount: up to the outstanding goes to the
 * invoice; the rest (overpayment) becomes the household's credit, applied to the next invoice.
 */
export function allocatePayment(
  outstanding: string | Decimal,
  payment: string | Decimal,
): { toInvoice: Decimal; toCredit: Decimal } {
  const o = Decimal.max(money(outstanding), ZERO);
  const p = assertAmount("payment", payment);
  const toInvoice = Decimal.min(o, p);
  return { toInvoice, toCredit: p.minus(toInvoice) };
}

export interface Ledger {
  /** Invoice totals (before any credit applied: applying credit moves nothing in the ledger). */
  invoices: readonly (string | Decimal)[];
  payments: readonly (string | Decimal)[];
  /** Credit notes (cancellation and transfer credits, corrections). */
  credits: readonly (string | Decimal)[];
  /** Refunds paid out in cash (they give back a credit, so they raise the balance again). */
  refunds: readonly (string | Decimal)[];
}

/**
 * A household's balance = invoices − payments − credit notes + refunds paid out.
 * Positive: the household owes; negative: it has credit to be applied to the next invoice.
 */
export function balanceOf(ledger: Ledger): Decimal {
  const sum = (xs: readonly (string | Decimal)[]) => {
    let s = ZERO;
    for (const x of xs) s = s.plus(money(x));
    return s;
  };
  return sum(ledger.invoices)
    .minus(sum(ledger.payments))
    .minus(sum(ledger.credits))
    .plus(sum(ledger.refunds));
}

// ---------------------------------------------------------------------------------------------
// Invoice numbers

const PREFIX_RE = /^[A-Z][A-Z0-9]{0,9}$/;
const INVOICE_NO_RE = /^([A-Z][A-Z0-9]{0,9})-(\d{4})-(\d{6,})$/;

/**
 * An invoice number `<prefix>-<year>-<seq>`: EL-2026-000123. The sequence is gap-free per
 * enterprise and year, starts at 1, and is written with at least 6 digits (wider from 1000000
 * on). The prefix is 1–10 capital letters or digits, starting with a letter.
 */
export function formatInvoiceNumber(prefix: string, year: number, seq: number): string {
  if (!PREFIX_RE.test(prefix)) throw new RangeError(`invoice prefix must be 1–10 of A–Z, 0–9: ${prefix}`);
  if (!Number.isInteger(year) || year < 1 || year > 9999) throw new RangeError(`year out of range: ${year}`);
  if (!Number.isSafeInteger(seq) || seq < 1)
    throw new RangeError(`sequence must be a positive integer: ${seq}`);
  return `${prefix}-${String(year).padStart(4, "0")}-${String(seq).padStart(6, "0")}`;
}

/** Read an invoice number back; null unless it is exactly what formatInvoiceNumber writes. */
export function parseInvoiceNumber(s: string): { prefix: string; year: number; seq: number } | null {
  if (typeof s !== "string") return null;
  const m = INVOICE_NO_RE.exec(s);
  if (!m) return null;
  const prefix = m[1] ?? "";
  const year = Number(m[2]);
  const seq = Number(m[3]);
  if (year < 1 || !Number.isSafeInteger(seq) || seq < 1) return null;
  if (formatInvoiceNumber(prefix, year, seq) !== s) return null;
  return { prefix, year, seq };
}
