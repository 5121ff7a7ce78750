/**
 * The embedded broker (aedes, MQTT 3.1.1) that `npm start` runs when MQTT_URL is unset.
 *
 * Devices authenticate with username = sensor id = client id and password = sensor key (checked
 * against the stored hash); another client id is refused (CONNACK 2), so that no sensor can take
 * over another's session. The ingest user (MQTT_USERNAME/MQTT_PASSWORD) may use any client id and
 * read and publish anything. A sensor may publish only to its own `events`, `status` and
 * `command-results` (never to a `commands` topic: no sensor can send itself a fake command) and
 * subscribe only to its own `commands`: another publish disconnects it (MQTT 3.1.1 has no way to
 * refuse one message), another subscription is refused (SUBACK 0x80).
 *
 * Hostile clients: connections are capped overall and per remote address; a CONNECT must arrive
 * within the connect time-out and be small; every later packet is held to the packet limit. Sizes
 * are judged from each packet's fixed header as its bytes are read, before aedes' parser buffers
 * the body, and an oversized packet closes the connection. Failed logins make later logins of the
 * same address and user name wait (contracts/login-throttle.ts).
 *
 * Durability without a consumer: aedes asks `authorizePublish` before it sends the device its
 * PUBACK, so events and status messages are committed there, through the group-commit writer,
 * and only then authorized. A crash before the commit leaves the device without a PUBACK, so it
 * sends again; duplicates are absorbed by the (sensor, eventId) key. No in-process subscriber
 * is needed, and nothing depends on aedes' in-memory persistence. A device's answers to commands
 * (`command-results`) are committed there the same way, through `commandResults`.
 */
import { createServer, type Server, type Socket } from "node:net";
import { Aedes, type AuthenticateError, type Client } from "aedes";
import { eq } from "drizzle-orm";
import type { Logger } from "pino";
import {
  createLoginThrottle,
  DEFAULT_LOGIN_THROTTLE,
  type LoginThrottleOptions,
} from "../contracts/login-throttle.js";
import type { Database } from "../db/database.js";
import { hashKey, sameHash } from "../db/keys.js";
import { sensors } from "../db/schema.js";
import { commandsTopic, isSensorId, parseTopic } from "./protocol.js";
import type { Writer } from "./writer.js";

export interface EmbeddedBrokerOptions {
  db: Database;
  writer: Writer;
  logger: Logger;
  port: number;
  host?: string;
  clock?: () => Date;
  /** The ingest user's credentials (for tools and the simulator); unset: sensors only. */
  internal?: { username: string; password: string };
  /** What one client may hold of the broker (src/config.ts MQTT_MAX_*); DEFAULT_BROKER_LIMITS. */
  limits?: Partial<BrokerLimits>;
  /** How failed logins slow later ones, per address and per user name; DEFAULT_LOGIN_THROTTLE. */
  loginThrottle?: Partial<LoginThrottleOptions>;
  /**
   * Records a sensor's answer to a command (iot/command-dispatcher.ts `handleResult`); the device's
   * PUBACK waits for it. Unset: answers are accepted and dropped.
   */
  commandResults?: (topic: string, payload: Uint8Array) => Promise<void>;
}

export interface BrokerLimits {
  /** The largest packet, fixed header included, after the CONNECT. */
  maxPacketBytes: number;
  /** The largest CONNECT: the only packet read before the login is decided. */
  maxConnectBytes: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** From the connection's opening to its CONNECT's last byte. */
  connectTimeoutMs: number;
}

/** The defaults of src/config.ts's MQTT_MAX_* and MQTT_CONNECT_TIMEOUT_S (a test pins them). */
export const DEFAULT_BROKER_LIMITS: Readonly<BrokerLimits> = {
  maxPacketBytes: 64 * 1024,
  maxConnectBytes: 4 * 1024,
  maxConnections: 1_000,
  maxConnectionsPerAddress: 100,
  connectTimeoutMs: 10_000,
};

