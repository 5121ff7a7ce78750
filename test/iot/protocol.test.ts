/** The pure parts: the protocol's validation and the incident rule, without database or broker. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type DerivedIncident,
  deriveIncidents,
  type EbikeEvent,
  haltSeconds,
  planIncidents,
} from "../../iot/incidents.js";
import {
  commandMessage,
  commandResultsTopic,
  commandsTopic,
  eventsTopic,
  parseCommandResult,
  parseEvent,
  parseTopic,
} from "../../iot/protocol.js";

const SENSOR = "0b4c2c3e-1111-4222-8333-944445555666";
const NOW = new Date("2026-03-01T00:00:00Z");
const parse = (value: unknown, topic = eventsTopic(SENSOR)) =>
  parseEvent(topic, Buffer.from(typeof value === "string" ? value : JSON.stringify(value)), NOW);
const detected = {
  eventId: "d1",
  type: "ebike_detected",
  occurredAt: "2026-03-01T07:59:00+08:00",
  carHalted: true,
  floor: 3,
  confidence: 0.96,
};

describe("sensor protocol v1", () => {
  it("accepts a valid event and names the sensor from the topic", () => {
    expect(parse(detected)).toEqual({
      ok: true,
      sensorId: SENSOR,
      event: detected,
      json: JSON.stringify(detected),
    });
    expect(parseTopic(`bot/v1/sensors/${SENSOR}/status`)).toEqual({ kind: "status", sensorId: SENSOR });
  });

  it("gives each kind of bad input its stable reason", () => {
    expect(parse(detected, "bot/v1/sensors/x/other")).toEqual({ ok: false, reason: "bad_topic" });
    expect(parse("{nope")).toMatchObject({ reason: "malformed_json" });
    expect(parseEvent(eventsTopic(SENSOR), Buffer.from([0xc3, 0x28]), NOW)).toMatchObject({
      reason: "malformed_json",
    });
    expect(parse({ ...detected, pad: "x".repeat(8200) })).toMatchObject({ reason: "payload_too_large" });
    expect(parse({ ...detected, occurredAt: "2026-03-01T00:05:01Z" })).toMatchObject({
      reason: "future_timestamp",
    });
    expect(parse({ ...detected, occurredAt: "2026-03-01T00:05:00Z" })).toMatchObject({ ok: true });
    expect(parse({ ...detected, occurredAt: "2026-03-01T08:00:00" })).toMatchObject({
      reason: "schema_violation: occurredAt must be an RFC 3339 timestamp with offset",
    });
    const { occurredAt: _, ...undated } = detected;
    expect(parse(undated)).toMatchObject({ reason: "schema_violation: occurredAt is required" });
    expect(parse({ ...detected, eventId: "x".repeat(65) })).toMatchObject({
      reason: "schema_violation: eventId must be 1 to 64 characters long",
    });
    expect(parse({ ...detected, confidence: -0.1 })).toMatchObject({
      reason: "schema_violation: confidence must be a number from 0 to 1",
    });
    expect(parse({ ...detected, speed: 3 })).toMatchObject({
      reason: "schema_violation: speed is not a known field",
    });
    expect(parse({ ...detected, type: "smoke" })).toMatchObject({
      reason: "schema_violation: type must be one of: ebike_detected, ebike_cleared, heartbeat, fault",
    });
    expect(parse({ ...detected, floor: 2.5 })).toMatchObject({
      reason: "schema_violation: floor must be a whole number from -5 to 200",
    });
    expect(parse({ ...detected, carHalted: "yes" })).toMatchObject({
      reason: "schema_violation: carHalted must be true or false, not text",
    });
    // PostgreSQL can not store NUL in text or jsonb: refused here rather than failing a whole batch.
    expect(parse({ ...detected, eventId: "a\u0000b" })).toMatchObject({
      reason: expect.stringMatching(/^schema_violation: eventId /),
    });
  });
});

const at = (s: number) => new Date(Date.UTC(2026, 2, 1, 0, 0, s));
const ev = (type: EbikeEvent["type"], s: number, id = `${type}-${s}`, carHalted = false): EbikeEvent => ({
  sensorId: SENSOR,
  eventId: id,
  type,
  occurredAt: at(s),
  carHalted,
});

describe("incidents from events, in occurredAt order", () => {
  it("opens on detection, attaches repeats, closes on clear with the halt", () => {
    expect(
      deriveIncidents([
        ev("ebike_detected", 0),
        ev("ebike_detected", 5),
        ev("ebike_cleared", 40),
        ev("ebike_cleared", 50),
      ]),
    ).toEqual([
      { sensorId: SENSOR, openedAt: at(0), closedAt: at(40), detections: 2, haltSeconds: 40, halted: false },
    ]);
  });

  it("marks an incident halted when any detection within it reported the car halted, however late", () => {
    const first = ev("ebike_detected", 0);
    const second = ev("ebike_detected", 5, "second", true);
    const clear = ev("ebike_cleared", 40);
    const after = ev("ebike_detected", 41, "after", true);
    expect(deriveIncidents([first, clear]).map((d) => d.halted)).toEqual([false]);
    expect(deriveIncidents([first, second, clear, after]).map((d) => d.halted)).toEqual([true, true]);
    // A halt reported at the clear's instant is within the incident; one after it opens the next.
    expect(
      deriveIncidents([first, clear, ev("ebike_detected", 40, "at-clear", true)]).map((d) => d.halted),
    ).toEqual([true]);
    // The stored incident learns it from the late detection: one update, same id.
    const stored = {
      id: "i1",
      sensorId: SENSOR,
      openedAt: at(0),
      closedAt: at(40),
      detections: 1,
      haltSeconds: 40,
      halted: false,
    };
    expect(planIncidents([stored], deriveIncidents([first, second, clear]))).toEqual({
      updates: [{ ...stored, detections: 2, halted: true }],
      inserts: [],
      deletes: [],
    });
  });

  it("gives the same incidents whatever the arrival order (a clear before its detection included)", () => {
    const events = [
      ev("ebike_detected", 0),
      ev("ebike_detected", 3),
      ev("ebike_cleared", 10),
      ev("ebike_cleared", 11),
      ev("ebike_detected", 20),
      ev("ebike_detected", 20, "same-instant"),
      ev("ebike_cleared", 20),
      ev("ebike_detected", 30),
    ];
    const expected = deriveIncidents(events);
    expect(expected).toHaveLength(3);
    fc.assert(
      fc.property(fc.shuffledSubarray(events, { minLength: events.length }), (shuffled) => {
        expect(deriveIncidents(shuffled)).toEqual(expected);
      }),
    );
  });

  it("replaying from a stored incident keeps its id when late events extend or split it", () => {
    const stored = [
      {
        id: "i1",
        sensorId: SENSOR,
        openedAt: at(10),
        closedAt: at(60),
        detections: 2,
        haltSeconds: 50,
        halted: false,
      },
    ];
    // A late detection before it, and a late clear inside it: i1 grows back to 5 and closes at 30.
    const derived: DerivedIncident[] = deriveIncidents([
      ev("ebike_detected", 5),
      ev("ebike_detected", 10),
      ev("ebike_cleared", 30),
      ev("ebike_detected", 40),
      ev("ebike_cleared", 60),
    ]);
    const plan = planIncidents(stored, derived);
    expect(plan.deletes).toEqual([]);
    expect(plan.updates).toEqual([
      {
        id: "i1",
        sensorId: SENSOR,
        openedAt: at(5),
        closedAt: at(30),
        detections: 2,
        haltSeconds: 25,
        halted: false,
      },
    ]);
    expect(plan.inserts).toEqual([
      { sensorId: SENSOR, openedAt: at(40), closedAt: at(60), detections: 1, haltSeconds: 20, halted: false },
    ]);
    expect(
      planIncidents(
        stored,
        deriveIncidents([ev("ebike_detected", 10), ev("ebike_detected", 20), ev("ebike_cleared", 60)]),
      ),
    ).toEqual({
      updates: [],
      inserts: [],
      deletes: [],
    });
  });

  it("a late, earlier detection of another sensor makes that sensor the incident's opener", () => {
    // The second sensor's detection committed first (another writer partition, another app
    // instance) and opened i1; the first sensor's earlier one arrives after.
    const OTHER = "0b4c2c3e-1111-4222-8333-944445555777";
    const events = [
      ev("ebike_detected", 10),
      { ...ev("ebike_detected", 12), sensorId: OTHER },
      ev("ebike_cleared", 13),
    ];
    const opened = {
      id: "i1",
      openedAt: at(12),
      closedAt: at(13),
      detections: 1,
      haltSeconds: 1,
      halted: false,
    };
    const fixed = {
      id: "i1",
      sensorId: SENSOR,
      openedAt: at(10),
      closedAt: at(13),
      detections: 2,
      haltSeconds: 3,
      halted: false,
    };
    expect(planIncidents([{ ...opened, sensorId: OTHER }], deriveIncidents(events))).toEqual({
      updates: [fixed],
      inserts: [],
      deletes: [],
    });
    // An incident stored with the right figures but the wrong opener is corrected too.
    expect(planIncidents([{ ...fixed, sensorId: OTHER }], deriveIncidents(events)).updates).toEqual([fixed]);
  });

  it.each([
    [0, 0],
    [400, 0],
    [500, 0],
    [999, 0],
    [1_000, 1],
    [1_001, 1],
    [42_000, 42],
    [95_500, 95],
    [95_999, 95],
    [96_000, 96],
  ])("a halt of %i ms is reported as %i whole seconds (rounded down)", (ms, seconds) => {
    const opened = at(0);
    const cleared = new Date(opened.getTime() + ms);
    expect(haltSeconds(opened, cleared)).toBe(seconds);
    const [incident] = deriveIncidents([
      { sensorId: SENSOR, eventId: "d", type: "ebike_detected", occurredAt: opened, carHalted: false },
      { sensorId: SENSOR, eventId: "c", type: "ebike_cleared", occurredAt: cleared, carHalted: false },
    ]);
    expect(incident).toMatchObject({ closedAt: cleared, haltSeconds: seconds });
  });
});

describe("sensor protocol v1: commands", () => {
  const COMMAND = "6f1c2d3e-4a5b-4c6d-8e7f-901234567890";
  const result = (value: unknown, topic = commandResultsTopic(SENSOR)) =>
    parseCommandResult(topic, Buffer.from(typeof value === "string" ? value : JSON.stringify(value)));

  it("reads the results topic, and never a commands topic (no device publishes there)", () => {
    expect(parseTopic(commandResultsTopic(SENSOR))).toEqual({ kind: "command-results", sensorId: SENSOR });
    expect(parseTopic(commandsTopic(SENSOR))).toBeNull();
    expect(parseTopic(`bot/v1/sensors/${SENSOR}/command-results/x`)).toBeNull();
    expect(parseTopic("bot/v1/sensors/+/command-results")).toBeNull();
    expect(parseEvent(commandResultsTopic(SENSOR), Buffer.from("{}"), NOW)).toEqual({
      ok: false,
      reason: "bad_topic",
    });
  });

  it("builds the command message from the stored row, the id and times winning over params", () => {
    const issuedAt = new Date("2026-03-01T00:00:00Z");
    const expiresAt = new Date("2026-03-01T00:10:00Z");
    expect(
      commandMessage({
        id: COMMAND,
        type: "set_blocking",
        params: { enabled: false, until: "2026-03-02T00:00:00.000Z", commandId: "forged" },
        issuedAt,
        expiresAt,
      }),
    ).toEqual({
      commandId: COMMAND,
      type: "set_blocking",
      issuedAt: "2026-03-01T00:00:00.000Z",
      expiresAt: "2026-03-01T00:10:00.000Z",
      enabled: false,
      until: "2026-03-02T00:00:00.000Z",
    });
  });

  it("accepts a valid answer and gives each bad one a clear reason", () => {
    expect(result({ commandId: COMMAND, result: "refused", reason: "door sensor fault" })).toEqual({
      ok: true,
      sensorId: SENSOR,
      result: { commandId: COMMAND, result: "refused", reason: "door sensor fault" },
    });
    expect(result({ commandId: COMMAND, result: "applied" }, eventsTopic(SENSOR))).toEqual({
      ok: false,
      reason: "bad_topic",
    });
    expect(result("{nope")).toMatchObject({ reason: "malformed_json" });
    expect(result({ commandId: COMMAND, result: "applied", pad: "x".repeat(8200) })).toMatchObject({
      reason: "payload_too_large",
    });
    expect(result({ commandId: COMMAND, result: "done" })).toMatchObject({
      reason: "schema_violation: result must be one of: applied, refused, expired",
    });
    expect(result({ commandId: "c-1", result: "applied" })).toMatchObject({
      reason: "schema_violation: commandId must be the commandId of the command (a UUID)",
    });
    expect(result({ result: "applied" })).toMatchObject({
      reason: "schema_violation: commandId is required",
    });
    expect(result({ commandId: COMMAND, result: "applied", at: 1 })).toMatchObject({
      reason: "schema_violation: at is not a known field",
    });
    expect(result([])).toMatchObject({ ok: false });
  });
});
