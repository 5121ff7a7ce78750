/**
 * Device commands counted by this process since it started, for /metrics: issued by type (the API
 * and the portal), and expired unanswered (the expiry job). A counter per process, as the ingest's.
 */
import { DEVICE_COMMAND_TYPES, type DeviceCommandType } from "../../../contracts/device-commands.js";

export interface CommandCounters {
  issued: Record<DeviceCommandType, number>;
  expired: number;
}

export function createCommandCounters(): CommandCounters {
  return {
    issued: Object.fromEntries(DEVICE_COMMAND_TYPES.map((t) => [t, 0])) as Record<DeviceCommandType, number>,
    expired: 0,
  };
}
