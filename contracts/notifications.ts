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

/**
 * What each type's cause carries (`notification_events.payload`): the facts a message shows, with
 * names resolved when the cause is recorded, so that a message reads the same whenever it is sent.
 * Instants are ISO 8601 strings; dates `YYYY-MM-DD` (Asia/Shanghai).
 */
export interface NotificationPayloads {
  ebike_halt_opened: {
    incidentId: string;
    facilityId: string;
    facilityName: string;
    communityName: string;
    openedAt: string;
  };
  halt_unacknowledged: {
    incidentId: string;
    facilityId: string;
    facilityName: string;
    communityName: string;
    openedAt: string;
    /** The escalation step: rules with the same `afterMinutes` are told. */
    afterMinutes: number;
  };
  sensor_offline: {
    incidentId: string;
    sensorId: string;
    sensorName: string;
    facilityName: string;
    communityName: string;
    since: string;
  };
  command_failed: {
    commandId: string;
    commandType: string;
    sensorId: string;
    sensorName: string;
    facilityName: string;
    result: "refused" | "expired";
    reason: string | null;
  };
  subscription_suspended: {
    subscriptionId: string;
    contractId: string;
    householdLabel: string;
    communityName: string;
    /** Money owed, a decimal string to the fen. */
    overdueAmount: string;
  };
  contract_awaiting_committee: {
    contractId: string;
    title: string;
    /** What the committee must do next. */
    action: "review" | "vote" | "sign";
  };
  transfer_due: { contractId: string; title: string; transferDate: string; daysLeft: 90 | 30 };
  report_filed: {
    reportId: string;
    contractId: string;
    title: string;
    period: string;
    enterpriseName: string;
  };
  daily_digest: {
    /** The day the figures are of (yesterday, Asia/Shanghai). */
    date: string;
    elevatorsWithEntries: number;
    halts: number;
    falseAlarms: number;
    sensorsOffline: { sensorName: string; facilityName: string }[];
  };
  test_ping: { endpointId: string; requestedBy: string | null };
}
