/**
 * A database that can be made unreachable: the database under test (PostgreSQL at DATABASE_URL,
 * or PGlite served over the wire protocol by pglite-socket) behind a TCP proxy the test cuts,
 * stalls and restores. The app under test talks to it through postgres.js, as in production.
 */
import { type AddressInfo, createServer, type Socket, connect as tcpConnect } from "node:net";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { drizzle } from "drizzle-orm/pglite";
import { type DatabaseHandle, MIGRATIONS_FOLDER, openDatabase } from "../../db/client.js";
import type { Database } from "../../db/database.js";
import { readPgliteTemplate } from "../../db/pglite-template.js";
import { loadConfig } from "../../src/config.js";

export interface DatabaseProxy {
  port: number;
  /**
   * The database is gone: every connection reset, new ones refused (nothing listens on the port).
   * Refused, not accepted and closed: postgres.js answers a connection closed during its
   * handshake by reconnecting, for ever, with the query still waiting.
   */
  cut(): Promise<void>;
  /**
   * Connections accepted and held, bytes no longer passed either way: a network partition, or a
   * server too busy to answer. Nothing fails; requests wait (the case that hangs a client).
   */
  stall(): void;
  /** Passes traffic again; connections held while stalled are reset (the client reconnects). */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** A TCP proxy to `target` that can be cut, stalled and restored. */
export async function startProxy(target: { host: string; port: number }): Promise<DatabaseProxy> {
  const open = new Set<Socket>();
  let mode: "up" | "cut" | "stalled" = "up";
  const server = createServer((client) => {
    open.add(client);
    const forget = () => open.delete(client);
    client.on("error", forget).on("close", forget);
    if (mode === "stalled") {
      client.pause();
      return;
    }
    const upstream = tcpConnect(target.port, target.host);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const destroyAll = () => {
    for (const s of open) s.resetAndDestroy();
    open.clear();
  };
  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    port,
    async cut() {
      if (mode === "cut") return;
      mode = "cut";
      destroyAll();
      await stopListening();
    },
    stall() {
      mode = "stalled";
      for (const s of open) s.unpipe().pause();
    },
    async restore() {
      if (mode === "stalled") destroyAll();
      if (mode === "cut") await listen(port);
      mode = "up";
    },
    async close() {
      destroyAll();
      if (mode !== "cut") await stopListening();
      mode = "cut";
    },
  };
}

export interface DatabaseBehindProxy {
  /** A connection of its own to the database, for setting up and checking (never cut). */
  direct: Database;
  /** The database through the proxy: what the app under test gets. */
  proxied: DatabaseHandle;
  proxy: DatabaseProxy;
  close(): Promise<void>;
}

/**
 * The database under test behind a proxy. With PGlite (one session: pglite-socket serves one
 * connection at a time outside a transaction), `proxied` has one connection and `direct` is the
 * PGlite instance in-process: use them in turn, not at once.
 */
export async function openDatabaseBehindProxy(): Promise<DatabaseBehindProxy> {
  const { DATABASE_URL } = loadConfig(process.env);
  let target: URL;
  let direct: Database;
  let closeTarget: () => Promise<void>;
  if (DATABASE_URL) {
    target = new URL(DATABASE_URL);
    const handle = await openDatabase({ url: DATABASE_URL, max: 2 });
    direct = handle.db;
    closeTarget = () => handle.close();
  } else {
    const loadDataDir = await readPgliteTemplate(MIGRATIONS_FOLDER);
    if (!loadDataDir) throw new Error("no PGlite template: run npm install");
    const pglite = await PGlite.create("memory://", { loadDataDir });
    const socket = new PGLiteSocketServer({ db: pglite, port: 0, host: "127.0.0.1", maxConnections: 8 });
    await socket.start();
    target = new URL(`postgres://postgres@${socket.getServerConn()}/postgres`);
    direct = drizzle(pglite, { casing: "snake_case" }) as unknown as Database;
    closeTarget = async () => {
      await socket.stop();
      await pglite.close();
    };
  }
  const proxy = await startProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const via = new URL(target.href);
  via.hostname = "127.0.0.1";
  via.port = String(proxy.port);
  const proxied = await openDatabase({ url: via.href, max: DATABASE_URL ? 2 : 1 });
  return {
    direct,
    proxied,
    proxy,
    async close() {
      await proxy.restore();
      await proxied.close();
      await proxy.close();
      await closeTarget();
    },
  };
}
