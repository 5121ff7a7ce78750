import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  actualsToDate,
  type FinancialInputs,
  IRR_MAX,
  IRR_MIN,
  irr,
  npv,
  projectFinancials,
  validateFinancialInputs,
} from "./finance.js";
import { Decimal, formatMoney } from "./money.js";

/**
 * A six-storey building, 4 households a floor (24), an added elevator on a 66-month term.
 *
 * Full-year revenue (hand-computed):
 *   EL-M monthly, take-up 0.50 → 2 households a floor, floor prices 0 (ground), 30, 45, 60, 75, 90
 *        = 2 × 300 = 600.00 a month × 12                        =  7,200.00
 *   EL-Y yearly 600.00, take-up 0.25 → 6 households × 600.00      =  3,600.00
 *   RIDE per use 0.50 × 10,000 rides a year                       =  5,000.00
 *                                                     recurring     15,800.00
 *   CARD one-off 20.00, take-up 1 → 24 × 20.00, year 1 only        =    480.00
 * Yearly costs: 6,000 + 1,200 + 800 + 300                        =  8,300.00
 *
 * Cash flows (year: revenue − costs = net; cumulative):
 *   0: −30,000.00                                  cumulative −30,000.00
 *   1: 16,280.00 − 8,300.00 = 7,980.00             cumulative −22,020.00
 *   2: 15,800.00 − 8,300.00 = 7,500.00             cumulative −14,520.00
 *   3: 7,500.00                                    cumulative  −7,020.00
 *   4: 7,500.00                                    cumulative     480.00  ← payback year 4
 *   5: 7,500.00                                    cumulative   7,980.00
 *   6 (6 months): 7,900.00 − 4,150.00 = 3,750.00   cumulative  11,730.00
 * NPV at 5 %: −30,000 + 7,980/1.05 + 7,500/1.05² + 7,500/1.05³ + 7,500/1.05⁴ + 7,500/1.05⁵
 *   + 3,750/1.05⁶ = −30,000 + 7,600.0000 + 6,802.7211 + 6,478.7820 + 6,170.2686 + 5,876.4462
 *   + 2,798.3077 = 5,726.5256 → 5,726.53.
 */
function elevator(): FinancialInputs {
  return {
    investment: "40000.00",
    guidanceFunds: "6000.00",
    enterpriseCapital: "30000.00",
    operationTermMonths: 66,
    feeSchedule: [
      {
        code: "EL-M",
        name: "包月",
        kind: "monthly",
        price: "60.00",
        unit: "household",
        floorPrices: [
          { floor: 2, price: "30.00" },
          { floor: 3, price: "45.00" },
          { floor: 4, price: "60.00" },
          { floor: 5, price: "75.00" },
          { floor: 6, price: "90.00" },
        ],
      },
      { code: "EL-Y", name: "包年", kind: "yearly", price: "600.00", unit: "household" },
      { code: "RIDE", name: "per ride", kind: "per_use", price: "0.50", unit: "ride" },
      { code: "CARD", name: "access card", kind: "one_off", price: "20.00", unit: "household" },
    ],
    takeUp: {
      householdsByFloor: [1, 2, 3, 4, 5, 6].map((floor) => ({ floor, households: 4 })),
      rates: { "EL-M": "0.50", "EL-Y": "0.25", CARD: "1" },
    },
    yearlyCosts: { maintenance: "6000.00", electricity: "1200.00", insurance: "800.00", other: "300.00" },
    usagePerYear: { RIDE: "10000" },
    discountRate: "0.05",
  };
}

