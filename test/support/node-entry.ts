/**
 * `npm start`'s entry (src/node.ts) as a child process on its embedded defaults (PGlite, the
 * embedded broker), as a user runs it, for tests of what only the real entry wires together.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "../iot/support.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface NodeEntry {
  proc: ChildProcess;
  base: string;
  /** The demo's API keys by organization (DATA_DIR/demo-keys.json). */
  keys: Record<string, string>;
  /** SIGTERM, and resolves once it exited. */
  stop(): Promise<void>;
}

/** Starts it on `port` and `mqttPort` with DATA_DIR `dataDir`; resolves once `readyPath` answers 2xx. */
export async function startNodeEntry(opts: {
  dataDir: string;
  port: number;
  mqttPort: number;
  env?: Record<string, string>;
  readyPath?: "/healthz" | "/readyz";
}): Promise<NodeEntry> {
  const base = `http://127.0.0.1:${opts.port}`;
  const proc = spawn(process.execPath, ["--import", "tsx", "src/node.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      DATA_DIR: opts.dataDir,
      PORT: String(opts.port),
      MQTT_PORT: String(opts.mqttPort),
      LOG_LEVEL: "warn",
      ...opts.env,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  await waitFor(
    () =>
      fetch(`${base}${opts.readyPath ?? "/readyz"}`).then(
        (r) => r.ok,
        () => false,
      ),
    60_000,
    "npm start",
  );
  const { keys } = JSON.parse(await readFile(join(opts.dataDir, "demo-keys.json"), "utf8")) as {
    keys: Record<string, string>;
  };
  return {
    proc,
    base,
    keys,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await exited;
    },
  };
}

/** A sensor on the first of the enterprise's elevators that takes one: its id and its key. */
export async function createSensorOnAnElevator(
  base: string,
  enterpriseKey: string,
  name: string,
): Promise<{ id: string; key: string }> {
  const headers = { "content-type": "application/json", authorization: `Bearer ${enterpriseKey}` };
  const elevators = (await (await fetch(`${base}/v1/facilities?kind=elevator`, { headers })).json()) as {
    items: { id: string }[];
  };
  for (const facility of elevators.items) {
    const made = await fetch(`${base}/v1/sensors`, {
      method: "POST",
      headers,
      body: JSON.stringify({ facilityId: facility.id, name }),
    });
    if (made.status === 201) {
      const { id, key } = (await made.json()) as { id: string; key: string };
      return { id, key };
    }
  }
  throw new Error("no elevator of the enterprise took a sensor");
}
