/**
 * Workers benchmark (`npm run bench:worker`): CPU per contract-detail request of the Worker under
 * workerd beside the Node server's, on one PostgreSQL database holding the demo data.
 *
 * The Worker is the bundle `npm run build:worker` makes, served by workerd through Miniflare (no
 * dev proxy in front), with Hyperdrive's local binding: a direct connection to PostgreSQL, opened
 * for each request as on Workers (Hyperdrive's pool is not here, so the connection's start-up,
 * authentication and type fetch are part of each request). The Node server is `src/node.ts` as
 * `npm start` runs it. Both answer GET /v1/contracts/{id} with the demo enterprise's key, over
 * --rounds interleaved rounds of --requests requests at --concurrency, and the CPU seconds of each
 * server process (and of PostgreSQL) are read from /proc around each round.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { buildWorker } from "../src/cli/build-worker.js";
import { seedDemoOnce } from "../src/demo/seed.js";
import { startBundledWorker } from "../test/support/worker.js";
import {
  cpuSeconds,
  cpuUsed,
  createBenchDatabase,
  numberFlags,
  printFigures,
  printTable,
  quantile,
  round,
  startApiServer,
  withCleanup,
} from "./lib.js";

const USAGE = "usage: npm run bench:worker -- [--rounds 5] [--requests 500] [--concurrency 4]";
const flags = numberFlags(USAGE, { rounds: 5, requests: 500, concurrency: 4 });

/** The pid of this process's workerd child (Miniflare spawns it). */
async function workerdPid(): Promise<number> {
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (stat.includes(" (workerd) ") && ppid === process.pid) return Number(entry);
  }
  throw new Error("no workerd child process");
}

interface Round {
  runtime: string;
  rps: number;
  p50: number;
  p99: number;
  serverMs: number;
  postgresMs: number;
}

async function round1(
  runtime: string,
  base: string,
  paths: string[],
  key: string,
  pid: number,
): Promise<Round> {
  const latencies: number[] = [];
  let next = 0;
  const before = await cpuSeconds({ server: pid });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: flags.concurrency }, async () => {
      while (next < flags.requests) {
        const path = paths[next++ % paths.length];
        const t = performance.now();
        const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${runtime} ${path} answered ${res.status}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const wallS = (performance.now() - started) / 1000;
  const used = cpuUsed(before, await cpuSeconds({ server: pid }));
  const perRequest = (name: string) => round((used.seconds(name) * 1000) / flags.requests, 2);
  return {
    runtime,
    rps: round(flags.requests / wallS, 0),
    p50: round(quantile(latencies, 0.5), 1),
    p99: round(quantile(latencies, 0.99), 1),
    serverMs: perRequest("server"),
    postgresMs: perRequest("postgres"),
  };
}

await withCleanup(async (cleanup) => {
  const database = await createBenchDatabase("worker");
  cleanup(() => database.drop());
  const keysDir = await mkdtemp(join(tmpdir(), "bot-bench-worker-"));
  cleanup(() => rm(keysDir, { recursive: true, force: true }));
  const { keys } = await seedDemoOnce(database.db, {
    keysFile: join(keysDir, "demo-keys.json"),
    logger: pino({ level: "silent" }),
  });
  const key = keys.enterprise;
  if (!key) throw new Error("the demo has no enterprise key");

  const build = buildWorker(join(keysDir, "bundle"));
  // The rounds send thousands of requests with one key: limited (the limiter's cost is in the
  // figures) at a rate never reached, as bench/lib.ts does for the Node server.
  const worker = await startBundledWorker(build.script, database.url, { RATE_LIMIT_KEY_PER_MIN: "1000000" });
  cleanup(() => worker.dispose());
  const workerBase = worker.url.origin;
  const workerPid = await workerdPid();

  const { server, base: nodeBase } = await startApiServer(database.url);
  cleanup(() => server.stop());
  const list = (await (
    await fetch(`${nodeBase}/v1/contracts?limit=100`, { headers: { authorization: `Bearer ${key}` } })
  ).json()) as { items: { id: string }[] };
  const paths = list.items.map((c) => `/v1/contracts/${c.id}`);

  // Warm-up: the Worker's isolate and caches, the Node server's JIT.
  await round1("node", nodeBase, paths, key, server.process.pid ?? 0);
  await round1("worker", workerBase, paths, key, workerPid);
  const rounds: Round[] = [];
  for (let r = 0; r < flags.rounds; r++) {
    rounds.push(await round1("node", nodeBase, paths, key, server.process.pid ?? 0));
    rounds.push(await round1("worker", workerBase, paths, key, workerPid));
  }
  console.log(
    `\nWorkers benchmark: GET /v1/contracts/{id} (${paths.length} demo contracts), ${flags.rounds} interleaved rounds × ${flags.requests} requests at concurrency ${flags.concurrency}; bundle ${round(build.bytes / 1024, 1)} KiB, gzip ${round(build.gzipBytes / 1024, 1)} KiB\n`,
  );
  printTable(
    ["runtime", "req/s", "p50 ms", "p99 ms", "CPU ms/request: server", "PostgreSQL"],
    rounds.map((r) => [r.runtime, r.rps, r.p50, r.p99, r.serverMs, r.postgresMs]),
  );
  const median = (runtime: string, pick: (r: Round) => number) =>
    quantile(rounds.filter((r) => r.runtime === runtime).map(pick), 0.5);
  const nodeCpu = median("node", (r) => r.serverMs);
  const workerCpu = median("worker", (r) => r.serverMs);
  printFigures({
    node_cpu_ms: nodeCpu,
    worker_cpu_ms: workerCpu,
    worker_postgres_cpu_ms: median("worker", (r) => r.postgresMs),
    node_postgres_cpu_ms: median("node", (r) => r.postgresMs),
    ratio: round(workerCpu / Math.max(1e-9, nodeCpu), 2),
    bundle_gzip_kib: round(build.gzipBytes / 1024, 1),
  });
});