export interface EmbeddedBroker {
  port: number;
  /** Connected clients. */
  readonly clients: number;
  /** The listener accepts connections (for /readyz). */
  readonly listening: boolean;
  /** Drops the connections of a sensor (after its key is revoked or rotated). */
  disconnectSensor(sensorId: string): void;
  /** Publishes a message from the app (a command, QoS 1); resolves once aedes has dispatched it. */
  publish(topic: string, payload: string): Promise<void>;
  /**
   * Connections refused since start, by reason: unknown_sensor, revoked_sensor, bad_credentials,
   * client_id_mismatch (the login), connection_limit, connect_too_large, connect_timeout.
   */
  readonly refusedConnects: Readonly<Record<string, number>>;
  /** Connections the broker closed after their CONNECT, since start, by reason: packet_too_large. */
  readonly droppedConnections: Readonly<Record<string, number>>;
  close(): Promise<void>;
}

type Identity = { kind: "sensor"; sensorId: string } | { kind: "internal" };

/** One TCP connection, as the broker follows it before and after aedes takes it. */
interface Connection {
  address: string;
  identity?: Identity;
}

export class PortInUseError extends Error {}

/**
 * Follows MQTT's framing over one connection's bytes as they are read: each packet's fixed header
 * (a type byte, then its remaining length in at most four varint bytes), then its body, skipped.
 * `admit(index, size)` sees each packet's total size once its header is complete, before a byte
 * of its body; `done(index)` is told when a packet's last byte has passed. False: refuse the
 * connection (a packet not admitted, or a malformed length).
 */
function packetSizes(admit: (index: number, size: number) => boolean, done: (index: number) => void) {
  let stage: "type" | "length" | "body" = "type";
  let length = 0;
  let shift = 0;
  let body = 0;
  let index = 0;
  const finish = () => {
    done(index);
    index += 1;
    stage = "type";
  };
  return (chunk: Buffer): boolean => {
    let i = 0;
    while (i < chunk.length) {
      if (stage === "body") {
        const n = Math.min(body, chunk.length - i);
        body -= n;
        i += n;
        if (body === 0) finish();
        continue;
      }
      const byte = chunk[i] ?? 0;
      i += 1;
      if (stage === "type") {
        stage = "length";
        length = 0;
        shift = 0;
        continue;
      }
      length += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (byte & 0x80) {
        if (shift >= 28) return false;
        continue;
      }
      if (!admit(index, 1 + shift / 7 + length)) return false;
      body = length;
      stage = "body";
      if (body === 0) finish();
    }
    return true;
  };
}

/**
 * Passes every chunk aedes reads from `socket` to `accept` first; a refused chunk destroys the
 * socket and is never handed on. aedes reads a connection only through `read()` (its client's
 * `nextBatch`), so this sees each byte before aedes' parser does, without a copy or a buffer.
 */
