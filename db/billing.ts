/**
 * The set-based SQL of residents' fees: a billing run (subscription invoices, usage invoices,
 * credit applied), document numbers, and the end of billing at a transfer or a termination.
 * Every function takes the caller's transaction; nothing here knows about HTTP.
 *
 * The rules are contracts/billing.ts; the SQL below is their set form:
 * - which subscription is due for a period: `isDue` (its doc comment gives the predicate);
 * - a subscription line: `subscriptionLine` (1 × the subscription's price);
 * - a usage line: quantity × unit price rounded half up to the fen once, on the line
 *   (`usageAmount`); PostgreSQL's `round(numeric, 2)` rounds half away from zero, the same for
 *   the non-negative amounts billed here;
 * - invoice numbers: `formatInvoiceNumber` (`<prefix>-<year>-<seq>`, at least 6 digits).
 */
import { sql } from "drizzle-orm";
import {
  addDays,
  addPeriods,
  cancellationRefund,
  comparePeriods,
  coverageOf,
  dueDate,
  finalSettlement,
  formatInvoiceNumber,
  formatMoney,
  type IssuedBill,
  type Period,
  periodEnd,
  periodOf,
  periodStart,
  type Subscription,
  type SubscriptionKind,
  type SubscriptionState,
  sumMoney,
  usageAmount,
} from "../contracts/index.js";
import { queryRows, type Tx } from "./database.js";
import { CREDIT_NOTE_SERIES, nextDocumentNumbers, outstandingSql } from "./ledger.js";
import { RUNNING_SUBSCRIPTION_STATES_SQL } from "./states.js";

/** Series of document_counters for invoices (credit notes: CREDIT_NOTE_SERIES, db/ledger.ts). */
export const INVOICE_SERIES = "INV";

/** What a billing run needs to know of its contract. */
export interface BillingContract {
  id: string;
  enterpriseOrgId: string;
  streetId: string;
  communityId: string;
  operationStartDate: string | null;
  transferDate: string | null;
  invoiceDueDays: number;
}

/** The enterprise's invoice prefix (organizations.invoicePrefix). */
export async function invoicePrefixOf(tx: Tx, enterpriseOrgId: string): Promise<string> {
  const [row] = await queryRows<{ prefix: string }>(
    tx,
    sql`select invoice_prefix as prefix from organizations where id = ${enterpriseOrgId}`,
  );
  if (!row) throw new Error(`no organization ${enterpriseOrgId}`);
  return row.prefix;
}

/** A credit note's number, as db/ledger.ts writes it: `CN-<year>-<seq>` (its own gap-free series). */
export function creditNoteNumber(year: number, seq: number): string {
  return formatInvoiceNumber(CREDIT_NOTE_SERIES, year, seq);
}
/** An invoice number: `<prefix>-<year>-<seq>` (formatInvoiceNumber). */
export function invoiceNumber(prefix: string, year: number, seq: number): string {
  return formatInvoiceNumber(prefix, year, seq);
}
/** The SQL twin of invoiceNumber for a `seq` expression: at least 6 digits, wider when needed. */
/**
 * A CTE `counter` reserving `n.n` invoice numbers (the CTE `n` must precede it): the counter row
 * stays locked until commit, so numbers are gap-free per enterprise and year; row `rn` of the
 * batch gets `counter.last_seq - n.n + rn`.
 */
const reserveInvoiceNumbers = (enterpriseOrgId: string, year: number) =>
  sql`counter as (
          insert into document_counters (enterprise_org_id, series, year, last_seq)
          select ${enterpriseOrgId}, ${INVOICE_SERIES}, ${year}, n.n from n
          on conflict (enterprise_org_id, series, year)
            do update set last_seq = document_counters.last_seq + excluded.last_seq
          returning last_seq
        )`;

const numberSql = (prefix: string, year: number, seq: ReturnType<typeof sql>) =>
  sql`${`${prefix}-${year}-`}::text || lpad((${seq})::text, greatest(6, length((${seq})::text)), '0')`;

export interface RunInput {
  runId: string;
  contract: BillingContract;
  period: Period;
  /** Asia/Shanghai date of the run. */
  issueDate: string;
  prefix: string;
}
export interface RunResult {
  subscriptionInvoices: number;
  usageInvoices: number;
  created: number;
  /** Sum of the new invoices' totals, 2 decimals. */
  total: string;
  creditApplied: string;
}

