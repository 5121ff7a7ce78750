/**
 * `npm run simulate -- --sensors 50 --rate 200 --duration 60 [--url mqtt://127.0.0.1:1883] [--seed 1]`
 *
 * Publishes realistic sensor traffic (tools/simulator.ts) to a broker, for demos and benchmarks.
 * Each simulated sensor obeys its commands as a device does: a release issued in the portal or the
 * API while its car is halted ends the halt with an `ebike_cleared` event and answers `applied`.
 *
 * Sensors are registered through the platform's HTTP API (`POST /v1/sensors`), as an enterprise,
 * not by writing to the database: the embedded PGlite belongs to the running app's process (it can
 * not be opened twice), and the API is the one place that knows how a sensor is registered and its
 * key issued (hashed, plus the Mosquitto hash). Sensors are named `sim-<n>`; a rerun reuses them
 * and rotates their keys (a key is shown only once, so that is the only way to get one again).
 * They go on the elevators the enterprise operates (round robin); if it operates none, one
 * simulator elevator is registered on the first building of its street.
 *
 * Flags (defaults from the same environment as `npm start`, via src/config.ts):
 *   --sensors N        sensors to simulate (1–10000)                          required
 *   --rate R           total messages per second                              required
 *   --duration S       seconds of publishing (messages = rate × duration)      required
 *   --url U            broker                 default MQTT_URL, else mqtt://127.0.0.1:$MQTT_PORT
 *   --seed N           traffic seed (the schedule is deterministic for it)    default random, printed
 *   --api U            the platform API       default http://127.0.0.1:$PORT
 *   --api-key K        an enterprise API key  default `enterprise` in $DATA_DIR/demo-keys.json
 *   --mqtt-version V   4 (MQTT 3.1.1, both brokers) or 5 (Mosquitto)            default 4
 *   --duplicates F     share of exact re-sends (device retries)               default 0.02
 *   --malformed F      share of malformed messages                            default 0.01
 *   --in-flight N      publishes awaiting PUBACK at once                      default 256
 *
 * Prints a table, then one last line of `key=value` figures.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../src/config.js";
import {
  BrokerRefusedError,
  planTraffic,
  publishTraffic,
  type SimSensor,
  type SimulationSummary,
  type TrafficPlan,
} from "./simulator.js";

class UsageError extends Error {}

const USAGE =
  "usage: npm run simulate -- --sensors N --rate MSG_PER_S --duration S [--url mqtt://host:port] [--seed N] [--api URL] [--api-key KEY] [--mqtt-version 4|5] [--duplicates F] [--malformed F] [--in-flight N]";

interface Flags {
  sensors: number;
  rate: number;
  duration: number;
  url: string;
  seed: number;
  api: string;
  apiKey: string | undefined;
  mqttVersion: 4 | 5;
  duplicates: number;
  malformed: number;
  inFlight: number;
}

function number(
  values: Record<string, string | boolean | undefined>,
  name: string,
  opts: { min: number; max: number; integer?: boolean; fallback?: number },
): number {
  const raw = values[name];
  if (raw === undefined) {
    if (opts.fallback !== undefined) return opts.fallback;
    throw new UsageError(`--${name} is required (${USAGE})`);
  }
  const value = Number(raw);
  const kind = opts.integer ? "a whole number" : "a number";
  if (
    typeof raw !== "string" ||
    raw.trim() === "" ||
    !Number.isFinite(value) ||
    (opts.integer && !Number.isInteger(value))
  )
    throw new UsageError(`--${name} must be ${kind} (got "${String(raw)}")`);
  if (value < opts.min || value > opts.max)
    throw new UsageError(`--${name} must be ${kind} between ${opts.min} and ${opts.max} (got ${value})`);
  return value;
}

function url(raw: string, name: string, protocols: string[]): string {
  try {
    if (protocols.includes(new URL(raw).protocol)) return raw.replace(/\/+$/, "");
  } catch {}
  throw new UsageError(
    `--${name} must be a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")} (got "${raw}")`,
  );
}

function parseFlags(argv: string[], config: ReturnType<typeof loadConfig>): Flags {
  let parsed: ReturnType<typeof parse>;
  const parse = (args: string[]) =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        sensors: { type: "string" },
        rate: { type: "string" },
        duration: { type: "string" },
        url: { type: "string" },
        seed: { type: "string" },
        api: { type: "string" },
        "api-key": { type: "string" },
        "mqtt-version": { type: "string" },
        duplicates: { type: "string" },
        malformed: { type: "string" },
        "in-flight": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message.split("\n")[0] : String(err)} (${USAGE})`);
  }
  const v = parsed.values;
  if (v.help) throw new UsageError(USAGE);
  const mqttVersion = number(v, "mqtt-version", { min: 4, max: 5, integer: true, fallback: 4 });
  const duplicates = number(v, "duplicates", { min: 0, max: 0.5, fallback: 0.02 });
  const malformed = number(v, "malformed", { min: 0, max: 0.4, fallback: 0.01 });
  const rate = number(v, "rate", { min: 0.1, max: 1_000_000 });
  const duration = number(v, "duration", { min: 0.1, max: 86_400 });
  if (rate * duration < 1) throw new UsageError("--rate × --duration must be at least one message");
  return {
    sensors: number(v, "sensors", { min: 1, max: 10_000, integer: true }),
    rate,
    duration,
    url: url(v.url ?? config.MQTT_URL ?? `mqtt://127.0.0.1:${config.MQTT_PORT}`, "url", [
      "mqtt:",
      "mqtts:",
      "tcp:",
      "ws:",
      "wss:",
    ]),
    seed: number(v, "seed", {
      min: 0,
      max: 2 ** 32 - 1,
      integer: true,
      fallback: Math.floor(Math.random() * 2 ** 31),
    }),
    api: url(v.api ?? `http://127.0.0.1:${config.PORT}`, "api", ["http:", "https:"]),
    apiKey: v["api-key"],
    mqttVersion: mqttVersion === 5 ? 5 : 4,
    duplicates,
    malformed,
    inFlight: number(v, "in-flight", { min: 1, max: 100_000, integer: true, fallback: 256 }),
  };
}

// ---- the platform API ------------------------------------------------------------------------

interface ApiSensor {
  id: string;
  name: string;
  facilityId: string;
  enterpriseOrgId: string;
  heartbeatIntervalSeconds: number;
  key?: string;
}
interface ApiFacility {
  id: string;
  kind: string;
  state: string;
  operatorOrgId: string | null;
  floorsServed: number | null;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function apiClient(base: string, key: string) {
  return async <T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${base}/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
      throw new ApiError(
        0,
        `the platform API at ${base} is not reachable (${cause}): start it, or pass --api`,
      );
    }
    const text = await res.text();
    if (!res.ok) {
      let detail = text.slice(0, 300);
      try {
        const problem = JSON.parse(text) as {
          title?: string;
          detail?: string;
          errors?: { field: string; message: string }[];
        };
        detail = [
          problem.title,
          problem.detail,
          ...(problem.errors ?? []).map((e) => `${e.field} ${e.message}`),
        ]
          .filter(Boolean)
          .join("; ");
      } catch {}
      throw new ApiError(res.status, `${method} /v1${path} answered ${res.status}: ${detail}`);
    }
    return JSON.parse(text) as T;
  };
}

async function pages<T>(get: (offset: number) => Promise<{ items: T[] }>): Promise<T[]> {
  const all: T[] = [];
  for (let offset = 0; ; offset += 200) {
    const { items } = await get(offset);
    all.push(...items);
    if (items.length < 200) return all;
  }
}

async function enterpriseKey(flags: Flags, dataDir: string): Promise<string> {
  if (flags.apiKey) return flags.apiKey;
  const file = join(dataDir, "demo-keys.json");
  const keys = await readFile(file, "utf8").then(
    (text) => JSON.parse(text) as Record<string, unknown>,
    () => null,
  );
  // The demo file holds { keys, signIns } (a data directory of an earlier version: the keys alone).
  const key = ((keys?.keys as Record<string, unknown> | undefined) ?? keys)?.enterprise;
  if (typeof key !== "string")
    throw new UsageError(
      `no enterprise key: pass --api-key, or set DATA_DIR to the app's data directory (${file} not found)`,
    );
  return key;
}

/** `sim-1` … `sim-N`: reused (key rotated) or registered on the enterprise's elevators. */
async function registerSensors(
  flags: Flags,
  key: string,
): Promise<(SimSensor & { key: string; name: string })[]> {
  const api = apiClient(flags.api, key);
  const existing = new Map<string, ApiSensor>();
  for (const s of await pages((o) =>
    api<{ items: ApiSensor[] }>("GET", `/sensors?revoked=false&limit=200&offset=${o}`),
  ))
    if (/^sim-\d+$/.test(s.name) && !existing.has(s.name)) existing.set(s.name, s);
  const names = Array.from({ length: flags.sensors }, (_, i) => `sim-${i + 1}`);
  const missing = names.filter((n) => !existing.has(n));

  let orgId = existing.values().next().value?.enterpriseOrgId ?? null;
  let elevators: ApiFacility[] = [];
  const floors = new Map<string, number>();
  if (missing.length) {
    const all = await pages((o) =>
      api<{ items: ApiFacility[] }>("GET", `/facilities?kind=elevator&limit=200&offset=${o}`),
    );
    for (const f of all) floors.set(f.id, f.floorsServed ?? 6);
    elevators = all.filter(
      (f) =>
        f.operatorOrgId !== null && f.state !== "decommissioned" && (!orgId || f.operatorOrgId === orgId),
    );
  }

  // Created at most once, however many registrations find no elevator left.
  let fallback: Promise<ApiFacility> | null = null;
  const register = async (name: string, n: number): Promise<ApiSensor> => {
    for (;;) {
      if (!elevators.length) {
        fallback ??= createSimulatorElevator(api);
        elevators = [await fallback];
      }
      const target = elevators[n % elevators.length] as ApiFacility;
      try {
        const row = await api<ApiSensor>("POST", "/sensors", { facilityId: target.id, name });
        if (!orgId) {
          orgId = row.enterpriseOrgId;
          const mine = elevators.filter((f) => f.operatorOrgId === orgId);
          if (mine.length) elevators = mine;
        }
        return row;
      } catch (err) {
        // Under contract but operated by another enterprise: not ours, try the next one.
        if (!(err instanceof ApiError) || err.status !== 400 || !err.message.includes("facilityId"))
          throw err;
        elevators = elevators.filter((f) => f.id !== target.id);
      }
    }
  };

  const out: (SimSensor & { key: string; name: string })[] = [];
  const facilities = new Set<string>();
  let next = 0;
  let created = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < names.length) {
        const i = next++;
        const name = names[i] as string;
        const known = existing.get(name);
        const row = known
          ? await api<ApiSensor>("POST", `/sensors/${known.id}/rotate-key`)
          : await register(name, i).then((r) => {
              created++;
              return r;
            });
        if (!row.key) throw new Error(`the API returned no key for ${name}`);
        facilities.add(row.facilityId);
        out[i] = {
          id: row.id,
          key: row.key,
          name,
          heartbeatIntervalS: row.heartbeatIntervalSeconds,
          floors: floors.get(row.facilityId) ?? 6,
        };
      }
    }),
  );
  console.log(
    `sensors: ${created} registered, ${names.length - created} reused (keys rotated), on ${facilities.size} elevator(s)`,
  );
  return out;
}