describe("the owners committee asks: is this term fair?", () => {
  it("a textbook case: 100,000 capital, 30,000 a year net for 5 years at 5 %", () => {
    // Annuity factor (1 − 1.05⁻⁵) ÷ 0.05 = 4.3294766706…; 30,000 × 4.3294766706 = 129,884.3001
    // NPV = −100,000 + 129,884.3001 = 29,884.30 (with the factor rounded to 4.329477 one would
    // get 29,884.31: the exact figure is 29,884.30).
    const flows = ["-100000.00", "30000.00", "30000.00", "30000.00", "30000.00", "30000.00"];
    expect(formatMoney(npv(flows, "0.05"))).toBe("29884.30");
    // IRR: NPV(15.23 %) > 0 > NPV(15.24 %) = −4.16, the root is ≈ 15.238 % → "0.1524".
    expect(irr(flows)).toBe("0.1524");
    expect(formatMoney(npv(flows, "0"))).toBe("50000.00");
  });

  it("the elevator of a six-storey building pays back in year 4 with an NPV of 5,726.53", () => {
    const p = projectFinancials(elevator());
    expect(p.revenueByItem).toEqual([
      { code: "EL-M", kind: "monthly", quantity: "12", amount: "7200.00" },
      { code: "EL-Y", kind: "yearly", quantity: "6", amount: "3600.00" },
      { code: "RIDE", kind: "per_use", quantity: "10000", amount: "5000.00" },
      { code: "CARD", kind: "one_off", quantity: "24", amount: "480.00" },
    ]);
    expect(p.yearlyCosts).toBe("8300.00");
    expect(p.years.map((y) => [y.year, y.months, y.revenue, y.costs, y.net, y.cumulative])).toEqual([
      [0, 0, "0.00", "0.00", "-30000.00", "-30000.00"],
      [1, 12, "16280.00", "8300.00", "7980.00", "-22020.00"],
      [2, 12, "15800.00", "8300.00", "7500.00", "-14520.00"],
      [3, 12, "15800.00", "8300.00", "7500.00", "-7020.00"],
      [4, 12, "15800.00", "8300.00", "7500.00", "480.00"],
      [5, 12, "15800.00", "8300.00", "7500.00", "7980.00"],
      [6, 6, "7900.00", "4150.00", "3750.00", "11730.00"],
    ]);
    expect(p.paybackYear).toBe(4);
    expect(p.totalNet).toBe("11730.00");
    expect(p.discountRate).toBe("0.0500");
    expect(p.npv).toBe("5726.53");
    // IRR ≈ 11.19 %: the NPV at that rate is within a few yuan of zero.
    expect(p.irr).toBe("0.1119");
    expect(
      npv(
        p.years.map((y) => y.net),
        "0.1119",
      )
        .abs()
        .lt(10),
    ).toBe(true);
    expect(p.enterpriseCapital).toBe("30000.00");
  });

  it("a garage with a fixed number of slots and charging by the kWh", () => {
    const p = projectFinancials({
      investment: "300000.00",
      guidanceFunds: "45000.00",
      enterpriseCapital: "255000.00",
      operationTermMonths: 120,
      feeSchedule: [
        { code: "PARK-M", name: "parking", kind: "monthly", price: "50.00", unit: "slot" },
        { code: "CHG-KWH", name: "charging", kind: "per_use", price: "1.20", unit: "kWh" },
      ],
      // 40 slots × 50.00 × 12 = 24,000.00; 15,000.5 kWh × 1.20 = 18,000.60 → 42,000.60 a year.
      takeUp: { slots: { "PARK-M": 40 } },
      yearlyCosts: { maintenance: "5000.00", electricity: "9000.30", insurance: "1000.00", other: "0.00" },
      usagePerYear: { "CHG-KWH": "15000.5" },
      discountRate: "0.08",
    });
    // Net 42,000.60 − 15,000.30 = 27,000.30 a year; 255,000 ÷ 27,000.30 = 9.44 → pays back in year 10.
    expect(p.years[1]?.net).toBe("27000.30");
    expect(p.years).toHaveLength(11);
    expect(p.paybackYear).toBe(10);
    expect(p.totalNet).toBe("15003.00");
    // Barely positive undiscounted, so at 8 % the NPV is negative and the IRR under 8 %.
    expect(new Decimal(p.npv).isNegative()).toBe(true);
    expect(p.irr !== null && new Decimal(p.irr).lt("0.08")).toBe(true);
  });

  it("a term that never pays back says so", () => {
    const p = projectFinancials({ ...elevator(), enterpriseCapital: "1000000.00", investment: "2000000.00" });
    expect(p.paybackYear).toBeNull();
    expect(p.irr !== null && new Decimal(p.irr).isNegative()).toBe(true);
  });

  it("no IRR when the cash never turns", () => {
    expect(irr(["-100.00", "-10.00"])).toBeNull();
    expect(irr(["100.00", "10.00"])).toBeNull();
    expect(irr(["-100.00", "100.00"])).toBe("0.0000");
    // A return beyond 1000 % a year is outside the search: 0.01 in, 0.12 out is 1100 %.
    expect(irr(["-0.01", "0.12"])).toBeNull();
  });

  it("bad inputs are reported with the field and the reason", () => {
    const bad = {
      ...elevator(),
      enterpriseCapital: "1.234",
      operationTermMonths: 0,
      discountRate: "1.5",
      takeUp: { rates: { "EL-M": "1.2" }, slots: { "PARK-M": -1 } },
      usagePerYear: { RIDE: "1e3" },
    };
    expect(validateFinancialInputs(bad).map((i) => i.path)).toEqual([
      "enterpriseCapital",
      "operationTermMonths",
      "discountRate",
      "takeUp.rates.EL-M",
      "takeUp.slots.PARK-M",
      "usagePerYear.RIDE",
    ]);
    expect(() => projectFinancials(bad)).toThrow(RangeError);
    expect(validateFinancialInputs(elevator())).toEqual([]);
  });

  it("the IRR makes the NPV vanish and the NPV falls as the rate rises (property)", () => {
    const cents = (min: number, max: number) => fc.integer({ min, max }).map((c) => new Decimal(c).div(100));
    fc.assert(
      fc.property(
        cents(1, 100_000_000),
        fc.array(cents(0, 10_000_000), { minLength: 1, maxLength: 15 }),
        (cap, nets) => {
          fc.pre(nets.some((n) => n.gt(0)));
          const flows = [cap.negated(), ...nets];
          fc.pre(npv(flows, IRR_MAX).lt(0) && npv(flows, IRR_MIN).gt(0));
          const r = irr(flows);
          expect(r).not.toBeNull();
          const rate = new Decimal(r ?? "0");
          const lower = npv(flows, rate.minus("0.0001"));
          const upper = npv(flows, rate.plus("0.0001"));
          expect(lower.gte(0) || rate.lte("-0.9899")).toBe(true);
          expect(upper.lte(0) || rate.gte("9.9999")).toBe(true);
          expect(npv(flows, "0.05").lte(npv(flows, "0.04"))).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("the actuals to date, against the enterprise's capital", () => {
  it("two years in, 49 % of the capital has come back", () => {
    // Nets 15,000 − 8,000 = 7,000.00 and 16,000.50 − 8,300 = 7,700.50 → 14,700.50;
    // 14,700.50 ÷ 30,000 = 49.0017 % → "49.00"; position 14,700.50 − 30,000 = −15,299.50.
    const a = actualsToDate({
      capital: "30000.00",
      collected: ["15000.00", "16000.50"],
      costs: ["8000.00", "8300.00"],
    });
    expect(a.years).toEqual([
      { year: 1, collected: "15000.00", costs: "8000.00", net: "7000.00", cumulative: "-23000.00" },
      { year: 2, collected: "16000.50", costs: "8300.00", net: "7700.50", cumulative: "-15299.50" },
    ]);
    expect(a.netToDate).toBe("14700.50");
    expect(a.position).toBe("-15299.50");
    expect(a.recoveredPercent).toBe("49.00");
    expect(a.paidBack).toBe(false);
  });

  it("a year without reported costs counts them as 0; capital fully back means paid back", () => {
    const a = actualsToDate({
      capital: new Decimal("10000"),
      collected: ["6000.00", "5000.00"],
      costs: ["1000.00"],
    });
    expect(a.years[1]?.costs).toBe("0.00");
    expect(a.position).toBe("0.00");
    expect(a.paidBack).toBe(true);
    expect(a.recoveredPercent).toBe("100.00");
    expect(actualsToDate({ capital: "0", collected: [], costs: [] }).recoveredPercent).toBeNull();
    expect(() => actualsToDate({ capital: "-1", collected: [], costs: [] })).toThrow(RangeError);
  });
});
