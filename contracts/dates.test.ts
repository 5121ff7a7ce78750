import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addDays,
  addMonths,
  compareDates,
  daysBetween,
  daysInMonth,
  isDate,
  shanghaiDate,
  shanghaiDateTime,
  transferDate,
} from "./dates.js";

describe("adding calendar months", () => {
  it("keeps the day of the month when the target month has it", () => {
    expect(addMonths("2026-01-15", 1)).toBe("2026-02-15");
    expect(addMonths("2026-01-31", 2)).toBe("2026-03-31");
  });

  it("clamps to the last day of a shorter month", () => {
    expect(addMonths("2026-01-31", 1)).toBe("2026-02-28");
    expect(addMonths("2028-01-31", 1)).toBe("2028-02-29");
    expect(addMonths("2026-03-31", 1)).toBe("2026-04-30");
  });

  it("crosses year ends and goes backwards", () => {
    expect(addMonths("2026-11-30", 3)).toBe("2027-02-28");
    expect(addMonths("2026-03-31", -1)).toBe("2026-02-28");
    expect(addMonths("2026-01-15", -13)).toBe("2024-12-15");
    expect(addMonths("2026-01-15", 0)).toBe("2026-01-15");
  });

  it("refuses malformed dates and fractional months", () => {
    for (const bad of ["2026-02-30", "2026-13-01", "2026-1-5", "20260105", "", "2026-01-05T00:00:00Z"]) {
      expect(() => addMonths(bad, 1), bad).toThrow(RangeError);
    }
    expect(() => addMonths("2026-01-15", 1.5)).toThrow(RangeError);
    expect(() => addMonths("9999-12-01", 1)).toThrow(RangeError);
  });

  it("never overflows into the following month (property)", () => {
    const date = fc
      .record({
        y: fc.integer({ min: 1900, max: 2200 }),
        m: fc.integer({ min: 1, max: 12 }),
        d: fc.integer({ min: 1, max: 31 }),
      })
      .filter(({ y, m, d }) => d <= daysInMonth(y, m));
    fc.assert(
      fc.property(date, fc.integer({ min: -1200, max: 1200 }), ({ y, m, d }, n) => {
        const start = `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
        const out = addMonths(start, n);
        expect(isDate(out)).toBe(true);
        const index = y * 12 + (m - 1) + n;
        const [oy, om, od] = out.split("-").map(Number) as [number, number, number];
        expect(oy * 12 + (om - 1)).toBe(index);
        expect(od).toBe(Math.min(d, daysInMonth(oy, om)));
      }),
    );
  });
});

describe("the transfer date", () => {
  it("a leap day plus 12 months lands on 28 February", () => {
    expect(transferDate("2024-02-29", 12)).toBe("2025-02-28");
  });

  it("31 December plus 2 months lands on the leap day", () => {
    expect(transferDate("2023-12-31", 2)).toBe("2024-02-29");
  });

  it("ten years of operation from 31 August ends on 31 August ten years later", () => {
    expect(transferDate("2026-08-31", 120)).toBe("2036-08-31");
    expect(transferDate("2026-08-31", 126)).toBe("2037-02-28");
    expect(transferDate("2027-08-31", 126)).toBe("2038-02-28");
    expect(transferDate("2025-08-31", 186)).toBe("2041-02-28");
    expect(transferDate("2023-08-31", 6)).toBe("2024-02-29");
  });
});

describe("calendar dates", () => {
  it("recognises only real dates written YYYY-MM-DD", () => {
    expect(isDate("2024-02-29")).toBe(true);
    expect(isDate("2000-02-29")).toBe(true);
    expect(isDate("2023-02-29")).toBe(false);
    expect(isDate("1900-02-29")).toBe(false);
    expect(isDate("2026-04-31")).toBe(false);
    expect(isDate("2026-4-1")).toBe(false);
    expect(isDate("0000-01-01")).toBe(false);
    expect(isDate(" 2026-04-01")).toBe(false);
  });

  it("counts days between dates, negative when backwards", () => {
    expect(daysBetween("2024-01-01", "2025-01-01")).toBe(366);
    expect(daysBetween("2025-01-01", "2026-01-01")).toBe(365);
    expect(daysBetween("2026-03-01", "2026-02-28")).toBe(-1);
    expect(daysBetween("2026-03-01", "2026-03-01")).toBe(0);
  });

  it("adding days and counting them agree (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: -50_000, max: 50_000 }),
        (start, n) => {
          const from = addDays("1950-01-01", start);
          expect(daysBetween(from, addDays(from, n))).toBe(n);
        },
      ),
    );
  });

  it("orders dates", () => {
    expect(compareDates("2026-01-31", "2026-02-01")).toBeLessThan(0);
    expect(compareDates("2026-02-01", "2026-02-01")).toBe(0);
  });
});

describe("the Shanghai date of an instant", () => {
  it("23:30 UTC on the last day of a month is already the first of the next month in Shanghai", () => {
    expect(shanghaiDate(new Date("2026-01-31T23:30:00Z"))).toBe("2026-02-01");
    expect(shanghaiDate(new Date("2026-12-31T23:30:00Z"))).toBe("2027-01-01");
    expect(shanghaiDate(new Date("2024-02-28T23:30:00Z"))).toBe("2024-02-29");
  });

  it("the Shanghai day changes at 16:00 UTC", () => {
    expect(shanghaiDate(new Date("2026-06-30T15:59:59.999Z"))).toBe("2026-06-30");
    expect(shanghaiDate(new Date("2026-06-30T16:00:00Z"))).toBe("2026-07-01");
  });

  it("agrees with Intl for Asia/Shanghai (property)", () => {
    const fmt = new Intl.DateTimeFormat("en-CA", {
      timeZone: "Asia/Shanghai",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    });
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1992, 0, 1), max: Date.UTC(2100, 0, 1) }), (ms) => {
        const d = new Date(ms);
        expect(shanghaiDate(d)).toBe(fmt.format(d));
      }),
    );
  });

  it("refuses an invalid instant", () => {
    expect(() => shanghaiDate(new Date("nope"))).toThrow(RangeError);
  });
});

describe("the Shanghai wall-clock time of an instant", () => {
  it("is the same instant written with +08:00, to the millisecond", () => {
    expect(shanghaiDateTime(new Date("2026-01-31T23:30:00Z"))).toBe("2026-02-01T07:30:00.000+08:00");
    expect(shanghaiDateTime(new Date("2026-06-30T15:59:59.999Z"))).toBe("2026-06-30T23:59:59.999+08:00");
  });

  it("reads back as the instant it was made from", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("1990-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }),
        (d) => {
          expect(new Date(shanghaiDateTime(d)).getTime()).toBe(d.getTime());
        },
      ),
    );
  });
});
