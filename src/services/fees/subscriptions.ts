/**
 * Subscriptions (包月/包年): subscribe, list, read, cancel, switch to yearly. Every command is one
 * transaction on the locked contract row (runContractCommand), by the enterprise operating the
 * contract, and its money decision is appended to the contract's audit log.
 */
import { and, asc, count, desc, eq, inArray } from "drizzle-orm";
import {
  addDays,
  cancellationRefund,
  compareDates,
  coverageOf,
  type Subscription as DomainSubscription,
  formatMoney,
  isRunningSubscription,
  type Period,
  periodEnd,
  periodOf,
  periodStart,
  priceFor,
  type SubscriptionState,
  shanghaiDate,
  sumMoney,
  switchToYearly as switchRule,
} from "../../../contracts/index.js";
import { insertCreditNotes } from "../../../db/billing.js";
import type { Tx } from "../../../db/database.js";
import { isUniqueViolation } from "../../../db/pg-errors.js";
import { contracts, invoices, subscriptions } from "../../../db/schema.js";
import { contractScope } from "../../auth/scope.js";
import { ApiError } from "../../errors.js";
import type { ServiceContext } from "../context.js";
import { type CommandScope, runContractCommand } from "../contracts/command.js";
import { facilityKindsOf, findContract, termsOf, versionInForce } from "../contracts/store.js";
import { feeLimitsOf, householdOfContract, type SubscriptionRow } from "./store.js";

/** A new subscription: exactly one of householdId (elevator) and slotRef (garage). */
export interface NewSubscription {
  householdId?: string | undefined;
  slotRef?: string | undefined;
  feeCode: string;
  startDate: string;
}

export interface SubscriptionFilter {
  limit: number;
  offset: number;
  state?: SubscriptionState | undefined;
  feeCode?: string | undefined;
}

/** A cancelled subscription and what its cancellation credited. */
export interface Cancellation {
  subscription: SubscriptionRow;
  refund: {
    /** Decimal string. */
    amount: string;
    unusedWholeMonths: number;
    rule: string;
    /** The credit note issued for it; null when nothing was owed back. */
    creditNote: { id: string; number: string; amount: string } | null;
  };
}

/** A monthly subscription ended and the yearly one that follows it. */
export interface SwitchToYearly {
  ended: SubscriptionRow;
  subscription: SubscriptionRow;
}

function asDomain(s: SubscriptionRow): DomainSubscription {
  return {
    id: s.id,
    feeCode: s.feeCode,
    kind: s.kind,
    unitPrice: s.unitPrice,
    startDate: s.startDate,
    endDate: s.endDate,
    state: s.state,
  };
}

/** Price of a recurring item in the version in force on `date`, per floor when given. */
async function priceOn(
  tx: Tx,
  contractId: string,
  date: string,
  feeCode: string,
  floor: number | undefined,
  kinds: readonly ("monthly" | "yearly")[],
  field: string,
) {
  const version = await versionInForce(tx, contractId, date);
  if (!version) throw ApiError.conflict("no_signed_terms", "The contract has no signed fee schedule.");
  const terms = await termsOf(tx, version);
  const item = terms.feeSchedule.find((i) => i.code === feeCode);
  if (!item) {
    throw ApiError.validation([
      {
        field,
        message: `is not an item of the fee schedule in force on ${date} (version ${version.versionNo})`,
      },
    ]);
  }
  if (item.kind !== "monthly" && item.kind !== "yearly") {
    throw ApiError.validation([
      { field, message: `is a ${item.kind} item; subscribe to a monthly or yearly one` },
    ]);
  }
  if (!kinds.includes(item.kind)) {
    throw ApiError.validation([{ field, message: `is a ${item.kind} item; expected ${kinds.join(" or ")}` }]);
  }
  return { kind: item.kind, price: formatMoney(priceFor(item, floor)), versionNo: version.versionNo };
}

function subscriptionExists(subscriberKey: string) {
  return ApiError.conflict(
    "subscription_exists",
    `The subscriber ${subscriberKey} already holds a running subscription on this contract.`,
    { subscriberKey },
  );
}

async function insertSubscription(
  tx: Tx,
  values: typeof subscriptions.$inferInsert,
): Promise<SubscriptionRow> {
  try {
    const [row] = await tx.insert(subscriptions).values(values).returning();
    if (!row) throw new Error("insert returned nothing");
    return row;
  } catch (err) {
    if (isUniqueViolation(err)) throw subscriptionExists(values.subscriberKey);
    throw err;
  }
}

