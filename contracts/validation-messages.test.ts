import { describe, expect, it } from "vitest";
import { z } from "zod";
import { plainMessage, whenGiven } from "./validation-messages.js";

/** A schema, a value it refuses, and the sentence(s) the refusal reads as. */
type Case = [name: string, schema: z.ZodType, input: unknown, messages: string[]];

const messagesOf = (schema: z.ZodType, input: unknown) => {
  const result = schema.safeParse(input, { error: plainMessage });
  expect(result.success, "the input should be refused").toBe(false);
  return result.error?.issues.map((issue) => issue.message);
};

// Keyed by zod's issue codes: a code zod adds fails the type-check here until it has a case.
const CASES: Record<z.core.$ZodIssueCode, Case[]> = {
  invalid_type: [
    ["a missing field", z.object({ name: z.string() }), {}, ["is required"]],
    ["a number for text", z.string(), 12, ["must be text, not a number"]],
    ["text for a number", z.number(), "12", ["must be a number, not text"]],
    ["null for text", z.string(), null, ["must be text, not null"]],
    ["a list for an object", z.object({}), [], ["must be an object, not a list"]],
    ["an object for a list", z.array(z.string()), {}, ["must be a list, not an object"]],
    ["text for true or false", z.boolean(), "yes", ["must be true or false, not text"]],
    ["true for a number", z.number(), true, ["must be a number, not true/false"]],
    [
      "a fraction for a whole number",
      z.number().int().min(1).max(200),
      1.5,
      ["must be a whole number from 1 to 200"],
    ],
    [
      "a query value that is no number",
      z.coerce.number().int().min(1).max(200),
      "ten",
      ["must be a whole number from 1 to 200"],
    ],
    [
      "text for a bounded whole number",
      z.number().int().min(0),
      "3",
      ["must be a whole number of at least 0, not text"],
    ],
    ["an invalid date", z.coerce.date(), "someday", ["must be a date"]],
    ["a value where none may be", z.object({ x: z.never() }), { x: 1 }, ["is not allowed"]],
  ],
  too_small: [
    ["empty text", z.string().trim().min(1).max(40), "  ", ["must not be empty"]],
    ["short text", z.string().min(3).max(5), "ab", ["must be 3 to 5 characters long"]],
    ["short text without a maximum", z.string().min(3), "ab", ["must be at least 3 characters long"]],
    ["text of a fixed length", z.string().length(4), "abc", ["must be exactly 4 characters long"]],
    [
      "a number below its range",
      z.number().int().min(1).max(600),
      0,
      ["must be a whole number from 1 to 600"],
    ],
    ["a number at an exclusive minimum", z.number().gt(0), 0, ["must be a number greater than 0"]],
    ["a negative number", z.number().nonnegative(), -1, ["must be a number of at least 0"]],
    ["an empty list", z.array(z.string()).min(1), [], ["must have at least one item"]],
    ["a short list", z.array(z.string()).min(2).max(4), ["a"], ["must have 2 to 4 items"]],
    ["a small set", z.set(z.string()).min(2), new Set(["a"]), ["must have at least 2 items"]],
    [
      "an early date",
      z.date().min(new Date("2026-01-01T00:00:00Z")),
      new Date("2025-06-01"),
      ["must be on or after 2026-01-01T00:00:00.000Z"],
    ],
    ["a small bigint", z.bigint().min(5n), 1n, ["must be a whole number of at least 5"]],
  ],
  too_big: [
    ["long text", z.string().trim().min(1).max(40), "x".repeat(41), ["must be 1 to 40 characters long"]],
    [
      "long text without a minimum",
      z.string().max(2000),
      "x".repeat(2001),
      ["must be at most 2000 characters long"],
    ],
    [
      "a number above its range",
      z.number().int().min(-5).max(200),
      201,
      ["must be a whole number from -5 to 200"],
    ],
    ["a number above a maximum", z.number().max(1), 2, ["must be a number of at most 1"]],
    [
      "a number at an exclusive maximum",
      z.number().gt(0).lt(1),
      1,
      ["must be a number greater than 0 and less than 1"],
    ],
    ["a long list", z.array(z.string()).max(2), ["a", "b", "c"], ["must have at most 2 items"]],
    [
      "a late date",
      z.date().max(new Date("2026-01-01T00:00:00Z")),
      new Date("2026-06-01"),
      ["must be on or before 2026-01-01T00:00:00.000Z"],
    ],
    ["an unsafe integer", z.int(), 2 ** 60, ["must be a whole number of at most 9007199254740991"]],
  ],
  invalid_format: [
    ["a pattern", z.string().regex(/^[A-Z]+$/), "abc", ["must match the pattern /^[A-Z]+$/"]],
    ["a UUID", z.uuid(), "42", ["must be a UUID"]],
    ["an email address", z.email(), "someone", ["must be an email address"]],
    ["a URL", z.url(), "no url", ["must be a URL"]],
    ["a date", z.iso.date(), "2026-02-30", ["must be a date as YYYY-MM-DD"]],
    [
      "a UTC date and time",
      z.iso.datetime(),
      "2026-03-01T08:00:00+08:00",
      ["must be a date and time as YYYY-MM-DDTHH:MM:SS in UTC, ending in Z"],
    ],
    [
      "a date and time with an offset",
      z.iso.datetime({ offset: true }),
      "2026-03-01",
      ["must be a date and time as YYYY-MM-DDTHH:MM:SS with Z or an offset such as +08:00"],
    ],
    ["a time", z.iso.time(), "25:00", ["must be a time as HH:MM:SS"]],
    ["a prefix", z.string().startsWith("bot_"), "key", ['must start with "bot_"']],
    ["a suffix", z.string().endsWith(".csv"), "rows.txt", ['must end with ".csv"']],
    ["lowercase", z.string().lowercase(), "ABC", ["must be in lowercase"]],
  ],
  not_multiple_of: [
    ["cents", z.number().multipleOf(0.01), 1.005, ["must have at most 2 decimal places"]],
    ["a step", z.number().multipleOf(5), 7, ["must be a multiple of 5"]],
  ],
  invalid_value: [
    [
      "an enum",
      z.enum(["draft", "submitted", "approved"]),
      "signed",
      ["must be one of: draft, submitted, approved"],
    ],
    ["a literal", z.literal("Asia/Shanghai"), "UTC", ['must be "Asia/Shanghai"']],
    ["a number literal", z.literal(1), 2, ["must be 1"]],
  ],
  unrecognized_keys: [
    [
      "one unknown field",
      z.strictObject({ a: z.string() }),
      { a: "x", b: 1 },
      ["has a field that is not known: b"],
    ],
    ["two unknown fields", z.strictObject({}), { b: 1, c: 2 }, ["has fields that are not known: b, c"]],
  ],
  invalid_union: [
    [
      "an unknown discriminator",
      z.discriminatedUnion("kind", [
        z.object({ kind: z.literal("garage") }),
        z.object({ kind: z.literal("elevator") }),
      ]),
      { kind: "lift" },
      ["must be one of: garage, elevator"],
    ],
    [
      "types none of which fit",
      z.union([z.string(), z.number()]),
      true,
      ["must be text or a number, not true/false"],
    ],
    ["a missing union", z.object({ v: z.union([z.string(), z.number()]) }), {}, ["is required"]],
    [
      "shapes none of which fit",
      z.union([z.object({ a: z.string() }), z.object({ b: z.number() })]),
      { c: 1 },
      ["does not match any of the accepted forms"],
    ],
    [
      "more than one exclusive option",
      z.xor([z.string(), z.string().min(1)]),
      "ab",
      ["matches more than one of the accepted forms"],
    ],
  ],
  invalid_key: [
    [
      "a record key",
      z.record(z.string().regex(/^[A-Z]+$/), z.number()),
      { abc: 1 },
      ["is not an accepted key: must match the pattern /^[A-Z]+$/"],
    ],
  ],
  // zod reports a bad item of a map or set at its own path; the issue itself is tested below.
  invalid_element: [],
  custom: [["a refinement without a message", z.string().refine(() => false), "x", ["is not valid"]]],
};

