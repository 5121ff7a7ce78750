/**
 * `npm run bench:growth` at a tiny size, so CI runs every step of it: the city, the ingest on the
 * empty and the filled database (a private Mosquitto each), the fill in SQL, the reads through a
 * real server, the bytes, and the table and last line the benchmark is read by. Its figures are
 * not judged here (a tiny run on a shared machine says nothing about them), only that it ran whole
 * and lost or doubled no event. The benchmark makes databases of its own on a PostgreSQL server:
 * DATABASE_URL's, or in the PGlite run a private one (a city's history is PostgreSQL's to hold).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.js";

const { DATABASE_URL } = loadConfig(process.env);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const TINY = [
  ["events", 20_000],
  ["sensors", 50],
  ["elevators", 10],
  ["contracts", 20],
  ["ingest-duration", 2],
  ["broker-duration", 1],
  ["latency-duration", 2],
  ["latency-rate", 300],
  ["reads", 5],
].flatMap(([k, v]) => [`--${k}`, String(v)]);

function runBench(serverUrl: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/growth.ts", ...TINY], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", BENCH_PG_URL: serverUrl },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run bench:growth at a tiny size", () => {
  let server: PrivatePostgres | undefined;
  beforeAll(async () => {
    if (!DATABASE_URL) server = await startPrivatePostgres();
  }, 60_000);
  afterAll(() => server?.destroy());

  it("builds a city, measures it empty, fills a year of history, measures it again and prints every goal", async () => {
    const serverUrl = DATABASE_URL ?? server?.url;
    if (!serverUrl) throw new Error("no PostgreSQL server");
    const { code, stdout, stderr } = await runBench(serverUrl);
    expect(code, stderr.slice(-3000)).toBe(0);
    const last = stdout.trim().split("\n").at(-1) ?? "";
    const figures = Object.fromEntries(last.split(" ").map((kv) => kv.split("=") as [string, string]));
    expect(figures.lost).toBe("0");
    expect(figures.duplicated).toBe("0");
    for (const key of [
      "ingest_empty_events_per_s",
      "ingest_filled_events_per_s",
      "ingest_ratio",
      "stats_p99_filled_ms",
      "incidents_p99_filled_ms",
      "dashboard_p99_filled_ms",
      "contracts_p99_filled_ms",
      "bytes_ratio",
      "fill_s",
    ]) {
      expect(Number.isFinite(Number(figures[key])), `${key}=${figures[key]}`).toBe(true);
    }
    // The history reaches its size (evidence first, heartbeats the rest), none of it in a default
    // partition (the benchmark fails on that), and only the raw window's heartbeats are rows.
    expect(Number(figures.events)).toBeGreaterThan(15_000);
    expect(Number(figures.bytes_ratio)).toBeLessThan(0.2);
    for (const row of [
      "ingest events/s",
      "incident stats",
      "incident list",
      "street dashboard",
      "contract list",
    ]) {
      expect(stdout).toContain(`| ${row}`);
    }
    expect(stderr).toContain("[bench:growth] FILL:");
  }, 300_000);
});
