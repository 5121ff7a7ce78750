/**
 * Reconnects an MQTT.js client after every close, with capped, jittered back-off, until it is
 * ended (`client.end()`) or `stopped()` says so. MQTT.js's own reconnects run at a fixed period,
 * and never again after a refused CONNACK ("Not authorized", "Server unavailable"): a broker that
 * refused a login once kept the app out until a restart. Create the client with
 * `reconnectPeriod: 0`; the back-off starts again from `minMs` on every successful connect.
 */
import type { MqttClient } from "mqtt";

export interface Backoff {
  minMs: number;
  maxMs: number;
}

/** 0.5 s doubling to 30 s, each delay drawn from the upper half of its ceiling. */
export const DEFAULT_BACKOFF: Backoff = { minMs: 500, maxMs: 30_000 };

export function reconnectWithBackoff(
  client: MqttClient,
  backoff: Backoff = DEFAULT_BACKOFF,
  stopped: () => boolean = () => false,
): void {
  let attempts = 0;
  let ended = false;
  let retry: NodeJS.Timeout | null = null;
  client.on("connect", () => {
    attempts = 0;
  });
  client.on("close", () => {
    if (ended || stopped() || retry) return;
    const ceiling = Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.min(attempts, 16));
    attempts += 1;
    // Jitter: clients (and instances) that lost the broker together do not return in step.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    retry = setTimeout(() => {
      retry = null;
      if (!ended && !stopped()) client.reconnect();
    }, delay);
  });
  client.on("end", () => {
    ended = true;
    if (retry) clearTimeout(retry);
    retry = null;
  });
}