describe("plain validation messages", () => {
  for (const [code, cases] of Object.entries(CASES)) {
    if (cases.length > 0)
      describe(code, () => {
        for (const [name, schema, input, messages] of cases) {
          it(`${name}: ${messages.join(" / ")}`, () => {
            expect(messagesOf(schema, input)).toEqual(messages);
          });
        }
      });
  }

  it("keeps every message a schema gives itself", () => {
    expect(messagesOf(z.string().regex(/^\d+$/, "must be an event id"), "x")).toEqual([
      "must be an event id",
    ]);
    expect(messagesOf(z.uuid({ message: "must be a UUID v4" }), "x")).toEqual(["must be a UUID v4"]);
    expect(
      messagesOf(
        z.string().refine(() => false, "must be a month YYYY-MM"),
        "x",
      ),
    ).toEqual(["must be a month YYYY-MM"]);
    const withIssue = z
      .string()
      .superRefine((_, ctx) => ctx.addIssue({ code: "custom", message: "rides are whole" }));
    expect(messagesOf(withIssue, "1.5")).toEqual(["rides are whole"]);
    // A schema's error covers the checks on it; its error map may leave a kind of issue to ours.
    expect(messagesOf(z.string({ error: "must be a code" }).min(3), "ab")).toEqual(["must be a code"]);
    const picky = z
      .number({ error: (issue) => (typeof issue.input === "string" ? "send floors as numbers" : undefined) })
      .max(3);
    expect(messagesOf(picky, "4")).toEqual(["send floors as numbers"]);
    expect(messagesOf(picky, 4)).toEqual(["must be a number of at most 3"]);
  });

  it("answers a missing field with 'is required' where the schema's message is for a wrong value", () => {
    const Uuid = z.uuid({ error: whenGiven("must be a UUID") });
    expect(messagesOf(z.object({ id: Uuid }), {})).toEqual(["is required"]);
    expect(messagesOf(z.object({ id: Uuid }), { id: "42" })).toEqual(["must be a UUID"]);
    expect(messagesOf(z.object({ id: Uuid }), { id: 42 })).toEqual(["must be a UUID"]);
  });

  it("words an item refused inside a collection", () => {
    const item: z.core.$ZodIssue = {
      code: "invalid_type",
      expected: "number",
      path: [],
      message: "must be a number, not text",
    };
    expect(
      plainMessage({ code: "invalid_element", origin: "set", key: "a", issues: [item], input: "a" }),
    ).toBe("has an item that is not accepted: must be a number, not text");
  });

  it("never falls back to zod's own English", () => {
    const zodWording = /Invalid|Too (big|small)|expected|received|Unrecognized|>=|<=/;
    for (const cases of Object.values(CASES)) {
      for (const [name, schema, input] of cases) {
        for (const message of messagesOf(schema, input) ?? []) expect(message, name).not.toMatch(zodWording);
      }
    }
  });
});
