/**
 * The sensor traffic simulator: realistic protocol-v1 traffic for N elevator sensors (issue 3,
 * item 13), for demos and for the ingest benchmark. Two halves that never mix:
 *
 * - `planTraffic` is pure and deterministic for a seed: it returns the message schedule (topic,
 *   payload, kind valid|duplicate|malformed, sensor, eventId) and, before anything is sent, the
 *   exact counts of what it holds. A test or a benchmark knows exactly what the database must end
 *   up with: `expected.valid` event rows, `expected.malformed` dead letters.
 * - `publishTraffic` sends a schedule over MQTT.js, one connection per sensor (username = client
 *   id = sensor id, password = its key, QoS 1, retained `online` at connect and `offline` as
 *   last-will), paced to a total rate with a bound on publishes in flight, and measures each
 *   publish→PUBACK latency.
 *
 * How the traffic looks (DOMAIN.md: AI cameras, 96–98 % accuracy, repeats are common):
 * - heartbeats every heartbeat interval ±10 %; now and then a fault a few seconds after one;
 * - detection episodes: an `ebike_detected` (car halted, mostly at the ground floor), 0–3 repeated
 *   detections of the same bike 2–6 s apart, and an `ebike_cleared` on the same floor after a halt
 *   of 20 s to 4 min; some episodes are false alarms (a stroller, a wheelchair: lower confidence,
 *   a short halt); in some the clear is published before its detection (out-of-order delivery);
 * - exact duplicates: the same payload, same eventId, re-sent a moment later (a device retry);
 * - malformed messages: bad JSON, schema violations, timestamps a day in the future.
 *
 * Time: every sensor runs on a simulated clock, as fast as it takes to fit the requested number
 * of messages (a 60 s run at 200 msg/s over 50 sensors replays about an hour of device time).
 * The timeline is anchored so that it ends at `endAt` (pass the run's planned end): every
 * `occurredAt` is then in the past when it is received, durations inside an incident (halts,
 * repeats) are realistic, and nothing but the deliberately malformed messages is refused as a
 * future timestamp.
 *
 * The plan is an iterable that renders messages as they are sent (two passes over the same
 * seeded streams: one to count and find the anchor, one to send), so a million-message benchmark
 * run does not hold a million payloads in memory.
 */
import { performance } from "node:perf_hooks";
import mqtt, { type MqttClient } from "mqtt";
import {
  commandResultsTopic,
  commandsTopic,
  eventsTopic,
  type SensorEventType,
  statusTopic,
} from "../iot/protocol.js";

