/**
 * A database that can be made unreachable: the database under test (PostgreSQL at DATABASE_URL,
 * or PGlite served over the wire protocol by pglite-socket) behind a TCP proxy the test refuses,
 * stalls and restores (test/support/tcp-proxy.ts). The app under test talks to it through postgres.js, as in production.
 */
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { drizzle } from "drizzle-orm/pglite";
import { type DatabaseHandle, MIGRATIONS_FOLDER, openDatabase } from "../../db/client.js";
import type { Database } from "../../db/database.js";
import { readPgliteTemplate } from "../../db/pglite-template.js";
import { loadConfig } from "../../src/config.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

export interface DatabaseBehindProxy {
  /** A connection of its own to the database, for setting up and checking (never cut). */
  direct: Database;
  /** The database through the proxy: what the app under test gets. */
  proxied: DatabaseHandle;
  proxy: TcpProxy;
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
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
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
