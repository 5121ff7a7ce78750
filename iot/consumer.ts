/**
 * The MQTT ingest consumer (MQTT.js, protocol v5) for a real broker (Mosquitto, EMQX).
 *
 * Durable and fast: a message's PUBACK goes out only after its batch is committed, and many
 * messages are in flight per connection meanwhile. MQTT.js would send the PUBACK when
 * `handleMessage(packet, callback)` calls back, and reads the connection's next packet only then,
 * so acknowledging through it allows one message per connection per commit (batches of ~8, a few
 * hundred events/s). Instead `handleMessage` hands the message to the group-commit writer and
 * calls back at once *with an error*, on which MQTT.js reads on without acknowledging
 * (`handlers/publish.js`: `if (err) return done(err)`); when the batch commits, the consumer
 * writes the PUBACK itself, to the socket the message came in on. The broker bounds what is in
 * flight per connection by our Receive Maximum. PUBACKs leave in the order the messages arrived, as
 * MQTT asks, though batches may commit out of it. test/iot/consumer.test.ts holds MQTT.js to this:
 * nothing is acknowledged before the commit.
 *
 * One connection reads the events through a plain subscription; several (MQTT_CONSUMERS, or several
 * instances) through the shared subscription `$share/bot-ingest/…` (`shared`). Plain is the default
 * because it is the one that survives a broker restart on Mosquitto 2.0.11 (Debian 12): a shared
 * subscription restored from the persistence file delivers nothing until it is made again, so what
 * devices publish between the broker's return and the consumer's next SUBSCRIBE is dropped.
 *
 * Sessions are persistent: fixed client ids, `clean: false` and (MQTT v5) a session expiry
 * interval, without which the broker would drop the session at disconnect despite `clean: false`.
 * Messages published while the consumer is down are queued by the broker and delivered on return;
 * unacknowledged ones are redelivered, and the (sensor, eventId) key absorbs the repeats.
 *
 * It always comes back: every lost connection, refused login ("Not authorized", "Server
 * unavailable"), connect or keepalive time-out leads to a new attempt after a capped, jittered
 * back-off (MQTT.js alone gives up for good after a refused CONNACK, and retries at a fixed
 * period otherwise). The consumer's state is logged once per change, not once per attempt.
 */
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import mqttPacket from "mqtt-packet";
import type { Logger } from "pino";
import {
  COMMAND_RESULTS_FILTER,
  EVENTS_FILTER,
  isCommandResultsTopic,
  SHARED_GROUP,
  STATUS_FILTER,
} from "./protocol.js";
import { type Backoff, DEFAULT_BACKOFF, reconnectWithBackoff } from "./reconnect.js";
import type { Writer } from "./writer.js";

/** Messages in flight per consumer connection, by default: with 4 connections, two writer batches. */
export const RECEIVE_MAXIMUM = 500;
const V5 = { protocolVersion: 5 } as const;
/** Passed to MQTT.js's `handleMessage` callback: read on, but send no PUBACK (we send it later). */
const ACK_AFTER_COMMIT = new Error("acknowledged after the commit");

/** The client id (and so the broker session) of consumer connection `i` of an instance. */
export const consumerClientId = (clientIdPrefix: string, i: number) => `${clientIdPrefix}-${i}`;

export interface ConsumerOptions {
  url: string;
  writer: Writer;
  logger: Logger;
  username?: string;
  password?: string;
  /** Fixed per app instance: the broker keeps each id's session (and its queue) across restarts. */
  clientIdPrefix?: string;
  /** Connections; more than one needs `shared`. Default 1. */
  connections?: number;
  /** Read the events through the share group (several connections or instances). Default false. */
  shared?: boolean;
  /** Messages in flight per connection (MQTT v5 Receive Maximum): what a batch can be made of. */
  receiveMaximum?: number;
  /** How long the broker keeps a session while its connection is down. */
  sessionExpirySeconds?: number;
  /** On close, how long to wait for the commits of messages already taken, so their PUBACKs go out. */
  drainTimeoutMs?: number;
  /** How many session ids above `connections` to check for leftovers of a larger count. */
  leftoverSessions?: number;
  /** MQTT keepalive: a connection that stops answering is dropped (and retried) within ~2× this. */
  keepaliveSeconds?: number;
  /** Reconnect back-off: from minMs doubling to maxMs, each delay drawn from its upper half. */
  reconnect?: Backoff;
  clock?: () => Date;
  /**
   * Records a device's answer to a command (iot/command-dispatcher.ts `handleResult`): when set, the
   * consumer also reads `command-results` (shared like the events) and acknowledges each answer
   * after it resolves, as it does events after their commit.
   */
  commandResults?: (topic: string, payload: Uint8Array) => Promise<void>;
}