// ---- the seeded PRNG -------------------------------------------------------------------------

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). Deterministic for a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One independent seed per sensor (splitmix32 of seed and index): sensors never share a stream. */
function sensorSeed(seed: number, index: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

// ---- the schedule ----------------------------------------------------------------------------

export type MessageKind = "valid" | "duplicate" | "malformed";
/** What the ingest must answer for a malformed message (`schema_violation` is a prefix). */
export type ExpectedReason = "malformed_json" | "schema_violation" | "future_timestamp";

export interface ScheduledMessage {
  /** Position in send order, from 0. */
  seq: number;
  sensorId: string;
  topic: string;
  payload: string;
  kind: MessageKind;
  /** The event's id (a duplicate carries its original's); a malformed message's, if it has one. */
  eventId: string | null;
  /** The event type of a valid message or duplicate. */
  type: SensorEventType | null;
  /** For a malformed message: the dead-letter reason it must get. */
  expectedReason: ExpectedReason | null;
  /** An `ebike_cleared` published before the detection it clears. */
  outOfOrder: boolean;
}

export interface SimSensor {
  id: string;
  /** Seconds between heartbeats (the sensor's registered interval); default `heartbeatIntervalS`. */
  heartbeatIntervalS?: number;
  /** Floors the elevator serves (detections happen on 1…floors); default 6. */
  floors?: number;
}

export interface TrafficOptions {
  seed: number;
  sensors: readonly SimSensor[];
  /** Total messages to schedule, spread evenly over the sensors. */
  messages: number;
  /** Where the simulated timeline ends: the run's planned end (see the module comment). */
  endAt: Date;
  /** Prefix of every eventId, so runs on the same sensors never collide; default `s<seed>`. */
  runId?: string;
  heartbeatIntervalS?: number;
  /** Share of messages that are exact re-sends of a recent event (device retries). */
  duplicateRatio?: number;
  /** Share of messages that are malformed (bad JSON, schema violations, future timestamps). */
  malformedRatio?: number;
  /** Share of detection episodes whose clear is published before the detection. */
  outOfOrderRatio?: number;
  /** Share of detection episodes that are false alarms (strollers, wheelchairs, bicycles). */
  falseAlarmRatio?: number;
  /** Chance that a heartbeat is followed by a fault. */
  faultRatio?: number;
  /** Mean simulated seconds between one episode's clear and the next detection on a sensor. */
  meanEpisodeGapS?: number;
}

export type Counts = { messages: number; valid: number; duplicates: number; malformed: number };

export interface TrafficCounts extends Counts {
  /** Distinct valid events by type. */
  byType: Record<SensorEventType, number>;
  byReason: Record<ExpectedReason, number>;
  /** Clears published before their detection. */
  outOfOrder: number;
  /** Detection episodes (each one e-bike incident, false alarms included) and false alarms. */
  episodes: number;
  falseAlarms: number;
  perSensor: Record<string, Counts>;
}

export interface TrafficPlan extends Iterable<ScheduledMessage> {
  readonly total: number;
  /** What the schedule holds, counted before anything is sent. */
  readonly expected: TrafficCounts;
  /** The simulated timeline: first and last `occurredAt` of the valid events. */
  readonly from: Date;
  readonly to: Date;
}

const DEFAULTS = {
  heartbeatIntervalS: 30,
  duplicateRatio: 0.02,
  malformedRatio: 0.01,
  outOfOrderRatio: 0.1,
  falseAlarmRatio: 0.08,
  faultRatio: 0.01,
  meanEpisodeGapS: 180,
} as const;

const FIRMWARE = ["2.3.7", "2.4.1", "2.4.2"] as const;
const FAULTS = [
  ["E_CAM_OBSTRUCTED", "camera lens obstructed"],
  ["E_LOAD_DRIFT", "load cell reading drifting"],
  ["E_TEMP_HIGH", "camera module over temperature"],
  ["E_UPLINK", "uplink lost; buffered events resent"],
] as const;
type MalformedFlavour =
  | "truncated_json"
  | "not_json"
  | "confidence_too_high"
  | "unknown_field"
  | "missing_floor"
  | "local_time"
  | "future";
const MALFORMED: readonly MalformedFlavour[] = [
  "truncated_json",
  "not_json",
  "confidence_too_high",
  "unknown_field",
  "missing_floor",
  "local_time",
  "future",
  "future",
];
const REASON: Record<MalformedFlavour, ExpectedReason> = {
  truncated_json: "malformed_json",
  not_json: "malformed_json",
  confidence_too_high: "schema_violation",
  unknown_field: "schema_violation",
  missing_floor: "schema_violation",
  local_time: "schema_violation",
  future: "future_timestamp",
};

/** An event on a sensor's simulated clock (ms from the start of the timeline). */
interface RawEvent {
  eventId: string;
  type: SensorEventType;
  at: number;
  fields: Record<string, string | number | boolean>;
}

type RawItem =
  | { kind: "valid" | "duplicate"; sendAt: number; n: number; event: RawEvent; outOfOrder: boolean }
  | { kind: "malformed"; sendAt: number; n: number; eventId: string; at: number; flavour: MalformedFlavour };

type Settings = Required<Omit<TrafficOptions, "sensors" | "endAt" | "seed" | "messages">>;

function check(name: string, value: number, min: number, max: number) {
  if (!Number.isFinite(value) || value < min || value > max)
    throw new RangeError(`${name} must be between ${min} and ${max} (got ${value})`);
}

/** The deterministic stream of one sensor: `quota` messages in non-decreasing `sendAt` order. */
function* sensorStream(seed: number, index: number, sensor: SimSensor, quota: number, s: Settings) {
  const rnd = prng(sensorSeed(seed, index));
  const between = (lo: number, hi: number) => lo + (hi - lo) * rnd();
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;
  const hbMs = (sensor.heartbeatIntervalS ?? s.heartbeatIntervalS) * 1000;
  const floors = Math.max(1, sensor.floors ?? 6);
  const bootAt = -between(3_600_000, 14 * 86_400_000);
  const firmware = pick(FIRMWARE);
  let nextId = 0;
  const newId = () => `${s.runId}-${nextId++}`;

  // Valid events not yet sent, ordered by when they are sent.
  const pending: { sendAt: number; event: RawEvent; outOfOrder: boolean; episode: boolean }[] = [];
  const push = (item: (typeof pending)[number]) => {
    let i = pending.length;
    while (i > 0 && (pending[i - 1]?.sendAt ?? 0) > item.sendAt) i--;
    pending.splice(i, 0, item);
  };
  let nextHeartbeat = rnd() * hbMs;
  let heartbeatPending = false;
  let episodeLeft = 0;
  let nextEpisode = -Math.log(1 - rnd()) * s.meanEpisodeGapS * 1000 * 0.5;
  let lastSendAt = 0;
  const stats = { episodes: 0, falseAlarms: 0 };

  const scheduleEpisode = (t0: number) => {
    const falseAlarm = rnd() < s.falseAlarmRatio;
    const floor = rnd() < 0.7 ? 1 : 1 + Math.floor(rnd() * floors);
    const haltMs = falseAlarm ? between(5_000, 30_000) : 20_000 * 12 ** rnd();
    const repeats = falseAlarm ? (rnd() < 0.3 ? 1 : 0) : Math.floor(rnd() * 4);
    const confidence = () =>
      Math.round((falseAlarm ? between(0.55, 0.85) : between(0.9, 0.995)) * 1000) / 1000;
    const detect = (at: number): RawEvent => ({
      eventId: newId(),
      type: "ebike_detected",
      at,
      fields: { carHalted: true, floor, confidence: confidence() },
    });
    const events = [detect(t0)];
    let at = t0;
    for (let r = 0; r < repeats; r++) {
      at += between(2_000, 6_000);
      if (at >= t0 + haltMs - 1_000) break;
      events.push(detect(Math.round(at)));
    }
    const clearAt = Math.round(t0 + haltMs);
    const outOfOrder = rnd() < s.outOfOrderRatio;
    for (const event of events) push({ sendAt: event.at, event, outOfOrder: false, episode: true });
    const clear: RawEvent = { eventId: newId(), type: "ebike_cleared", at: clearAt, fields: { floor } };
    push({
      sendAt: outOfOrder ? Math.max(lastSendAt, t0 - 1) : clearAt,
      event: clear,
      outOfOrder,
      episode: true,
    });
    episodeLeft = events.length + 1;
    stats.episodes++;
    if (falseAlarm) stats.falseAlarms++;
    nextEpisode = clearAt + -Math.log(1 - rnd()) * s.meanEpisodeGapS * 1000;
  };

  const nextValid = () => {
    if (!heartbeatPending) {
      const at = Math.round(nextHeartbeat);
      push({
        sendAt: at,
        event: {
          eventId: newId(),
          type: "heartbeat",
          at,
          fields: { uptimeS: Math.floor((at - bootAt) / 1000), firmware },
        },
        outOfOrder: false,
        episode: false,
      });
      heartbeatPending = true;
      nextHeartbeat += hbMs * between(0.9, 1.1);
    }
    if (episodeLeft === 0) scheduleEpisode(Math.round(nextEpisode));
    const item = pending.shift();
    if (!item) throw new Error("simulator: no pending event");
    if (item.episode) episodeLeft--;
    if (item.event.type === "heartbeat") {
      heartbeatPending = false;
      if (rnd() < s.faultRatio) {
        const [code, message] = pick(FAULTS);
        const at = Math.round(item.event.at + between(1_000, 20_000));
        push({
          sendAt: at,
          event: { eventId: newId(), type: "fault", at, fields: { code, message } },
          outOfOrder: false,
          episode: false,
        });
      }
    }
    return item;
  };

  const recent: RawEvent[] = [];
  const dupShare = s.duplicateRatio / Math.max(1e-9, 1 - s.malformedRatio);
  for (let n = 0; n < quota; n++) {
    const u = rnd();
    if (u < s.malformedRatio) {
      yield {
        kind: "malformed",
        sendAt: lastSendAt,
        n,
        eventId: newId(),
        at: lastSendAt,
        flavour: pick(MALFORMED),
      } satisfies RawItem;
    } else if (recent.length && rnd() < dupShare) {
      yield {
        kind: "duplicate",
        sendAt: lastSendAt,
        n,
        event: pick(recent),
        outOfOrder: false,
      } satisfies RawItem;
    } else {
      const item = nextValid();
      lastSendAt = item.sendAt;
      recent.push(item.event);
      if (recent.length > 5) recent.shift();
      yield {
        kind: "valid",
        sendAt: item.sendAt,
        n,
        event: item.event,
        outOfOrder: item.outOfOrder,
      } satisfies RawItem;
    }
  }
  return stats;
}

const iso = (ms: number) => new Date(ms).toISOString();

function render(
  item: RawItem,
  anchor: number,
  endAt: number,
): { payload: string; type: SensorEventType | null } {
  if (item.kind !== "malformed") {
    const e = item.event;
    return {
      payload: JSON.stringify({
        eventId: e.eventId,
        type: e.type,
        occurredAt: iso(anchor + e.at),
        ...e.fields,
      }),
      type: e.type,
    };
  }
  const occurredAt = iso(anchor + item.at);
  const heartbeat = {
    eventId: item.eventId,
    type: "heartbeat",
    occurredAt,
    uptimeS: 3600,
    firmware: "2.4.1",
  };
  const detected = { eventId: item.eventId, type: "ebike_detected", occurredAt, carHalted: true, floor: 1 };
  let payload: string;
  switch (item.flavour) {
    case "truncated_json": {
      const whole = JSON.stringify(heartbeat);
      payload = whole.slice(0, Math.floor(whole.length / 2));
      break;
    }
    case "not_json":
      payload = `HB uptime=3600 fw=2.4.1 id=${item.eventId}`;
      break;
    case "confidence_too_high":
      payload = JSON.stringify({ ...detected, confidence: 1.7 });
      break;
    case "unknown_field":
      payload = JSON.stringify({ ...heartbeat, temperatureC: 41.5 });
      break;
    case "missing_floor":
      payload = JSON.stringify({ ...detected, floor: undefined, confidence: 0.93 });
      break;
    case "local_time":
      payload = JSON.stringify({ ...heartbeat, occurredAt: occurredAt.replace(/\.\d+Z$/, "") });
      break;
    case "future":
      payload = JSON.stringify({ ...heartbeat, occurredAt: iso(endAt + 86_400_000 + item.at) });
      break;
  }
  return { payload, type: null };
}

/** The message schedule for `opts` (pure, deterministic for a seed and `endAt`). */
export function planTraffic(opts: TrafficOptions): TrafficPlan {
  const { seed, sensors, messages } = opts;
  if (!sensors.length) throw new RangeError("at least one sensor is needed");
  check("messages", messages, 0, 1e9);
  const s: Settings = {
    runId: opts.runId ?? `s${seed}`,
    heartbeatIntervalS: opts.heartbeatIntervalS ?? DEFAULTS.heartbeatIntervalS,
    duplicateRatio: opts.duplicateRatio ?? DEFAULTS.duplicateRatio,
    malformedRatio: opts.malformedRatio ?? DEFAULTS.malformedRatio,
    outOfOrderRatio: opts.outOfOrderRatio ?? DEFAULTS.outOfOrderRatio,
    falseAlarmRatio: opts.falseAlarmRatio ?? DEFAULTS.falseAlarmRatio,
    faultRatio: opts.faultRatio ?? DEFAULTS.faultRatio,
    meanEpisodeGapS: opts.meanEpisodeGapS ?? DEFAULTS.meanEpisodeGapS,
  };
  if (!/^[A-Za-z0-9_.:-]{1,40}$/.test(s.runId))
    throw new RangeError("runId must be 1-40 letters, digits or _.:- characters");
  check("heartbeatIntervalS", s.heartbeatIntervalS, 1, 86_400);
  check("duplicateRatio + malformedRatio", s.duplicateRatio + s.malformedRatio, 0, 0.9);
  for (const k of [
    "duplicateRatio",
    "malformedRatio",
    "outOfOrderRatio",
    "falseAlarmRatio",
    "faultRatio",
  ] as const)
    check(k, s[k], 0, 1);
  check("meanEpisodeGapS", s.meanEpisodeGapS, 1, 86_400 * 30);
  const quota = (i: number) =>
    Math.floor(messages / sensors.length) + (i < messages % sensors.length ? 1 : 0);
  const streams = () => sensors.map((sensor, i) => sensorStream(seed >>> 0, i, sensor, quota(i), s));

  // Pass 1: count, and find the end of the simulated timeline.
  const expected: TrafficCounts = {
    messages: 0,
    valid: 0,
    duplicates: 0,
    malformed: 0,
    byType: { ebike_detected: 0, ebike_cleared: 0, heartbeat: 0, fault: 0 },
    byReason: { malformed_json: 0, schema_violation: 0, future_timestamp: 0 },
    outOfOrder: 0,
    episodes: 0,
    falseAlarms: 0,
    perSensor: {},
  };
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  streams().forEach((stream, i) => {
    const per: Counts = { messages: 0, valid: 0, duplicates: 0, malformed: 0 };
    expected.perSensor[sensors[i]?.id ?? ""] = per;
    for (;;) {
      const r = stream.next();
      if (r.done) {
        expected.episodes += r.value.episodes;
        expected.falseAlarms += r.value.falseAlarms;
        break;
      }
      const item = r.value;
      per.messages++;
      if (item.kind === "malformed") {
        per.malformed++;
        expected.byReason[REASON[item.flavour]]++;
        continue;
      }
      if (item.kind === "duplicate") {
        per.duplicates++;
        continue;
      }
      per.valid++;
      expected.byType[item.event.type]++;
      if (item.outOfOrder) expected.outOfOrder++;
      first = Math.min(first, item.event.at);
      last = Math.max(last, item.event.at);
    }
    expected.messages += per.messages;
    expected.valid += per.valid;
    expected.duplicates += per.duplicates;
    expected.malformed += per.malformed;
  });
  const endAt = opts.endAt.getTime();
  const anchor = endAt - last;

  return {
    total: expected.messages,
    expected,
    from: new Date(anchor + (Number.isFinite(first) ? first : last)),
    to: new Date(endAt),
    *[Symbol.iterator]() {
      // Pass 2: merge the sensors' streams by send time (a binary heap keyed on sendAt, sensor, n).
      const live = streams();
      type Head = { i: number; item: RawItem };
      const heap: Head[] = [];
      const less = (a: Head, b: Head) =>
        a.item.sendAt !== b.item.sendAt
          ? a.item.sendAt < b.item.sendAt
          : a.i !== b.i
            ? a.i < b.i
            : a.item.n < b.item.n;
      const swap = (x: number, y: number) => {
        const t = heap[x] as Head;
        heap[x] = heap[y] as Head;
        heap[y] = t;
      };
      const up = (k: number) => {
        while (k > 0) {
          const parent = (k - 1) >> 1;
          if (!less(heap[k] as Head, heap[parent] as Head)) break;
          swap(k, parent);
          k = parent;
        }
      };
      const down = (k: number) => {
        for (;;) {
          const l = 2 * k + 1;
          const r = l + 1;
          let m = k;
          if (l < heap.length && less(heap[l] as Head, heap[m] as Head)) m = l;
          if (r < heap.length && less(heap[r] as Head, heap[m] as Head)) m = r;
          if (m === k) break;
          swap(k, m);
          k = m;
        }
      };
      const advance = (i: number): Head | null => {
        const r = live[i]?.next();
        return r && !r.done ? { i, item: r.value } : null;
      };
      for (let i = 0; i < live.length; i++) {
        const head = advance(i);
        if (head) {
          heap.push(head);
          up(heap.length - 1);
        }
      }
      let seq = 0;
      while (heap.length) {
        const top = heap[0] as Head;
        const sensorId = sensors[top.i]?.id ?? "";
        const { payload, type } = render(top.item, anchor, endAt);
        const item = top.item;
        yield {
          seq: seq++,
          sensorId,
          topic: eventsTopic(sensorId),
          payload,
          kind: item.kind,
          eventId: item.kind === "malformed" ? item.eventId : item.event.eventId,
          type,
          expectedReason: item.kind === "malformed" ? REASON[item.flavour] : null,
          outOfOrder: item.kind === "valid" && item.outOfOrder,
        } satisfies ScheduledMessage;
        const next = advance(top.i);
        if (next) {
          heap[0] = next;
        } else {
          const tail = heap.pop() as Head;
          if (heap.length) heap[0] = tail;
        }
        if (heap.length) down(0);
      }
    },
  };
}

// ---- publishing ------------------------------------------------------------------------------

export interface PublishOptions {
  /** mqtt://host:port of Mosquitto (MQTT v5 or 3.1.1) or the embedded aedes (3.1.1). */
  url: string;
  /** Every sensor of the plan, with its key. */
  sensors: readonly { id: string; key: string }[];
  plan: TrafficPlan;
  /** Target total messages per second over all sensors. */
  rate: number;
  /** Publishes awaiting their PUBACK, over all connections; default 256. */
  maxInFlight?: number;
  /** 4 = MQTT 3.1.1 (both brokers; the default), 5 = MQTT v5 (Mosquitto). */
  protocolVersion?: 4 | 5;
  /** Connections opened at once; default 32. */
  connectConcurrency?: number;
  /**
   * Keep retrying a connection the broker refuses as "not authorized" for this long (a login the
   * app is still adding to the broker); default 0: fail at once.
   */
  authWaitMs?: number;
  /** Called about once a second while publishing. */
  onProgress?: (p: { sent: number; acked: number; failed: number; total: number; elapsedMs: number }) => void;
  /** Stops publishing (what is in flight is still awaited). */
  signal?: AbortSignal;
}

export interface Latency {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface SimulationSummary extends Counts {
  /** Event messages the broker acknowledged (PUBACK): valid + duplicates + malformed. */
  published: number;
  /** Publishes that got no PUBACK (connection lost, broker refused): not counted above. */
  failed: number;
  /** Scheduled messages not sent (stopped early). */
  skipped: number;
  /** Retained `online` status messages published at connect. */
  statusPublished: number;
  byType: Record<SensorEventType, number>;
  byReason: Record<ExpectedReason, number>;
  perSensor: Record<string, Counts & { failed: number }>;
  elapsedMs: number;
  /** Acknowledged event messages per second of publishing. */
  rateAchieved: number;
  /** publish → PUBACK, milliseconds. */
  puback: Latency;
  latenciesMs: Float64Array;
}

export class BrokerRefusedError extends Error {}

const AUTH_CODES = new Set([4, 5, 134, 135]);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function connectSensor(
  url: string,
  sensor: { id: string; key: string },
  protocolVersion: 4 | 5,
  authWaitMs: number,
): Promise<MqttClient> {
  const deadline = Date.now() + authWaitMs;
  for (;;) {
    try {
      return await mqtt.connectAsync(url, {
        clientId: sensor.id,
        username: sensor.id,
        password: sensor.key,
        protocolVersion,
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
        keepalive: 30,
        will: { topic: statusTopic(sensor.id), payload: Buffer.from("offline"), qos: 1, retain: true },
      });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const refused = typeof code === "number" && AUTH_CODES.has(code);
      if (refused && Date.now() < deadline) {
        await sleep(500);
        continue;
      }
      const message = err instanceof Error ? err.message : String(err);
      throw refused
        ? new BrokerRefusedError(`the broker refused sensor ${sensor.id}: ${message}`)
        : new Error(`sensor ${sensor.id} could not connect to ${url}: ${message}`);
    }
  }
}

export function latencyStats(samples: Float64Array): Latency {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) =>
    sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) : 0;
  let sum = 0;
  for (const v of sorted) sum += v;
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    count: sorted.length,
    mean: round(sorted.length ? sum / sorted.length : 0),
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    max: round(sorted.length ? (sorted[sorted.length - 1] ?? 0) : 0),
  };
}