export async function subscribe(
  ctx: ServiceContext,
  contractId: string,
  input: NewSubscription,
): Promise<SubscriptionRow> {
  return runContractCommand(ctx, contractId, { type: "subscribe" }, async (s) => {
    const limits = feeLimitsOf(s.contract);
    const errors = [];
    if (compareDates(input.startDate, limits.operationStart) < 0) {
      errors.push({
        field: "body.startDate",
        message: `is before the operation start ${limits.operationStart}`,
      });
    }
    if (limits.transferDate && compareDates(input.startDate, limits.transferDate) >= 0) {
      errors.push({
        field: "body.startDate",
        message: `is on or after the transfer date ${limits.transferDate}: billing ends then`,
      });
    }
    const kinds = new Set(await facilityKindsOf(s.tx, s.contract.id));
    let floor: number | undefined;
    let subscriberKey: string;
    if (input.householdId !== undefined) {
      subscriberKey = `household:${input.householdId}`;
      const home = kinds.has("elevator")
        ? await householdOfContract(s.tx, s.contract.id, input.householdId)
        : null;
      if (!home) {
        errors.push({
          field: "body.householdId",
          message: "is not a household of a building this contract's elevator serves",
        });
      } else {
        floor = home.floor;
      }
    } else {
      subscriberKey = `slot:${input.slotRef ?? ""}`;
      if (!kinds.has("garage"))
        errors.push({ field: "body.slotRef", message: "this contract has no garage" });
    }
    if (errors.length) throw ApiError.validation(errors);
    const price = await priceOn(
      s.tx,
      s.contract.id,
      input.startDate,
      input.feeCode,
      floor,
      ["monthly", "yearly"],
      "body.feeCode",
    );
    const created = await insertSubscription(s.tx, {
      contractId: s.contract.id,
      streetId: s.contract.streetId,
      communityId: s.contract.communityId,
      enterpriseOrgId: s.contract.enterpriseOrgId,
      subscriberKey,
      householdId: input.householdId ?? null,
      slotRef: input.slotRef ?? null,
      feeCode: input.feeCode,
      kind: price.kind,
      unitPrice: price.price,
      priceVersionNo: price.versionNo,
      startDate: input.startDate,
      createdAt: s.now,
      updatedAt: s.now,
    });
    await s.audit("subscription.created", {
      versionNo: price.versionNo,
      payload: {
        subscriptionId: created.id,
        subscriberKey,
        feeCode: input.feeCode,
        kind: price.kind,
        unitPrice: price.price,
        startDate: input.startDate,
      },
    });
    return created;
  });
}

/** A page of the contract's subscriptions, by subscriber, and how many match. */
export async function listSubscriptions(ctx: ServiceContext, contractId: string, q: SubscriptionFilter) {
  const { db } = ctx;
  const contract = await findContract(db, ctx.principal, contractId);
  const where = and(
    eq(subscriptions.contractId, contract.id),
    q.state ? eq(subscriptions.state, q.state) : undefined,
    q.feeCode ? eq(subscriptions.feeCode, q.feeCode) : undefined,
  );
  const [items, [total]] = await Promise.all([
    db
      .select()
      .from(subscriptions)
      .where(where)
      .orderBy(asc(subscriptions.subscriberKey), desc(subscriptions.startDate), asc(subscriptions.id))
      .limit(q.limit)
      .offset(q.offset),
    db.select({ n: count() }).from(subscriptions).where(where),
  ]);
  return { items, total: total?.n ?? 0 };
}

/** The subscription if the caller may see its contract; 404 otherwise. */
export async function getSubscription(ctx: ServiceContext, id: string): Promise<SubscriptionRow> {
  const [row] = await ctx.db
    .select({ s: subscriptions })
    .from(subscriptions)
    .innerJoin(contracts, eq(contracts.id, subscriptions.contractId))
    .where(and(eq(subscriptions.id, id), contractScope(ctx.principal)));
  if (!row) throw ApiError.notFound("The subscription");
  return row.s;
}

/** Runs a command on one subscription: found in scope, its contract locked, the row re-read and locked. */
async function subscriptionCommand<T>(
  ctx: ServiceContext,
  id: string,
  run: (s: CommandScope, sub: SubscriptionRow) => Promise<T>,
): Promise<T> {
  const found = await getSubscription(ctx, id);
  return runContractCommand(ctx, found.contractId, { type: "change_subscription" }, async (s) => {
    const [sub] = await s.tx.select().from(subscriptions).where(eq(subscriptions.id, id)).for("update");
    if (!sub) throw ApiError.notFound("The subscription");
    return run(s, sub);
  });
}

function notRunning(sub: SubscriptionRow) {
  return ApiError.conflict("subscription_not_running", `The subscription is ${sub.state}.`, {
    currentState: sub.state,
  });
}

/** The bills issued to a subscription, oldest first. */
async function billsOf(tx: Tx, subscriptionId: string) {
  return tx
    .select({ period: invoices.period, total: invoices.total })
    .from(invoices)
    .where(
      and(eq(invoices.subscriptionId, subscriptionId), inArray(invoices.kind, ["subscription", "final"])),
    )
    .orderBy(asc(invoices.period));
}

