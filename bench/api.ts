/**
 * API benchmark (`npm run bench:api`): the real server (`src/node.ts`, as `npm start` runs it
 * with DATABASE_URL: postgres.js pool, request logging at LOG_LEVEL=info to /dev/null, the
 * embedded MQTT broker on a free port) on a fresh PostgreSQL database holding the demo data
 * scaled up to --contracts contracts. The demo (src/demo/seed.ts: every lifecycle state, made
 * through the API, with versions, fee items, votes, signatures, milestones, audit) is cloned
 * set-based, contract by contract with all its child rows, in the demo street, until there are
 * 10,000 contracts; the clones' updated_at are spread over a year so the list's order is real.
 *
 * Then autocannon (bench/api-load.ts, a separate process), --connections connections for
 * --duration s each, after a short warm-up, against three routes of the same server:
 *   hello world    GET /healthz (no auth, no database)
 *   detail         GET /v1/contracts/{id}, the demo enterprise's key, 1,000 of its contracts
 *   list           GET /v1/contracts?state=operating&limit=20&offset=…, random offsets
 * and prints requests/s, p50/p99 ms and the ratio to hello world.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import pino from "pino";
import { queryRows } from "../db/database.js";
import { seedDemoOnce } from "../src/demo/seed.js";
import { prng } from "../tools/simulator.js";
import {
  cpuSeconds,
  cpuUsed,
  createBenchDatabase,
  numberFlags,
  PROFILE_DIR,
  postgresFacts,
  printFigures,
  printTable,
  round,
  startApiServer,
  startChild,
  withCleanup,
} from "./lib.js";
import { scaleContracts } from "./scale-contracts.js";

const USAGE = `usage: npm run bench:api -- [--contracts 10000] [--connections 50] [--duration 15] [--warmup 3] [--profile 0|1]
Quick check: npm run bench:api -- --duration 3 --warmup 1`;
const flags = numberFlags(USAGE, { contracts: 10_000, connections: 50, duration: 15, warmup: 3, profile: 0 });

interface LoadResult {
  rps: number;
  total: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU ms per request of the server, PostgreSQL (all its processes) and the load generator. */
  cpu: { server: number; postgres: number; load: number; busyPct: number };
}

async function load(
  url: string,
  paths: string[],
  headers: Record<string, string>,
  duration: number,
  serverPid: number,
): Promise<LoadResult> {
  const child = startChild("bench/api-load.ts", {
    BENCH_LOAD: JSON.stringify({ url, paths, headers, duration, connections: flags.connections }),
  });
  const pids = { server: serverPid, load: child.process.pid ?? 0 };
  const before = await cpuSeconds(pids);
  const { result } = await child.next<{ result: Omit<LoadResult, "cpu"> }>(
    (l) => "result" in l,
    (duration + 60) * 1000,
  );
  const after = await cpuSeconds(pids);
  await child.exited;
  const used = cpuUsed(before, after);
  const perRequest = (name: string) => round((used.seconds(name) * 1000) / Math.max(1, result.total), 3);
  return {
    ...result,
    cpu: {
      server: perRequest("server"),
      postgres: perRequest("postgres"),
      load: perRequest("load"),
      busyPct: used.busyPct,
    },
  };
}