/** Publishes a plan: connects every sensor, paces to `rate`, returns what was acknowledged. */
export async function publishTraffic(opts: PublishOptions): Promise<SimulationSummary> {
  const { url, plan, rate, maxInFlight = 256, protocolVersion = 4, connectConcurrency = 32 } = opts;
  check("rate", rate, 0.001, 1e7);
  check("maxInFlight", maxInFlight, 1, 1e6);
  const keys = new Map(opts.sensors.map((s) => [s.id, s.key]));
  for (const id of Object.keys(plan.expected.perSensor))
    if (!keys.has(id)) throw new RangeError(`no key for sensor ${id} of the plan`);

  // Connect (a bounded number at a time), then announce each sensor online (retained).
  const clients = new Map<string, MqttClient>();
  const devices = new Map<string, SimulatedDevice>();
  const dead = new Set<string>();
  const pending = new Map<string, Set<(err: Error) => void>>();
  const ids = Object.keys(plan.expected.perSensor);
  let statusPublished = 0;
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(connectConcurrency, ids.length) }, async () => {
        while (next < ids.length) {
          const id = ids[next++] as string;
          const client = await connectSensor(
            url,
            { id, key: keys.get(id) ?? "" },
            protocolVersion,
            opts.authWaitMs ?? 0,
          );
          clients.set(id, client);
          pending.set(id, new Set());
          client.on("error", () => {});
          // Each sensor obeys its commands as a device does (a release ends its halt with a clear).
          devices.set(id, await SimulatedDevice.attach(client, id));
          client.on("close", () => {
            dead.add(id);
            const waiting = pending.get(id);
            for (const fail of [...(waiting ?? [])]) fail(new Error("connection closed"));
          });
          await client.publishAsync(statusTopic(id), "online", { qos: 1, retain: true });
          statusPublished++;
        }
      }),
    );
  } catch (err) {
    await Promise.all([...clients.values()].map((c) => c.endAsync(true)));
    throw err;
  }

  const zero = () => ({ messages: 0, valid: 0, duplicates: 0, malformed: 0, failed: 0 });
  const perSensor: Record<string, Counts & { failed: number }> = {};
  for (const id of ids) perSensor[id] = zero();
  const totals = zero();
  const byType: Record<SensorEventType, number> = {
    ebike_detected: 0,
    ebike_cleared: 0,
    heartbeat: 0,
    fault: 0,
  };
  const byReason: Record<ExpectedReason, number> = {
    malformed_json: 0,
    schema_violation: 0,
    future_timestamp: 0,
  };
  let latencies = new Float64Array(Math.min(plan.total, 1 << 16) || 1);
  let acked = 0;
  let inFlight = 0;
  let wake: (() => void) | null = null;

  const settle = (msg: ScheduledMessage, started: number, err: Error | null) => {
    inFlight--;
    const per = perSensor[msg.sensorId] ?? zero();
    if (err) {
      per.failed++;
      totals.failed++;
    } else {
      if (acked === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[acked++] = performance.now() - started;
      for (const c of [per, totals]) {
        c.messages++;
        if (msg.kind === "valid") c.valid++;
        else if (msg.kind === "duplicate") c.duplicates++;
        else c.malformed++;
      }
      if (msg.kind === "valid" && msg.type) byType[msg.type]++;
      if (msg.expectedReason) byReason[msg.expectedReason]++;
    }
    const w = wake;
    wake = null;
    w?.();
  };

  const send = (msg: ScheduledMessage) => {
    const client = clients.get(msg.sensorId);
    const started = performance.now();
    inFlight++;
    if (!client || dead.has(msg.sensorId)) return settle(msg, started, new Error("connection closed"));
    const waiting = pending.get(msg.sensorId);
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      waiting?.delete(finish);
      settle(msg, started, err);
    };
    waiting?.add(finish);
    if (msg.kind === "valid" && (msg.type === "ebike_detected" || msg.type === "ebike_cleared"))
      devices.get(msg.sensorId)?.follow(msg.type, msg.payload);
    client.publish(msg.topic, msg.payload, { qos: 1 }, (err) => finish(err ?? null));
  };

  const t0 = performance.now();
  let sent = 0;
  let lastProgress = t0;
  for (const msg of plan) {
    if (opts.signal?.aborted) break;
    const ahead = t0 + (sent * 1000) / rate - performance.now();
    if (ahead > 1) await sleep(ahead);
    else if ((sent & 63) === 63) await new Promise<void>((resolve) => setImmediate(resolve));
    while (inFlight >= maxInFlight) await new Promise<void>((resolve) => (wake = resolve));
    send(msg);
    sent++;
    if (opts.onProgress && performance.now() - lastProgress >= 1000) {
      lastProgress = performance.now();
      opts.onProgress({
        sent,
        acked,
        failed: totals.failed,
        total: plan.total,
        elapsedMs: lastProgress - t0,
      });
    }
  }
  while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
  const elapsedMs = performance.now() - t0;
  await Promise.all([...clients.values()].map((c) => c.endAsync()));

  const samples = latencies.subarray(0, acked);
  return {
    published: totals.messages,
    messages: totals.messages,
    valid: totals.valid,
    duplicates: totals.duplicates,
    malformed: totals.malformed,
    failed: totals.failed,
    skipped: plan.total - sent,
    statusPublished,
    byType,
    byReason,
    perSensor,
    elapsedMs: Math.round(elapsedMs),
    rateAchieved: Math.round((totals.messages / Math.max(elapsedMs, 1)) * 1000 * 10) / 10,
    puback: latencyStats(samples),
    latenciesMs: samples,
  };
}