/** Why the consumer is not (all) connected, for /readyz; null when it is. */
export type ConsumerProblem = string | null;

export interface Consumer {
  /** Every connection is up and subscribed. */
  readonly connected: boolean;
  /** Why not, in a few words (the broker's refusal, the socket error), or null when connected. */
  readonly problem: ConsumerProblem;
  /** Resolves once every connection has subscribed (or rejects after timeoutMs). */
  ready(timeoutMs?: number): Promise<void>;
  /**
   * Takes no more messages, waits (up to drainTimeoutMs) for the commits of those already taken and
   * sends their PUBACKs, then disconnects cleanly. What is left unacknowledged stays in the session.
   */
  close(): Promise<void>;
}

export function startConsumer(opts: ConsumerOptions): Consumer {
  const {
    url,
    writer,
    logger,
    clientIdPrefix = "bot-ingest",
    connections = 1,
    shared = false,
    receiveMaximum = RECEIVE_MAXIMUM,
    sessionExpirySeconds = 7 * 24 * 3600,
    drainTimeoutMs = 5_000,
    leftoverSessions = 16,
    keepaliveSeconds = 30,
    reconnect = DEFAULT_BACKOFF,
    clock = () => new Date(),
  } = opts;
  if (connections > 1 && !shared) {
    throw new Error("several consumer connections need the shared subscription (shared: true)");
  }
  const sharedFilter = `$share/${SHARED_GROUP}/${EVENTS_FILTER}`;
  const sharedResults = `$share/${SHARED_GROUP}/${COMMAND_RESULTS_FILTER}`;
  let closing = false;
  // Messages handed to the writer whose PUBACK is not yet written (or given up): close() waits for
  // none. A count, not a set of promises: this is the per-message hot path.
  let unsettled = 0;
  let onDrained: (() => void) | null = null;
  const settle = () => {
    unsettled -= 1;
    if (unsettled === 0) onDrained?.();
  };
  /** Which of the `connections` sessions are subscribed (readiness counts only these). */
  const subscribed = new Set<number>();
  const waiters: (() => void)[] = [];
  const notify = () => {
    if (subscribed.size === connections) for (const w of waiters.splice(0)) w();
  };
  /** The last thing that went wrong on a connection, until every connection is subscribed again. */
  let lastProblem = "connecting";
  /** What was last logged about the consumer as a whole: logged again only when it changes. */
  let reported: string | null = null;
  const report = () => {
    const state = subscribed.size === connections ? "connected" : lastProblem;
    if (state === reported || closing) return;
    const first = reported === null;
    reported = state;
    if (state === "connected") logger.info({ connections }, "ingest consumer connected to the broker");
    else if (!first || state !== "connecting")
      logger.warn({ problem: state }, "ingest consumer not connected to the broker; retrying with back-off");
  };

  /** Index order: the `connections` sessions first, then the leftovers being served or checked. */
  const clients: MqttClient[] = [];
  for (let i = 0; i < connections + leftoverSessions; i++) openSession(i, i >= connections);

  /**
   * One consumer connection on the session `<prefix>-<i>`. A `leftover` is a session id above
   * `connections`: one that a run with a larger MQTT_CONSUMERS left on the broker, which stays in
   * the share group and keeps getting its share of the events (Mosquitto queues them while it is
   * disconnected, and drops them when it expires). If the broker has such a session, it is served
   * like the others, so lowering MQTT_CONSUMERS loses nothing; if not, the session this connection
   * just made is ended at once (DISCONNECT with session expiry 0) and nothing subscribes.
   */
  function openSession(i: number, leftover: boolean) {
    const options: IClientOptions = {
      clientId: consumerClientId(clientIdPrefix, i),
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: sessionExpirySeconds, receiveMaximum },
      // Reconnects are ours (iot/reconnect.ts).
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      keepalive: keepaliveSeconds,
      // We subscribe on every connect ourselves. MQTT.js would skip it when the session is present,
      // but Mosquitto 2.0 restores a shared subscription from its persistence file without
      // delivering to it (after a broker restart nothing arrived; test/iot/broker-outage.test.ts);
      // a fresh SUBSCRIBE replaces it. Queued messages are kept either way.
      resubscribe: false,
      ...(opts.username ? { username: opts.username } : {}),
      ...(opts.password ? { password: opts.password } : {}),
    };
    const client = mqtt.connect(url, options);
    const log = logger.child({ mqttClient: options.clientId });
    /** Set once this connection is given up on purpose (closing, or a leftover with no session). */
    let ended = false;
    reconnectWithBackoff(client, reconnect, () => ended || closing);

    // PUBACKs awaiting their commits, in the order their PUBLISHes arrived on the current socket.
    // MQTT asks for that order, and batches can commit out of it (the writer's partitions).
    let acks: { socket: typeof client.stream; queue: { messageId: number; committed: boolean }[] } | null =
      null;
    const sendCommitted = () => {
      if (!acks) return;
      const { socket, queue } = acks;
      // The PUBACK goes out on this socket or not at all: on a reconnected socket the broker may
      // have given the packet id to another message, which a stale ack would acknowledge unread.
      // The broker redelivers what a closed connection did not acknowledge.
      if (socket !== client.stream || socket.destroyed || !socket.writable) {
        log.debug(
          { messages: queue.length },
          "connection closed before its messages committed: not acknowledged",
        );
        acks = null;
        return;
      }
      let next = queue[0];
      if (!next?.committed) return;
      // A batch's PUBACKs resolve in one go: one write for all of them, not one syscall each.
      socket.cork();
      while (next?.committed) {
        socket.write(mqttPacket.generate({ cmd: "puback", messageId: next.messageId, reasonCode: 0 }, V5));
        queue.shift();
        next = queue[0];
      }
      process.nextTick(() => socket.uncork());
    };

    client.handleMessage = (packet, callback) => {
      // Closing: leave it unacknowledged; the broker keeps it in the session and redelivers it.
      if (closing) return callback(ACK_AFTER_COMMIT);
      const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
      let ack: { messageId: number; committed: boolean } | null = null;
      if (packet.qos === 1 && packet.messageId !== undefined) {
        if (acks?.socket !== client.stream) acks = { socket: client.stream, queue: [] };
        ack = { messageId: packet.messageId, committed: false };
        acks.queue.push(ack);
      }
      // retain is set only on messages from the broker's retained store (sent on subscribing).
      unsettled += 1;
      const committed =
        opts.commandResults && isCommandResultsTopic(packet.topic)
          ? opts.commandResults(packet.topic, payload).then(() => undefined)
          : writer.push({ topic: packet.topic, payload, receivedAt: clock(), retained: packet.retain });
      committed.then(
        () => {
          if (ack) {
            ack.committed = true;
            sendCommitted();
          } // else QoS 0: nothing to acknowledge
          settle();
        },
        // The writer is closing: leave the message unacknowledged (the broker redelivers it).
        (err: Error) => {
          log.warn({ err: err.message }, "message left unacknowledged");
          settle();
        },
      );
      callback(ACK_AFTER_COMMIT);
    };

    client.on("connect", (connack) => {
      if (leftover && !connack.sessionPresent) {
        ended = true;
        client.end(false, { properties: { sessionExpiryInterval: 0 } });
        const at = clients.indexOf(client);
        if (at >= 0) clients.splice(at, 1);
        return;
      }
      if (leftover) {
        log.warn(
          { connections },
          "a session above MQTT_CONSUMERS is still in the share group (left by a larger count): serving it",
        );
      } else log.debug({ sessionPresent: connack.sessionPresent }, "ingest consumer connected");
      // A leftover keeps the shared subscription it was made with.
      const events = shared || leftover ? sharedFilter : EVENTS_FILTER;
      const topics: Record<string, { qos: 1 }> = { [events]: { qos: 1 } };
      // Retained status messages are not sent to shared subscriptions: one plain subscription reads them.
      if (i === 0) topics[STATUS_FILTER] = { qos: 1 };
      // The session may hold the other form from a run with the other setting: every event would
      // arrive twice (the key absorbs them, at twice the work). Dropping one that is not there is harmless.
      if (!leftover) client.unsubscribe(events === sharedFilter ? EVENTS_FILTER : sharedFilter);
      client.subscribe(topics, (err, granted) => {
        const refused = granted?.filter((g) => g.qos >= 0x80) ?? [];
        if (err || refused.length) {
          // Refused by the ACL: a configuration error, not a passing one. Drop the connection so
          // the back-off retries it (an operator may be fixing the ACL) and readiness says why.
          lastProblem = err ? `subscribe failed: ${err.message}` : "subscription refused by the broker's ACL";
          log.error({ err, refused }, "ingest consumer could not subscribe");
          report();
          client.stream.destroy();
          return;
        }
        if (leftover) return;
        subscribed.add(i);
        notify();
        report();
        if (opts.commandResults) subscribeResults(events === sharedFilter);
      });
    });

    /**
     * The answers to commands, in a SUBSCRIBE of their own: a broker whose ACL predates commands
     * (the app's role updated by the broker admin a moment later, iot/dynsec-admin.ts) refuses it,
     * and that must not stop the events. Asked again while refused.
     */
    const subscribeResults = (sharedForm: boolean) => {
      const filter = sharedForm ? sharedResults : COMMAND_RESULTS_FILTER;
      client.unsubscribe(sharedForm ? COMMAND_RESULTS_FILTER : sharedResults);
      client.subscribe({ [filter]: { qos: 1 } }, (err, granted) => {
        if (!err && !granted?.some((g) => g.qos >= 0x80)) return;
        log.warn(
          { err, filter },
          "command results not readable (the broker refused the subscription); retrying",
        );
        const retry = setTimeout(() => {
          if (client.connected && !ended && !closing) subscribeResults(sharedForm);
        }, 5_000);
        retry.unref();
      });
    };
    client.on("close", () => {
      const was = subscribed.delete(i);
      if (!ended && !closing) {
        if (was) lastProblem = "connection to the broker lost";
        report();
      }
    });
    // A refused CONNACK ("Connection refused: Not authorized"), a socket or keepalive error: the
    // connection closes after it (MQTT.js destroys the stream), and reconnectWithBackoff retries.
    client.on("error", (err) => {
      lastProblem = err.message;
      log.debug({ err: err.message }, "ingest consumer connection error");
    });
    client.on("end", () => {
      ended = true;
    });
    clients.push(client);
  }

  return {
    get connected() {
      return subscribed.size === connections && clients.slice(0, connections).every((c) => c.connected);
    },
    get problem() {
      return subscribed.size === connections ? null : lastProblem;
    },
    ready(timeoutMs = 10_000) {
      if (subscribed.size === connections) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`MQTT consumer not subscribed after ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
    async close() {
      closing = true;
      const drained =
        unsettled === 0 ||
        (await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), drainTimeoutMs);
          onDrained = () => {
            clearTimeout(timer);
            resolve(true);
          };
        }));
      if (!drained) {
        logger.warn(
          { messages: unsettled },
          "ingest consumer closing with commits pending: not acknowledged",
        );
      }
      await Promise.all(clients.map((c) => endClient(c, drained)));
    },
  };
}

/**
 * A clean DISCONNECT goes out behind the PUBACKs already written, and the socket is half-closed,
 * so the broker reads them all. A forced end destroys the socket at once: the broker could see the
 * connection reset before it had read the last PUBACKs, and redeliver committed messages.
 */
async function endClient(client: MqttClient, graceful: boolean) {
  if (!graceful || !client.connected) return client.endAsync(true);
  const stuck = setTimeout(() => client.stream.destroy(), 2_000);
  try {
    await client.endAsync(false);
  } finally {
    clearTimeout(stuck);
  }
}
