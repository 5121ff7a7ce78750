import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Decimal } from "./money.js";
import { reconcile } from "./reconcile.js";

const TOL = { absolute: "1.00", relative: "0.01" };

describe("the owners committee checks an operation report against the platform", () => {
  it("each reported figure is shown beside the platform's with the difference", () => {
    const r = reconcile(
      { invoiced: "12000.00", collected: "11500.00", rides: "8200", kWh: "1500.125" },
      { invoiced: "12000.00", collected: "11000.00", rides: "8210", kWh: "1500.5" },
      TOL,
    );
    expect(r.figures).toEqual([
      {
        figure: "invoiced",
        reported: "12000.00",
        platform: "12000.00",
        difference: "0.00",
        allowed: "120",
        flagged: false,
        reason: "within_tolerance",
      },
      {
        figure: "collected",
        reported: "11500.00",
        platform: "11000.00",
        difference: "500.00",
        allowed: "110",
        flagged: true,
        reason: "beyond_tolerance",
      },
      {
        figure: "rides",
        reported: "8200",
        platform: "8210",
        difference: "-10",
        allowed: "82.1",
        flagged: false,
        reason: "within_tolerance",
      },
      {
        figure: "kWh",
        reported: "1500.125",
        platform: "1500.5",
        difference: "-0.375",
        allowed: "15.005",
        flagged: false,
        reason: "within_tolerance",
      },
    ]);
    expect(r.flaggedCount).toBe(1);
  });

  it("a difference exactly at the tolerance passes, one fen more is flagged", () => {
    // allowed = max(1.00, 0.01 × 50.00 = 0.50) = 1.00
    expect(reconcile({ a: "51.00" }, { a: "50.00" }, TOL).figures[0]?.flagged).toBe(false);
    expect(reconcile({ a: "51.01" }, { a: "50.00" }, TOL).figures[0]?.flagged).toBe(true);
    // allowed = max(1.00, 0.01 × 1000.00 = 10.00) = 10.00
    expect(reconcile({ a: "990.00" }, { a: "1000.00" }, TOL).figures[0]?.flagged).toBe(false);
    expect(reconcile({ a: "989.99" }, { a: "1000.00" }, TOL).figures[0]?.flagged).toBe(true);
  });

  it("a figure the report leaves out, or that the platform does not know, is flagged", () => {
    const r = reconcile({ invoiced: "10.00", extra: "5" }, { invoiced: "10.00", incidents: "3" }, TOL);
    expect(r.figures.map((f) => [f.figure, f.flagged, f.reason, f.difference])).toEqual([
      ["invoiced", false, "within_tolerance", "0.00"],
      ["extra", true, "missing_platform", null],
      ["incidents", true, "missing_reported", null],
    ]);
    expect(r.flaggedCount).toBe(2);
  });

  it("zero tolerance flags any difference; malformed figures or tolerances are refused", () => {
    const zero = { absolute: "0", relative: "0" };
    expect(reconcile({ a: "1" }, { a: "1.00" }, zero).figures[0]?.flagged).toBe(false);
    expect(reconcile({ a: "1.01" }, { a: "1.00" }, zero).figures[0]?.flagged).toBe(true);
    expect(() => reconcile({ a: "1,000" }, { a: "1" }, TOL)).toThrow(RangeError);
    expect(() => reconcile({ a: "1" }, { a: "1e3" }, TOL)).toThrow(RangeError);
    expect(() => reconcile({}, {}, { absolute: "-1", relative: "0" })).toThrow(RangeError);
    expect(reconcile({}, {}, TOL)).toEqual({ figures: [], flaggedCount: 0 });
  });

  it("a flag means exactly |reported − platform| > max(absolute, relative × |platform|) (property)", () => {
    const amount = fc
      .integer({ min: -10_000_000, max: 10_000_000 })
      .map((c) => new Decimal(c).div(100).toFixed(2));
    const tol = fc.record({
      absolute: fc.integer({ min: 0, max: 10_000 }).map((c) => new Decimal(c).div(100).toFixed(2)),
      relative: fc.integer({ min: 0, max: 1000 }).map((c) => new Decimal(c).div(10_000).toFixed(4)),
    });
    fc.assert(
      fc.property(amount, amount, tol, (rep, plat, t) => {
        const f = reconcile({ x: rep }, { x: plat }, t).figures[0];
        const diff = new Decimal(rep).minus(plat);
        const allowed = Decimal.max(t.absolute, new Decimal(t.relative).times(new Decimal(plat).abs()));
        expect(f?.difference).toBe(diff.toFixed(2) === "-0.00" ? "0.00" : diff.toFixed(2));
        expect(f?.flagged).toBe(diff.abs().gt(allowed));
      }),
      { numRuns: 200 },
    );
  });
});