/** The enterprise operates no elevator: register one on the first building it can see. */
async function createSimulatorElevator(api: ReturnType<typeof apiClient>): Promise<ApiFacility> {
  const communities = await api<{ items: { id: string }[] }>("GET", "/communities?limit=200");
  for (const c of communities.items) {
    const { items } = await api<{ items: { id: string; storeys: number }[] }>(
      "GET",
      `/communities/${c.id}/buildings`,
    );
    const building = items.find((b) => b.storeys >= 2);
    if (!building) continue;
    const elevator = await api<ApiFacility>("POST", "/facilities", {
      kind: "elevator",
      communityId: c.id,
      buildingId: building.id,
      name: "模拟电梯 (sensor simulator)",
      floorsServed: building.storeys,
      stops: building.storeys,
    });
    console.log(`registered elevator ${elevator.id} for the simulator (the enterprise operated none)`);
    return elevator;
  }
  throw new UsageError(
    "the enterprise operates no elevator and its street has no building of 2+ storeys to put one on: register a community and building first",
  );
}

// ---- output ----------------------------------------------------------------------------------

function table(flags: Flags, plan: TrafficPlan, s: SimulationSummary): string {
  const e = plan.expected;
  const rows: [string, string | number, string | number][] = [
    ["messages", e.messages, s.published],
    ["  valid events (distinct)", e.valid, s.valid],
    ...(["heartbeat", "ebike_detected", "ebike_cleared", "fault"] as const).map(
      (t): [string, number, number] => [`    ${t}`, e.byType[t], s.byType[t]],
    ),
    ["  duplicates (same eventId)", e.duplicates, s.duplicates],
    ["  malformed", e.malformed, s.malformed],
    ...(["malformed_json", "schema_violation", "future_timestamp"] as const).map(
      (r): [string, number, number] => [`    ${r}`, e.byReason[r], s.byReason[r]],
    ),
    ["failed (no PUBACK)", "", s.failed],
    ["not sent (stopped)", "", s.skipped],
    ["status `online` (retained)", flags.sensors, s.statusPublished],
    ["detection episodes", e.episodes, ""],
    ["  false alarms", e.falseAlarms, ""],
    ["  clear before detect", e.outOfOrder, ""],
    ["rate msg/s", flags.rate, s.rateAchieved],
    ["seconds", flags.duration, (s.elapsedMs / 1000).toFixed(1)],
    ["PUBACK ms p50 / p90 / p99", "", `${s.puback.p50} / ${s.puback.p90} / ${s.puback.p99}`],
    ["PUBACK ms max", "", s.puback.max],
  ];
  const per = Object.values(s.perSensor).map((c) => c.messages);
  rows.push(["per sensor min / max messages", "", `${Math.min(...per)} / ${Math.max(...per)}`]);
  const w = Math.max(...rows.map((r) => r[0].length));
  const line = (a: string, b: string | number, c: string | number) =>
    `${a.padEnd(w)}  ${String(b).padStart(10)}  ${String(c).padStart(12)}`;
  return [line("", "planned", "acknowledged"), ...rows.map((r) => line(...r))].join("\n");
}

