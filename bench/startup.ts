/**
 * Start-up benchmark: seconds from `npm start` (the embedded default: PGlite, migrations, demo
 * seed) to the first `/readyz` 200, on a fresh data directory and then again on the same one.
 * Prints a table and a last line of key=value figures.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { START_NODE_FLAGS } from "./lib.js";

const PORT = 3900 + Math.floor(Math.random() * 90);
const MQTT_PORT = 18900 + Math.floor(Math.random() * 90);

async function startOnce(dataDir: string): Promise<number> {
  const started = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    [...START_NODE_FLAGS, "--import", "tsx", "src/node.ts"],
    {
      env: {
        PATH: process.env.PATH,
        PORT: String(PORT),
        MQTT_PORT: String(MQTT_PORT),
        DATA_DIR: dataDir,
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  try {
    const deadline = started + 120_000;
    while (performance.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`);
      const ready = await fetch(`http://127.0.0.1:${PORT}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) return (performance.now() - started) / 1000;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error("not ready within 120 s");
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

const dataDir = await mkdtemp(join(tmpdir(), "bot-startup-"));
try {
  const first = await startOnce(dataDir);
  const second = await startOnce(dataDir);
  console.log("| start | seconds to /readyz 200 | goal |");
  console.log("| --- | --- | --- |");
  console.log(`| first (migrate + seed) | ${first.toFixed(2)} | ≤ 10 |`);
  console.log(`| second | ${second.toFixed(2)} | ≤ 5 |`);
  console.log(`startup_first_s=${first.toFixed(2)} startup_second_s=${second.toFixed(2)}`);
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
