/**
 * The notification work as the platform runs it: fan out the waiting causes, then deliver what is
 * due. The Node process runs it on a timer (every second); the Workers cron once a minute. Both
 * are safe together and with any number of instances (see fanout.ts and delivery.ts).
 */
import type { Logger } from "pino";
import type { PeriodicJob } from "../../periodic-job.js";
import { startPeriodicJob } from "../../periodic-job.js";
import type { SystemContext } from "../context.js";
import { type DeliveryOptions, type DeliveryRun, deliverDueNotifications } from "./delivery.js";
import { fanOutNotificationEvents } from "./fanout.js";

/** How often the Node process fans out and delivers. */
export const NOTIFICATION_INTERVAL_MS = 1000;

export async function runNotifications(
  ctx: SystemContext & { logger: Logger },
  opts: DeliveryOptions = {},
): Promise<{ fannedOut: number; queued: number } & DeliveryRun> {
  const fan = await fanOutNotificationEvents(ctx);
  const run = await deliverDueNotifications(ctx, { logger: ctx.logger, ...opts });
  if (fan.events || run.attempted) {
    ctx.logger.debug({ ...fan, ...run }, "notifications");
  }
  return { fannedOut: fan.events, queued: fan.notifications, ...run };
}

export function startNotificationDelivery(
  ctx: SystemContext & { logger: Logger; intervalMs?: number } & DeliveryOptions,
): PeriodicJob {
  return startPeriodicJob({
    name: "notification delivery",
    logger: ctx.logger,
    intervalMs: ctx.intervalMs ?? NOTIFICATION_INTERVAL_MS,
    run: () => runNotifications(ctx, ctx),
  });
}
