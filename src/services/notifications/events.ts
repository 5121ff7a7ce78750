/**
 * The outbox of causes (`notification_events`): whatever happens that someone may be told about
 * is recorded here in the SAME transaction as the change itself, so that a notification exists
 * exactly when its cause committed. The fan-out (src/services/notifications/) later turns each
 * row into one notification per subscribed endpoint in scope.
 */
import type { NotificationType } from "../../../contracts/notifications.js";
import type { Queryable } from "../../../db/database.js";
import { notificationEvents } from "../../../db/schema.js";

export interface NotificationCause {
  type: NotificationType;
  /** What it is about: an incident, command, contract, subscription or report id. */
  subjectId: string;
  /** Where it happened: who may be told is decided from these (null: not tied to that level). */
  streetId?: string | null;
  communityId?: string | null;
  facilityId?: string | null;
  contractId?: string | null;
  enterpriseOrgId?: string | null;
  /** Only this organization is told (a digest of its own scope). */
  organizationId?: string | null;
  /**
   * For causes a periodic job finds (an escalation step, a transfer reminder, a digest): the same
   * key twice is recorded once (`recordNotificationEvents` skips it), so the job may run anywhere, often.
   */
  dedupeKey?: string | null;
  /** The facts the message shows (names, figures); JSON. */
  payload: Record<string, unknown>;
  occurredAt: Date;
}

/** Records causes inside the caller's transaction (pass the transaction, not the database). */
export async function recordNotificationEvents(tx: Queryable, causes: readonly NotificationCause[]) {
  if (!causes.length) return;
  await tx
    .insert(notificationEvents)
    .values(
      causes.map((c) => ({
        type: c.type,
        subjectId: c.subjectId,
        streetId: c.streetId ?? null,
        communityId: c.communityId ?? null,
        facilityId: c.facilityId ?? null,
        contractId: c.contractId ?? null,
        enterpriseOrgId: c.enterpriseOrgId ?? null,
        organizationId: c.organizationId ?? null,
        dedupeKey: c.dedupeKey ?? null,
        payload: c.payload,
        occurredAt: c.occurredAt,
      })),
    )
    .onConflictDoNothing({ target: notificationEvents.dedupeKey });
}
