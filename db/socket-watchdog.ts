/**
 * postgres.js sockets that notice a database which stopped answering.
 *
 * A connection whose peer vanishes without a reset (a stalled proxy or NAT, a partition, a
 * frozen server) leaves a query waiting forever: postgres.js has no per-query time-out, the
 * server's statement_timeout never starts for a query it never received, and TCP keepalive
 * is answered by whatever stands in the middle. Such a connection held the ingest's batch (and
 * every PUBACK behind it) until it was killed by hand.
 *
 * The watchdog follows the protocol's framing on both directions: each Sync or simple Query the
 * client sends is answered by one ReadyForQuery. While answers are owed, a socket silent for
 * `timeoutMs` is destroyed with code DATABASE_UNANSWERED (transient in db/pg-errors.ts): the
 * queries on it fail, the caller retries on a new connection. An idle connection owes nothing and
 * is never timed out. Over TLS the bytes are opaque: the socket is returned unwatched.
 */
import { connect, type Socket } from "node:net";

/** What postgres.js passes to its `socket` option (its parsed options). */
interface SocketOptions {
  host: readonly string[];
  port: readonly number[];
  /** A Unix socket's path (db/postgres.ts: a URL's `?host=/directory`), else false. */
  path?: string | false;
  ssl?: unknown;
}

const CANCEL_REQUEST_CODE = 80877102;
const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'
const FLUSH = 0x48; // 'H'
const READY_FOR_QUERY = 0x5a; // 'Z'

export class DatabaseUnansweredError extends Error {
  readonly code = "DATABASE_UNANSWERED";
  constructor(timeoutMs: number) {
    super(`the database answered nothing for ${timeoutMs} ms: connection dropped`);
  }
}

/** For postgres.js's `socket` option: a Unix socket or a TCP socket to the first host, watched as above. */
export function watchedSocket(timeoutMs: number) {
  return (options: SocketOptions): Socket => {
    const host = options.host[0] ?? "localhost";
    const port = options.port[0] ?? 5432;
    const socket = options.path ? connect({ path: options.path }) : connect({ host, port });
    // postgres.js reads these in its error messages.
    Object.assign(socket, { host, port });
    if (options.ssl) return socket;

    let owed = 0;
    let flushed = false;
    const arm = () => socket.setTimeout(owed > 0 || flushed ? timeoutMs : 0);
    const sent = new Framing(true, (type) => {
      if (type === SYNC || type === QUERY || type === STARTUP) owed += 1;
      else if (type === FLUSH) flushed = true;
    });
    const received = new Framing(false, (type) => {
      flushed = false;
      if (type === READY_FOR_QUERY) owed = Math.max(0, owed - 1);
    });

    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (Buffer.isBuffer(chunk)) {
        sent.push(chunk);
        arm();
      }
      return write(chunk, ...rest);
    }) as Socket["write"];
    socket.on("data", (chunk: Buffer) => {
      received.push(chunk);
      arm();
    });
    socket.on("timeout", () => socket.destroy(new DatabaseUnansweredError(timeoutMs)));
    return socket;
  };
}

/** The type given to the client's first message (StartupMessage; a CancelRequest owes nothing). */
const STARTUP = -1;
const CANCEL = -2;

/**
 * Splits one direction of the wire protocol into messages (1-byte type, int32 length that counts
 * itself) and reports each message's type; the client's first message has no type byte.
 */
class Framing {
  private skip = 0;
  private header: Buffer | null = null;

  constructor(
    private untypedFirst: boolean,
    private readonly onMessage: (type: number) => void,
  ) {}

  push(chunk: Buffer) {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const want = this.untypedFirst ? 8 : 5;
      let header: Buffer;
      if (!this.header && chunk.length - i >= want) {
        header = chunk.subarray(i, i + want);
        i += want;
      } else {
        const have = this.header ?? Buffer.alloc(0);
        const take = Math.min(want - have.length, chunk.length - i);
        this.header = Buffer.concat([have, chunk.subarray(i, i + take)]);
        i += take;
        if (this.header.length < want) return;
        header = this.header;
        this.header = null;
      }
      if (this.untypedFirst) {
        this.untypedFirst = false;
        this.skip = header.readInt32BE(0) - 8;
        this.onMessage(header.readInt32BE(4) === CANCEL_REQUEST_CODE ? CANCEL : STARTUP);
      } else {
        this.skip = header.readInt32BE(1) - 4;
        this.onMessage(header[0] ?? 0);
      }
    }
  }
}
