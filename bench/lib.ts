/**
 * Shared by the benchmarks: a fresh PostgreSQL database per run (created, migrated, dropped at the
 * end), a private Mosquitto with iot/mosquitto.conf, child processes that speak JSON lines,
 * command-line flags, percentiles and the table that every benchmark prints.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Database } from "../db/database.js";
import { openPostgres } from "../db/postgres.js";
import { EVENTS_FILTER } from "../iot/protocol.js";
import {
  freePort,
  MOSQUITTO,
  type Mosquitto as PrivateMosquitto,
  startMosquitto as startPrivateMosquitto,
} from "../test/iot/support.js";
import { createScratchDatabase, type ScratchDatabase } from "../test/support/db.js";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * The Node.js flags `npm start` runs the app with (package.json `scripts.start`, between `node`
 * and `--import tsx`): the benchmarks run their process under test with the same ones.
 */
export const START_NODE_FLAGS: string[] = (() => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { start: string } };
  const match = /^node (.*?)\s*--import tsx /.exec(pkg.scripts.start);
  if (!match)
    throw new Error(`package.json scripts.start is not "node … --import tsx …": ${pkg.scripts.start}`);
  return match[1] ? match[1].split(/\s+/) : [];
})();

/** Where `--profile 1` writes the CPU profiles (`node --cpu-prof`) of the process under test. */
export const PROFILE_DIR = join(tmpdir(), "bot-bench-profiles");

/** The PostgreSQL server the benchmarks use (trust auth); BENCH_PG_URL overrides it. */
export const PG_SERVER = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

// ---- flags -----------------------------------------------------------------------------------

/** Numeric `--name value` flags with defaults; `--help` prints the usage and exits. */
export function numberFlags<K extends string>(
  usage: string,
  defaults: Record<K, number>,
  argv = process.argv.slice(2),
): Record<K, number> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const k of Object.keys(defaults)) options[k] = { type: "string" };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options,
    }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const out = { ...defaults };
  for (const k of Object.keys(defaults) as K[]) {
    const raw = values[k];
    if (typeof raw !== "string") continue;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) {
      console.error(`--${k} must be a non-negative number (got ${raw})\n${usage}`);
      process.exit(2);
    }
    out[k] = n;
  }
  return out;
}

// ---- PostgreSQL --------------------------------------------------------------------------------

export type BenchDatabase = ScratchDatabase;

/**
 * Creates `bench_<label>_<pid>_<random>` on the server, applies the migrations, opens a pool with
 * no statement timeout (a benchmark's own bulk statements, a city's history in SQL, run for minutes).
 */
