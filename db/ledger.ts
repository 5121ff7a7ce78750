/**
 * Shared SQL of the residents' ledger: gap-free document numbers, and the arrears standing of
 * subscriptions (suspend / reinstate). Used by payments, and by the billing run for invoice and
 * credit-note numbers. Knows nothing of HTTP; the rules are in contracts/billing.ts.
 */
import { type SQL, sql } from "drizzle-orm";
import { formatInvoiceNumber } from "../contracts/billing.js";
import { type Queryable, queryRows } from "./database.js";
import { RUNNING_SUBSCRIPTION_STATES_SQL } from "./states.js";

/** The series of credit-note numbers (`CN-2026-000001`), per enterprise and year. */
export const CREDIT_NOTE_SERIES = "CN";

/**
 * Reserves `count` consecutive numbers of a document series (invoices, credit notes) for one
 * enterprise and year, and returns the first and last of them: the caller numbers its documents
 * `first`, `first + 1`, … `last` (in SQL: `first + row_number() over (…) - 1`).
 *
 * Gap-free: the counter row is created on first use and bumped with one
 * `insert … on conflict do update set last_seq = last_seq + n returning last_seq`, which holds
 * the row lock until the caller's transaction ends. So call it INSIDE the transaction that
 * inserts the documents: a rollback gives the numbers back, and concurrent writers of the same
 * enterprise/series/year wait for each other instead of skipping or reusing numbers.
 * Call it late in the transaction (it serialises the enterprise's writers of that series).
 *
 * `count` must be a positive integer (callers skip the call when there is nothing to number).
 */
export async function nextDocumentNumbers(
  tx: Queryable,
  enterpriseOrgId: string,
  series: string,
  year: number,
  count: number,
): Promise<{ first: number; last: number }> {
  if (!Number.isSafeInteger(count) || count < 1)
    throw new RangeError(`count must be a positive integer: ${count}`);
  if (!Number.isInteger(year) || year < 1 || year > 9999) throw new RangeError(`year out of range: ${year}`);
  const [row] = await queryRows<{ last_seq: number | string }>(
    tx,
    sql`insert into document_counters (enterprise_org_id, series, year, last_seq)
        values (${enterpriseOrgId}, ${series}, ${year}, ${count})
        on conflict (enterprise_org_id, series, year)
        do update set last_seq = document_counters.last_seq + excluded.last_seq
        returning last_seq`,
  );
  if (!row) throw new Error("document counter returned no row");
  const last = Number(row.last_seq);
  return { first: last - count + 1, last };
}

/**
 * The next credit-note number of an enterprise for `year`: `CN-2026-000001` (gap-free per
 * enterprise and year; unique with the enterprise, as the credit_notes key says). Same
 * transaction rule as nextDocumentNumbers.
 */
export async function nextCreditNoteNumber(
  tx: Queryable,
  enterpriseOrgId: string,
  year: number,
): Promise<string> {
  const { first } = await nextDocumentNumbers(tx, enterpriseOrgId, CREDIT_NOTE_SERIES, year, 1);
  return formatInvoiceNumber(CREDIT_NOTE_SERIES, year, first);
}

/** A subscription whose standing changed. */
export interface StandingChange {
  subscriptionId: string;
  contractId: string;
  subscriberKey: string;
  state: "active" | "suspended";
}

/**
 * What is still unpaid on the invoice row `invoice` (the `invoices` table or an alias of it):
 * total − credit applied − paid (credit notes reach an invoice only through credit_applied). The
 * TypeScript twin is contracts/billing.ts `outstandingOf`; test/payments/outstanding.property.test.ts
 * pins them together.
 */
export function outstandingSql(invoice: string): SQL {
  const i = sql.identifier(invoice);
  return sql`(${i}.total - ${i}.credit_applied - ${i}.paid_amount)`;
}
const OUTSTANDING_SQL = outstandingSql("i");

/**
 * Applies the arrears rule (contracts/billing.ts `isSuspendable` / `standing`) to subscriptions in
 * one set-based, idempotent UPDATE, and returns the subscriptions whose state changed:
 *
 * - a running subscription (`active` or `suspended`) is `suspended` when its subscriber has on the
 *   same contract an invoice (of any kind: subscription, usage, final — and also of an earlier,
 *   cancelled subscription) with something outstanding and `today > due_date + paymentGraceDays`
 *   (the contract's grace days);
 * - otherwise it is `active` (paying the arrears reinstates it);
 * - cancelled and ended subscriptions are never touched.
 *
 * `today` is the Asia/Shanghai date. `only` narrows it to one contract, or one subscriber of it
 * (after a payment). Safe to run from several instances at once: every run writes the same
 * result, and only rows whose state changes are written.
 */
export async function applyArrearsStanding(
  db: Queryable,
  today: string,
  only: { contractId?: string; subscriberKey?: string } = {},
): Promise<StandingChange[]> {
  const contractFilter = only.contractId ? sql`and s.contract_id = ${only.contractId}` : sql``;
  const subscriberFilter = only.subscriberKey ? sql`and s.subscriber_key = ${only.subscriberKey}` : sql``;
  const rows = await queryRows<{
    id: string;
    contract_id: string;
    subscriber_key: string;
    state: "active" | "suspended";
  }>(
    db,
    sql`with verdict as (
          select s.id,
                 exists (
                   select 1 from invoices i
                    where i.contract_id = s.contract_id
                      and i.subscriber_key = s.subscriber_key
                      and ${OUTSTANDING_SQL} > 0
                      and i.due_date + c.payment_grace_days < ${today}::date
                 ) as in_arrears
            from subscriptions s
            join contracts c on c.id = s.contract_id
           where s.state in (${RUNNING_SUBSCRIPTION_STATES_SQL}) ${contractFilter} ${subscriberFilter}
        )
        update subscriptions s
           set state = case when v.in_arrears then 'suspended' else 'active' end::subscription_state,
               updated_at = now()
          from verdict v
         where s.id = v.id
           and s.state in (${RUNNING_SUBSCRIPTION_STATES_SQL})
           and (s.state = 'suspended') <> v.in_arrears
        returning s.id, s.contract_id, s.subscriber_key, s.state`,
  );
  return rows.map((r) => ({
    subscriptionId: r.id,
    contractId: r.contract_id,
    subscriberKey: r.subscriber_key,
    state: r.state,
  }));
}
