/**
 * Sensor protocol v1: topics and event payloads. Pure functions over bytes: no I/O, no MQTT, so
 * the MQTT consumer, the embedded broker and the HTTP ingest route all validate the same way.
 */
import { z } from "zod";
import { isUuid, UUID_PATTERN } from "../contracts/ids.js";
import { plainMessage, whenGiven } from "../contracts/validation-messages.js";

export const TOPIC_PREFIX = "bot/v1/sensors";
/** The shared subscription every ingest consumer joins (MQTT v5). */
export const SHARED_GROUP = "bot-ingest";
export const EVENTS_FILTER = `${TOPIC_PREFIX}/+/events`;
export const STATUS_FILTER = `${TOPIC_PREFIX}/+/status`;

export const MAX_PAYLOAD_BYTES = 8 * 1024;
export const MAX_FUTURE_MS = 5 * 60 * 1000;

export const eventsTopic = (sensorId: string) => `${TOPIC_PREFIX}/${sensorId}/events`;
export const statusTopic = (sensorId: string) => `${TOPIC_PREFIX}/${sensorId}/status`;
/** Commands to one sensor: the app publishes (QoS 1), only that sensor may read. */
export const commandsTopic = (sensorId: string) => `${TOPIC_PREFIX}/${sensorId}/commands`;
/** A sensor's answers to its commands: only that sensor may publish, the app reads. */
export const commandResultsTopic = (sensorId: string) => `${TOPIC_PREFIX}/${sensorId}/command-results`;
export const COMMANDS_FILTER = `${TOPIC_PREFIX}/+/commands`;
export const COMMAND_RESULTS_FILTER = `${TOPIC_PREFIX}/+/command-results`;

/** Why a message became a dead letter. Stable strings: dashboards and tests match on them. */
export type RejectReason =
  | "malformed_json"
  | `schema_violation: ${string}`
  | "payload_too_large"
  | "future_timestamp"
  /**
   * An occurredAt older than the ingest keeps events of its type (iot/event-partitions.ts): a
   * resend from before the window, which the exactly-once key no longer covers.
   */
  | "outside_retention_window"
  | "unknown_sensor"
  | "revoked_sensor"
  | "bad_topic"
  /** More messages than the sensor's rate limit allows (iot/rate-limit.ts): not parsed, not kept. */
  | "rate_limited"
  | `storage_rejected: ${string}`;

/** The topics a sensor publishes to (never `commands`: only the app publishes there). */
export type ParsedTopic = { kind: "events" | "status" | "command-results"; sensorId: string };