/** Cancels on `cancelDate` (the last day of use), crediting what was billed beyond it. */
export async function cancelSubscription(
  ctx: ServiceContext,
  id: string,
  cancelDate: string,
): Promise<Cancellation> {
  const today = ctx.clock();
  return subscriptionCommand(ctx, id, async (s, sub) => {
    if (!isRunningSubscription(sub.state)) throw notRunning(sub);
    // The day before the start (never used) is the earliest last day of use.
    if (compareDates(cancelDate, addDays(sub.startDate, -1)) < 0) {
      throw ApiError.validation([
        { field: "body.cancelDate", message: `is more than a day before the start date ${sub.startDate}` },
      ]);
    }
    if (s.contract.transferDate && compareDates(cancelDate, s.contract.transferDate) >= 0) {
      throw ApiError.validation([
        {
          field: "body.cancelDate",
          message: `is on or after the transfer date ${s.contract.transferDate}: the transfer settles it`,
        },
      ]);
    }
    // Every bill still covering a month after the cancel month is settled by the rule.
    const cancelMonth: Period = periodOf(cancelDate);
    let amount = sumMoney([]);
    let unused = 0;
    let rule = "";
    const parts: string[] = [];
    for (const b of await billsOf(s.tx, sub.id)) {
      const cov = coverageOf(sub.kind, b.period);
      const r = cancellationRefund(asDomain(sub), cancelDate, {
        start: periodStart(cov.from),
        end: periodEnd(cov.to),
        amount: b.total,
      });
      rule = r.rule;
      unused += r.unusedWholeMonths;
      if (r.amount.gt(0)) {
        amount = amount.plus(r.amount);
        parts.push(
          `${b.period}: ${formatMoney(r.amount)} (${r.unusedWholeMonths} of ${r.paidMonths} months unused)`,
        );
      }
    }
    if (!rule) {
      rule = cancellationRefund(asDomain(sub), cancelDate, {
        start: periodStart(cancelMonth),
        end: periodEnd(cancelMonth),
        amount: "0",
      }).rule;
    }
    const [updated] = await s.tx
      .update(subscriptions)
      .set({ state: "cancelled", endDate: cancelDate, updatedAt: s.now })
      .where(eq(subscriptions.id, sub.id))
      .returning();
    if (!updated) throw new Error("update returned nothing");
    const [note] = amount.gt(0)
      ? await insertCreditNotes(s.tx, s.contract, shanghaiDate(today), [
          {
            subscriptionId: sub.id,
            subscriberKey: sub.subscriberKey,
            reason: "cancellation",
            amount: formatMoney(amount),
            note: `cancelled on ${cancelDate}: ${parts.join("; ")}`,
          },
        ])
      : [];
    await s.audit("subscription.cancelled", {
      payload: {
        subscriptionId: sub.id,
        cancelDate,
        refund: formatMoney(amount),
        creditNote: note?.number ?? null,
        rule,
      },
    });
    return {
      subscription: updated,
      refund: {
        amount: formatMoney(amount),
        unusedWholeMonths: unused,
        rule,
        creditNote: note ? { id: note.id, number: note.number, amount: note.amount } : null,
      },
    };
  });
}

/** Ends a monthly subscription with its current paid month and starts the yearly one after it. */
export async function switchToYearly(
  ctx: ServiceContext,
  id: string,
  input: { switchDate: string; feeCode: string },
): Promise<SwitchToYearly> {
  return subscriptionCommand(ctx, id, async (s, sub) => {
    const [last] = await s.tx
      .select({ period: invoices.period })
      .from(invoices)
      .where(and(eq(invoices.subscriptionId, sub.id), inArray(invoices.kind, ["subscription", "final"])))
      .orderBy(desc(invoices.period))
      .limit(1);
    const result = switchRule(asDomain(sub), input.switchDate, last?.period ?? null, s.contract.transferDate);
    if (!result.ok)
      throw ApiError.conflict("switch_refused", result.reason, { currentState: sub.state, kind: sub.kind });
    let floor: number | undefined;
    if (sub.householdId) floor = (await householdOfContract(s.tx, s.contract.id, sub.householdId))?.floor;
    const price = await priceOn(
      s.tx,
      s.contract.id,
      result.yearlyStartDate,
      input.feeCode,
      floor,
      ["yearly"],
      "body.feeCode",
    );
    const [ended] = await s.tx
      .update(subscriptions)
      .set({ state: "cancelled", endDate: result.monthlyEndDate, updatedAt: s.now })
      .where(eq(subscriptions.id, sub.id))
      .returning();
    if (!ended) throw new Error("update returned nothing");
    const yearly = await insertSubscription(s.tx, {
      contractId: sub.contractId,
      streetId: sub.streetId,
      communityId: sub.communityId,
      enterpriseOrgId: sub.enterpriseOrgId,
      subscriberKey: sub.subscriberKey,
      householdId: sub.householdId,
      slotRef: sub.slotRef,
      feeCode: input.feeCode,
      kind: "yearly",
      unitPrice: price.price,
      priceVersionNo: price.versionNo,
      startDate: result.yearlyStartDate,
      createdAt: s.now,
      updatedAt: s.now,
    });
    await s.audit("subscription.switched_to_yearly", {
      versionNo: price.versionNo,
      payload: {
        from: sub.id,
        to: yearly.id,
        switchDate: input.switchDate,
        monthlyEndDate: result.monthlyEndDate,
        yearlyStartDate: result.yearlyStartDate,
        unitPrice: price.price,
      },
    });
    return { ended, subscription: yearly };
  });
}
