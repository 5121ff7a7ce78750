/**
 * The README's Workers local-development recipe, run as written: its code block is taken from
 * README.md and run with bash. Only what the recipe documents is adapted: BOT_DB (a database of
 * this test's own) and WORKER_PORT (a free port). It needs the machine's PostgreSQL on
 * 127.0.0.1:5432, as the recipe says. Then the demo keys it printed are used against the Worker.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { afterAll, expect, it } from "vitest";
import { freePort, waitFor } from "../iot/support.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SERVER = "postgres://postgres@127.0.0.1:5432/postgres";
const database = `workers_recipe_${process.pid}_${randomUUID().slice(0, 8)}`;

async function recipe(): Promise<string> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const block = /<!-- workers-recipe[^>]*-->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error("README.md has no workers-recipe block");
  return block;
}

let shell: ChildProcess | null = null;
afterAll(async () => {
  if (shell?.pid) {
    try {
      process.kill(-shell.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${database}" with (force)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
});

it("serves the demo data under workerd to the keys the recipe printed", async () => {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, BOT_DB: database, WORKER_PORT: String(port) };
  delete env.DATABASE_URL;
  delete env.CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE;
  shell = spawn("bash", ["-euo", "pipefail", "-c", await recipe()], { cwd: ROOT, env, detached: true });
  let output = "";
  shell.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  shell.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => shell?.on("exit", resolve));

  const base = `http://127.0.0.1:${port}`;
  const ready = await Promise.race([
    waitFor(
      async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 200,
      90_000,
      "the Worker to answer /readyz",
    ),
    exited.then((code) => {
      throw new Error(`the recipe exited (${code}) before the Worker answered:\n${output}`);
    }),
  ]);
  expect(ready).toBe(true);

  const key = /^\s+owners_committee\S*\s+(\S+)$/m.exec(output)?.[1];
  expect(key, output).toBeDefined();
  const res = await fetch(`${base}/v1/contracts`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { items: { state: string }[]; total: number };
  expect(body.total).toBeGreaterThan(0);
  const detail = await fetch(`${base}/v1/contracts/${(body.items[0] as { id?: string }).id}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  expect(detail.status).toBe(200);
  expect(Array.isArray(((await detail.json()) as { facilityIds: unknown }).facilityIds)).toBe(true);
  expect((await fetch(`${base}/v1/contracts`, { headers: { authorization: "Bearer nope" } })).status).toBe(
    401,
  );
}, 180_000);
