/**
 * The device commands' counters for /metrics. Apart from the dispatcher (MQTT.js, Node only), so
 * that the health routes the Workers bundle holds can print them.
 */
/** For /metrics: since the process started. */
export interface CommandCounters {
  /** Commands the broker confirmed (a resend counts again). */
  sent: number;
  /** Answers recorded, by result (applied, refused, expired). */
  results: Record<string, number>;
  /** Answers refused unread (not JSON, wrong fields), by the first word of the reason. */
  invalid: Record<string, number>;
  /** Answers to an unknown command or another sensor's: ignored. */
  unknown: number;
}

export const createCommandCounters = (): CommandCounters => ({
  sent: 0,
  results: {},
  invalid: {},
  unknown: 0,
});
