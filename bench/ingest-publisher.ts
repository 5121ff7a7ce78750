/**
 * The publishing process of bench/ingest.ts: the sensor simulator (tools/simulator.ts) in a
 * process of its own. `planTraffic` makes the realistic schedule (heartbeats, e-bike episodes,
 * ~2 % device retries, ~1 % malformed) and counts it; `publishTraffic` sends it over one MQTT.js
 * connection per sensor, QoS 1, and counts exactly what the broker acknowledged (PUBACK).
 *
 * Configured by BENCH_PUBLISH (JSON): { url, sensorsFile, seed, runId, messages, rate, inFlight,
 * endAtMs, stampsFile? }. With `stampsFile`, the wall-clock instant at which each valid event is
 * handed to MQTT.js is noted (a getter on the message's payload: publishTraffic reads it exactly
 * once, in the call to `client.publish`) and written as `sensorId eventId epochMs` lines.
 *
 * JSON lines out: `{"sent":n}` every 100 ms while publishing, `{"done":summary}` at the end.
 * In: `{"cmd":"stop"}` stops publishing (what is in flight is still awaited).
 */
import { readFile, writeFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { planTraffic, publishTraffic, type ScheduledMessage, type TrafficPlan } from "../tools/simulator.js";
import { onParentLine, say } from "./lib.js";

interface Config {
  url: string;
  sensorsFile: string;
  seed: number;
  runId: string;
  messages: number;
  rate: number;
  inFlight: number;
  endAtMs: number;
  episodeGapS?: number;
  stampsFile?: string;
}

const config = JSON.parse(process.env.BENCH_PUBLISH ?? "{}") as Config;
const sensors = JSON.parse(await readFile(config.sensorsFile, "utf8")) as {
  id: string;
  key: string;
  heartbeatIntervalS: number;
}[];

const plan = planTraffic({
  seed: config.seed,
  sensors,
  messages: config.messages,
  endAt: new Date(config.endAtMs),
  runId: config.runId,
  meanEpisodeGapS: config.episodeGapS,
});

let sent = 0;
const stamps: string[] = [];
const now = () => performance.timeOrigin + performance.now();

/** The plan, counting what is taken and (optionally) stamping when each valid payload is sent. */
const counted: TrafficPlan = {
  total: plan.total,
  expected: plan.expected,
  from: plan.from,
  to: plan.to,
  *[Symbol.iterator]() {
    for (const msg of plan) {
      sent++;
      if (!config.stampsFile || msg.kind !== "valid") {
        yield msg;
        continue;
      }
      const { payload, ...rest } = msg;
      let stamped = false;
      yield {
        ...rest,
        get payload() {
          if (!stamped) {
            stamped = true;
            stamps.push(`${msg.sensorId} ${msg.eventId} ${now().toFixed(2)}`);
          }
          return payload;
        },
      } satisfies ScheduledMessage;
    }
  },
};

const stop = new AbortController();
onParentLine((line) => {
  if (line.cmd === "stop") stop.abort();
});
const ticker = setInterval(() => say({ sent }), 100);
say({ planned: plan.total, expected: plan.expected.valid });

const cpuAtStart = process.cpuUsage();
const summary = await publishTraffic({
  url: config.url,
  sensors,
  plan: counted,
  rate: config.rate,
  maxInFlight: config.inFlight,
  protocolVersion: 4,
  signal: stop.signal,
});
clearInterval(ticker);
if (config.stampsFile) await writeFile(config.stampsFile, stamps.length ? `${stamps.join("\n")}\n` : "");
const { latenciesMs: _samples, perSensor: _perSensor, ...rest } = summary;
say({ sent });
const cpu = process.cpuUsage(cpuAtStart);
say({
  done: {
    ...rest,
    planned: plan.total,
    expectedValid: plan.expected.valid,
    cpuS: (cpu.user + cpu.system) / 1e6,
  },
});
process.exit(0);
