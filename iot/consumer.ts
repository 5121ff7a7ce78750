/**
 * The MQTT ingest consumer (MQTT.js, protocol v5) for a real broker (Mosquitto, EMQX).
 *
 * MQTT.js sends a QoS 1 PUBACK only when `handleMessage(packet, callback)` calls back, and it
 * handles one packet at a time per connection. So every connection's `handleMessage` hands its
 * message to the shared group-commit writer and calls back after the commit: nothing is
 * acknowledged before it is in PostgreSQL. Several connections on one shared subscription
 * (`$share/bot-ingest/…`) keep several messages in flight, which is what fills the batches.
 *
 * Sessions are persistent: fixed client ids, `clean: false` and (MQTT v5) a session expiry
 * interval, without which the broker would drop the session at disconnect despite `clean: false`.
 * Messages published while the consumer is down are queued by the broker and delivered on return;
 * unacknowledged ones are redelivered, and the (sensor, eventId) key absorbs the repeats.
 */
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { Logger } from "pino";
import { EVENTS_FILTER, SHARED_GROUP, STATUS_FILTER } from "./protocol.js";
import type { Writer } from "./writer.js";

export interface ConsumerOptions {
  url: string;
  writer: Writer;
  logger: Logger;
  username?: string;
  password?: string;
  /** Fixed per app instance: the broker keeps each id's session (and its queue) across restarts. */
  clientIdPrefix?: string;
  connections?: number;
  /** How long the broker keeps a session while its connection is down. */
  sessionExpirySeconds?: number;
  clock?: () => Date;
}

export interface Consumer {
  /** Every connection is up and subscribed. */
  readonly connected: boolean;
  /** Resolves once every connection has subscribed (or rejects after timeoutMs). */
  ready(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export function startConsumer(opts: ConsumerOptions): Consumer {
  const {
    url,
    writer,
    logger,
    clientIdPrefix = "bot-ingest",
    connections = 8,
    sessionExpirySeconds = 7 * 24 * 3600,
    clock = () => new Date(),
  } = opts;
  const subscribed = new Set<number>();
  const waiters: (() => void)[] = [];
  const notify = () => {
    if (subscribed.size === connections) for (const w of waiters.splice(0)) w();
  };

  const clients: MqttClient[] = [];
  for (let i = 0; i < connections; i++) {
    const options: IClientOptions = {
      clientId: `${clientIdPrefix}-${i}`,
      clean: false,
      protocolVersion: 5,
      // MQTT.js handles one message at a time per connection: a deeper window would only queue
      // publishes (and the PINGRESP behind them) in the socket, and trip keep-alive under backlog.
      properties: { sessionExpiryInterval: sessionExpirySeconds, receiveMaximum: 4 },
      reconnectPeriod: 1_000,
      connectTimeout: 10_000,
      keepalive: 60,
      resubscribe: true,
      ...(opts.username ? { username: opts.username } : {}),
      ...(opts.password ? { password: opts.password } : {}),
    };
    const client = mqtt.connect(url, options);
    const log = logger.child({ mqttClient: options.clientId });

    // Each connection's life. A message's PUBACK may only go out on the connection it came in
    // on: MQTT.js would send a late callback's PUBACK on the reconnected socket, where the broker
    // may already have given that packet id to another message, which the stale ack would then
    // acknowledge unread (a lost event). The broker redelivers what the old connection did not ack.
    let epoch = 0;
    // The PUBACK goes out when `callback` is called: only after the commit.
    client.handleMessage = (packet, callback) => {
      const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
      const receivedOn = epoch;
      // retain is set only on messages from the broker's retained store (sent on subscribing).
      writer.push({ topic: packet.topic, payload, receivedAt: clock(), retained: packet.retain }).then(
        () => {
          if (receivedOn === epoch) callback();
          else
            log.debug(
              { messageId: packet.messageId },
              "committed after its connection closed: not acknowledged",
            );
        },
        // The writer is closing: leave the message unacknowledged (the broker redelivers it).
        (err: Error) => log.warn({ err: err.message }, "message left unacknowledged"),
      );
    };

    client.on("connect", (connack) => {
      log.info({ sessionPresent: connack.sessionPresent }, "ingest consumer connected");
      const topics: Record<string, { qos: 1 }> = { [`$share/${SHARED_GROUP}/${EVENTS_FILTER}`]: { qos: 1 } };
      // Retained status messages are not sent to shared subscriptions: one plain subscription reads them.
      if (i === 0) topics[STATUS_FILTER] = { qos: 1 };
      client.subscribe(topics, (err, granted) => {
        const refused = granted?.filter((g) => g.qos >= 0x80) ?? [];
        if (err || refused.length) {
          log.error({ err, refused }, "ingest consumer could not subscribe");
          return;
        }
        subscribed.add(i);
        notify();
      });
    });
    client.on("close", () => {
      epoch += 1;
      if (subscribed.delete(i)) log.warn("ingest consumer disconnected; reconnecting");
    });
    client.on("error", (err) => log.error({ err: err.message }, "ingest consumer error"));
    clients.push(client);
  }

  return {
    get connected() {
      return subscribed.size === connections && clients.every((c) => c.connected);
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
      await Promise.all(clients.map((c) => c.endAsync(true)));
    },
  };
}