// ---- a live device that obeys commands (protocol v1) -----------------------------------------

/** What a simulated device does now; commands change it. */
export interface DeviceState {
  /** The floor of the car it holds halted, or null. */
  halted: number | null;
  /** Whether a detection halts the car (set_blocking); back to true after `blockingUntil`. */
  blocking: boolean;
  blockingUntil: number | null;
  heartbeatIntervalS: number;
}

/**
 * One device on its own MQTT connection: it subscribes to its commands, halts the car on a
 * detection (while blocking is on), and obeys each command once (deduped by commandId): `release`
 * ends its halt with an `ebike_cleared` event and answers `applied` (`refused` with no car
 * halted); `set_blocking` and `set_heartbeat` change what it does and answer `applied`; a command
 * past its `expiresAt` answers `expired` and is not applied.
 */
export class SimulatedDevice {
  readonly state: DeviceState;
  /** Commands answered, by commandId (a redelivery is answered again the same way, not re-applied). */
  readonly answered = new Map<string, { result: "applied" | "refused" | "expired"; reason?: string }>();
  private seq = 0;
  private heartbeatTimer: NodeJS.Timeout | null = null;

  private constructor(
    readonly client: MqttClient,
    readonly sensorId: string,
    private readonly clock: () => Date,
    heartbeatIntervalS: number,
  ) {
    this.state = { halted: null, blocking: true, blockingUntil: null, heartbeatIntervalS };
  }