const TOPIC = /^bot\/v1\/sensors\/([^/+#]+)\/(events|status|command-results)$/;

/**
 * `bot/v1/sensors/{sensorId}/events|status|command-results` → its parts, or null for any other
 * topic (`commands` included: no device publishes there).
 */
export function parseTopic(topic: string): ParsedTopic | null {
  const m = TOPIC.exec(topic);
  const kind = m?.[2];
  if (!m?.[1] || !kind) return null;
  return { kind: kind === "events" || kind === "status" ? kind : "command-results", sensorId: m[1] };
}

/** A cheap test for the ingest's hot path: whether a message is a command result, not an event. */
export const isCommandResultsTopic = (topic: string) => topic.endsWith("/command-results");

/** Sensor ids are UUIDs; anything else in a topic can not name a registered sensor. */
export const isSensorId = isUuid;

// ---- payloads -------------------------------------------------------------------------------

/**
 * Text PostgreSQL can store: no NUL (jsonb and text refuse it) and no lone UTF-16 surrogate
 * (jsonb refuses `\ud800`). Without this, one such event would fail its whole batch forever.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const storable = (s: string) => !s.includes("\u0000") && !LONE_SURROGATE.test(s);
const Text = (max: number) =>
  z.string().max(max).refine(storable, "must not contain NUL or unpaired surrogate characters");

/** RFC 3339 with an explicit offset (`Z` or `+08:00`), e.g. `2026-03-01T08:15:30.250+08:00`. */
const OccurredAt = z.iso.datetime({
  offset: true,
  local: false,
  error: whenGiven("must be an RFC 3339 timestamp with offset"),
});

const base = {
  eventId: Text(64).min(1, "must be 1–64 characters").meta({
    description:
      "The device's id of the event. A resend repeats eventId and occurredAt and is stored once; the same eventId with another occurredAt (a counter restarted after a reboot) is a new event",
  }),
  occurredAt: OccurredAt.meta({
    description: "When it happened, RFC 3339 with an offset; at most 5 minutes ahead",
  }),
};
const Floor = z.number().int().min(-5).max(200).meta({ description: "The car's floor" });

export const EbikeDetected = z.strictObject({
  ...base,
  type: z.literal("ebike_detected"),
  carHalted: z.boolean(),
  floor: Floor,
  confidence: z.number().min(0).max(1),
});
export const EbikeCleared = z.strictObject({ ...base, type: z.literal("ebike_cleared"), floor: Floor });
export const Heartbeat = z.strictObject({
  ...base,
  type: z.literal("heartbeat"),
  uptimeS: z.number().int().min(0),
  firmware: Text(64).min(1),
});
export const Fault = z.strictObject({
  ...base,
  type: z.literal("fault"),
  code: Text(64).min(1),
  message: Text(1000),
});

/**
 * One event. The `id`s name its types in the OpenAPI document: the HTTP ingest
 * documents its body as this union (src/routes/sensors/sensor-ingest.routes.ts), so what the
 * document shows and what the ingest checks are one definition.
 */
export const SensorEvent = z
  .discriminatedUnion("type", [
    EbikeDetected.meta({
      id: "EbikeDetectedEvent",
      description: "An e-bike seen in the car; `carHalted`: the sensor halted the car (blocking on)",
    }),
    EbikeCleared.meta({
      id: "EbikeClearedEvent",
      description: "The e-bike left the car: the incident closes",
    }),
    Heartbeat.meta({
      id: "HeartbeatEvent",
      description: "The sensor is alive: seconds since boot, firmware",
    }),
    Fault.meta({
      id: "FaultEvent",
      description: "A fault the sensor reports of itself (camera, storage, …)",
    }),
  ])
  .meta({ description: "Sensor protocol v1: one event, as on MQTT and over HTTP" });
export type SensorEvent = z.infer<typeof SensorEvent>;

/**
 * The same schema compiled to one generated function (zod's `z.compile`): a valid event is checked
 * without zod's general machinery, the ingest's largest cost of its own; an invalid one falls back to
 * the schema itself, so the reasons are the same. Where code can not be generated (workerd forbids
 * `new Function`), `z.compile` returns the schema unchanged.
 */
const CompiledSensorEvent = z.compile(SensorEvent);
export type SensorEventType = SensorEvent["type"];

export type ParseResult =
  /** `json`: the payload's text, valid JSON of exactly the event (the ingest stores it as sent). */
  | { ok: true; sensorId: string; event: SensorEvent; json: string }
  | { ok: false; reason: RejectReason; sensorId?: string };

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * One message on an events topic → a valid event, or why not. `now` is when it was received:
 * an `occurredAt` more than 5 minutes after it is refused (a device clock gone wrong).
 */
export function parseEvent(topic: string, bytes: Uint8Array, now: Date): ParseResult {
  const parsed = parseTopic(topic);
  if (parsed?.kind !== "events") return { ok: false, reason: "bad_topic" };
  const { sensorId } = parsed;
  if (bytes.byteLength > MAX_PAYLOAD_BYTES) return { ok: false, reason: "payload_too_large", sensorId };
  let text: string;
  let json: unknown;
  try {
    text = decoder.decode(bytes);
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: "malformed_json", sensorId };
  }
  const result = CompiledSensorEvent.safeParse(json, { error: plainMessage });
  if (!result.success) return { ok: false, reason: schemaViolation(result.error), sensorId };
  const event = result.data;
  if (Date.parse(event.occurredAt) - now.getTime() > MAX_FUTURE_MS) {
    return { ok: false, reason: "future_timestamp", sensorId };
  }
  return { ok: true, sensorId, event, json: text };
}

/** `schema_violation: <field> <message>` for the first issue (e.g. `confidence must be a number from 0 to 1`). */
export function schemaViolation(error: z.ZodError): RejectReason {
  const issue = error.issues[0];
  if (!issue) return "schema_violation: event invalid";
  if (issue.code === "unrecognized_keys")
    return `schema_violation: ${issue.keys.join(",")} is not a known field`;
  const field = issue.path.length ? issue.path.map(String).join(".") : "event";
  return `schema_violation: ${field} ${issue.message}`;
}

/** Longer than any status word with the spaces a device may add: not a status, nothing to read. */
const MAX_STATUS_BYTES = 64;

/** A status message: `online` or `offline` (the last-will). */
export function parseStatus(bytes: Uint8Array): "online" | "offline" | null {
  if (bytes.byteLength > MAX_STATUS_BYTES) return null;
  const text = Buffer.from(bytes).toString("utf8").trim().toLowerCase();
  return text === "online" || text === "offline" ? text : null;
}

// ---- commands (protocol v1) -----------------------------------------------------------------

/** A command as stored (`device_commands`): what the message to the device is built from. */
export interface CommandRow {
  id: string;
  type: string;
  params: unknown;
  issuedAt: Date;
  expiresAt: Date;
}

/**
 * The message on `bot/v1/sensors/{sensorId}/commands`: `{commandId, type, issuedAt, expiresAt,
 * ...params}` (`enabled`, `until` for set_blocking; `intervalS` for set_heartbeat). The id and
 * times come last so that no stored parameter can stand in for them.
 */
export interface CommandMessage {
  commandId: string;
  type: string;
  issuedAt: string;
  expiresAt: string;
  [param: string]: unknown;
}

export function commandMessage(row: CommandRow): CommandMessage {
  const params = row.params && typeof row.params === "object" && !Array.isArray(row.params) ? row.params : {};
  return {
    ...(params as Record<string, unknown>),
    commandId: row.id,
    type: row.type,
    issuedAt: row.issuedAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
  };
}

export const COMMAND_RESULTS = ["applied", "refused", "expired"] as const;
export type CommandResultValue = (typeof COMMAND_RESULTS)[number];

/** A device's answer: `{commandId, result, reason?}`; nothing else. */
export const CommandResult = z.strictObject({
  commandId: z.string().regex(UUID_PATTERN, "must be the commandId of the command (a UUID)"),
  result: z.enum(COMMAND_RESULTS),
  reason: Text(500).optional(),
});
export type CommandResult = z.infer<typeof CommandResult>;

/** Why a command result was refused unread. Stable strings, like RejectReason. */
export type CommandResultRejection =
  | "malformed_json"
  | "payload_too_large"
  | "bad_topic"
  | `schema_violation: ${string}`;

export type ParsedCommandResult =
  | { ok: true; sensorId: string; result: CommandResult }
  | { ok: false; reason: CommandResultRejection; sensorId?: string };

/** One message on a command-results topic → a valid answer, or why not. */
export function parseCommandResult(topic: string, bytes: Uint8Array): ParsedCommandResult {
  const parsed = parseTopic(topic);
  if (parsed?.kind !== "command-results") return { ok: false, reason: "bad_topic" };
  const { sensorId } = parsed;
  if (bytes.byteLength > MAX_PAYLOAD_BYTES) return { ok: false, reason: "payload_too_large", sensorId };
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch {
    return { ok: false, reason: "malformed_json", sensorId };
  }
  return checkCommandResult(json, sensorId);
}

/** An answer already parsed from JSON (the HTTP route's body) → valid, or why not. */
export function checkCommandResult(json: unknown, sensorId: string): ParsedCommandResult {
  const result = CommandResult.safeParse(json, { error: plainMessage });
  if (!result.success) {
    const reason = schemaViolation(result.error).replace("event invalid", "result invalid");
    return { ok: false, reason: reason as CommandResultRejection, sensorId };
  }
  return { ok: true, sensorId, result: result.data };
}
