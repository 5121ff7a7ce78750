/**
 * Commands to devices in the Node process: publishes the stored commands (protocol v1,
 * `bot/v1/sensors/{id}/commands`, QoS 1) and records the devices' answers from
 * `bot/v1/sensors/{id}/command-results`.
 *
 * - It wakes on `kick()` (the API stored a command in this process) and polls every second
 *   (commands stored by a Worker or another instance). Each pass claims due commands through the
 *   store (src/services/sensors/command-delivery.ts: `FOR UPDATE SKIP LOCKED`, so instances never
 *   publish the same command at once), publishes them, and the store marks `sent` only those the
 *   broker confirmed (in-process for aedes, a PUBACK from Mosquitto). A broker or database outage
 *   leaves them `pending`: the next pass tries again; nothing is marked twice or lost.
 * - Answers come from the broker (aedes' authorizePublish, or the MQTT.js consumer) through
 *   `handleResult`, which resolves only once the answer is committed, so the device gets its
 *   PUBACK after the commit, as with events. A passing database error is retried (the message
 *   stays unacknowledged meanwhile); an invalid answer is counted, logged with its reason and
 *   acknowledged (sending it again would not make it valid); an answer to an unknown command or to
 *   another sensor's is ignored.
 *
 * The store is given (src/node.ts builds it from the service), so iot/ imports nothing of src/.
 */
import mqtt, { type MqttClient } from "mqtt";
import type { Logger } from "pino";
import { classifyDbError } from "../db/pg-errors.js";
import { type CommandCounters, createCommandCounters } from "./command-counters.js";
import { type CommandMessage, type CommandResult, commandsTopic, parseCommandResult } from "./protocol.js";
import { DEFAULT_BACKOFF, reconnectWithBackoff } from "./reconnect.js";

export type { CommandCounters };

/** The database side (src/services/sensors/command-delivery.ts `commandStore`). */
export interface CommandStore {
  /** Claims due commands, hands them to `publish`, marks those it confirms `sent`; resolves with their count. */
  deliver(
    publish: (
      commands: readonly { id: string; sensorId: string; message: CommandMessage }[],
    ) => Promise<readonly string[]>,
  ): Promise<number>;
  recordResult(sensorId: string, result: CommandResult): Promise<{ outcome: string }>;
}

/** Publishes one message at QoS 1; resolves once the broker has it. */
export interface CommandPublisher {
  readonly connected: boolean;
  publish(topic: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

export interface CommandDispatcher {
  /** Publish now: a command was just stored. */
  kick(): void;
  /** One message from a command-results topic: resolves once it is committed (or ignored). */
  handleResult(topic: string, payload: Uint8Array): Promise<void>;
  readonly counters: CommandCounters;
  /** Resolves when the current pass (if any) is over; for tests. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export class DispatcherClosedError extends Error {
  constructor() {
    super("the command dispatcher is closed");
  }
}

export function startCommandDispatcher(opts: {
  store: CommandStore;
  publisher: CommandPublisher;
  logger: Logger;
  counters?: CommandCounters;
  /** Poll period (default 1 s). */
  intervalMs?: number;
  /** How long a publish may wait for the broker's confirmation (the rows stay locked meanwhile). */
  publishTimeoutMs?: number;
}): CommandDispatcher {
  const { store, publisher, intervalMs = 1_000, publishTimeoutMs = 5_000 } = opts;
  const logger = opts.logger.child({ component: "commands" });
  const counters = opts.counters ?? createCommandCounters();
  let closed = false;
  let running: Promise<void> | null = null;
  let again = false;
  /** Logged once per outage, not once per pass. */
  let failing = false;

  const publishAll = async (
    commands: readonly { id: string; sensorId: string; message: CommandMessage }[],
  ) => {
    const settled = await Promise.all(
      commands.map((c) =>
        withTimeout(
          publisher.publish(commandsTopic(c.sensorId), JSON.stringify(c.message)),
          publishTimeoutMs,
        ).then(
          () => c.id,
          (err: Error) => {
            logger.debug({ commandId: c.id, err: err.message }, "command not confirmed by the broker");
            return null;
          },
        ),
      ),
    );
    const confirmed = settled.filter((id): id is string => id !== null);
    return confirmed;
  };

  async function pass() {
    for (;;) {
      again = false;
      if (closed || !publisher.connected) return;
      try {
        const n = await store.deliver(publishAll);
        counters.sent += n;
        if (failing) logger.info("commands: publishing again");
        failing = false;
        if (n > 0) logger.debug({ commands: n }, "commands published");
        // A full claim may have left more behind; a kick during the pass asks for another.
        if (n === 0 && !again) return;
      } catch (err) {
        if (!failing) logger.warn({ err }, "commands: a publishing pass failed; retrying every second");
        failing = true;
        return;
      }
    }
  }

  const run = () => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = pass().finally(() => {
      running = null;
    });
  };
  const timer = setInterval(run, intervalMs);
  timer.unref();

