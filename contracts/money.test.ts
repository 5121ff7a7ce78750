import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkMoney,
  DEFAULT_GUIDANCE_SHARE,
  Decimal,
  formatMoney,
  guidanceShare,
  isMoneyString,
  MONEY_MAX,
  money,
  PRICE_MAX,
  sumMoney,
} from "./money.js";

const FORMAT = "must be a decimal string with at most 2 decimal places";

describe("money at the boundary", () => {
  it("an amount with up to two decimal places is accepted", () => {
    for (const v of ["0", "0.00", "128.5", "128.50", "999999999999.99"]) {
      expect(checkMoney(v), v).toBeNull();
      expect(isMoneyString(v)).toBe(true);
    }
  });

  it("an amount with a sign, exponent, spaces or three decimals is refused with a reason", () => {
    for (const v of [
      "1.234",
      "1e3",
      "+1",
      " 1",
      "1 ",
      "",
      "abc",
      "1.",
      ".5",
      "1,000.00",
      "NaN",
      "Infinity",
    ]) {
      expect(checkMoney(v), JSON.stringify(v)).toBe(FORMAT);
    }
  });

  it("a negative amount is refused as negative", () => {
    expect(checkMoney("-1")).toBe("must not be negative");
    expect(checkMoney("-0.50")).toBe("must not be negative");
  });

  it("a fee item price above 100000.00 is refused", () => {
    expect(checkMoney("100000.00", { max: PRICE_MAX })).toBeNull();
    expect(checkMoney("100000.01", { max: PRICE_MAX })).toBe("must be at most 100000.00");
  });

  it("an investment above what numeric(14,2) holds is refused", () => {
    expect(checkMoney(MONEY_MAX.toFixed(2))).toBeNull();
    expect(checkMoney("1000000000000.00")).toBe("must be at most 999999999999.99");
  });

  it("zero can be refused where an amount must be positive", () => {
    expect(checkMoney("0.00")).toBeNull();
    expect(checkMoney("0.00", { allowZero: false })).toBe("must be greater than 0");
  });

  it("a non-string reaching the boundary is refused instead of throwing", () => {
    expect(checkMoney(12 as unknown as string)).toBe(FORMAT);
  });
});

describe("money arithmetic to the fen", () => {
  it("half a fen rounds up: 0.005 → 0.01, and 2.675 is not a float trap", () => {
    expect(formatMoney(new Decimal("0.005"))).toBe("0.01");
    expect(formatMoney(new Decimal("0.004"))).toBe("0.00");
    expect(formatMoney(new Decimal("2.675"))).toBe("2.68");
    expect(formatMoney(new Decimal("-0.005"))).toBe("-0.01");
    expect(formatMoney(new Decimal("-0.001"))).toBe("0.00");
    expect(formatMoney(money("128.5"))).toBe("128.50");
  });

  it("money parses decimal strings and refuses anything else", () => {
    expect(money("10").eq("10.00")).toBe(true);
    expect(money("-3.5").toString()).toBe("-3.5");
    const d = new Decimal("1.23");
    expect(money(d)).toBe(d);
    for (const bad of ["1e3", "abc", "", " 1", "0x10"]) expect(() => money(bad)).toThrow(RangeError);
  });

  it("ten fen plus twenty fen is exactly thirty fen", () => {
    expect(formatMoney(sumMoney(["0.10", "0.20"]))).toBe("0.30");
    expect(formatMoney(sumMoney([]))).toBe("0.00");
  });

  it("sums of amounts equal the integer sum of fen (property)", () => {
    const cents = fc.bigInt({ min: 0n, max: 99_999_999_999_99n });
    fc.assert(
      fc.property(fc.array(cents, { maxLength: 20 }), (list) => {
        const strings = list.map((c) => `${c / 100n}.${String(c % 100n).padStart(2, "0")}`);
        const expected = list.reduce((a, b) => a + b, 0n);
        const got = formatMoney(sumMoney(strings));
        expect(got).toBe(`${expected / 100n}.${String(expected % 100n).padStart(2, "0")}`);
      }),
    );
  });
});

describe("guidance funds share", () => {
  it("150,000.00 of 1,000,000.00 is 15.00 %", () => {
    expect(guidanceShare("150000.00", "1000000.00")).toBe("15.00");
    expect(DEFAULT_GUIDANCE_SHARE).toBe("15.00");
  });

  it("123,456.78 of 823,045.20 is exactly 15.00 %", () => {
    expect(guidanceShare("123456.78", "823045.20")).toBe("15.00");
  });

  it("shares round half up to two places", () => {
    expect(guidanceShare("1", "3")).toBe("33.33");
    expect(guidanceShare("2", "3")).toBe("66.67");
    expect(guidanceShare("1", "8")).toBe("12.50");
    expect(guidanceShare("1", "80000")).toBe("0.00");
    expect(guidanceShare("1", "40000")).toBe("0.00"); // 0.0025 %
    expect(guidanceShare("1", "20000")).toBe("0.01"); // 0.005 % rounds up
  });

  it("no investment means a 0.00 share", () => {
    expect(guidanceShare("0.00", "0.00")).toBe("0.00");
  });
});