await withCleanup(async (cleanup) => {
  const database = await createBenchDatabase("api");
  cleanup(() => database.drop());
  const facts = await postgresFacts(database);
  const dir = await mkdtemp(join(tmpdir(), "bench-api-"));
  cleanup(() => rm(dir, { recursive: true, force: true }));
  const log = (text: string) => process.stderr.write(`[bench:api] ${text}\n`);

  const t0 = performance.now();
  const demo = await seedDemoOnce(database.db, {
    keysFile: join(dir, "demo-keys.json"),
    logger: pino({ level: "silent" }),
  });
  await scaleContracts(database, flags.contracts);
  const key = demo.keys.enterprise ?? "";
  const [enterprise] = await queryRows<{ id: string }>(
    database.db,
    sql`select o.id from organizations o join api_keys k on k.organization_id = o.id
        where k.key_hash = encode(sha256(convert_to(${key}, 'utf8')), 'hex')`,
  );
  const counts = await queryRows<{ state: string; n: number }>(
    database.db,
    sql`select state, count(*)::int as n from contracts group by state order by state`,
  );
  const total = counts.reduce((s, r) => s + r.n, 0);
  const ids = await queryRows<{ id: string }>(
    database.db,
    sql`select id from contracts where enterprise_org_id = ${enterprise?.id ?? null} order by random() limit 1000`,
  );
  const [operating] = await queryRows<{ n: number }>(
    database.db,
    sql`select count(*)::int as n from contracts where enterprise_org_id = ${enterprise?.id ?? null} and state = 'operating'`,
  );
  log(
    `${total} contracts (${counts.map((r) => `${r.state} ${r.n}`).join(", ")}) in ${round((performance.now() - t0) / 1000, 1)} s; the enterprise sees ${operating?.n} operating`,
  );

  const { server, base } = await startApiServer(
    database.url,
    flags.profile ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : [],
  );
  cleanup(() => server.stop());

  const auth = { authorization: `Bearer ${key}` };
  const rnd = prng(7);
  const maxOffset = Math.max(0, (operating?.n ?? 0) - 20);
  const targets: { name: string; paths: string[]; headers: Record<string, string> }[] = [
    { name: "hello world: GET /healthz", paths: ["/healthz"], headers: {} },
    {
      name: "detail: GET /v1/contracts/{id}",
      paths: ids.map((r) => `/v1/contracts/${r.id}`),
      headers: auth,
    },
    {
      name: "list: GET /v1/contracts?state=operating&limit=20&offset=…",
      paths: Array.from(
        { length: 1000 },
        () => `/v1/contracts?state=operating&limit=20&offset=${Math.floor(rnd() * (maxOffset + 1))}`,
      ),
      headers: auth,
    },
  ];
  // Each path answers 200 once before the load (a wrong key or id would only measure 401/404s).
  for (const t of targets) {
    const res = await fetch(`${base}${t.paths[0]}`, { headers: t.headers });
    if (res.status !== 200) throw new Error(`${t.paths[0]} answered ${res.status}: ${await res.text()}`);
  }
  const results: LoadResult[] = [];
  for (const t of targets) {
    log(`${t.name}: warm-up ${flags.warmup} s, then ${flags.duration} s at ${flags.connections} connections`);
    const pid = server.process.pid ?? 0;
    if (flags.warmup > 0) await load(base, t.paths, t.headers, flags.warmup, pid);
    results.push(await load(base, t.paths, t.headers, flags.duration, pid));
  }
  await server.stop();

  const [hello, detail, list] = results as [LoadResult, LoadResult, LoadResult];
  const ratio = (r: LoadResult) => r.rps / Math.max(1, hello.rps);
  console.log(
    `\nAPI benchmark: ${total} contracts, ${flags.connections} connections × ${flags.duration} s, ${cpus().length} CPUs, ${round(totalmem() / 2 ** 30, 1)} GiB, ${facts}\n`,
  );
  printTable(
    [
      "route",
      "requests/s",
      "p50 ms",
      "p99 ms",
      "non-2xx / errors",
      "÷ hello world",
      "goal",
      "CPU ms/request: server / PostgreSQL / load; machine busy",
    ],
    targets.map((t, i) => {
      const r = results[i] as LoadResult;
      return [
        t.name,
        round(r.rps, 0),
        r.p50,
        r.p99,
        `${r.non2xx} / ${r.errors + r.timeouts}`,
        round(ratio(r), 3),
        i === 1 ? `≥ 0.2, p99 ≤ 25 ms: ${ratio(r) >= 0.2 && r.p99 <= 25 ? "reached" : "MISSED"}` : "",
        `${r.cpu.server} / ${r.cpu.postgres} / ${r.cpu.load}; ${r.cpu.busyPct} %`,
      ];
    }),
  );
  if (flags.profile) console.log(`\nCPU profile of the server: ${PROFILE_DIR}/*.cpuprofile`);
  printFigures({
    hello_rps: round(hello.rps, 0),
    detail_rps: round(detail.rps, 0),
    detail_p99_ms: detail.p99,
    detail_ratio: round(ratio(detail), 3),
    list_rps: round(list.rps, 0),
    list_p99_ms: list.p99,
    list_ratio: round(ratio(list), 3),
  });
  if (results.some((r) => r.non2xx > 0 || r.errors > 0)) process.exitCode = 1;
});
