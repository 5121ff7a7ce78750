/** Helpers of the causes suites: the causes recorded in the outbox, read back. */
import { sql } from "drizzle-orm";
import type { NotificationType } from "../../contracts/notifications.js";
import { type Database, queryRows } from "../../db/database.js";

export interface CauseRow {
  type: NotificationType;
  subject_id: string;
  street_id: string | null;
  community_id: string | null;
  facility_id: string | null;
  contract_id: string | null;
  enterprise_org_id: string | null;
  organization_id: string | null;
  dedupe_key: string | null;
  payload: Record<string, unknown>;
  occurred_at: Date;
}

/**
 * The causes tests' helpers (what the producers recorded). The causes of `type` recorded about `subjectId` (or every one of the type), oldest first. */
export async function causesOf(
  db: Database,
  type: NotificationType,
  subjectId?: string,
): Promise<CauseRow[]> {
  const rows = await queryRows<CauseRow>(
    db,
    sql`select type, subject_id, street_id, community_id, facility_id, contract_id, enterprise_org_id,
          organization_id, dedupe_key, payload, occurred_at
        from notification_events
        where type = ${type} ${subjectId === undefined ? sql`` : sql`and subject_id = ${subjectId}`}
        order by id`,
  );
  return rows.map((r) => ({ ...r, occurred_at: new Date(r.occurred_at) }));
}
