/**
 * A DATABASE_URL that names a Unix socket as libpq does (`?host=/directory`) connects through it
 * (db/postgres.ts `socketDirectoryOf`), under the same watchdog as a TCP connection: a backend
 * that stops answering is dropped, the statement fails as transient, and a new connection answers.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { classifyDbError } from "../../db/pg-errors.js";
import { socketDirectoryOf } from "../../db/postgres.js";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.js";

let server: PrivatePostgres;
beforeAll(async () => {
  server = await startPrivatePostgres();
}, 60_000);
afterAll(() => server?.destroy());

const socketUrl = () =>
  `postgres://postgres@localhost:${server.port}/postgres?host=${encodeURIComponent(server.socketDirectory)}`;

interface Peer {
  client: string | null;
  port: string;
  pid: number;
}
const peerQuery = sql`select host(inet_client_addr()) as client, current_setting('port') as port, pg_backend_pid() as pid`;

describe("DATABASE_URL with ?host=/directory", () => {
  it("connects over the Unix socket in that directory, and over TCP without it", async () => {
    for (const [url, client] of [
      [socketUrl(), null],
      [server.url, "127.0.0.1"],
    ] as const) {
      const handle = await openDatabase({ url });
      try {
        const [peer] = await queryRows<Peer>(handle.db, peerQuery);
        expect(peer).toMatchObject({ client, port: String(server.port) });
      } finally {
        await handle.close();
      }
    }
  });

  it("drops a socket whose backend stops answering; a new connection answers", async () => {
    const handle = await openDatabase({ url: socketUrl(), statementTimeoutMs: 500, max: 1 });
    try {
      for (let round = 0; round < 3; round++) {
        const [peer] = await queryRows<Peer>(handle.db, peerQuery);
        expect(peer?.client).toBeNull();
        const pid = Number(peer?.pid);
        process.kill(pid, "SIGSTOP");
        try {
          const err = await queryRows(handle.db, sql`select 1`).then(
            () => null,
            (e: unknown) => e,
          );
          expect(err).not.toBeNull();
          expect(classifyDbError(err)).toBe("transient");
        } finally {
          process.kill(pid, "SIGCONT");
        }
        // As over TCP, a statement already queued on the dropped connection may fail too
        // (transient: the ingest retries it, the API answers 503); a new connection answers.
        let next: Peer | undefined;
        for (let attempt = 0; attempt < 3 && !next; attempt++) {
          next = await queryRows<Peer>(handle.db, peerQuery).then(
            (rows) => rows[0],
            (e: unknown) => {
              expect(classifyDbError(e)).toBe("transient");
              return undefined;
            },
          );
        }
        expect(next?.client).toBeNull();
        expect(next?.pid).not.toBe(pid);
      }
    } finally {
      await handle.close();
    }
  });

  it("leaves every other URL as it is", () => {
    expect(socketDirectoryOf("postgres://u@db:5432/app?host=%2Frun%2Fpostgresql&sslmode=disable")).toEqual({
      url: "postgres://u@db:5432/app?sslmode=disable",
      socketDirectory: "/run/postgresql",
    });
    for (const url of [
      "postgres://u@db:5432/app",
      "postgres://u@db:5432/app?sslmode=require",
      "postgres://u@db:5432/app?host=db2",
      "not a url",
    ]) {
      expect(socketDirectoryOf(url)).toEqual({ url, socketDirectory: null });
    }
  });
});
