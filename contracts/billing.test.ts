import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  agingBucket,
  agingReport,
  allocatePayment,
  balanceOf,
  billingRunRefusal,
  cancellationRefund,
  checkQuantity,
  coverageOf,
  dueDate,
  duePeriods,
  finalSettlement,
  formatInvoiceNumber,
  invoiceFor,
  isDue,
  isSuspendable,
  type Ledger,
  parseInvoiceNumber,
  type Subscription,
  standing,
  subscriptionLine,
  switchToYearly,
  unusedWholeMonths,
  usageAmount,
} from "./billing.js";
import { addDays, compareDates } from "./dates.js";
import { Decimal, formatMoney } from "./money.js";
import { addPeriods, monthsBetween, periodEnd, periodOf, periodRange, periodStart } from "./periods.js";

const OPEN = { operationStart: "2026-01-10", transferDate: null };

function sub(over: Partial<Subscription> = {}): Subscription {
  return {
    id: "s1",
    feeCode: "EL-M",
    kind: "monthly",
    unitPrice: "60.00",
    startDate: "2026-03-15",
    endDate: null,
    state: "active",
    ...over,
  };
}

const fen = (d: Decimal) => formatMoney(d);

// ---------------------------------------------------------------------------------------------
// arbitraries

const date = fc.integer({ min: 0, max: 365 * 8 }).map((n) => addDays("2024-01-01", n));
const priceStr = fc.integer({ min: 0, max: 10_000_000 }).map((c) => new Decimal(c).div(100).toFixed(2));
const smallPrice = fc.integer({ min: 0, max: 200_000 }).map((c) => new Decimal(c).div(100).toFixed(2));
const qtyStr = fc.integer({ min: 0, max: 100_000_000 }).map((m) => new Decimal(m).div(1000).toString());
const line = fc.record({
  code: fc.constantFrom("EL-M", "EL-Y", "CHG-KWH", "CHG-MIN", "RIDE"),
  description: fc.string({ maxLength: 10 }),
  quantity: qtyStr,
  unitPrice: smallPrice,
});
const subscription = fc
  .record({
    kind: fc.constantFrom("monthly" as const, "yearly" as const),
    startDate: date,
    endAfter: fc.option(fc.integer({ min: 0, max: 2000 }), { nil: null }),
    state: fc.constantFrom("active" as const, "suspended" as const, "cancelled" as const, "ended" as const),
  })
  .map(
    ({ kind, startDate, endAfter, state }): Subscription => ({
      id: "s",
      feeCode: kind === "monthly" ? "EL-M" : "EL-Y",
      kind,
      unitPrice: kind === "monthly" ? "60.00" : "600.00",
      startDate,
      endDate: endAfter === null ? null : addDays(startDate, endAfter),
      state,
    }),
  );
const limits = fc
  .record({
    op: date,
    term: fc.option(fc.integer({ min: 1, max: 72 }), { nil: null }),
    d: fc.integer({ min: 0, max: 27 }),
  })
  .map(({ op, term, d }) => ({
    operationStart: op,
    transferDate: term === null ? null : addDays(periodStart(periodOf(addDays(op, term * 30))), d),
  }));

// ---------------------------------------------------------------------------------------------