  static async connect(opts: {
    url: string;
    sensor: { id: string; key: string };
    protocolVersion?: 4 | 5;
    heartbeatIntervalS?: number;
    /** Publish heartbeats on a timer at the current interval (default false: on demand). */
    heartbeats?: boolean;
    clock?: () => Date;
  }): Promise<SimulatedDevice> {
    const client = await connectSensor(opts.url, opts.sensor, opts.protocolVersion ?? 4, 0);
    client.on("error", () => {});
    const device = await SimulatedDevice.attach(client, opts.sensor.id, {
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.heartbeatIntervalS ? { heartbeatIntervalS: opts.heartbeatIntervalS } : {}),
    });
    if (opts.heartbeats) device.scheduleHeartbeat();
    return device;
  }

  /** Makes a sensor's connected client obey its commands (`npm run simulate`'s sensors do too). */
  static async attach(
    client: MqttClient,
    sensorId: string,
    opts: { clock?: () => Date; heartbeatIntervalS?: number } = {},
  ): Promise<SimulatedDevice> {
    const device = new SimulatedDevice(
      client,
      sensorId,
      opts.clock ?? (() => new Date()),
      opts.heartbeatIntervalS ?? 30,
    );
    client.on("message", (topic, payload) => {
      if (topic === commandsTopic(sensorId)) void device.handle(payload).catch(() => {});
    });
    await client.subscribeAsync(commandsTopic(sensorId), { qos: 1 });
    return device;
  }

  /**
   * A detection or clear sent for this sensor by someone else (the planned traffic of
   * `publishTraffic`): the car's state follows it, so that a release finds the car it lets go.
   */
  follow(type: SensorEventType | null, payload: string) {
    if (type === "ebike_cleared") this.state.halted = null;
    if (type !== "ebike_detected") return;
    const event = JSON.parse(payload) as { carHalted?: boolean; floor?: number };
    if (event.carHalted) this.state.halted = event.floor ?? 1;
  }

  private event(type: string, fields: Record<string, unknown>) {
    this.seq += 1;
    const now = this.clock();
    const body = {
      eventId: `sim-${this.sensorId.slice(0, 8)}-${now.getTime()}-${this.seq}`,
      type,
      occurredAt: now.toISOString(),
      ...fields,
    };
    return this.client.publishAsync(eventsTopic(this.sensorId), JSON.stringify(body), { qos: 1 });
  }

  /** An e-bike enters the car at `floor`: the car halts if blocking is on. */
  async detect(floor = 1) {
    const until = this.state.blockingUntil;
    if (until !== null && this.clock().getTime() >= until) {
      this.state.blocking = true;
      this.state.blockingUntil = null;
    }
    const carHalted = this.state.blocking;
    if (carHalted) this.state.halted = floor;
    await this.event("ebike_detected", { carHalted, floor, confidence: 0.97 });
  }

  async heartbeat() {
    await this.event("heartbeat", { uptimeS: Math.round(process.uptime()), firmware: "sim-1.0" });
  }

  private scheduleHeartbeat() {
    this.heartbeatTimer = setTimeout(() => {
      void this.heartbeat().catch(() => {});
      this.scheduleHeartbeat();
    }, this.state.heartbeatIntervalS * 1000);
    this.heartbeatTimer.unref();
  }

  /** One message from its commands topic: applied at most once, answered every time. */
  async handle(payload: Buffer | string) {
    let command: Record<string, unknown>;
    try {
      command = JSON.parse(payload.toString()) as Record<string, unknown>;
    } catch {
      return; // not a command: nothing to answer to
    }
    const commandId = typeof command.commandId === "string" ? command.commandId : null;
    if (!commandId) return;
    const before = this.answered.get(commandId);
    const answer = before ?? this.apply(command);
    this.answered.set(commandId, answer);
    if (!before && answer.result === "applied" && command.type === "release" && this.state.halted !== null) {
      // The bike is out: the car moves again, and the platform is told as for any clear.
      const floor = this.state.halted;
      this.state.halted = null;
      await this.event("ebike_cleared", { floor });
    }
    await this.client.publishAsync(
      commandResultsTopic(this.sensorId),
      JSON.stringify({ commandId, ...answer }),
      { qos: 1 },
    );
  }

  private apply(command: Record<string, unknown>): {
    result: "applied" | "refused" | "expired";
    reason?: string;
  } {
    const expiresAt = Date.parse(String(command.expiresAt));
    if (!Number.isFinite(expiresAt) || this.clock().getTime() >= expiresAt) {
      return { result: "expired", reason: "received after expiresAt" };
    }
    switch (command.type) {
      case "release":
        return this.state.halted === null
          ? { result: "refused", reason: "no car is halted" }
          : { result: "applied" };
      case "set_blocking": {
        if (typeof command.enabled !== "boolean")
          return { result: "refused", reason: "enabled must be true or false" };
        this.state.blocking = command.enabled;
        const until = typeof command.until === "string" ? Date.parse(command.until) : Number.NaN;
        this.state.blockingUntil = !command.enabled && Number.isFinite(until) ? until : null;
        return { result: "applied" };
      }
      case "set_heartbeat": {
        const s = command.intervalS;
        if (typeof s !== "number" || !Number.isInteger(s) || s < 5 || s > 3600)
          return { result: "refused", reason: "intervalS must be a whole number from 5 to 3600" };
        this.state.heartbeatIntervalS = s;
        if (this.heartbeatTimer) {
          clearTimeout(this.heartbeatTimer);
          this.scheduleHeartbeat();
        }
        return { result: "applied" };
      }
      default:
        return { result: "refused", reason: `unknown command type ${String(command.type)}` };
    }
  }

  async close() {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    await this.client.endAsync();
  }
}
