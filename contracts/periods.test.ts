import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addMonths } from "./dates.js";
import {
  addPeriods,
  comparePeriods,
  daysInPeriod,
  isPeriod,
  monthsBetween,
  nextPeriod,
  periodEnd,
  periodIndex,
  periodOf,
  periodOfInstant,
  periodRange,
  periodStart,
} from "./periods.js";

const period = fc
  .record({ y: fc.integer({ min: 1900, max: 2200 }), m: fc.integer({ min: 1, max: 12 }) })
  .map(({ y, m }) => `${y}-${String(m).padStart(2, "0")}`);

describe("billing periods are calendar months", () => {
  it("a clerk writes a period as YYYY-MM and nothing else is accepted", () => {
    for (const p of ["2026-01", "2026-12", "0001-01", "9999-12"]) expect(isPeriod(p), p).toBe(true);
    for (const p of ["2026-13", "2026-00", "2026-1", "202601", "2026-01-01", "", "0000-05"]) {
      expect(isPeriod(p), p).toBe(false);
    }
    expect(() => periodStart("2026-13")).toThrow(RangeError);
  });

  it("a date belongs to its month, which runs from the 1st to the last day", () => {
    expect(periodOf("2026-02-28")).toBe("2026-02");
    expect(periodStart("2026-02")).toBe("2026-02-01");
    expect(periodEnd("2026-02")).toBe("2026-02-28");
    expect(periodEnd("2028-02")).toBe("2028-02-29");
    expect(periodEnd("2100-02")).toBe("2100-02-28");
    expect(periodEnd("2026-04")).toBe("2026-04-30");
    expect(daysInPeriod("2026-12")).toBe(31);
    expect(() => periodOf("2026-02-30")).toThrow(RangeError);
  });

  it("months are counted across year ends", () => {
    expect(nextPeriod("2026-12")).toBe("2027-01");
    expect(addPeriods("2026-11", 3)).toBe("2027-02");
    expect(addPeriods("2026-01", -13)).toBe("2024-12");
    expect(monthsBetween("2026-11", "2027-02")).toBe(3);
    expect(monthsBetween("2027-02", "2026-11")).toBe(-3);
    expect(comparePeriods("2026-12", "2027-01")).toBe(-1);
    expect(comparePeriods("2027-01", "2027-01")).toBe(0);
    expect(periodRange("2026-11", "2027-02")).toEqual(["2026-11", "2026-12", "2027-01", "2027-02"]);
    expect(periodRange("2027-02", "2026-11")).toEqual([]);
    expect(() => addPeriods("9999-12", 1)).toThrow(RangeError);
    expect(() => addPeriods("2026-01", 0.5)).toThrow(RangeError);
  });

  it("a billing run at 23:30 UTC on the last day of a month bills the next Shanghai month", () => {
    expect(periodOfInstant(new Date("2026-01-31T23:30:00Z"))).toBe("2026-02");
    expect(periodOfInstant(new Date("2026-01-31T15:59:59Z"))).toBe("2026-01");
    expect(periodOfInstant(new Date("2026-01-31T16:00:00Z"))).toBe("2026-02");
    expect(periodOfInstant(new Date("2026-12-31T23:30:00Z"))).toBe("2027-01");
    expect(periodOfInstant(new Date("2028-02-29T15:59:59Z"))).toBe("2028-02");
    expect(() => periodOfInstant(new Date("nope"))).toThrow(RangeError);
  });

  it("month arithmetic agrees with date arithmetic and ordering (property)", () => {
    fc.assert(
      fc.property(period, fc.integer({ min: -600, max: 600 }), (p, n) => {
        const q = addPeriods(p, n);
        expect(monthsBetween(p, q)).toBe(n);
        expect(comparePeriods(p, q) + Math.sign(n)).toBe(0);
        expect(periodOf(addMonths(periodStart(p), n))).toBe(q);
        expect(p < q).toBe(n > 0);
        expect(periodIndex(q) - periodIndex(p)).toBe(n);
        expect(periodOf(periodEnd(q))).toBe(q);
      }),
      { numRuns: 200 },
    );
  });
});