export function createBenchDatabase(label: string, max = 4): Promise<BenchDatabase> {
  const name = `bench_${label}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  return createScratchDatabase(PG_SERVER, name, {
    max,
    keep: Boolean(process.env.BENCH_KEEP_DB),
    statementTimeoutMs: 0,
  });
}

/** The server's version and the settings that matter for commit speed. */
export async function postgresFacts(db: BenchDatabase): Promise<string> {
  const sql = openPostgres(db.url, { max: 1 });
  try {
    const [v] = await sql<{ v: string; sc: string; sb: string }[]>`
      select current_setting('server_version') as v, current_setting('synchronous_commit') as sc,
             current_setting('shared_buffers') as sb`;
    return `PostgreSQL ${v?.v} (synchronous_commit=${v?.sc}, shared_buffers=${v?.sb})`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

// ---- Mosquitto ---------------------------------------------------------------------------------

export { freePort, INGEST_USER } from "../test/iot/support.js";

/**
 * The no-op subscriber's share group (bench/ingest-subscriber.ts). Not the ingest's: Mosquitto
 * drops what is in flight to a clean-session member of a share group when it leaves
 * (eclipse-mosquitto#2662), and it noticed the no-op subscriber's exit only after the ingest had
 * subscribed, so sharing the group made the no-op take and drop the sustained run's first events.
 */
export const NOOP_SHARED_GROUP = "bench-noop";

export interface Mosquitto extends PrivateMosquitto {
  version: string;
  /** Peak resident set of the broker so far (VmHWM), MB. */
  peakRssMb(): Promise<number>;
}

/**
 * The private Mosquitto the ingest tests use (test/iot/support.ts: the shipped iot/mosquitto.conf
 * set up in a temp dir as `npm run mqtt:setup` does, logins from the sensors table), plus
 * what the benchmark reports about it.
 */
export async function startMosquitto(db: Database): Promise<Mosquitto> {
  const broker = await startPrivateMosquitto(db, {
    extraIngestReads: [`$share/${NOOP_SHARED_GROUP}/${EVENTS_FILTER}`],
  });
  const version = await new Promise<string>((resolve) => {
    const v = spawn(MOSQUITTO, ["-h"], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    v.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    v.once("exit", () => resolve(/mosquitto version (\S+)/.exec(out)?.[1] ?? "unknown"));
  });
  return { ...broker, version, peakRssMb: () => peakRssMb(broker.pid) };
}

/** VmHWM of a process (its peak resident set), MB; 0 when it can not be read. */
export async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}

/**
 * CPU seconds (user + system) used so far by each named process, by all PostgreSQL server processes
 * of this machine together (`postgres`: backends, WAL writer, checkpointer…), and by the whole
 * machine (`machine`: busy time over all CPUs), and when (`at`, s). From /proc; a process that is
 * gone counts 0.
 */
export async function cpuSeconds(
  pids: Record<string, number>,
): Promise<Record<string, number> & { at: number }> {
  const ticks = (stat: string) => {
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime + stime
  };
  const out: Record<string, number> & { at: number } = { at: 0 };
  for (const [name, pid] of Object.entries(pids)) {
    out[name] = ticks(
      await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "() 0 0 0 0 0 0 0 0 0 0 0 0 0"),
    );
  }
  let postgres = 0;
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    if (stat.includes(" (postgres) ")) postgres += ticks(stat);
  }
  out.postgres = postgres;
  const cpu =
    (await readFile("/proc/stat", "utf8")).split("\n")[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
  out.machine = cpu.slice(0, 8).reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + v), 0) / CLOCK_TICKS;
  out.at = performance.now() / 1000;
  return out;
}
/** A cpuSeconds() reading (or none yet: `{}`). */
export type CpuReading = Record<string, number> & { at?: number };

/**
 * The CPU used between two cpuSeconds() readings: CPU seconds of a named process (or `postgres`),
 * and how busy the whole machine was meanwhile (% of all its CPUs).
 */
export function cpuUsed(before: CpuReading, after: CpuReading) {
  const seconds = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
  const wallS = (after.at ?? 0) - (before.at ?? 0);
  return { seconds, busyPct: round((100 * seconds("machine")) / Math.max(1e-9, wallS * cpus().length), 0) };
}

/** USER_HZ of /proc figures: 100 on Linux for every architecture Node.js runs on. */
const CLOCK_TICKS = 100;

// ---- child processes ---------------------------------------------------------------------------

export interface Child {
  process: ChildProcess;
  /** The next JSON line (from stdout) for which `match` is true. */
  next<T = Record<string, unknown>>(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<T>;
  /** Every JSON line, as it comes. */
  onLine(listener: (line: Record<string, unknown>) => void): void;
  send(line: Record<string, unknown>): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves on exit. */
  stop(graceMs?: number): Promise<void>;
  readonly exited: Promise<number | null>;
}

/**
 * `node --import tsx <script>` as a child: stdout carries JSON lines (anything else is echoed to
 * stderr; `discardStdout`: to /dev/null), stdin takes JSON lines, stderr is inherited.
 */
export function startChild(
  script: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
  opts: { discardStdout?: boolean } = {},
): Child {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", join(ROOT, script)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["pipe", opts.discardStdout ? "ignore" : "pipe", "inherit"],
  });
  const listeners: ((line: Record<string, unknown>) => void)[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  if (child.stdout)
    createInterface({ input: child.stdout }).on("line", (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        process.stderr.write(`${script}: ${text}\n`);
        return;
      }
      for (const l of [...listeners]) l(line);
    });
  return {
    process: child,
    exited,
    onLine: (l) => {
      listeners.push(l);
    },
    next<T>(match: (line: Record<string, unknown>) => boolean, timeoutMs = 600_000) {
      return new Promise<T>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          listeners.splice(listeners.indexOf(listener), 1);
        };
        const listener = (line: Record<string, unknown>) => {
          if (line.error) {
            done();
            reject(new Error(`${script}: ${String(line.error)}`));
          } else if (match(line)) {
            done();
            resolve(line as T);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${script}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        listeners.push(listener);
        void exited.then((code) => {
          if (!listeners.includes(listener)) return;
          done();
          reject(new Error(`${script} exited with ${code}`));
        });
      });
    },
    send(line) {
      child.stdin?.write(`${JSON.stringify(line)}\n`);
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** For a child script: one JSON line to the parent. */
export function say(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** For a child script: each JSON line from the parent. */
export function onParentLine(listener: (line: Record<string, unknown>) => void): void {
  createInterface({ input: process.stdin }).on("line", (text) => {
    try {
      listener(JSON.parse(text) as Record<string, unknown>);
    } catch (err) {
      say({ error: `bad command ${text}: ${err instanceof Error ? err.message : String(err)}` });
    }
  });
}

// ---- figures -----------------------------------------------------------------------------------

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The q-quantile (0…1) of `samples`, nearest rank. */
export function quantile(samples: Float64Array | number[], q: number): number {
  const sorted = Float64Array.from(samples).sort();
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

export const round = (v: number, digits = 1) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** A Markdown table: header row, then rows; cells are printed as given. */
export function printTable(header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length), 3));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 3)).join(" | ")} |`;
  console.log(line(cells[0] ?? []));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const r of cells.slice(1)) console.log(line(r));
}

