/**
 * Subscriptions (包月/包年): subscribe, list, read, cancel, switch to yearly. Every command is one
 * transaction on the locked contract row (contractCommand), by the enterprise operating the
 * contract, and its money decision is appended to the contract's audit log.
 */
import { and, asc, count, desc, eq, inArray, sql } from "drizzle-orm";
import type { Context } from "hono";
import {
  addDays,
  cancellationRefund,
  compareDates,
  coverageOf,
  type Subscription as DomainSubscription,
  formatMoney,
  type Period,
  periodEnd,
  periodOf,
  periodStart,
  priceFor,
  shanghaiDate,
  sumMoney,
  switchToYearly as switchRule,
} from "../../../contracts/index.js";
import { insertCreditNotes } from "../../../db/billing.js";
import { queryRows, type Tx } from "../../../db/database.js";
import { isUniqueViolation } from "../../../db/pg-errors.js";
import { contracts, invoices, subscriptions } from "../../../db/schema.js";
import { contractScope } from "../../auth/scope.js";
import type { AppEnv } from "../../context.js";
import { serviceContext } from "../../context.js";
import { ApiError } from "../../errors.js";
import type { AppRouteHandler } from "../../openapi.js";
import { type CommandScope, runContractCommand } from "../../services/contracts/command.js";
import { type ContractRow, findContract, termsOf, versionInForce } from "../../services/contracts/store.js";
import { creditNoteRefJson, subscriptionJson } from "./subscriptions.presenters.js";
import type * as routes from "./subscriptions.routes.js";

export type SubscriptionRow = typeof subscriptions.$inferSelect;

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

/** The dates that bound residents' fees on an operating contract (the command table admitted it). */
export function feeLimitsOf(contract: ContractRow) {
  if (!contract.operationStartDate) throw new Error("an operating contract has an operation start date");
  return { operationStart: contract.operationStartDate, transferDate: contract.transferDate };
}

/** What a subscriber of this contract may be: a household of an elevator's building, a garage slot. */
export async function facilityKindsOfContract(tx: Tx, contractId: string): Promise<Set<string>> {
  const rows = await queryRows<{ kind: string }>(
    tx,
    sql`select distinct f.kind::text as kind from contract_facilities cf join facilities f on f.id = cf.facility_id
        where cf.contract_id = ${contractId}`,
  );
  return new Set(rows.map((r) => r.kind));
}

/** The household's floor when it lives in a building served by one of the contract's elevators; else null. */
export async function householdOfContract(
  tx: Tx,
  contractId: string,
  householdId: string,
): Promise<{ floor: number } | null> {
  const [row] = await queryRows<{ floor: number }>(
    tx,
    sql`select h.floor from households h
        join facilities f on f.building_id = h.building_id and f.kind = 'elevator'
        join contract_facilities cf on cf.facility_id = f.id and cf.contract_id = ${contractId}
        where h.id = ${householdId} limit 1`,
  );
  return row ? { floor: Number(row.floor) } : null;
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

export const createSubscription: AppRouteHandler<typeof routes.createSubscription> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const row = await runContractCommand(serviceContext(c), id, { type: "subscribe" }, async (s) => {
    const limits = feeLimitsOf(s.contract);
    const errors = [];
    if (compareDates(body.startDate, limits.operationStart) < 0) {
      errors.push({
        field: "body.startDate",
        message: `is before the operation start ${limits.operationStart}`,
      });
    }
    if (limits.transferDate && compareDates(body.startDate, limits.transferDate) >= 0) {
      errors.push({
        field: "body.startDate",
        message: `is on or after the transfer date ${limits.transferDate}: billing ends then`,
      });
    }
    const kinds = await facilityKindsOfContract(s.tx, s.contract.id);
    let floor: number | undefined;
    let subscriberKey: string;
    if (body.householdId !== undefined) {
      subscriberKey = `household:${body.householdId}`;
      const home = kinds.has("elevator")
        ? await householdOfContract(s.tx, s.contract.id, body.householdId)
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
      subscriberKey = `slot:${body.slotRef ?? ""}`;
      if (!kinds.has("garage"))
        errors.push({ field: "body.slotRef", message: "this contract has no garage" });
    }
    if (errors.length) throw ApiError.validation(errors);
    const price = await priceOn(
      s.tx,
      s.contract.id,
      body.startDate,
      body.feeCode,
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
      householdId: body.householdId ?? null,
      slotRef: body.slotRef ?? null,
      feeCode: body.feeCode,
      kind: price.kind,
      unitPrice: price.price,
      priceVersionNo: price.versionNo,
      startDate: body.startDate,
      createdAt: s.now,
      updatedAt: s.now,
    });
    await s.audit("subscription.created", {
      versionNo: price.versionNo,
      payload: {
        subscriptionId: created.id,
        subscriberKey,
        feeCode: body.feeCode,
        kind: price.kind,
        unitPrice: price.price,
        startDate: body.startDate,
      },
    });
    return created;
  });
  return c.json(subscriptionJson(row), 201);
};

