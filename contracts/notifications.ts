/**
 * Notifications: what an organization may subscribe its contacts to, and the channels they reach.
 * Pure constants; the outbox, fan-out and delivery are src/services/notifications/.
 */

/** Events an organization may subscribe an endpoint to. */
export const NOTIFICATION_TYPES = [
  /** An e-bike was detected in an elevator car (an e-bike incident opened). */
  "ebike_halt_opened",
  /** An e-bike incident still unacknowledged N minutes after it opened (the rule's `afterMinutes`). */
  "halt_unacknowledged",
  "sensor_offline",
  /** A device command was refused by the device or expired unanswered. */
  "command_failed",
  "subscription_suspended",
  /** A contract waits for the owners committee's review, vote or signature. */
  "contract_awaiting_committee",
  /** A contract's transfer date is 90 or 30 days away. */
  "transfer_due",
  "report_filed",
  /** Yesterday's figures, at 08:00 Asia/Shanghai. */
  "daily_digest",
  /** Sent only when someone asks for a test of the endpoint. */
  "test_ping",
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** `webhook`: signed JSON; `wecom`: a WeChat Work group robot; `dingtalk`: a DingTalk robot. */
export const NOTIFICATION_CHANNELS = ["webhook", "wecom", "dingtalk"] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/** pending → delivered, or failed after the retry window (24 h) or when the endpoint is disabled. */
export const NOTIFICATION_STATES = ["pending", "delivered", "failed"] as const;
export type NotificationState = (typeof NOTIFICATION_STATES)[number];