/** The last line every benchmark prints: its judged figures as key=value. */
export function printFigures(figures: Record<string, string | number | boolean>): void {
  console.log(
    Object.entries(figures)
      .map(([k, v]) => `${k}=${v}`)
      .join(" "),
  );
}

/** Runs `main`, then the cleanups (in reverse order) whatever happened; exit code 1 on failure. */
export async function withCleanup(main: (cleanup: (fn: () => Promise<unknown>) => void) => Promise<void>) {
  const cleanups: (() => Promise<unknown>)[] = [];
  let failed = false;
  const onSignal = () => {
    failed = true;
    void runCleanups().then(() => process.exit(130));
  };
  const runCleanups = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      await fn().catch((err: unknown) =>
        console.error(`cleanup failed: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await main((fn) => cleanups.push(fn));
  } catch (err) {
    failed = true;
    console.error(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await runCleanups();
  }
  if (failed) process.exitCode = 1;
}

/**
 * The API server as `npm start` runs it on a real database (`src/node.ts` with START_NODE_FLAGS
 * and `extraNodeArgs`, the embedded broker on a free port, the request log to /dev/null), once
 * its /readyz answers 200.
 */
export async function startApiServer(databaseUrl: string, extraNodeArgs: string[] = []) {
  const port = await freePort();
  const server = startChild(
    "src/node.ts",
    {
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      MQTT_PORT: String(await freePort()),
      LOG_LEVEL: "info",
      // The load sends thousands of requests a second with one key: the limiter runs on each (its
      // cost is measured) at a rate it never refuses.
      RATE_LIMIT_KEY_PER_MIN: "1000000",
    },
    [...START_NODE_FLAGS, ...extraNodeArgs],
    // The request log (one JSON line per request, as in production) goes to /dev/null.
    { discardStdout: true },
  );
  const base = `http://127.0.0.1:${port}`;
  for (let deadline = Date.now() + 60_000; ; await sleep(100)) {
    if ((await fetch(`${base}/readyz`).catch(() => null))?.status === 200) return { server, base };
    if (Date.now() > deadline || server.process.exitCode !== null) {
      await server.stop();
      throw new Error("the server did not start");
    }
  }
}