/**
 * A whole billing run inside the caller's transaction (the billing_runs row is already
 * inserted; the contract row is locked). Three statements do the work whatever the number of
 * subscriptions: subscription invoices with their lines, usage invoices with their lines (and
 * the usage marked billed), and the subscribers' credit applied to the new invoices.
 */
export async function runBilling(tx: Tx, input: RunInput): Promise<RunResult> {
  const subs = await billSubscriptions(tx, input);
  const usage = await billUsage(tx, input);
  const credit = await applyCredit(tx, input.contract.id, input.runId);
  return {
    subscriptionInvoices: subs.created,
    usageInvoices: usage.created,
    created: subs.created + usage.created,
    total: formatMoney(sumMoney([subs.total, usage.total])),
    creditApplied: credit,
  };
}

/**
 * One statement: the subscriptions due in the period (isDue in SQL, and never a second bill of
 * the same subscription and period), numbered after the counter reserved in the same statement,
 * inserted as invoices and as their one line each.
 */
async function billSubscriptions(tx: Tx, input: RunInput): Promise<{ created: number; total: string }> {
  const { contract, period, issueDate, runId, prefix } = input;
  if (!contract.operationStartDate) return { created: 0, total: "0.00" };
  const p = periodStart(period);
  const year = Number(issueDate.slice(0, 4));
  const due = dueDate(issueDate, contract.invoiceDueDays);
  const yearlySpan = `${period} – ${addPeriods(period, 11)}`;
  const td = contract.transferDate;
  const [row] = await queryRows<{ created: number; total: string }>(
    tx,
    sql`with due as materialized (
          select s.id, s.subscriber_key, s.household_id, s.fee_code, s.kind, s.unit_price,
                 gen_random_uuid() as invoice_id,
                 row_number() over (order by s.subscriber_key, s.id) as rn
          from subscriptions s
          where s.contract_id = ${contract.id}
            and date_trunc('month', s.start_date)::date <= ${p}::date
            and date_trunc('month', ${contract.operationStartDate}::date)::date <= ${p}::date
            and (${td}::date is null or (${p}::date < ${td}::date and s.start_date < ${td}::date))
            and (s.end_date is null or ${p}::date <= s.end_date)
            and (s.state in (${RUNNING_SUBSCRIPTION_STATES_SQL}) or s.end_date is not null)
            and (s.kind = 'monthly'
                 or extract(month from s.start_date) = extract(month from ${p}::date))
            and not exists (
              select 1 from invoices i
              where i.subscription_id = s.id and i.period = ${period}
                and i.kind in ('subscription', 'final'))
        ),
        n as (select count(*)::int as n from due),
        ${reserveInvoiceNumbers(contract.enterpriseOrgId, year)},
        inv as (
          insert into invoices (id, number, enterprise_org_id, contract_id, street_id, community_id,
            subscriber_key, household_id, subscription_id, billing_run_id, kind, period, issue_date,
            due_date, total)
          select due.invoice_id, ${numberSql(prefix, year, sql`counter.last_seq - n.n + due.rn`)},
            ${contract.enterpriseOrgId}, ${contract.id}, ${contract.streetId}, ${contract.communityId},
            due.subscriber_key, due.household_id, due.id, ${runId}, 'subscription', ${period},
            ${issueDate}::date, ${due}::date, due.unit_price
          from due cross join counter cross join n
          returning total
        ),
        lines as (
          insert into invoice_lines (invoice_id, line_no, code, description, quantity, unit_price, amount)
          select due.invoice_id, 1, due.fee_code,
            due.fee_code || case when due.kind = 'monthly' then ${` 包月 ${period}`}::text
                                 else ${` 包年 ${yearlySpan}`}::text end,
            1, due.unit_price, due.unit_price
          from due
          returning 1
        )
        select (select count(*)::int from inv) as created,
               (select coalesce(sum(total), 0)::text from inv) as total`,
  );
  return { created: Number(row?.created ?? 0), total: row?.total ?? "0" };
}

/** SQL: the Asia/Shanghai calendar date of a timestamptz (UTC+8, no DST). */
const shanghaiDateSql = (column: ReturnType<typeof sql>) =>
  sql`((${column} at time zone 'UTC') + interval '8 hours')::date`;

/**
 * One statement: usage not yet billed, of the period or earlier (a late record is billed by the
 * next run), priced by the fee schedule version in force on its Asia/Shanghai date (per floor
 * for a household when the item has floor prices). One invoice per subscriber, one line per
 * (fee item, month, unit price) with the summed quantity; the records are marked billed.
 */
