/**
 * The ingest checks events with the protocol's schema compiled (iot/protocol.ts, `z.compile`). It
 * must decide exactly as the schema does: the same events accepted with the same fields, the same
 * refused with the same reason, on valid events and on every near miss a device could send.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { plainMessage } from "../../contracts/validation-messages.js";
import { eventsTopic, parseEvent, SensorEvent, schemaViolation } from "../../iot/protocol.js";

const SENSOR = "0b4c2c3e-1111-4222-8333-944445555666";
const NOW = new Date("2026-03-01T00:00:00Z");

/** What parseEvent answers when the schema itself, not compiled, decides. */
function bySchema(value: unknown) {
  const result = SensorEvent.safeParse(value, { error: plainMessage });
  return result.success
    ? { ok: true, event: result.data }
    : { ok: false, reason: schemaViolation(result.error) };
}

/** Strings a device sends, and the ones PostgreSQL can not store (NUL, a lone surrogate). */
const text = fc.oneof(
  fc.string({ maxLength: 70 }),
  fc.constantFrom("", "d1", "a\u0000b", "x\ud800", "\udc00y", "😀", "e".repeat(64), "e".repeat(65)),
);
const occurredAt = fc.oneof(
  fc.constantFrom(
    "2026-03-01T07:59:00+08:00",
    "2026-03-01T07:59:00.250+08:00",
    "2026-02-28T23:59:59Z",
    "2024-02-29T12:00:00Z",
    "2026-02-29T12:00:00Z",
    "2026-03-01T07:59+08:00",
    "2026-03-01T07:59:00",
    "2026-03-01 07:59:00Z",
    "2026-03-01T24:00:00Z",
    "2026-03-01T07:59:00+24:00",
    "2026-03-01T07:59:00.123456789Z",
  ),
  fc
    .date({ min: new Date("2020-01-01"), max: new Date("2030-01-01"), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.string({ maxLength: 30 }),
);
const number = fc.oneof(
  fc.integer({ min: -10, max: 250 }),
  fc.double({ min: -2, max: 2, noNaN: true }),
  fc.constantFrom(0, 1, -0, 0.5, 1.0000001, 200, 201, -5, -6, 2 ** 53),
);
const anyValue = fc.oneof(text, number, fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({}));
const FIELDS: Record<string, readonly string[]> = {
  ebike_detected: ["carHalted", "floor", "confidence"],
  ebike_cleared: ["floor"],
  heartbeat: ["uptimeS", "firmware"],
  fault: ["code", "message"],
};

/** A valid event of each type, as a device sends it. */
const valid = fc.record({
  type: fc.constantFrom("ebike_detected", "ebike_cleared", "heartbeat", "fault"),
  eventId: fc.oneof(fc.string({ minLength: 1, maxLength: 64 }), fc.constantFrom("d1", "😀", "e".repeat(64))),
  occurredAt: fc.constantFrom(
    "2026-03-01T07:59:00+08:00",
    "2026-03-01T07:59:00.250+08:00",
    "2024-02-29T12:00:00Z",
  ),
  carHalted: fc.boolean(),
  floor: fc.integer({ min: -5, max: 200 }),
  confidence: fc.double({ min: 0, max: 1, noNaN: true }),
  uptimeS: fc.nat(),
  firmware: fc.string({ minLength: 1, maxLength: 64 }),
  code: fc.string({ minLength: 1, maxLength: 64 }),
  message: fc.string({ maxLength: 1000 }),
});
const FIELD = fc.constantFrom(
  "type",
  "eventId",
  "occurredAt",
  "carHalted",
  "floor",
  "confidence",
  "uptimeS",
  "firmware",
  "code",
  "message",
);
/** One change that may make it invalid: a field set to a near miss or anything, dropped, or one added. */
const change = fc.oneof(
  fc.record({
    set: FIELD,
    value: fc.oneof(
      anyValue,
      occurredAt,
      fc.constantFrom("ebike_detected", "ebike_cleared", "heartbeat", "fault", "other"),
      text,
      fc.string({ maxLength: 1100 }),
    ),
  }),
  fc.record({ drop: FIELD }),
  fc.record({ extra: fc.constantFrom("extra", "__proto__", "constructor", "toString") }),
);

/** A valid event (about half the time) or one with one to three changes, as JSON text. */
const candidate = fc
  .tuple(valid, fc.oneof(fc.constant([]), fc.array(change, { minLength: 1, maxLength: 3 })))
  .map(([e, changes]) => {
    const event: Record<string, unknown> = Object.fromEntries(
      ["eventId", "occurredAt", "type", ...(FIELDS[e.type] ?? [])].map((k) => [k, e[k as keyof typeof e]]),
    );
    const extras: string[] = [];
    for (const c of changes) {
      if ("set" in c) event[c.set] = c.value;
      else if ("drop" in c) delete event[c.drop];
      else extras.push(c.extra);
    }
    // As a device's JSON arrives: parsed from text, so `__proto__` is an own key like any other.
    const json = JSON.stringify(event);
    const tail = extras.map((k) => `"${k}":1`).join(",");
    return tail ? `${json.slice(0, -1)}${json === "{}" ? "" : ","}${tail}}` : json;
  });

describe("sensor protocol v1: the compiled schema", () => {
  it("compiles here (on Node); where it can not, the schema runs as it is", () => {
    expect(() => z.compile(SensorEvent, { strict: true })).not.toThrow();
  });

  it("accepts and refuses exactly as the schema does, with the same fields and the same reason", () => {
    let accepted = 0;
    fc.assert(
      fc.property(candidate, (json) => {
        const value: unknown = JSON.parse(json);
        const compiled = parseEvent(eventsTopic(SENSOR), Buffer.from(json), NOW);
        const expected = bySchema(value);
        if (compiled.ok) {
          accepted += 1;
          expect(expected).toEqual({ ok: true, event: compiled.event });
          expect(Object.keys(compiled.event).sort()).toEqual(Object.keys(value as object).sort());
        } else if (compiled.reason.startsWith("schema_violation")) {
          expect(expected).toEqual({ ok: false, reason: compiled.reason });
        } else {
          // Refused after the schema (an occurredAt too far ahead): the schema accepted it.
          expect(compiled.reason).toBe("future_timestamp");
          expect(expected.ok).toBe(true);
        }
      }),
      { numRuns: 20_000 },
    );
    // The property saw both sides, not only refusals.
    expect(accepted).toBeGreaterThan(5_000);
  });
});
