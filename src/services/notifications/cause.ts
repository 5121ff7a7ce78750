/**
 * A notification cause typed by its payload: the producers build causes through this, so that a
 * payload missing a field or carrying a stray one fails to compile (contracts/notifications.ts
 * `NotificationPayloads` is what the messages are rendered from).
 */
import type { NotificationPayloads, NotificationType } from "../../../contracts/notifications.js";
import type { NotificationCause } from "./events.js";

export function cause<T extends Exclude<NotificationType, "test_ping">>(
  type: T,
  payload: NotificationPayloads[T],
  rest: Omit<NotificationCause, "type" | "payload">,
): NotificationCause {
  return { ...rest, type, payload: payload as unknown as Record<string, unknown> };
}