async function billUsage(tx: Tx, input: RunInput): Promise<{ created: number; total: string }> {
  const { contract, period, issueDate, runId, prefix } = input;
  const year = Number(issueDate.slice(0, 4));
  const due = dueDate(issueDate, contract.invoiceDueDays);
  const [row] = await queryRows<{ created: number; total: string }>(
    tx,
    sql`with recs as materialized (
          select u.id, u.subscriber_key, u.household_id, u.fee_code, u.period as use_period, u.quantity,
            case when jsonb_typeof(fi.floor_prices) = 'array' and jsonb_array_length(fi.floor_prices) > 0
                      and h.floor is not null
                 then coalesce((select (e ->> 'price')::numeric(14, 2)
                                from jsonb_array_elements(fi.floor_prices) e
                                where (e ->> 'floor')::int = h.floor), 0)
                 else fi.price end as unit_price
          from usage_records u
          left join households h on h.id = u.household_id
          join lateral (
            select v.id from contract_versions v
            where v.contract_id = u.contract_id and v.status in ('signed', 'superseded')
              and (not v.is_amendment or v.effective_date <= ${shanghaiDateSql(sql`u.started_at`)})
            order by v.version_no desc limit 1
          ) v on true
          join fee_items fi on fi.version_id = v.id and fi.code = u.fee_code
          where u.contract_id = ${contract.id} and u.invoice_id is null and u.period <= ${period}
        ),
        grouped as materialized (
          select subscriber_key, household_id, fee_code, use_period, unit_price,
                 sum(quantity) as quantity, round(sum(quantity) * unit_price, 2) as amount
          from recs group by subscriber_key, household_id, fee_code, use_period, unit_price
        ),
        per_sub as materialized (
          select subscriber_key, household_id, sum(amount) as total, gen_random_uuid() as invoice_id,
                 row_number() over (order by subscriber_key) as rn
          from grouped group by subscriber_key, household_id
        ),
        n as (select count(*)::int as n from per_sub),
        ${reserveInvoiceNumbers(contract.enterpriseOrgId, year)},
        inv as (
          insert into invoices (id, number, enterprise_org_id, contract_id, street_id, community_id,
            subscriber_key, household_id, subscription_id, billing_run_id, kind, period, issue_date,
            due_date, total)
          select ps.invoice_id, ${numberSql(prefix, year, sql`counter.last_seq - n.n + ps.rn`)},
            ${contract.enterpriseOrgId}, ${contract.id}, ${contract.streetId}, ${contract.communityId},
            ps.subscriber_key, ps.household_id, null, ${runId}, 'usage', ${period},
            ${issueDate}::date, ${due}::date, ps.total
          from per_sub ps cross join counter cross join n
          returning total
        ),
        lines as (
          insert into invoice_lines (invoice_id, line_no, code, description, quantity, unit_price, amount)
          select ps.invoice_id,
            row_number() over (partition by g.subscriber_key order by g.use_period, g.fee_code, g.unit_price),
            g.fee_code, g.fee_code || ' ' || g.use_period || ' usage', g.quantity, g.unit_price, g.amount
          from grouped g join per_sub ps on ps.subscriber_key = g.subscriber_key
          returning 1
        ),
        marked as (
          update usage_records u set invoice_id = ps.invoice_id
          from recs r join per_sub ps on ps.subscriber_key = r.subscriber_key
          where u.id = r.id
          returning 1
        )
        select (select count(*)::int from inv) as created,
               (select coalesce(sum(total), 0)::text from inv) as total`,
  );
  return { created: Number(row?.created ?? 0), total: row?.total ?? "0" };
}

/**
 * Applies the subscribers' available credit (credit notes' `remaining`, oldest first) to the
 * run's new invoices (in number order), set-based: credits and invoices are laid end to end per
 * subscriber as intervals of money, and each (credit, invoice) pair takes their overlap. Writes
 * credit_applications, raises invoices.credit_applied, lowers credit_notes.remaining.
 * Returns the total applied.
 */
