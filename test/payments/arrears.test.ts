import { eq } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { applyArrearsStanding } from "../../db/ledger.js";
import { auditLog, subscriptions } from "../../db/schema.js";
import { startArrearsSweep } from "../../src/services/fees/arrears.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createBilledHousehold, createInvoice, createSubscription } from "../support/factories.js";

let database: DatabaseHandle;
let clock = new Date("2026-03-01T00:00:00Z");

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const api = (key: string) => client(createTestApp(database.db, { now: () => clock }), key);

async function stateOf(id: string) {
  const [row] = await database.db
    .select({ state: subscriptions.state })
    .from(subscriptions)
    .where(eq(subscriptions.id, id));
  return row?.state;
}

describe("suspension for arrears", () => {
  it("suspends after the due date plus grace (Shanghai days), and a payment of the arrears reinstates", async () => {
    // Issued 2026-03-01, due 2026-03-16 (15 days), grace 15 days: suspendable from 2026-04-01.
    const { world, subscription, invoice } = await createBilledHousehold(database.db, { total: "60.00" });
    expect(invoice.dueDate).toBe("2026-03-16");
    const sweep = startArrearsSweep({
      db: database.db,
      clock: () => clock,
      logger: pino({ level: "silent" }),
      intervalMs: 3_600_000,
      // The suite may share one PostgreSQL: sweep only this test's contract.
      only: { contractId: invoice.contractId },
    });
    try {
      clock = new Date("2026-03-31T15:59:00Z"); // 23:59 on 2026-03-31 in Shanghai: still in grace
      await sweep.tick();
      expect(await stateOf(subscription.id)).toBe("active");

      clock = new Date("2026-03-31T23:30:00Z"); // 23:30 UTC = 07:30 on 2026-04-01 in Shanghai
      const changes = await sweep.tick();
      expect(changes.filter((c) => c.subscriptionId === subscription.id)).toEqual([
        expect.objectContaining({ state: "suspended", subscriberKey: subscription.subscriberKey }),
      ]);
      expect(await stateOf(subscription.id)).toBe("suspended");
      // Idempotent: a second sweep (another instance) changes nothing.
      const again = await Promise.all([
        sweep.tick(),
        applyArrearsStanding(database.db, "2026-04-01", { contractId: invoice.contractId }),
      ]);
      expect(again.flat().filter((c) => c.subscriptionId === subscription.id)).toEqual([]);
    } finally {
      sweep.stop();
    }

    clock = new Date("2026-04-02T02:00:00Z");
    const pay = (amount: string, ref: string) =>
      api(world.enterprise.key).post(`/v1/invoices/${invoice.id}/payments`, {
        amount,
        method: "cash",
        externalRef: ref,
        receivedOn: "2026-04-02",
      });
    await pay("59.99", "ARR-1");
    expect(await stateOf(subscription.id)).toBe("suspended"); // 0.01 still owed
    await pay("0.01", "ARR-2");
    expect(await stateOf(subscription.id)).toBe("active");
    const audit = await database.db
      .select({ action: auditLog.action })
      .from(auditLog)
      .where(eq(auditLog.contractId, invoice.contractId))
      .orderBy(auditLog.seq);
    expect(audit.map((a) => a.action)).toEqual([
      "payment.recorded",
      "payment.recorded",
      "subscription.reinstated",
    ]);
  });

  it("keeps a subscription suspended while another invoice is overdue; honours the contract's grace days", async () => {
    const { world, contract, subscription, invoice } = await createBilledHousehold(database.db, {
      contract: { paymentGraceDays: 3, invoiceDueDays: 10 },
    });
    // A usage invoice of the same subscriber, also overdue.
    const rides = await createInvoice(database.db, contract, {
      subscriberKey: subscription.subscriberKey,
      total: "4.50",
      period: "2026-02",
      issueDate: "2026-03-01",
      dueDate: "2026-03-11",
    });
    // due 2026-03-11 + 3 days of grace: fine on 03-14, suspended on 03-15.
    expect(await applyArrearsStanding(database.db, "2026-03-14", { contractId: contract.id })).toEqual([]);
    expect(await applyArrearsStanding(database.db, "2026-03-15", { contractId: contract.id })).toHaveLength(
      1,
    );

    clock = new Date("2026-03-20T02:00:00Z");
    await api(world.enterprise.key).post(`/v1/invoices/${invoice.id}/payments`, {
      amount: "100.00",
      method: "wechat",
      externalRef: "K-1",
      receivedOn: "2026-03-20",
    });
    expect(await stateOf(subscription.id)).toBe("suspended");
    const paid = await api(world.enterprise.key).post(`/v1/invoices/${rides.id}/payments`, {
      amount: "4.50",
      method: "wechat",
      externalRef: "K-2",
      receivedOn: "2026-03-20",
    });
    expect(paid.status).toBe(201);
    expect(await stateOf(subscription.id)).toBe("active");
  });

  it("never touches cancelled or ended subscriptions", async () => {
    const { contract, household, subscription } = await createBilledHousehold(database.db);
    await database.db
      .update(subscriptions)
      .set({ state: "cancelled", endDate: "2026-03-31" })
      .where(eq(subscriptions.id, subscription.id));
    const next = await createSubscription(database.db, contract, {
      householdId: household.id,
      startDate: "2026-05-01",
    });
    const changes = await applyArrearsStanding(database.db, "2026-06-01", { contractId: contract.id });
    // The old subscription's unpaid invoice suspends the subscriber's running one.
    expect(changes).toEqual([expect.objectContaining({ subscriptionId: next.id, state: "suspended" })]);
    expect(await stateOf(subscription.id)).toBe("cancelled");
  });

  // The unfiltered sweep touches every contract, so it runs in a transaction that is rolled back:
  // on a PostgreSQL the whole suite shares, other files' subscriptions are left as they were.
  it("the unfiltered sweep covers every contract", async () => {
    const a = await createBilledHousehold(database.db);
    const b = await createBilledHousehold(database.db, { contract: { paymentGraceDays: 30 } });
    const rolledBack = new Error("roll back");
    await database.db
      .transaction(async (tx) => {
        const changes = await applyArrearsStanding(tx, "2026-04-01");
        const ids = changes.map((c) => c.subscriptionId);
        expect(ids).toContain(a.subscription.id);
        expect(ids).not.toContain(b.subscription.id); // still within its 30 days of grace
        expect(await applyArrearsStanding(tx, "2026-04-01")).toEqual([]);
        throw rolledBack;
      })
      .catch((err: unknown) => {
        if (err !== rolledBack) throw err;
      });
    expect(await stateOf(a.subscription.id)).toBe("active");
    expect(await stateOf(b.subscription.id)).toBe("active");
  });
});
