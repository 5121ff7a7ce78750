/**
 * The embedded broker (aedes, MQTT 3.1.1) that `npm start` runs when MQTT_URL is unset.
 *
 * Devices authenticate with username = sensor id and password = sensor key (checked against the
 * stored hash); the ingest user (MQTT_USERNAME/MQTT_PASSWORD) may read and publish anything. A
 * sensor may only publish to and subscribe under `bot/v1/sensors/<its id>/`: anything else
 * disconnects it (publish; MQTT 3.1.1 has no way to refuse one message) or is refused (SUBACK 0x80).
 *
 * Durability without a consumer: aedes asks `authorizePublish` before it sends the device its
 * PUBACK, so events and status messages are committed there, through the group-commit writer,
 * and only then authorized. A crash before the commit leaves the device without a PUBACK, so it
 * sends again; duplicates are absorbed by the (sensor, eventId) key. No in-process subscriber
 * is needed, and nothing depends on aedes' in-memory persistence.
 */
import { createServer, type Server } from "node:net";
import { Aedes, type AuthenticateError, type Client } from "aedes";
import { eq } from "drizzle-orm";
import type { Logger } from "pino";
import type { Database } from "../db/database.js";
import { hashKey, sameHash } from "../db/keys.js";
import { sensors } from "../db/schema.js";
import { isSensorId, parseTopic, TOPIC_PREFIX } from "./protocol.js";
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
}

export interface EmbeddedBroker {
  port: number;
  /** Connected clients. */
  readonly clients: number;
  /** The listener accepts connections (for /readyz). */
  readonly listening: boolean;
  /** Drops the connections of a sensor (after its key is revoked or rotated). */
  disconnectSensor(sensorId: string): void;
  /** Logins refused since start, by reason: unknown_sensor, revoked_sensor, bad_credentials. */
  readonly refusedConnects: Readonly<Record<string, number>>;
  close(): Promise<void>;
}

type Identity = { kind: "sensor"; sensorId: string } | { kind: "internal" };

export class PortInUseError extends Error {}

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { db, writer, logger, clock = () => new Date() } = opts;
  const identities = new WeakMap<Client, Identity>();
  const bySensor = new Map<string, Set<Client>>();
  const internalHash = opts.internal ? hashKey(opts.internal.password) : null;

  const refusedConnects: Record<string, number> = {};
  const refuse = (code: 4 | 5, message: string, reason?: string): AuthenticateError => {
    if (reason) refusedConnects[reason] = (refusedConnects[reason] ?? 0) + 1;
    return Object.assign(new Error(message), { returnCode: code });
  };

  const aedes = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const secret = password ? password.toString("utf8") : "";
      if (!username || !secret) {
        return done(refuse(4, "username and password required", "bad_credentials"), false);
      }
      if (opts.internal && internalHash && username === opts.internal.username) {
        if (!sameHash(hashKey(secret), internalHash)) {
          return done(refuse(4, "bad credentials", "bad_credentials"), false);
        }
        identities.set(client, { kind: "internal" });
        return done(null, true);
      }
      if (!isSensorId(username)) return done(refuse(4, "unknown sensor", "unknown_sensor"), false);
      db.select({ keyHash: sensors.keyHash, revokedAt: sensors.revokedAt })
        .from(sensors)
        .where(eq(sensors.id, username))
        .then(
          ([row]) => {
            if (!row) return done(refuse(4, "unknown sensor", "unknown_sensor"), false);
            if (row.revokedAt) return done(refuse(4, "revoked sensor", "revoked_sensor"), false);
            if (!sameHash(hashKey(secret), row.keyHash)) {
              return done(refuse(4, "bad credentials", "bad_credentials"), false);
            }
            identities.set(client, { kind: "sensor", sensorId: username });
            let set = bySensor.get(username);
            if (!set) {
              set = new Set();
              bySensor.set(username, set);
            }
            set.add(client);
            done(null, true);
          },
          (err: unknown) => {
            logger.error({ err }, "broker: sensor authentication failed (database)");
            done(refuse(4, "server unavailable"), false);
          },
        );
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
      writer.push({ topic: packet.topic, payload: Buffer.from(packet.payload), receivedAt: clock() }).then(
        () => callback(null),
        (err: Error) => callback(err),
      );
    },

    authorizeSubscribe: (client, subscription, callback) => {
      const identity = identities.get(client);
      if (identity?.kind === "internal") return callback(null, subscription);
      const own = identity ? `${TOPIC_PREFIX}/${identity.sensorId}/` : null;
      if (own && subscription.topic.startsWith(own)) return callback(null, subscription);
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

  const server: Server = createServer(aedes.handle);
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