describe("which subscriptions a billing run bills", () => {
  it("a monthly pass is billed every month from its start month, the start month in full", () => {
    const s = sub();
    expect(isDue(s, "2026-02", OPEN)).toBe(false);
    expect(isDue(s, "2026-03", OPEN)).toBe(true);
    expect(isDue(s, "2026-04", OPEN)).toBe(true);
    expect(isDue(s, "2031-12", OPEN)).toBe(true);
    expect(subscriptionLine(s, "2026-03")).toEqual({
      code: "EL-M",
      description: "EL-M 包月 2026-03",
      quantity: "1",
      unitPrice: "60.00",
    });
  });

  it("a yearly pass is billed in its anniversary month only", () => {
    const s = sub({ kind: "yearly", feeCode: "EL-Y", unitPrice: "600.00" });
    expect(duePeriods(s, "2026-01", "2028-12", OPEN)).toEqual(["2026-03", "2027-03", "2028-03"]);
    expect(coverageOf("yearly", "2026-03")).toEqual({ from: "2026-03", to: "2027-02" });
    expect(subscriptionLine(s, "2027-03").description).toBe("EL-Y 包年 2027-03 – 2028-02");
  });

  it("a yearly pass started on 29 February is billed every February, leap year or not", () => {
    const s = sub({ kind: "yearly", startDate: "2028-02-29" });
    expect(duePeriods(s, "2028-01", "2031-12", OPEN)).toEqual(["2028-02", "2029-02", "2030-02", "2031-02"]);
    const m = sub({ startDate: "2028-02-29" });
    expect(isDue(m, "2028-02", OPEN)).toBe(true);
    expect(isDue(m, "2028-01", OPEN)).toBe(false);
  });

  it("nothing is billed before the month the operation starts", () => {
    const s = sub({ startDate: "2025-11-01" });
    const limits = { operationStart: "2026-01-10", transferDate: null };
    expect(isDue(s, "2025-12", limits)).toBe(false);
    expect(isDue(s, "2026-01", limits)).toBe(true);
    expect(billingRunRefusal("2025-12", limits)).toBe(
      "period 2025-12 is before the operation start month 2026-01",
    );
    expect(billingRunRefusal("2026-01", limits)).toBeNull();
  });

  it("the transfer month is billed when the transfer falls after its 1st; later months never", () => {
    const limits = { operationStart: "2026-01-10", transferDate: "2031-03-15" };
    const s = sub();
    expect(isDue(s, "2031-02", limits)).toBe(true);
    expect(isDue(s, "2031-03", limits)).toBe(true);
    expect(isDue(s, "2031-04", limits)).toBe(false);
    expect(billingRunRefusal("2031-03", limits)).toBeNull();
    expect(billingRunRefusal("2031-04", limits)).toBe(
      "period 2031-04 begins on or after the transfer date 2031-03-15: billing has ended",
    );
  });

  it("a transfer on the 1st of a month leaves that month unbilled", () => {
    const limits = { operationStart: "2026-01-10", transferDate: "2031-03-01" };
    expect(isDue(sub(), "2031-02", limits)).toBe(true);
    expect(isDue(sub(), "2031-03", limits)).toBe(false);
    expect(billingRunRefusal("2031-03", limits)).not.toBeNull();
  });

  it("a cancelled pass is billed up to the month of its last day, and never without one", () => {
    const s = sub({ state: "cancelled", endDate: "2026-06-20" });
    expect(isDue(s, "2026-06", OPEN)).toBe(true);
    expect(isDue(s, "2026-07", OPEN)).toBe(false);
    expect(isDue(sub({ state: "ended", endDate: null }), "2026-04", OPEN)).toBe(false);
  });

  it("a suspended pass (arrears) is still billed", () => {
    expect(isDue(sub({ state: "suspended" }), "2026-05", OPEN)).toBe(true);
  });

  it("malformed periods and dates are refused", () => {
    expect(() => isDue(sub(), "2026-13", OPEN)).toThrow(RangeError);
    expect(() => isDue(sub({ startDate: "2026-02-30" }), "2026-03", OPEN)).toThrow(RangeError);
  });

  it("no period is billed twice: each due period once, bills never cover the same month (property)", () => {
    fc.assert(
      fc.property(subscription, limits, (s, lim) => {
        const from = "2023-06";
        const to = "2034-12";
        const due = duePeriods(s, from, to, lim);
        expect(new Set(due).size).toBe(due.length);
        expect([...due].sort()).toEqual(due);
        const covered = due.flatMap((p) => {
          const c = coverageOf(s.kind, p);
          return periodRange(c.from, c.to);
        });
        expect(new Set(covered).size).toBe(covered.length);
        for (const p of due) {
          expect(p >= periodOf(s.startDate)).toBe(true);
          expect(p >= periodOf(lim.operationStart)).toBe(true);
          if (lim.transferDate) expect(periodStart(p) < lim.transferDate).toBe(true);
          if (s.endDate) expect(periodStart(p) <= s.endDate).toBe(true);
          if (s.kind === "yearly") expect(monthsBetween(periodOf(s.startDate), p) % 12).toBe(0);
        }
        // Monthly passes: the due months are one unbroken run.
        if (s.kind === "monthly" && due.length > 0) {
          const first = due[0] ?? "";
          expect(due).toEqual(periodRange(first, addPeriods(first, due.length - 1)));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("usage charges and invoices", () => {
  it("a charging session is priced once per line, rounded half up to the fen", () => {
    expect(fen(usageAmount("12.345", "1.20"))).toBe("14.81");
    expect(fen(usageAmount("0.125", "0.20"))).toBe("0.03");
    expect(fen(usageAmount("0.124", "0.20"))).toBe("0.02");
    expect(fen(usageAmount("90", "0.05"))).toBe("4.50");
    expect(fen(usageAmount("0", "1.00"))).toBe("0.00");
  });

  it("a quantity with four decimals, a sign or an exponent is refused", () => {
    expect(checkQuantity("1.234")).toBeNull();
    expect(checkQuantity("1000000")).toBeNull();
    for (const q of ["1.2345", "-1", "1e3", "", " 1", "1000000.001"])
      expect(checkQuantity(q), q).not.toBeNull();
    expect(() => usageAmount("1.2345", "1.00")).toThrow(RangeError);
    expect(() => usageAmount("1", "1.005")).toThrow(RangeError);
    expect(() => usageAmount("1", "-1.00")).toThrow(RangeError);
  });

  it("an invoice adds its lines and takes the household's credit without going below zero", () => {
    const inv = invoiceFor(
      [
        { code: "EL-M", description: "包月 2026-03", quantity: "1", unitPrice: "60.00" },
        { code: "CHG-KWH", description: "charging", quantity: "12.345", unitPrice: "1.20" },
      ],
      "100.00",
    );
    expect(inv.lines.map((l) => fen(l.amount))).toEqual(["60.00", "14.81"]);
    expect(fen(inv.total)).toBe("74.81");
    expect(fen(inv.creditApplied)).toBe("74.81");
    expect(fen(inv.amountDue)).toBe("0.00");
    expect(fen(inv.creditRemaining)).toBe("25.19");
    const next = invoiceFor(
      [{ code: "EL-M", description: "", quantity: "1", unitPrice: "60.00" }],
      inv.creditRemaining,
    );
    expect(fen(next.amountDue)).toBe("34.81");
    expect(fen(next.creditRemaining)).toBe("0.00");
  });

  it("an invoice without lines, with a blank code or a negative credit is refused", () => {
    expect(() => invoiceFor([])).toThrow(RangeError);
    expect(() => invoiceFor([{ code: " ", description: "", quantity: "1", unitPrice: "1.00" }])).toThrow(
      RangeError,
    );
    expect(() =>
      invoiceFor([{ code: "A", description: "", quantity: "1", unitPrice: "1.00" }], "-1.00"),
    ).toThrow(RangeError);
  });

  it("every invoice's lines sum to its total, and credit is never lost or overused (property)", () => {
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 12 }), priceStr, (lines, credit) => {
        const inv = invoiceFor(lines, credit);
        let sum = new Decimal(0);
        for (const l of inv.lines) {
          expect(l.amount.decimalPlaces()).toBeLessThanOrEqual(2);
          expect(l.amount.minus(new Decimal(l.quantity).times(l.unitPrice)).abs().lte("0.005")).toBe(true);
          sum = sum.plus(l.amount);
        }
        expect(sum.eq(inv.total)).toBe(true);
        expect(inv.amountDue.gte(0)).toBe(true);
        expect(inv.amountDue.plus(inv.creditApplied).eq(inv.total)).toBe(true);
        expect(inv.creditApplied.plus(inv.creditRemaining).eq(credit)).toBe(true);
        expect(inv.creditRemaining.gte(0)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe("cancelling and switching", () => {
  const year = { start: "2026-03-01", end: "2027-02-28", amount: "600.00" };
  const yearly = sub({ kind: "yearly", feeCode: "EL-Y", unitPrice: "600.00", startDate: "2026-03-01" });

  it("cancelling a yearly pass in May refunds June to February as a credit note", () => {
    const r = cancellationRefund(yearly, "2026-05-20", year);
    expect(r.unusedWholeMonths).toBe(9);
    expect(r.paidMonths).toBe(12);
    expect(fen(r.amount)).toBe("450.00");
    expect(r.kind).toBe("credit_note");
    expect(r.endDate).toBe("2026-05-20");
  });

  it("the refund is rounded down to the fen", () => {
    // 100.00 × 11 ÷ 12 = 91.6666… → 91.66
    const r = cancellationRefund(yearly, "2026-03-31", { ...year, amount: "100.00" });
    expect(r.unusedWholeMonths).toBe(11);
    expect(fen(r.amount)).toBe("91.66");
  });

  it("the month of cancellation counts as used, even on its 1st; in the last month nothing is refunded", () => {
    expect(cancellationRefund(yearly, "2026-06-01", year).unusedWholeMonths).toBe(8);
    const last = cancellationRefund(yearly, "2027-02-10", year);
    expect(last.kind).toBe("none");
    expect(fen(last.amount)).toBe("0.00");
    // Cancelled the day before the paid year starts: everything back.
    expect(fen(cancellationRefund(yearly, "2026-02-28", year).amount)).toBe("600.00");
  });

  it("cancelling a monthly pass refunds nothing for the month; a month billed ahead comes back whole", () => {
    const m = sub();
    const may = { start: "2026-05-01", end: "2026-05-31", amount: "60.00" };
    expect(fen(cancellationRefund(m, "2026-05-02", may).amount)).toBe("0.00");
    expect(cancellationRefund(m, "2026-05-02", may).kind).toBe("none");
    expect(fen(cancellationRefund(m, "2026-04-30", may).amount)).toBe("60.00");
  });

  it("a yearly refund is never negative and never more than was paid, and shrinks as time passes (property)", () => {
    const paid = fc.record({ start: date, amount: priceStr }).map(({ start, amount }) => {
      const p = periodOf(start);
      return { start: periodStart(p), end: periodEnd(addPeriods(p, 11)), amount };
    });
    fc.assert(
      fc.property(
        paid,
        fc.integer({ min: -400, max: 800 }),
        fc.integer({ min: 0, max: 400 }),
        (pp, off, later) => {
          const c1 = addDays(pp.start, off);
          const c2 = addDays(c1, later);
          const r1 = cancellationRefund(yearly, c1, pp);
          const r2 = cancellationRefund(yearly, c2, pp);
          expect(r1.amount.gte(0)).toBe(true);
          expect(r1.amount.lte(pp.amount)).toBe(true);
          expect(r1.amount.decimalPlaces()).toBeLessThanOrEqual(2);
          expect(r1.unusedWholeMonths).toBeGreaterThanOrEqual(0);
          expect(r1.unusedWholeMonths).toBeLessThanOrEqual(12);
          expect(r2.amount.lte(r1.amount)).toBe(true);
          // Exactly the share of unused months, rounded down (less than a fen away).
          const exact = new Decimal(pp.amount).times(r1.unusedWholeMonths).div(12);
          expect(exact.minus(r1.amount).gte(0)).toBe(true);
          expect(exact.minus(r1.amount).lt("0.01")).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("unused whole months are those that begin after the last day of use", () => {
    expect(unusedWholeMonths({ start: "2026-03-01", end: "2027-02-28" }, "2026-12-31")).toBe(2);
    expect(unusedWholeMonths({ start: "2026-03-01", end: "2027-02-28" }, "2025-01-01")).toBe(12);
    expect(() => unusedWholeMonths({ start: "2027-03-01", end: "2026-02-28" }, "2026-12-31")).toThrow(
      RangeError,
    );
  });

  it("switching to yearly mid-May: the monthly pass runs to 31 May, the yearly one starts 1 June", () => {
    expect(switchToYearly(sub(), "2026-05-10", "2026-05")).toEqual({
      ok: true,
      monthlyEndDate: "2026-05-31",
      yearlyStartDate: "2026-06-01",
      firstYearlyPeriod: "2026-06",
    });
    // June already billed by an early run: the yearly pass starts in July.
    const r = switchToYearly(sub(), "2026-05-30", "2026-06");
    expect(r.ok && r.yearlyStartDate).toBe("2026-07-01");
    // May not billed yet: it will be, so the yearly pass still starts in June.
    const r2 = switchToYearly(sub(), "2026-05-03", "2026-04");
    expect(r2.ok && r2.yearlyStartDate).toBe("2026-06-01");
  });

  it("switching is refused for a yearly, suspended pass, or one that would start at the transfer", () => {
    expect(switchToYearly(sub({ kind: "yearly" }), "2026-05-10", null).ok).toBe(false);
    expect(switchToYearly(sub({ state: "suspended" }), "2026-05-10", null).ok).toBe(false);
    expect(switchToYearly(sub(), "2026-05-10", null, "2026-06-01").ok).toBe(false);
    expect(switchToYearly(sub(), "2026-05-10", null, "2026-06-02").ok).toBe(true);
  });

  it("after a switch the monthly and the yearly pass never bill the same month (property)", () => {
    fc.assert(
      fc.property(date, fc.integer({ min: 0, max: 900 }), (start, after) => {
        const m = sub({ startDate: start });
        const switchDate = addDays(start, after);
        const r = switchToYearly(m, switchDate, null);
        if (!r.ok) throw new Error(r.reason);
        const ended = { ...m, endDate: r.monthlyEndDate };
        const y = sub({ kind: "yearly", startDate: r.yearlyStartDate, unitPrice: "600.00" });
        const lim = { operationStart: "2024-01-01", transferDate: null };
        const months = duePeriods(ended, "2024-01", "2034-12", lim);
        const years = duePeriods(y, "2024-01", "2034-12", lim).flatMap((p) =>
          periodRange(p, addPeriods(p, 11)),
        );
        expect(months.filter((p) => years.includes(p))).toEqual([]);
        // …and leave no month unpaid in between.
        expect(addPeriods(months[months.length - 1] ?? "", 1)).toBe(years[0]);
      }),
      { numRuns: 100 },
    );
  });
});

describe("the transfer ends billing", () => {
  const monthly = sub({ unitPrice: "90.00", startDate: "2026-03-15" });

  it("a monthly pass pays the transfer month by the days before the transfer (bill then credit)", () => {
    // March 2031 has 31 days; transfer on the 15th → 14 days used: 90 × 14 ÷ 31 = 40.645… → 40.65.
    const r = finalSettlement(monthly, "2031-03-15", [
      { period: "2031-02", amount: "90.00" },
      { period: "2031-03", amount: "90.00" },
    ]);
    if (!r.ok) throw new Error(r.reason);
    expect(r.endDate).toBe("2031-03-14");
    expect(r.state).toBe("ended");
    expect(r.finalInvoice).toBeNull();
    expect(r.credits.map((c) => [c.period, fen(c.amount)])).toEqual([["2031-03", "49.35"]]);
    expect(fen(r.totalCredit)).toBe("49.35");
  });

  it("a monthly pass not yet billed for the transfer month gets a final pro rata invoice", () => {
    const r = finalSettlement(monthly, "2031-03-15", [{ period: "2031-02", amount: "90.00" }]);
    if (!r.ok) throw new Error(r.reason);
    expect(r.finalInvoice?.period).toBe("2031-03");
    expect(fen(r.finalInvoice?.amount ?? new Decimal(-1))).toBe("40.65");
    expect(r.finalInvoice?.line.unitPrice).toBe("40.65");
    expect(r.credits).toEqual([]);
  });

  it("a transfer on the 1st bills nothing in that month, and a month billed after it is credited whole", () => {
    const r = finalSettlement(monthly, "2031-03-01", [{ period: "2031-03", amount: "90.00" }]);
    if (!r.ok) throw new Error(r.reason);
    expect(r.finalInvoice).toBeNull();
    expect(fen(r.totalCredit)).toBe("90.00");
    const r2 = finalSettlement(monthly, "2031-03-01", []);
    expect(r2.ok && r2.finalInvoice).toBeNull();
  });

  it("a transfer on 29 February in a leap year counts 28 of 29 days", () => {
    // 90 × 28 ÷ 29 = 86.896… → 86.90 charged; credit 3.10.
    const r = finalSettlement(monthly, "2032-02-29", [{ period: "2032-02", amount: "90.00" }]);
    if (!r.ok) throw new Error(r.reason);
    expect(fen(r.totalCredit)).toBe("3.10");
  });

  it("a yearly pass is credited the months of its year that begin after the transfer month", () => {
    const yearly = sub({ kind: "yearly", unitPrice: "600.00", startDate: "2026-09-01" });
    // Year billed 2030-09 covers 2030-09 … 2031-08; transfer 2031-03-15 → April … August = 5 months.
    const r = finalSettlement(yearly, "2031-03-15", [
      { period: "2029-09", amount: "600.00" },
      { period: "2030-09", amount: "600.00" },
    ]);
    if (!r.ok) throw new Error(r.reason);
    expect(r.credits.map((c) => [c.period, fen(c.amount)])).toEqual([["2030-09", "250.00"]]);
    expect(r.finalInvoice).toBeNull();
    // Transfer on the 1st of March: March is not used either → 6 months.
    const r2 = finalSettlement(yearly, "2031-03-01", [{ period: "2030-09", amount: "600.00" }]);
    expect(r2.ok && fen(r2.totalCredit)).toBe("300.00");
  });

  it("a yearly pass whose anniversary is the unbilled transfer month pays that month only", () => {
    const yearly = sub({ kind: "yearly", unitPrice: "600.00", startDate: "2026-03-01" });
    const r = finalSettlement(yearly, "2031-03-15", [{ period: "2030-03", amount: "600.00" }]);
    if (!r.ok) throw new Error(r.reason);
    // 600 − 600 × 11 ÷ 12 = 600 − 550 = 50.00
    expect(r.finalInvoice && fen(r.finalInvoice.amount)).toBe("50.00");
    expect(r.credits).toEqual([]);
  });

  it("a cancelled pass has nothing to settle at the transfer", () => {
    expect(finalSettlement(sub({ state: "cancelled", endDate: "2027-01-01" }), "2031-03-15", []).ok).toBe(
      false,
    );
  });

  it("a monthly resident pays the same for the transfer month whether it was billed first or not (property)", () => {
    fc.assert(
      fc.property(smallPrice, date, date, (price, start, transfer) => {
        fc.pre(compareDates(start, transfer) < 0);
        const s = sub({ unitPrice: price, startDate: start });
        const tm = periodOf(transfer);
        const billed = finalSettlement(s, transfer, [{ period: tm, amount: price }]);
        const unbilled = finalSettlement(s, transfer, []);
        if (!billed.ok || !unbilled.ok) throw new Error("refused");
        const paidWhenBilled = new Decimal(price).minus(billed.totalCredit);
        const paidWhenNot = unbilled.finalInvoice?.amount ?? new Decimal(0);
        expect(paidWhenBilled.eq(paidWhenNot)).toBe(true);
        expect(billed.totalCredit.gte(0) && billed.totalCredit.lte(price)).toBe(true);
        // Never billed a month that begins on or after the transfer.
        expect(isDue({ ...s, endDate: billed.endDate, state: "ended" }, addPeriods(tm, 1), OPEN)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe("arrears", () => {
  it("an invoice issued on 31 January with 15 days to pay is due on 15 February", () => {
    expect(dueDate("2026-01-31", 15)).toBe("2026-02-15");
    expect(dueDate("2028-02-20", 10)).toBe("2028-03-01");
    expect(() => dueDate("2026-01-31", -1)).toThrow(RangeError);
  });

  it("a pass is suspended only once the grace period after the due date has run out", () => {
    const inv = { dueDate: "2026-04-15", outstanding: "60.00" };
    expect(isSuspendable(inv, "2026-04-30", 15)).toBe(false);
    expect(isSuspendable(inv, "2026-05-01", 15)).toBe(true);
    expect(isSuspendable({ ...inv, outstanding: "0.00" }, "2026-09-01", 15)).toBe(false);
    expect(isSuspendable(inv, "2026-04-16", 0)).toBe(true);
    expect(() => isSuspendable(inv, "2026-04-16", -1)).toThrow(RangeError);
  });

  it("paying the arrears reinstates a suspended pass; a cancelled one stays cancelled", () => {
    const late = { dueDate: "2026-04-15", outstanding: "60.00" };
    expect(standing("active", [late], "2026-06-01", 15)).toBe("suspended");
    expect(standing("suspended", [{ ...late, outstanding: "0.00" }], "2026-06-01", 15)).toBe("active");
    expect(standing("cancelled", [late], "2026-06-01", 15)).toBe("cancelled");
  });

  it("arrears are aged by days past due", () => {
    expect(agingBucket("2026-04-15", "2026-04-01")).toBe("current");
    expect(agingBucket("2026-04-15", "2026-04-15")).toBe("current");
    expect(agingBucket("2026-04-15", "2026-04-16")).toBe("days1To30");
    expect(agingBucket("2026-04-15", "2026-05-15")).toBe("days1To30");
    expect(agingBucket("2026-04-15", "2026-05-16")).toBe("days31To60");
    expect(agingBucket("2026-04-15", "2026-06-14")).toBe("days31To60");
    expect(agingBucket("2026-04-15", "2026-06-15")).toBe("days61To90");
    expect(agingBucket("2026-04-15", "2026-07-14")).toBe("days61To90");
    expect(agingBucket("2026-04-15", "2026-07-15")).toBe("over90Days");
  });

  it("a contract's receivables are summed per aging bucket", () => {
    const r = agingReport(
      [
        { dueDate: "2026-04-15", outstanding: "60.00" },
        { dueDate: "2026-04-20", outstanding: "30.50" },
        { dueDate: "2026-01-01", outstanding: "600.00" },
        { dueDate: "2026-01-01", outstanding: "0.00" },
        { dueDate: "2026-06-01", outstanding: "10.00" },
      ],
      "2026-05-01",
    );
    expect(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, fen(v)]))).toEqual({
      current: "10.00",
      days1To30: "90.50",
      days31To60: "0.00",
      days61To90: "0.00",
      over90Days: "600.00",
    });
  });
});

describe("payments and balances", () => {
  it("an overpayment becomes the household's credit", () => {
    const a = allocatePayment("60.00", "100.00");
    expect([fen(a.toInvoice), fen(a.toCredit)]).toEqual(["60.00", "40.00"]);
    const b = allocatePayment("60.00", "20.00");
    expect([fen(b.toInvoice), fen(b.toCredit)]).toEqual(["20.00", "0.00"]);
    expect(() => allocatePayment("60.00", "-1.00")).toThrow(RangeError);
  });

  it("a household's balance is invoices − payments − credit notes + refunds", () => {
    const l: Ledger = {
      invoices: ["60.00", "74.81"],
      payments: ["100.00"],
      credits: ["10.00"],
      refunds: ["5.00"],
    };
    expect(fen(balanceOf(l))).toBe("29.81");
    expect(fen(balanceOf({ invoices: [], payments: [], credits: [], refunds: [] }))).toBe("0.00");
  });

  it("the balance always equals what is outstanding less the credit on hand (property)", () => {
    const event = fc.oneof(
      fc.record({
        t: fc.constant("invoice" as const),
        lines: fc.array(line, { minLength: 1, maxLength: 3 }),
      }),
      fc.record({ t: fc.constant("payment" as const), amount: smallPrice }),
      fc.record({ t: fc.constant("credit" as const), amount: smallPrice }),
      fc.record({ t: fc.constant("refund" as const), share: fc.integer({ min: 0, max: 100 }) }),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), (events) => {
        const ledger = {
          invoices: [] as Decimal[],
          payments: [] as Decimal[],
          credits: [] as Decimal[],
          refunds: [] as Decimal[],
        };
        const open: Decimal[] = [];
        let credit = new Decimal(0);
        for (const e of events) {
          if (e.t === "invoice") {
            const inv = invoiceFor(e.lines, credit);
            ledger.invoices.push(inv.total);
            open.push(inv.amountDue);
            credit = inv.creditRemaining;
          } else if (e.t === "payment") {
            ledger.payments.push(new Decimal(e.amount));
            const i = open.findIndex((o) => o.gt(0));
            const a = allocatePayment(i < 0 ? "0" : (open[i] ?? new Decimal(0)), e.amount);
            if (i >= 0) open[i] = (open[i] ?? new Decimal(0)).minus(a.toInvoice);
            credit = credit.plus(a.toCredit);
          } else if (e.t === "credit") {
            ledger.credits.push(new Decimal(e.amount));
            credit = credit.plus(e.amount);
          } else {
            const r = credit.times(e.share).div(100).toDecimalPlaces(2, Decimal.ROUND_DOWN);
            ledger.refunds.push(r);
            credit = credit.minus(r);
          }
        }
        let outstanding = new Decimal(0);
        for (const o of open) outstanding = outstanding.plus(o);
        expect(balanceOf(ledger).eq(outstanding.minus(credit))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe("invoice numbers", () => {
  it("are written prefix-year-sequence with six digits, wider past 999999", () => {
    expect(formatInvoiceNumber("EL", 2026, 123)).toBe("EL-2026-000123");
    expect(formatInvoiceNumber("GR2", 2026, 999999)).toBe("GR2-2026-999999");
    expect(formatInvoiceNumber("EL", 2026, 1234567)).toBe("EL-2026-1234567");
    for (const [p, y, s] of [
      ["el", 2026, 1],
      ["", 2026, 1],
      ["E-L", 2026, 1],
      ["EL", 2026, 0],
      ["EL", 2026, 1.5],
      ["EL", 10000, 1],
    ] as const) {
      expect(() => formatInvoiceNumber(p, y, s)).toThrow(RangeError);
    }
  });

  it("read back to the same prefix, year and sequence, and nothing else parses", () => {
    expect(parseInvoiceNumber("EL-2026-000123")).toEqual({ prefix: "EL", year: 2026, seq: 123 });
    expect(parseInvoiceNumber("EL-2026-1234567")).toEqual({ prefix: "EL", year: 2026, seq: 1234567 });
    for (const s of [
      "EL-2026-123",
      "EL-2026-0123456",
      "EL-2026-000000",
      "el-2026-000123",
      "EL-26-000123",
      "",
    ]) {
      expect(parseInvoiceNumber(s), s).toBeNull();
    }
    fc.assert(
      fc.property(
        fc.constantFrom("EL", "GR", "X9"),
        fc.integer({ min: 2000, max: 2100 }),
        fc.integer({ min: 1, max: 50_000_000 }),
        (p, y, s) => {
          expect(parseInvoiceNumber(formatInvoiceNumber(p, y, s))).toEqual({ prefix: p, year: y, seq: s });
        },
      ),
      { numRuns: 200 },
    );
  });
});