function screenReads(socket: Socket, accept: (chunk: Buffer) => boolean) {
  const read = socket.read.bind(socket);
  socket.read = (size?: number) => {
    const chunk: unknown = read(size);
    if (!Buffer.isBuffer(chunk) || accept(chunk)) return chunk;
    socket.destroy();
    return null;
  };
}

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { db, writer, logger, clock = () => new Date() } = opts;
  const limits = { ...DEFAULT_BROKER_LIMITS, ...opts.limits };
  const throttleOptions = { ...DEFAULT_LOGIN_THROTTLE, ...opts.loginThrottle };
  // One per kind of key: made-up user names can not push the addresses out, nor the reverse.
  const failedByAddress = createLoginThrottle(throttleOptions);
  const failedByUser = createLoginThrottle(throttleOptions);
  const connections = new WeakMap<object, Connection>();
  const perAddress = new Map<string, number>();
  let open = 0;
  const identities = new WeakMap<Client, Identity>();
  const bySensor = new Map<string, Set<Client>>();
  const internalHash = opts.internal ? hashKey(opts.internal.password) : null;

  const refusedConnects: Record<string, number> = {};
  const droppedConnections: Record<string, number> = {};
  const count = (counter: Record<string, number>, reason: string) => {
    counter[reason] = (counter[reason] ?? 0) + 1;
  };
  type Refusal = AuthenticateError & { reason?: string };
  const refuse = (code: 2 | 4 | 5, message: string, reason?: string): Refusal => {
    if (reason) count(refusedConnects, reason);
    return Object.assign(new Error(message), { returnCode: code, reason });
  };
  /** Refusals that may be a guess at a password: they slow the next logins of the same keys. */
  const GUESSES = new Set(["unknown_sensor", "revoked_sensor", "bad_credentials"]);

  /** The login's identity, or why it is refused. */
  async function login(username: string | undefined, secret: string): Promise<Identity | Refusal> {
    if (!username || !secret) return refuse(4, "username and password required", "bad_credentials");
    if (opts.internal && internalHash && username === opts.internal.username) {
      if (!sameHash(hashKey(secret), internalHash)) return refuse(4, "bad credentials", "bad_credentials");
      return { kind: "internal" };
    }
    if (!isSensorId(username)) return refuse(4, "unknown sensor", "unknown_sensor");
    const [row] = await db
      .select({ keyHash: sensors.keyHash, revokedAt: sensors.revokedAt })
      .from(sensors)
      .where(eq(sensors.id, username));
    if (!row) return refuse(4, "unknown sensor", "unknown_sensor");
    if (row.revokedAt) return refuse(4, "revoked sensor", "revoked_sensor");
    if (!sameHash(hashKey(secret), row.keyHash)) return refuse(4, "bad credentials", "bad_credentials");
    return { kind: "sensor", sensorId: username };
  }

  const aedes = await Aedes.createBroker({
    // aedes' own CONNECT timer, a backstop: ours (in `accept`) fires first and counts.
    connectTimeout: limits.connectTimeoutMs + 1_000,
    authenticate: (client, username, password, done) => {
      const secret = password ? password.toString("utf8") : "";
      // The session is the client id's: a sensor that could pick another's would take it over.
      // Checked before any wait or query: it tells nothing about the key.
      if (
        username &&
        isSensorId(username) &&
        username !== opts.internal?.username &&
        client.id !== username
      ) {
        return done(refuse(2, "the client id must be the sensor id", "client_id_mismatch"), false);
      }
      const connection = connections.get(client.conn);
      const address = connection?.address ?? "";
      const user = username ?? "";
      const wait = Math.max(failedByAddress.delayMs(address), failedByUser.delayMs(user));
      const check = () =>
        login(username, secret).then(
          (result) => {
            if (result instanceof Error) {
              if (result.reason && GUESSES.has(result.reason)) {
                failedByAddress.recordFailure(address);
                failedByUser.recordFailure(user);
              }
              return done(result, false);
            }
            identities.set(client, result);
            if (connection) connection.identity = result;
            if (result.kind === "sensor") {
              let set = bySensor.get(result.sensorId);
              if (!set) {
                set = new Set();
                bySensor.set(result.sensorId, set);
              }
              set.add(client);
            }
            done(null, true);
          },
          (err: unknown) => {
            logger.error({ err }, "broker: sensor authentication failed (database)");
            done(refuse(4, "server unavailable"), false);
          },
        );
      if (wait > 0) setTimeout(check, wait);
      else void check();
    },

    authorizePublish: (client, packet, callback) => {
      if (packet.topic.startsWith("$SYS")) return callback(new Error("$SYS topics are reserved"));
      // client is null only for a will aedes publishes after the client is long gone.
      const identity = client ? identities.get(client) : undefined;
      const parsed = parseTopic(packet.topic);
      if (identity?.kind === "sensor" && parsed?.sensorId !== identity.sensorId) {
        logger.warn(
          { sensorId: identity.sensorId, topic: packet.topic },
          "broker: publish outside own topics refused",
        );
        return callback(new Error("a sensor may publish only to its own topics"));
      }
      if (!parsed && identity?.kind === "internal") return callback(null);
      if (!parsed) return callback(new Error("not a sensor topic"));
      if (parsed.kind === "command-results") {
        if (!opts.commandResults) return callback(null);
        return void opts.commandResults(packet.topic, Buffer.from(packet.payload)).then(
          () => callback(null),
          (err: Error) => callback(err),
        );
      }
      writer.push({ topic: packet.topic, payload: Buffer.from(packet.payload), receivedAt: clock() }).then(
        () => callback(null),
        (err: Error) => callback(err),
      );
    },

    authorizeSubscribe: (client, subscription, callback) => {
      const identity = identities.get(client);
      if (identity?.kind === "internal") return callback(null, subscription);
      // A sensor reads its own commands and nothing else (not even a wildcard under its prefix).
      if (identity && subscription.topic === commandsTopic(identity.sensorId)) {
        return callback(null, subscription);
      }
      callback(null, null);
    },
  });

  aedes.on("clientDisconnect", (client) => {
    const identity = identities.get(client);
    if (identity?.kind === "sensor") bySensor.get(identity.sensorId)?.delete(client);
  });
  aedes.on("clientError", (client, err) => {
    logger.debug({ clientId: client.id, err: err.message }, "broker: client error");
  });

  /**
   * Before aedes sees a connection: the caps, the CONNECT time-out, and the size of each packet
   * judged from its header (the CONNECT to maxConnectBytes, every later one to maxPacketBytes).
   */
  const accept = (socket: Socket) => {
    socket.on("error", () => {}); // a reset of a refused socket; aedes handles its own
    const address = socket.remoteAddress ?? "";
    const fromAddress = perAddress.get(address) ?? 0;
    if (open >= limits.maxConnections || fromAddress >= limits.maxConnectionsPerAddress) {
      count(refusedConnects, "connection_limit");
      socket.destroy();
      return;
    }
    open += 1;
    perAddress.set(address, fromAddress + 1);
    const connection: Connection = { address };
    connections.set(socket, connection);
    const connectTimer = setTimeout(() => {
      count(refusedConnects, "connect_timeout");
      socket.destroy();
    }, limits.connectTimeoutMs);
    socket.once("close", () => {
      clearTimeout(connectTimer);
      open -= 1;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
    screenReads(
      socket,
      packetSizes(
        (index, size) => {
          if (index === 0 && size > limits.maxConnectBytes) {
            count(refusedConnects, "connect_too_large");
            return false;
          }
          if (index > 0 && size > limits.maxPacketBytes) {
            count(droppedConnections, "packet_too_large");
            const identity = connection.identity;
            logger.warn(
              {
                ...(identity?.kind === "sensor" ? { sensorId: identity.sensorId } : { user: identity?.kind }),
                address,
                bytes: size,
                limit: limits.maxPacketBytes,
              },
              "broker: packet over the size limit, connection closed",
            );
            return false;
          }
          return true;
        },
        (index) => {
          if (index === 0) clearTimeout(connectTimer);
        },
      ),
    );
    aedes.handle(socket);
  };

  const server: Server = createServer(accept);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      aedes.close();
      reject(
        err.code === "EADDRINUSE"
          ? new PortInUseError(
              `MQTT port ${opts.port} is taken: set MQTT_PORT to a free port, or MQTT_URL=mqtt://host:port to use an existing broker`,
            )
          : err,
      );
    });
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  logger.info({ port }, `embedded MQTT broker (aedes) on mqtt://localhost:${port}`);

  return {
    port,
    get clients() {
      return aedes.connectedClients;
    },
    get listening() {
      return server.listening && !aedes.closed;
    },
    refusedConnects,
    droppedConnections,
    publish: (topic, payload) =>
      new Promise<void>((resolve, reject) => {
        aedes.publish(
          { cmd: "publish", topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false },
          (err) => (err ? reject(err) : resolve()),
        );
      }),
    disconnectSensor(sensorId) {
      for (const client of bySensor.get(sensorId) ?? []) client.close();
      bySensor.delete(sensorId);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close();
        aedes.close(() => resolve());
      }),
  };
}
