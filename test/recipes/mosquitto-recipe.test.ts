/**
 * The README's Mosquitto recipe, run as written: its code block is taken from README.md and run
 * with bash, as root and as an unprivileged service user (a system user the test creates when it
 * runs as root; as any other user, only as that user). Only what the recipe documents is adapted:
 * BROKER_DIR and BROKER_PORT (a temp dir and a free port, clear of a system Mosquitto on 1883), and
 * the app's own PORT / DATABASE_URL or DATA_DIR. Then a sensor registered before the setup and one
 * registered through the running API both connect, publish, and the ingest stores their events.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../db/client.js";
import { eventsTopic } from "../../iot/protocol.js";
import { loadConfig } from "../../src/config.js";
import { createIotWorld, createSensor, device, event, freePort, waitFor } from "../iot/support.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SERVICE_USER = "bot-recipe";

async function recipe(): Promise<string> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const block = /<!-- mosquitto-recipe[^>]*-->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error("README.md has no mosquitto-recipe block");
  return block;
}

function ids(user: string) {
  const id = (flag: string) =>
    Number(
      execFileSync("id", [flag, user], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim(),
    );
  return { uid: id("-u"), gid: id("-g") };
}

/** A system user with no home and no shell, as services run. */
function ensureServiceUser() {
  try {
    return ids(SERVICE_USER);
  } catch {
    execFileSync("useradd", [
      "--system",
      "--user-group",
      "--no-create-home",
      "--shell",
      "/usr/sbin/nologin",
      SERVICE_USER,
    ]);
    return ids(SERVICE_USER);
  }
}

const running: { app?: ChildProcess; pidFile?: string; parent?: string }[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    if (r.app?.pid) {
      try {
        process.kill(-r.app.pid, "SIGTERM");
      } catch {}
      await new Promise((resolve) =>
        r.app?.exitCode !== null ? resolve(null) : r.app.once("exit", resolve),
      );
    }
    const pid = r.pidFile ? Number(await readFile(r.pidFile, "utf8").catch(() => "0")) : 0;
    if (pid > 0) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {}
      await waitFor(
        async () => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        },
        10_000,
        "mosquitto to stop",
      );
    }
    if (r.parent) await rm(r.parent, { recursive: true, force: true });
  }
});

const asRoot = process.getuid?.() === 0;
const variants: { name: string; user: string | null }[] = asRoot
  ? [
      { name: "as root (Mosquitto switches to the user mosquitto)", user: null },
      { name: `as the service user ${SERVICE_USER}`, user: SERVICE_USER },
    ]
  : [{ name: "as the current (unprivileged) user", user: null }];

describe("the README's Mosquitto recipe", () => {
  it.each(variants)(
    "sets up a Mosquitto the sensors and the ingest work with, $name",
    async ({ user }) => {
      const { DATABASE_URL } = loadConfig(process.env);
      const parent = await mkdtemp(join(tmpdir(), "bot-recipe-"));
      const run: (typeof running)[number] = { parent };
      running.push(run);
      await chmod(parent, 0o755); // for the user mosquitto on its way to BROKER_DIR
      const dataDir = join(parent, "data");
      await mkdir(dataDir);
      const database = await openDatabase(
        DATABASE_URL ? { url: DATABASE_URL, max: 1 } : { dataDir: join(dataDir, "pglite") },
      );
      if (!DATABASE_URL) await database.migrate();
      const world = await createIotWorld(database.db);
      const before = await createSensor(database.db, world); // exported by mqtt:setup
      await database.close();
      const owner = user ? ensureServiceUser() : null;
      if (owner) execFileSync("chown", ["-R", `${owner.uid}:${owner.gid}`, parent]);

      const brokerDir = join(parent, "broker");
      const apiPort = await freePort();
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: parent,
        npm_config_cache: join(parent, ".npm"),
        npm_config_update_notifier: "false",
        BROKER_DIR: brokerDir,
        BROKER_PORT: String(await freePort()),
        PORT: String(apiPort),
        LOG_LEVEL: "warn",
        ...(DATABASE_URL ? { DATABASE_URL } : { DATA_DIR: dataDir }),
      };
      const script = await recipe();
      let output = "";
      const app = spawn(
        user ? "runuser" : "bash",
        user ? ["-u", user, "--", "bash", "-c", script] : ["-c", script],
        {
          cwd: ROOT,
          env,
          detached: true,
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      run.app = app;
      run.pidFile = join(brokerDir, "mosquitto.pid");
      app.stdout?.on("data", (d: Buffer) => (output += d.toString()));
      app.stderr?.on("data", (d: Buffer) => (output += d.toString()));
      const api = `http://127.0.0.1:${apiPort}`;
      await waitFor(
        async () => {
          if (app.exitCode !== null) throw new Error(`the recipe ended early:\n${output}`);
          const res = await fetch(`${api}/readyz`).catch(() => null);
          return res?.status === 200;
        },
        90_000,
        "the API ready on Mosquitto",
      );

      // Mosquitto runs as the owner of its files, who may rewrite them.
      const expected = owner ?? ids(asRoot ? "mosquitto" : String(process.getuid?.()));
      const file = await stat(join(brokerDir, "dynamic-security.json"));
      expect({ uid: file.uid, mode: file.mode & 0o777 }).toEqual({ uid: expected.uid, mode: 0o600 });
      const pid = Number(await readFile(run.pidFile, "utf8"));
      const brokerUid = Number(/^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, "utf8"))?.[1]);
      expect(brokerUid).toBe(expected.uid);

      const url = `mqtt://127.0.0.1:${env.BROKER_PORT}`;
      const stored = async () =>
        Number(
          /^bot_ingest_events_stored_total (\d+)$/m.exec(await (await fetch(`${api}/metrics`)).text())?.[1],
        );
      const a = await device(url, before.id, before.key, { protocolVersion: 5 });
      await a.publishAsync(eventsTopic(before.id), JSON.stringify(event("heartbeat", 0)), { qos: 1 });
      await a.endAsync();
      await waitFor(async () => (await stored()) === 1, 10_000, "the first sensor's event");

      const res = await fetch(`${api}/v1/sensors`, {
        method: "POST",
        headers: { authorization: `Bearer ${world.enterprise.key}`, "content-type": "application/json" },
        body: JSON.stringify({ facilityId: world.elevator.id, name: "registered live" }),
      });
      expect(res.status).toBe(201);
      const added = (await res.json()) as { id: string; key: string };
      const b = await device(url, added.id, added.key, { protocolVersion: 5 });
      await b.publishAsync(eventsTopic(added.id), JSON.stringify(event("heartbeat", 1)), { qos: 1 });
      await b.endAsync();
      await waitFor(async () => (await stored()) === 2, 10_000, "the new sensor's event");
    },
    150_000,
  );
});