export async function applyCredit(tx: Tx, contractId: string, runId: string): Promise<string> {
  // Lock the credit that may be used, so a concurrent refund cannot spend it twice.
  const locked = await queryRows<{ id: string }>(
    tx,
    sql`select cn.id from credit_notes cn
        where cn.contract_id = ${contractId} and cn.remaining > 0
          and cn.subscriber_key in (select subscriber_key from invoices where billing_run_id = ${runId})
        for update`,
  );
  if (locked.length === 0) return "0.00";
  const [row] = await queryRows<{ applied: string }>(
    tx,
    sql`with c as (
          select cn.id, cn.subscriber_key, cn.remaining,
            sum(cn.remaining) over (partition by cn.subscriber_key order by cn.created_at, cn.number
                                    rows between unbounded preceding and current row) - cn.remaining as c0
          from credit_notes cn
          where cn.contract_id = ${contractId} and cn.remaining > 0
            and cn.subscriber_key in (select subscriber_key from invoices where billing_run_id = ${runId})
        ),
        i as (
          select inv.id, inv.subscriber_key, ${outstandingSql("inv")} as open,
            sum(${outstandingSql("inv")}) over (
              partition by inv.subscriber_key order by inv.number
              rows between unbounded preceding and current row)
              - ${outstandingSql("inv")} as i0
          from invoices inv
          where inv.billing_run_id = ${runId} and inv.total - inv.credit_applied - inv.paid_amount > 0
            and inv.subscriber_key in (select subscriber_key from c)
        ),
        a as materialized (
          select c.id as credit_note_id, i.id as invoice_id,
                 least(c.c0 + c.remaining, i.i0 + i.open) - greatest(c.c0, i.i0) as amount
          from c join i on i.subscriber_key = c.subscriber_key
          where c.c0 < i.i0 + i.open and i.i0 < c.c0 + c.remaining
        ),
        ins as (
          insert into credit_applications (credit_note_id, invoice_id, amount)
          select credit_note_id, invoice_id, amount from a where amount > 0
          returning 1
        ),
        upd_inv as (
          update invoices set credit_applied = invoices.credit_applied + x.s
          from (select invoice_id, sum(amount) as s from a group by invoice_id) x
          where invoices.id = x.invoice_id
          returning 1
        ),
        upd_cn as (
          update credit_notes set remaining = credit_notes.remaining - x.s
          from (select credit_note_id, sum(amount) as s from a group by credit_note_id) x
          where credit_notes.id = x.credit_note_id
          returning 1
        )
        select coalesce(sum(amount), 0)::text as applied from a`,
  );
  return formatMoney(sumMoney([row?.applied ?? "0"]));
}

// ---------------------------------------------------------------------------------------------
// Ending subscriptions: the transfer and a termination

interface RunningSubscription {
  id: string;
  subscriber_key: string;
  household_id: string | null;
  fee_code: string;
  kind: SubscriptionKind;
  unit_price: string;
  start_date: string;
  end_date: string | null;
  state: SubscriptionState;
}

function asSubscription(r: RunningSubscription): Subscription {
  return {
    id: r.id,
    feeCode: r.fee_code,
    kind: r.kind,
    unitPrice: r.unit_price,
    startDate: r.start_date,
    endDate: r.end_date,
    state: r.state,
  };
}

async function runningSubscriptions(tx: Tx, contractId: string): Promise<RunningSubscription[]> {
  return queryRows<RunningSubscription>(
    tx,
    sql`select id, subscriber_key, household_id, fee_code, kind, unit_price::text as unit_price,
               start_date::text as start_date, end_date::text as end_date, state
        from subscriptions
        where contract_id = ${contractId} and state in (${RUNNING_SUBSCRIPTION_STATES_SQL})
        order by subscriber_key, id
        for update`,
  );
}

/** Subscription bills (kinds subscription and final) of the contract from `fromPeriod` on, by subscription. */
async function billsFrom(tx: Tx, contractId: string, fromPeriod: Period): Promise<Map<string, IssuedBill[]>> {
  const rows = await queryRows<{ subscription_id: string; period: string; total: string }>(
    tx,
    sql`select subscription_id, period, total::text as total from invoices
        where contract_id = ${contractId} and subscription_id is not null
          and kind in ('subscription', 'final') and period >= ${fromPeriod}
        order by period`,
  );
  const out = new Map<string, IssuedBill[]>();
  for (const r of rows) {
    const list = out.get(r.subscription_id) ?? [];
    list.push({ period: r.period, amount: r.total });
    out.set(r.subscription_id, list);
  }
  return out;
}

interface NewCreditNote {
  subscriptionId: string;
  subscriberKey: string;
  reason: "cancellation" | "transfer" | "adjustment";
  amount: string;
  note: string;
}

