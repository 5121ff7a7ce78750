/**
 * Commands to sensors (protocol v1, docs/device-guide in the README): what they are and the states
 * a command passes through. Pure: the rules that refuse a command where it makes no sense live here
 * too, beside the other command tables (contracts/commands.ts, contracts/place-permissions.ts).
 */

/** `release`: let the halted car go; `set_blocking`: stop or resume halting cars; `set_heartbeat`. */
export const DEVICE_COMMAND_TYPES = ["release", "set_blocking", "set_heartbeat"] as const;
export type DeviceCommandType = (typeof DEVICE_COMMAND_TYPES)[number];

/**
 * pending (stored, not yet handed to the broker or fetched over HTTP) → sent → applied | refused
 * (the device's answer) | expired (no answer before `expiresAt`).
 */
export const DEVICE_COMMAND_STATES = ["pending", "sent", "applied", "refused", "expired"] as const;
export type DeviceCommandState = (typeof DEVICE_COMMAND_STATES)[number];

/** The states a device's answer may still change. */
export const OPEN_DEVICE_COMMAND_STATES = [
  "pending",
  "sent",
] as const satisfies readonly DeviceCommandState[];
