import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, contentHash, sha256Hex } from "./canonical.js";
import { Decimal } from "./money.js";

describe("canonical JSON", () => {
  it("sorts object keys at every depth and drops whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it("sorts keys by UTF-16 code units, not by locale", () => {
    expect(canonicalJson({ b: 1, a: 1, Z: 1, é: 1, "😀": 1, "\uffff": 1, "10": 1, "9": 1 })).toBe(
      '{"10":1,"9":1,"Z":1,"a":1,"b":1,"é":1,"😀":1,"\uffff":1}',
    );
  });

  it("keeps arrays in order and omits undefined properties", () => {
    expect(canonicalJson({ list: [3, 1, 2], gone: undefined, nil: null })).toBe(
      '{"list":[3,1,2],"nil":null}',
    );
    expect(canonicalJson([undefined, 1])).toBe("[null,1]");
  });

  it("escapes strings as JSON.stringify does", () => {
    const s = 'quote " backslash \\ newline \n tab \t nul \u0000 lone \ud800 电梯';
    expect(canonicalJson({ s })).toBe(`{"s":${JSON.stringify(s)}}`);
  });

  it("writes numbers, booleans, dates and decimals as JSON does", () => {
    expect(canonicalJson([0, -0, 1.5, 1e21, true, false])).toBe("[0,0,1.5,1e+21,true,false]");
    expect(canonicalJson({ at: new Date("2026-01-31T23:30:00Z") })).toBe('{"at":"2026-01-31T23:30:00.000Z"}');
    expect(canonicalJson({ price: new Decimal("128.50") })).toBe('{"price":"128.5"}');
  });

  it("refuses values JSON cannot carry faithfully", () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 1n, () => 1, Symbol("s"), new Map()]) {
      expect(() => canonicalJson({ v: bad }), String(bad)).toThrow(TypeError);
      expect(() => canonicalJson([bad]), String(bad)).toThrow(TypeError);
    }
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/circular/);
  });

  it("a shared (non-circular) object may appear twice", () => {
    const shared = { a: 1 };
    expect(canonicalJson([shared, shared])).toBe('[{"a":1},{"a":1}]');
  });

  it("round-trips through JSON.parse and ignores key order (property)", () => {
    const shuffle = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(shuffle);
      if (v && typeof v === "object") {
        const entries = Object.entries(v).reverse();
        return Object.fromEntries(entries.map(([k, x]) => [k, shuffle(x)]));
      }
      return v;
    };
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalJson(v);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
        expect(canonicalJson(shuffle(v))).toBe(text);
      }),
    );
  });
});

describe("content hashes", () => {
  it("sha256Hex is the standard SHA-256 of the UTF-8 text", () => {
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("the same terms written in another key order have the same hash", () => {
    const a = { totalInvestment: "1000000.00", feeSchedule: [{ code: "EL-M", price: "60.00" }] };
    const b = { feeSchedule: [{ price: "60.00", code: "EL-M" }], totalInvestment: "1000000.00" };
    expect(contentHash(a)).toBe(contentHash(b));
    expect(contentHash(a)).toBe(
      sha256Hex('{"feeSchedule":[{"code":"EL-M","price":"60.00"}],"totalInvestment":"1000000.00"}'),
    );
  });

  it("any change of content changes the hash", () => {
    const a = { price: "60.00" };
    expect(contentHash(a)).not.toBe(contentHash({ price: "60.01" }));
    expect(contentHash([1, 2])).not.toBe(contentHash([2, 1]));
    expect(contentHash(a)).toMatch(/^[0-9a-f]{64}$/);
  });
});
