/**
 * Transfer reminders: 90 and 30 days before a contract's transfer date (Asia/Shanghai calendar,
 * the countdown of GET /v1/contracts/transfers), once each per contract, for contracts not yet
 * transferred or terminated. The step due is contracts/notification-causes.ts `transferReminderDue`.
 */
import { sql } from "drizzle-orm";
import { addDays, shanghaiDate, TERMINAL_STATES, transferReminderDue } from "../../../contracts/index.js";
import { queryRows } from "../../../db/database.js";
import type { SystemContext } from "../context.js";
import { cause } from "./cause.js";
import { recordNotificationEvents } from "./events.js";

const key = (contractId: string, days: number) => `transfer_due:${contractId}:${days}`;

export async function runTransferReminders(sys: SystemContext): Promise<number> {
  const now = sys.clock();
  const today = shanghaiDate(now);
  const horizon = addDays(today, 90);
  return sys.db.transaction(async (tx) => {
    const rows = await queryRows<{
      id: string;
      title: string;
      street_id: string;
      community_id: string;
      enterprise_org_id: string;
      transfer_date: string;
      sent: string[];
    }>(
      tx,
      sql`select c.id, c.title, c.street_id, c.community_id, c.enterprise_org_id, c.transfer_date::text as transfer_date,
            array(select e.dedupe_key from notification_events e
              where e.dedupe_key in ('transfer_due:' || c.id || ':90', 'transfer_due:' || c.id || ':30')) as sent
          from contracts c
          where c.transfer_date between ${today}::date and ${horizon}::date
            and c.transferred_on is null
            and c.state not in (select x::contract_state from jsonb_array_elements_text(${JSON.stringify(TERMINAL_STATES)}::jsonb) x)`,
    );
    const causes = rows.flatMap((c) => {
      const days = transferReminderDue(today, c.transfer_date);
      if (days === null || c.sent.includes(key(c.id, days))) return [];
      return [
        cause(
          "transfer_due",
          { contractId: c.id, title: c.title, transferDate: c.transfer_date, daysLeft: days },
          {
            subjectId: c.id,
            streetId: c.street_id,
            communityId: c.community_id,
            contractId: c.id,
            enterpriseOrgId: c.enterprise_org_id,
            dedupeKey: key(c.id, days),
            occurredAt: now,
          },
        ),
      ];
    });
    await recordNotificationEvents(tx, causes);
    return causes.length;
  });
}