// ---- main ------------------------------------------------------------------------------------

async function main() {
  const config = loadConfig(process.env);
  const flags = parseFlags(process.argv.slice(2), config);
  const key = await enterpriseKey(flags, config.DATA_DIR);
  const sensors = await registerSensors(flags, key);

  const messages = Math.max(1, Math.round(flags.rate * flags.duration));
  const runId = `r${Date.now().toString(36)}`;
  const plan = planTraffic({
    seed: flags.seed,
    sensors,
    messages,
    endAt: new Date(Date.now() + flags.duration * 1000),
    runId,
    duplicateRatio: flags.duplicates,
    malformedRatio: flags.malformed,
  });
  console.log(
    `publishing ${messages} messages from ${sensors.length} sensors at ${flags.rate}/s to ${flags.url} (seed ${flags.seed}, run ${runId}; device time ${plan.from.toISOString()} … ${plan.to.toISOString()})`,
  );
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  let summary: SimulationSummary;
  try {
    summary = await publishTraffic({
      url: flags.url,
      sensors,
      plan,
      rate: flags.rate,
      maxInFlight: flags.inFlight,
      protocolVersion: flags.mqttVersion,
      // A login being added by the app while the sensor starts connecting.
      authWaitMs: 15_000,
      signal: stop.signal,
      onProgress: (p) =>
        process.stderr.write(
          `  ${(p.elapsedMs / 1000).toFixed(0)} s: ${p.sent}/${p.total} sent, ${p.acked} acknowledged, ${p.failed} failed\n`,
        ),
    });
  } catch (err) {
    if (err instanceof BrokerRefusedError)
      throw new UsageError(
        `${err.message}. With Mosquitto, the app must administer its logins: set up the broker with \`npm run mqtt:setup\` and start the app with MQTT_URL, MQTT_USERNAME and MQTT_PASSWORD (README)`,
      );
    throw err;
  }
  console.log(table(flags, plan, summary));
  console.log(
    [
      `published=${summary.published}`,
      `valid=${summary.valid}`,
      `duplicates=${summary.duplicates}`,
      `malformed=${summary.malformed}`,
      `failed=${summary.failed}`,
      `rate=${summary.rateAchieved}`,
      `puback_p50_ms=${summary.puback.p50}`,
      `puback_p99_ms=${summary.puback.p99}`,
    ].join(" "),
  );
  if (summary.failed > 0 || summary.skipped > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(
    err instanceof UsageError || err instanceof ConfigError || err instanceof ApiError
      ? err.message
      : `simulate failed: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exitCode = 1;
});
