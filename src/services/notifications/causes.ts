/**
 * The notification causes periodic jobs find (escalation steps, transfer reminders, the daily
 * digest), in one run: every 15 s from the Node process's timer (src/node.ts) and every minute
 * from the Workers cron (src/scheduled.ts). Each is idempotent by its dedupe keys, so several
 * instances may run it at once and a failed run is simply done again by the next.
 */
import type { Logger } from "pino";
import type { SystemContext } from "../context.js";
import { runDailyDigest } from "./digest.js";
import { runEscalation } from "./escalation.js";
import { runTransferReminders } from "./transfer-due.js";

export const NOTIFICATION_CAUSES_INTERVAL_MS = 15_000;

export interface CausesFound {
  escalations: number;
  transferReminders: number;
  digests: number;
}

/** Runs the three in turn; each runs whichever failed before it, and the first failure is thrown after. */
export async function runNotificationCauses(sys: SystemContext & { logger?: Logger }): Promise<CausesFound> {
  let failure: { reason: unknown } | null = null;
  const attempt = async (run: (sys: SystemContext) => Promise<number>) => {
    try {
      return await run(sys);
    } catch (reason) {
      failure ??= { reason };
      return 0;
    }
  };
  const found: CausesFound = {
    escalations: await attempt(runEscalation),
    transferReminders: await attempt(runTransferReminders),
    digests: await attempt(runDailyDigest),
  };
  if (failure) throw (failure as { reason: unknown }).reason;
  if (found.escalations || found.transferReminders || found.digests) {
    sys.logger?.info(found, "notification causes recorded");
  }
  return found;
}
