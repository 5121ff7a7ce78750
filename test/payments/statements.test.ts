import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import {
  createBilledHousehold,
  createCreditNoteRecord,
  createInvoice,
  createLedgerContract,
  createOrg,
  createSubscription,
  createWorld,
} from "../support/factories.js";

let database: DatabaseHandle;
let clock = new Date("2026-06-30T02:00:00Z");

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const api = (key: string) => client(createTestApp(database.db, { now: () => clock }), key);

describe("a household's statement", () => {
  it("its balance is invoices − payments − credits + refunds, to the fen", async () => {
    clock = new Date("2026-04-10T02:00:00Z");
    const { world, contract, household, subscription, invoice } = await createBilledHousehold(database.db, {
      total: "100.00",
    });
    const key = subscription.subscriberKey;
    const rides = await createInvoice(database.db, contract, {
      subscriberKey: key,
      total: "55.55",
      period: "2026-03",
      issueDate: "2026-04-01",
    });
    const ent = api(world.enterprise.key);
    const pay = (amount: string, ref: string) =>
      ent.post(`/v1/invoices/${invoice.id}/payments`, {
        amount,
        method: "alipay",
        externalRef: ref,
        receivedOn: "2026-04-02",
      });
    expect((await pay("30.00", "A1")).status).toBe(201);
    const over = await pay("90.00", "A2");
    expect(over.body.creditNote.amount).toBe("20.00");
    await createCreditNoteRecord(database.db, contract, { subscriberKey: key, amount: "12.34" });
    const refund = await ent.post(`/v1/credit-notes/${over.body.creditNote.id}/refunds`, {
      amount: "5.00",
      method: "cash",
      externalRef: "R1",
      paidOn: "2026-04-03",
    });
    expect(refund.status).toBe(201);

    const url = `/v1/statements/households/${household.id}?contractId=${contract.id}`;
    for (const party of [
      world.enterprise,
      world.ownersCommittee,
      world.propertyCompany,
      world.streetOffice,
    ]) {
      const res = await api(party.key).get(url);
      expect(res.status).toBe(200);
      // 155.55 − 120.00 − 12.34 + 5.00 = 28.21 = outstanding 55.55 − credit in hand (15.00 + 12.34)
      expect(res.body.totals).toEqual({
        invoiced: "155.55",
        paid: "120.00",
        credited: "12.34",
        refunded: "5.00",
        balance: "28.21",
        outstanding: "55.55",
        creditAvailable: "27.34",
      });
    }
    const res = await ent.get(url);
    expect(
      res.body.invoices.map((i: { number: string; outstanding: string }) => [i.number, i.outstanding]),
    ).toEqual([
      [invoice.number, "0.00"],
      [rides.number, "55.55"],
    ]);
    expect(res.body.payments.map((p: { appliedAmount: string }) => p.appliedAmount)).toEqual([
      "30.00",
      "70.00",
    ]);
    expect(
      res.body.creditNotes.map((n: { reason: string; remaining: string }) => [n.reason, n.remaining]),
    ).toEqual([
      ["overpayment", "15.00"],
      ["cancellation", "12.34"],
    ]);
    expect(res.body.refunds).toHaveLength(1);
    expect(res.body.subscriptions[0]).toMatchObject({ id: subscription.id, state: "active" });

    const stranger = await createOrg(database.db, { kind: "enterprise", streetId: world.street.id });
    expect((await api(stranger.key).get(url)).status).toBe(404);
    const elsewhere = await createWorld(database.db);
    const foreign = elsewhere.households[0]?.id ?? "";
    expect((await ent.get(`/v1/statements/households/${foreign}?contractId=${contract.id}`)).status).toBe(
      404,
    );
    const missing = await ent.get(`/v1/statements/households/${household.id}`);
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0].field).toBe("query.contractId");
  });

  it("a garage slot's statement is read by its subscriber key", async () => {
    const world = await createWorld(database.db);
    const contract = await createLedgerContract(database.db, world);
    const sub = await createSubscription(database.db, contract, { slotRef: "G3-017", unitPrice: "25.00" });
    await createInvoice(database.db, contract, {
      subscriberKey: sub.subscriberKey,
      subscriptionId: sub.id,
      total: "25.00",
      period: "2026-03",
      issueDate: "2026-03-01",
    });
    const res = await api(world.ownersCommittee.key).get(
      `/v1/statements/subscribers?contractId=${contract.id}&subscriberKey=slot:G3-017`,
    );
    expect(res.status).toBe(200);
    expect(res.body.totals.balance).toBe("25.00");
    const bad = await api(world.ownersCommittee.key).get(
      `/v1/statements/subscribers?contractId=${contract.id}&subscriberKey=G3-017`,
    );
    expect(bad.body.errors[0].field).toBe("query.subscriberKey");
  });
});