  async function handleResult(topic: string, payload: Uint8Array): Promise<void> {
    const parsed = parseCommandResult(topic, payload);
    if (!parsed.ok) {
      const key = parsed.reason.split(":")[0] ?? parsed.reason;
      counters.invalid[key] = (counters.invalid[key] ?? 0) + 1;
      logger.warn({ sensorId: parsed.sensorId, reason: parsed.reason }, "command result refused");
      return;
    }
    for (let attempt = 0; ; attempt++) {
      if (closed) throw new DispatcherClosedError();
      try {
        const { outcome } = await store.recordResult(parsed.sensorId, parsed.result);
        if (outcome === "recorded") {
          const r = parsed.result.result;
          counters.results[r] = (counters.results[r] ?? 0) + 1;
        } else if (outcome === "not_found") {
          counters.unknown += 1;
          logger.warn(
            { sensorId: parsed.sensorId, commandId: parsed.result.commandId },
            "command result for no command of this sensor: ignored",
          );
        }
        return;
      } catch (err) {
        if (classifyDbError(err) !== "transient") {
          // Not the answer's fault nor a passing outage: keep the device from resending it for ever.
          logger.error({ err, sensorId: parsed.sensorId }, "command result could not be recorded");
          return;
        }
        if (attempt === 0) logger.warn({ err }, "command result: database unavailable, retrying");
        await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** Math.min(attempt, 6))));
      }
    }
  }

  run();
  return {
    kick: run,
    handleResult,
    counters,
    idle: async () => {
      while (running) await running;
    },
    async close() {
      closed = true;
      clearInterval(timer);
      while (running) await running;
      await publisher.close();
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no confirmation within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(t);
        reject(err);
      },
    );
  });
}

/**
 * The app's own MQTT.js connection to a real broker for commands (its login: MQTT_USERNAME), apart
 * from the consumer's: a clean session (a command not confirmed is claimed and published again
 * by the store, not replayed by MQTT.js), MQTT v5, reconnecting with back-off.
 */
export function mqttCommandPublisher(opts: {
  url: string;
  username?: string;
  password?: string;
  clientId: string;
  logger: Logger;
}): CommandPublisher {
  let closed = false;
  const client: MqttClient = mqtt.connect(opts.url, {
    clientId: opts.clientId,
    clean: true,
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    // A publish made while disconnected fails at once instead of waiting in MQTT.js's queue.
    queueQoSZero: false,
    ...(opts.username ? { username: opts.username } : {}),
    ...(opts.password ? { password: opts.password } : {}),
  });
  reconnectWithBackoff(client, DEFAULT_BACKOFF, () => closed);
  let down = false;
  client.on("connect", () => {
    if (down) opts.logger.info("commands: publisher connected again");
    down = false;
  });
  client.on("error", (err) => {
    if (down) return;
    down = true;
    opts.logger.warn({ err: err.message }, "commands: publisher not connected; retrying with back-off");
  });
  return {
    get connected() {
      return client.connected;
    },
    async publish(topic, payload) {
      if (!client.connected) throw new Error("not connected to the broker");
      const packet = await client.publishAsync(topic, payload, { qos: 1 });
      // MQTT v5: a PUBACK with a reason code of 0x80 or more is a refusal (the ACL).
      const code = (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
      if (code >= 0x80) throw new Error(`the broker refused the publish (reason ${code})`);
    },
    async close() {
      closed = true;
      await client.endAsync(true);
    },
  };
}
