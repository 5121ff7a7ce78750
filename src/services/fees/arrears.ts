/**
 * The periodic arrears sweep: applies the suspension rule (db/ledger.ts applyArrearsStanding) to
 * every running subscription, as of the Asia/Shanghai date of the injected clock. A payment
 * already reinstates its own subscriber at once; the sweep suspends the ones whose grace ran out
 * while nobody paid. Each tick is one idempotent UPDATE, so several instances may run it.
 *
 * The platform runs it on its own (a SystemContext, without a principal) over every contract:
 * nobody asks, so there is no scope to apply and no party for the command table to admit.
 */
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import { shanghaiDate } from "../../../contracts/index.js";
import { type Queryable, queryRows } from "../../../db/database.js";
import { createFailureLog } from "../../../db/failure-log.js";
import { applyArrearsStanding, outstandingSql, type StandingChange } from "../../../db/ledger.js";
import type { SystemContext } from "../context.js";
import { cause } from "../notifications/cause.js";
import { recordNotificationEvents } from "../notifications/events.js";

export const ARREARS_SWEEP_INTERVAL_MS = 60 * 60 * 1000;

/**
 * One pass as of the clock's Asia/Shanghai date, logged when it changed a subscription: what the
 * hourly timer runs on Node and the Workers cron trigger runs hourly (src/scheduled.ts).
 */
export async function runArrearsPass(
  opts: SystemContext & { logger: Logger; only?: { contractId?: string } },
): Promise<StandingChange[]> {
  const now = opts.clock();
  const today = shanghaiDate(now);
  // The suspensions and their notices commit together: a pass that fails tells nobody.
  const changes = await opts.db.transaction(async (tx) => {
    const changed = await applyArrearsStanding(tx, today, opts.only);
    await recordSuspensions(tx, changed, today, now);
    return changed;
  });
  const suspended = changes.filter((ch) => ch.state === "suspended").length;
  if (changes.length) {
    opts.logger.info({ suspended, reinstated: changes.length - suspended }, "arrears sweep");
  }
  return changes;
}

/**
 * The `subscription_suspended` causes of the suspensions among `changes`, in the transaction that
 * made them: the household as a clerk reads it ("3号楼 1单元 501", a parking slot by its reference)
 * and the amount overdue as of `today` (what is unpaid past its due date and the grace days: what
 * reinstates the subscription once paid).
 */
export async function recordSuspensions(
  tx: Queryable,
  changes: readonly StandingChange[],
  today: string,
  now: Date,
): Promise<void> {
  const ids = changes.filter((c) => c.state === "suspended").map((c) => c.subscriptionId);
  if (!ids.length) return;
  const rows = await queryRows<{
    id: string;
    contract_id: string;
    street_id: string;
    community_id: string;
    enterprise_org_id: string;
    community_name: string;
    label: string;
    overdue: string;
  }>(
    tx,
    sql`select s.id, s.contract_id, s.street_id, s.community_id, s.enterprise_org_id, cm.name as community_name,
          case when h.id is null then coalesce(s.slot_ref, s.subscriber_key)
            else b.name || ' ' || h.unit || '单元 ' || h.room end as label,
          (select coalesce(sum(${outstandingSql("i")}), 0)::numeric(14, 2)::text from invoices i
            where i.contract_id = s.contract_id and i.subscriber_key = s.subscriber_key
              and ${outstandingSql("i")} > 0 and i.due_date + c.payment_grace_days < ${today}::date) as overdue
        from subscriptions s
        join contracts c on c.id = s.contract_id
        join communities cm on cm.id = s.community_id
        left join households h on h.id = s.household_id
        left join buildings b on b.id = h.building_id
        where s.id in (select x::uuid from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) x)`,
  );
  await recordNotificationEvents(
    tx,
    rows.map((r) =>
      cause(
        "subscription_suspended",
        {
          subscriptionId: r.id,
          contractId: r.contract_id,
          householdLabel: r.label,
          communityName: r.community_name,
          overdueAmount: r.overdue,
        },
        {
          subjectId: r.id,
          streetId: r.street_id,
          communityId: r.community_id,
          contractId: r.contract_id,
          enterpriseOrgId: r.enterprise_org_id,
          occurredAt: now,
        },
      ),
    ),
  );
}

export interface ArrearsSweep {
  /** Runs one sweep now (the timer calls it; tests too). */
  tick(): Promise<StandingChange[]>;
  stop(): void;
}

export function startArrearsSweep(
  opts: SystemContext & {
    logger: Logger;
    intervalMs?: number;
    /** Narrow the sweep (to one contract); the default is every running subscription. */
    only?: { contractId?: string };
  },
): ArrearsSweep {
  // Sweeps of this instance run one after another, each as of the clock when it starts.
  let queue: Promise<unknown> = Promise.resolve();
  let busy = false;
  const failures = createFailureLog(opts.logger, "arrears sweep");
  const sweepOnce = () => runArrearsPass(opts);
  const tick = () => {
    const run = queue.catch(() => undefined).then(sweepOnce);
    queue = run;
    return run;
  };
  const onTick = () => {
    if (busy) return; // a slow sweep is not piled up behind by the timer
    busy = true;
    // One idempotent statement: a failed tick wrote nothing, and the next one does it all again.
    tick()
      .then(
        () => failures.succeeded(),
        (err: unknown) => void failures.failed(err),
      )
      .finally(() => {
        busy = false;
      });
  };
  const first = setTimeout(onTick, 0);
  const timer = setInterval(onTick, opts.intervalMs ?? ARREARS_SWEEP_INTERVAL_MS);
  first.unref();
  timer.unref();
  return {
    tick,
    stop: () => {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