/** Inserts credit notes numbered from the "CN" series (one multi-row insert); returns them with numbers. */
export async function insertCreditNotes(
  tx: Tx,
  contract: Pick<BillingContract, "id" | "enterpriseOrgId">,
  today: string,
  notes: readonly NewCreditNote[],
): Promise<{ id: string; number: string; subscriptionId: string | null; amount: string }[]> {
  if (notes.length === 0) return [];
  const year = Number(today.slice(0, 4));
  const { first } = await nextDocumentNumbers(
    tx,
    contract.enterpriseOrgId,
    CREDIT_NOTE_SERIES,
    year,
    notes.length,
  );
  const values = notes.map(
    (n, i) =>
      sql`(${creditNoteNumber(year, first + i)}, ${contract.enterpriseOrgId}::uuid, ${contract.id}::uuid,
           ${n.subscriberKey}, ${n.reason}::credit_reason, ${n.amount}::numeric, ${n.amount}::numeric,
           ${n.subscriptionId}::uuid, ${n.note})`,
  );
  return queryRows(
    tx,
    sql`insert into credit_notes (number, enterprise_org_id, contract_id, subscriber_key, reason, amount,
          remaining, subscription_id, note)
        values ${sql.join(values, sql`, `)}
        returning id, number, subscription_id as "subscriptionId", amount::text as amount`,
  );
}

export interface SettlementSummary {
  ended: number;
  finalInvoices: { number: string; subscriptionId: string; amount: string }[];
  creditNotes: { number: string; subscriptionId: string | null; amount: string }[];
}

/**
 * Billing ends at the transfer: every running subscription is settled by `finalSettlement` —
 * state `ended`, last day of use the day before the transfer date, a final invoice for the
 * transfer month when it was not billed (kind `final`, numbered in the invoice series, issued
 * `today`), and a credit note (reason `transfer`) for what issued bills charged on or after the
 * transfer date. Call inside the transfer command's transaction (the contract row locked).
 */
export async function endSubscriptionsAtTransfer(
  tx: Tx,
  contract: BillingContract,
  transferDate: string,
  today: string,
): Promise<SettlementSummary> {
  const subs = await runningSubscriptions(tx, contract.id);
  if (subs.length === 0) return { ended: 0, finalInvoices: [], creditNotes: [] };
  const bills = await billsFrom(tx, contract.id, addPeriods(periodOf(transferDate), -11));
  const finals: {
    sub: RunningSubscription;
    period: Period;
    amount: string;
    code: string;
    description: string;
  }[] = [];
  const credits: NewCreditNote[] = [];
  for (const s of subs) {
    const settled = finalSettlement(asSubscription(s), transferDate, bills.get(s.id) ?? []);
    if (!settled.ok) throw new Error(`settlement refused for ${s.id}: ${settled.reason}`);
    if (settled.finalInvoice) {
      finals.push({
        sub: s,
        period: settled.finalInvoice.period,
        amount: formatMoney(usageAmount("1", settled.finalInvoice.line.unitPrice)),
        code: settled.finalInvoice.line.code,
        description: settled.finalInvoice.line.description,
      });
    }
    if (settled.totalCredit.gt(0)) {
      credits.push({
        subscriptionId: s.id,
        subscriberKey: s.subscriber_key,
        reason: "transfer",
        amount: formatMoney(settled.totalCredit),
        note: settled.credits.map((c) => `${c.period}: ${formatMoney(c.amount)} (${c.reason})`).join("; "),
      });
    }
  }
  const lastDay = addDays(transferDate, -1);
  await tx.execute(
    sql`update subscriptions set state = 'ended', end_date = greatest(start_date - 1, ${lastDay}::date),
          updated_at = now()
        where contract_id = ${contract.id} and state in (${RUNNING_SUBSCRIPTION_STATES_SQL})`,
  );
  const finalInvoices: SettlementSummary["finalInvoices"] = [];
  if (finals.length > 0) {
    const prefix = await invoicePrefixOf(tx, contract.enterpriseOrgId);
    const year = Number(today.slice(0, 4));
    const { first } = await nextDocumentNumbers(
      tx,
      contract.enterpriseOrgId,
      INVOICE_SERIES,
      year,
      finals.length,
    );
    const due = dueDate(today, contract.invoiceDueDays);
    const rows = finals.map((f, i) => ({ ...f, number: invoiceNumber(prefix, year, first + i) }));
    const inserted = await queryRows<{ id: string; number: string }>(
      tx,
      sql`insert into invoices (number, enterprise_org_id, contract_id, street_id, community_id,
            subscriber_key, household_id, subscription_id, kind, period, issue_date, due_date, total)
          values ${sql.join(
            rows.map(
              (r) =>
                sql`(${r.number}, ${contract.enterpriseOrgId}::uuid, ${contract.id}::uuid, ${contract.streetId}::uuid,
                     ${contract.communityId}::uuid, ${r.sub.subscriber_key}, ${r.sub.household_id}::uuid,
                     ${r.sub.id}::uuid, 'final', ${r.period}, ${today}::date, ${due}::date, ${r.amount}::numeric)`,
            ),
            sql`, `,
          )}
          returning id, number`,
    );
    const idOf = new Map(inserted.map((r) => [r.number, r.id]));
    await tx.execute(
      sql`insert into invoice_lines (invoice_id, line_no, code, description, quantity, unit_price, amount)
          values ${sql.join(
            rows.map(
              (r) =>
                sql`(${idOf.get(r.number) ?? null}::uuid, 1, ${r.code}, ${r.description}, 1, ${r.amount}::numeric, ${r.amount}::numeric)`,
            ),
            sql`, `,
          )}`,
    );
    for (const r of rows)
      finalInvoices.push({ number: r.number, subscriptionId: r.sub.id, amount: r.amount });
  }
  const notes = await insertCreditNotes(tx, contract, today, credits);
  return {
    ended: subs.length,
    finalInvoices,
    creditNotes: notes.map((n) => ({ number: n.number, subscriptionId: n.subscriptionId, amount: n.amount })),
  };
}

