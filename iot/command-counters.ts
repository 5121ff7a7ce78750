/**
 * The device commands' counters for /metrics, since the process started: issued by type (the API
 * and the portal), expired unanswered (the expiry job), sent and answered (the dispatcher and the
 * answers' ingest). Apart from the dispatcher (MQTT.js, Node only), so that the health routes the
 * Workers bundle holds can print them.
 */
import { DEVICE_COMMAND_TYPES, type DeviceCommandType } from "../contracts/device-commands.js";

export interface CommandCounters {
  issued: Record<DeviceCommandType, number>;
  /** Commands the expiry job found unanswered past expiresAt. */
  expired: number;
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
  issued: Object.fromEntries(DEVICE_COMMAND_TYPES.map((t) => [t, 0])) as Record<DeviceCommandType, number>,
  expired: 0,
  sent: 0,
  results: {},
  invalid: {},
  unknown: 0,
});