describe("a contract's receivables", () => {
  it("ages what is outstanding at the bucket boundaries (0/1, 30/31, 60/61, 90/91 days past due)", async () => {
    const world = await createWorld(database.db);
    const contract = await createLedgerContract(database.db, world);
    const key = `slot:AGE-${contract.id.slice(0, 8)}`;
    await createSubscription(database.db, contract, { slotRef: key.slice(5) });
    // due date → amount; as of 2026-06-30
    const due: [string, string][] = [
      ["2026-07-05", "1.00"], // not yet due: current
      ["2026-06-30", "2.00"], // 0 days: current
      ["2026-06-29", "4.00"], // 1 day: days1To30
      ["2026-05-31", "8.00"], // 30 days: days1To30
      ["2026-05-30", "16.00"], // 31 days: 31-60
      ["2026-05-01", "32.00"], // 60 days: 31-60
      ["2026-04-30", "64.00"], // 61 days: 61-90
      ["2026-04-01", "128.00"], // 90 days: 61-90
      ["2026-03-31", "256.00"], // 91 days: 90+
    ];
    const made = [];
    for (const [i, [dueDate, total]] of due.entries()) {
      made.push(
        await createInvoice(database.db, contract, {
          subscriberKey: key,
          total,
          period: `2025-${String(i + 1).padStart(2, "0")}`,
          issueDate: "2026-03-01",
          dueDate,
        }),
      );
    }
    // Issued after asOf: not a receivable yet.
    await createInvoice(database.db, contract, {
      subscriberKey: key,
      total: "999.00",
      period: "2025-12",
      issueDate: "2026-07-01",
    });
    const ent = api(world.enterprise.key);
    clock = new Date("2026-06-29T02:00:00Z");
    const pay = (invoiceId: string, amount: string, receivedOn: string, ref: string) =>
      ent.post(`/v1/invoices/${invoiceId}/payments`, {
        amount,
        method: "card",
        externalRef: ref,
        receivedOn,
      });
    // 0.50 of the 90+ invoice paid before asOf.
    expect((await pay(made[8]?.id ?? "", "0.50", "2026-06-01", "P1")).status).toBe(201);
    clock = new Date("2026-07-03T02:00:00Z");
    // Received after asOf: does not count as of 2026-06-30.
    expect((await pay(made[7]?.id ?? "", "28.00", "2026-07-02", "P2")).status).toBe(201);

    const expected = {
      current: "3.00",
      days1To30: "12.00",
      days31To60: "48.00",
      days61To90: "192.00",
      over90Days: "255.50",
    };
    const res = await api(world.streetOffice.key).get(
      `/v1/contracts/${contract.id}/receivables?asOf=2026-06-30`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      asOf: "2026-06-30",
      invoiceCount: 9,
      openInvoiceCount: 9,
      totals: {
        invoiced: "511.00",
        creditApplied: "0.00",
        collected: "0.50",
        received: "0.50",
        outstanding: "510.50",
      },
      aging: expected,
    });

    // Without asOf: today in Shanghai. 23:59 on 2026-06-30 there is still the 30th…
    clock = new Date("2026-06-30T15:59:00Z");
    const late = await api(world.ownersCommittee.key).get(`/v1/contracts/${contract.id}/receivables`);
    expect(late.body.asOf).toBe("2026-06-30");
    expect(late.body.aging).toEqual(expected);
    // …and 16:00 UTC is already 2026-07-01: every invoice one day later.
    clock = new Date("2026-06-30T16:00:00Z");
    const next = await api(world.propertyCompany.key).get(`/v1/contracts/${contract.id}/receivables`);
    expect(next.body.asOf).toBe("2026-07-01");
    expect(next.body.aging).toEqual({
      current: "1000.00", // 1.00 + the 999.00 issued that day
      days1To30: "6.00",
      days31To60: "24.00",
      days61To90: "96.00",
      over90Days: "383.50",
    });
    expect(next.body.invoiceCount).toBe(10);
  });
});
