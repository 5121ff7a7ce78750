/**
 * A PostgreSQL server of a test's own (initdb in a temp dir, a free port), for faults that would
 * disturb every other test on the machine's server: a restart, a crash, a database closed to
 * connections. Uses the installed PostgreSQL binaries (/usr/lib/postgresql/<version>/bin); as
 * root, runs them as the `postgres` user (initdb refuses root).
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../iot/support.js";

const run = promisify(execFile);

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** The directory of its Unix socket (`.s.PGSQL.<port>`). */
  socketDirectory: string;
  /** Stops the server (`fast`: sessions ended cleanly; `immediate`: a crash, recovery at start). */
  stop(mode: "fast" | "immediate"): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  destroy(): Promise<void>;
}

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const dir = versions.map((v) => join(root, v, "bin")).find((d) => existsSync(join(d, "initdb")));
  if (!dir) throw new Error("PostgreSQL's server binaries are missing: install the postgresql package");
  return dir;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const dir = await mkdtemp(join(tmpdir(), "bot-pg-"));
  const data = join(dir, "data");
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const as = (file: string, args: string[]) =>
    asRoot ? run("runuser", ["-u", "postgres", "--", join(bin, file), ...args]) : run(join(bin, file), args);

  await as("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    // The OS does not crash in these tests: a server's crash (immediate stop) keeps what it
    // committed without fsync, and the tests run faster.
    "-c fsync=off",
    "-c max_connections=50",
  ].join(" ");
  const start = async () => {
    await as("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-o", options, "-w", "-t", "30", "start"]);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    socketDirectory: dir,
    stop: async (mode) => {
      await as("pg_ctl", ["-D", data, "-m", mode, "-w", "-t", "30", "stop"]);
    },
    start,
    destroy: async () => {
      await as("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