/**
 * A terminated contract bills nothing more. Every running subscription ends on the termination
 * day (state `ended`, that day its last day of use) and is settled as a cancellation on that
 * day (cancellationRefund over each bill still covering a later month): the termination month
 * is kept; a month billed in advance after it is credited in full; a yearly bill gets back its
 * unused whole months (rounded down to the fen). Cancelled subscriptions with a later end date
 * are cut to the termination day (their refund was settled when they were cancelled).
 */
export async function endSubscriptionsAtTermination(
  tx: Tx,
  contract: BillingContract,
  terminationDay: string,
): Promise<SettlementSummary> {
  const subs = await runningSubscriptions(tx, contract.id);
  const cancelMonth = periodOf(terminationDay);
  const bills = await billsFrom(tx, contract.id, addPeriods(cancelMonth, -11));
  const credits: NewCreditNote[] = [];
  for (const s of subs) {
    const sub = asSubscription(s);
    let refund = sumMoney([]);
    const parts: string[] = [];
    for (const b of bills.get(s.id) ?? []) {
      const c = coverageOf(sub.kind, b.period);
      if (comparePeriods(c.to, cancelMonth) <= 0) continue;
      const r = cancellationRefund(sub, terminationDay, {
        start: periodStart(c.from),
        end: periodEnd(c.to),
        amount: b.amount,
      });
      if (r.amount.gt(0)) {
        refund = refund.plus(r.amount);
        parts.push(
          `${b.period}: ${formatMoney(r.amount)} (${r.unusedWholeMonths} of ${r.paidMonths} months)`,
        );
      }
    }
    if (refund.gt(0)) {
      credits.push({
        subscriptionId: s.id,
        subscriberKey: s.subscriber_key,
        reason: "cancellation",
        amount: formatMoney(refund),
        note: `contract terminated on ${terminationDay}: ${parts.join("; ")}`,
      });
    }
  }
  await tx.execute(
    sql`update subscriptions set state = 'ended', end_date = greatest(start_date - 1, ${terminationDay}::date),
          updated_at = now()
        where contract_id = ${contract.id} and state in (${RUNNING_SUBSCRIPTION_STATES_SQL})`,
  );
  await tx.execute(
    sql`update subscriptions set end_date = greatest(start_date - 1, ${terminationDay}::date), updated_at = now()
        where contract_id = ${contract.id} and state = 'cancelled' and end_date > ${terminationDay}::date`,
  );
  const notes = await insertCreditNotes(tx, contract, terminationDay, credits);
  return {
    ended: subs.length,
    finalInvoices: [],
    creditNotes: notes.map((n) => ({ number: n.number, subscriptionId: n.subscriptionId, amount: n.amount })),
  };
}