export const listSubscriptions: AppRouteHandler<typeof routes.listSubscriptions> = async (c) => {
  const { db } = c.var;
  const q = c.req.valid("query");
  const contract = await findContract(db, c.var.principal, c.req.valid("param").id);
  const where = and(
    eq(subscriptions.contractId, contract.id),
    q.state ? eq(subscriptions.state, q.state) : undefined,
    q.feeCode ? eq(subscriptions.feeCode, q.feeCode) : undefined,
  );
  const [rows, [total]] = await Promise.all([
    db
      .select()
      .from(subscriptions)
      .where(where)
      .orderBy(asc(subscriptions.subscriberKey), desc(subscriptions.startDate), asc(subscriptions.id))
      .limit(q.limit)
      .offset(q.offset),
    db.select({ n: count() }).from(subscriptions).where(where),
  ]);
  return c.json(
    { items: rows.map(subscriptionJson), total: total?.n ?? 0, limit: q.limit, offset: q.offset },
    200,
  );
};

/** The subscription if the caller may see its contract; 404 otherwise. */
async function findSubscription(c: Context<AppEnv>, id: string): Promise<SubscriptionRow> {
  const [row] = await c.var.db
    .select({ s: subscriptions })
    .from(subscriptions)
    .innerJoin(contracts, eq(contracts.id, subscriptions.contractId))
    .where(and(eq(subscriptions.id, id), contractScope(c.var.principal)));
  if (!row) throw ApiError.notFound("The subscription");
  return row.s;
}

export const getSubscription: AppRouteHandler<typeof routes.getSubscription> = async (c) => {
  return c.json(subscriptionJson(await findSubscription(c, c.req.valid("param").id)), 200);
};

/** Runs a command on one subscription: found in scope, its contract locked, the row re-read and locked. */
async function subscriptionCommand<T>(
  c: Context<AppEnv>,
  id: string,
  run: (s: CommandScope, sub: SubscriptionRow) => Promise<T>,
): Promise<T> {
  const found = await findSubscription(c, id);
  return runContractCommand(
    serviceContext(c),
    found.contractId,
    { type: "change_subscription" },
    async (s) => {
      const [sub] = await s.tx.select().from(subscriptions).where(eq(subscriptions.id, id)).for("update");
      if (!sub) throw ApiError.notFound("The subscription");
      return run(s, sub);
    },
  );
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

export const cancelSubscription: AppRouteHandler<typeof routes.cancelSubscription> = async (c) => {
  const { id } = c.req.valid("param");
  const { cancelDate } = c.req.valid("json");
  const today = c.var.deps.clock();
  const out = await subscriptionCommand(c, id, async (s, sub) => {
    if (sub.state !== "active" && sub.state !== "suspended") throw notRunning(sub);
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
      subscription: subscriptionJson(updated),
      refund: {
        amount: formatMoney(amount),
        unusedWholeMonths: unused,
        rule,
        creditNote: note ? creditNoteRefJson(note) : null,
      },
    };
  });
  return c.json(out, 200);
};

export const switchToYearly: AppRouteHandler<typeof routes.switchToYearly> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const out = await subscriptionCommand(c, id, async (s, sub) => {
    const [last] = await s.tx
      .select({ period: invoices.period })
      .from(invoices)
      .where(and(eq(invoices.subscriptionId, sub.id), inArray(invoices.kind, ["subscription", "final"])))
      .orderBy(desc(invoices.period))
      .limit(1);
    const result = switchRule(asDomain(sub), body.switchDate, last?.period ?? null, s.contract.transferDate);
    if (!result.ok)
      throw ApiError.conflict("switch_refused", result.reason, { currentState: sub.state, kind: sub.kind });
    let floor: number | undefined;
    if (sub.householdId) floor = (await householdOfContract(s.tx, s.contract.id, sub.householdId))?.floor;
    const price = await priceOn(
      s.tx,
      s.contract.id,
      result.yearlyStartDate,
      body.feeCode,
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
      feeCode: body.feeCode,
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
        switchDate: body.switchDate,
        monthlyEndDate: result.monthlyEndDate,
        yearlyStartDate: result.yearlyStartDate,
        unitPrice: price.price,
      },
    });
    return { ended: subscriptionJson(ended), subscription: subscriptionJson(yearly) };
  });
  return c.json(out, 200);
};
