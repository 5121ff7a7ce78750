/**
 * The enterprise's billing desk: a run from the page makes exactly the invoices the billing
 * service makes through the API, a recorded payment lowers what is outstanding to the fen, a bad
 * amount writes nothing, and nobody but the enterprise is offered the forms.
 */
import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { invoiceLines, invoices, payments } from "../../db/schema.js";
import { client, createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import {
  createInvoice,
  createOperatingContract,
  createPerson,
  createSubscription,
  createWorld,
} from "../support/factories.js";
import { portalClient, textOf } from "../support/portal.js";

let database: DatabaseHandle;
let app: TestApp;
/** 5 Dec 2026, 10:00 in Shanghai. */
const NOW = new Date("2026-12-05T02:00:00Z");

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db, { now: () => NOW });
});
afterAll(async () => database?.close());

/** An operating elevator contract with three households subscribed (2 包月 by floor, 1 包年). */
async function billedWorld() {
  const world = await createWorld(database.db);
  const { contract } = await createOperatingContract(database.db, world, {
    operationStart: "2026-01-01",
    termMonths: 180,
  });
  const [, , h3, , , , , h8, h9] = world.households;
  if (!h3 || !h8 || !h9) throw new Error("world without households");
  const subs = [
    await createSubscription(database.db, contract, { householdId: h3.id, unitPrice: "30.00" }),
    await createSubscription(database.db, contract, { householdId: h8.id, unitPrice: "50.00" }),
    await createSubscription(database.db, contract, {
      householdId: h9.id,
      unitPrice: "600.00",
      kind: "yearly",
      feeCode: "EL-Y",
      startDate: "2026-11-01",
    }),
  ];
  const clerk = await createPerson(database.db, world.enterprise.org.id, { name: "张会计" });
  const browser = portalClient(app);
  await browser.signIn(clerk.login, clerk.password);
  return { world, contract, subs, browser };
}

async function invoicesOf(contractId: string) {
  const rows = await database.db
    .select()
    .from(invoices)
    .where(eq(invoices.contractId, contractId))
    .orderBy(asc(invoices.number));
  return Promise.all(
    rows.map(async (i) => ({
      household: i.householdId,
      kind: i.kind,
      period: i.period,
      issueDate: i.issueDate,
      dueDate: i.dueDate,
      total: i.total,
      lines: (
        await database.db
          .select({ code: invoiceLines.code, quantity: invoiceLines.quantity, amount: invoiceLines.amount })
          .from(invoiceLines)
          .where(eq(invoiceLines.invoiceId, i.id))
      ).map((l) => `${l.code} ${l.quantity} ${l.amount}`),
    })),
  );
}

describe("a billing run from the page", () => {
  it("makes the invoices the billing service makes through the API, once", async () => {
    const mine = await billedWorld();
    const twin = await billedWorld();

    const page = await mine.browser.get("/billing");
    expect(page.status).toBe(200);
    const text = textOf(page.html);
    expect(text).toContain("包年");
    expect(text).toContain("¥600.00");
    expect(text).toContain("还没有账单。");

    const ran = await mine.browser.post(`/billing/${mine.contract.id}/runs`, {
      period: "2026-11",
      key: "run-1",
    });
    expect(ran.status).toBe(303);
    const api = await client(app, twin.world.enterprise.key).post(
      `/v1/contracts/${twin.contract.id}/billing-runs`,
      {
        period: "2026-11",
      },
    );
    expect(api.status).toBe(201);

    const made = await invoicesOf(mine.contract.id);
    const byApi = await invoicesOf(twin.contract.id);
    expect(made).toHaveLength(3);
    // The same invoices, household for household (each world has its own households).
    const mapHousehold = new Map(twin.world.households.map((h, i) => [h.id, mine.world.households[i]?.id]));
    // (Numbered in the order of the subscribers' keys, which differ between the worlds.)
    const byHousehold = (a: { household: string | null | undefined }, b: typeof a) =>
      (a.household ?? "").localeCompare(b.household ?? "");
    expect(made.sort(byHousehold)).toEqual(
      byApi.map((i) => ({ ...i, household: mapHousehold.get(i.household ?? "") })).sort(byHousehold),
    );
    expect(made.map((i) => i.total).sort()).toEqual(["30.00", "50.00", "600.00"]);

    const after = await mine.browser.get(ran.location ?? "");
    expect(textOf(after.html)).toContain("2026年11月 的账单已开出：3 张，合计 ¥680.00。");
    expect(after.html).toContain('data-testid="outstanding-total">¥680.00<');

    // The same month again (a second click): nothing new.
    const again = await mine.browser.post(`/billing/${mine.contract.id}/runs`, {
      period: "2026-11",
      key: "run-2",
    });
    expect(again.status).toBe(303);
    expect(textOf((await mine.browser.get(again.location ?? "")).html)).toContain("的账单早已开过");
    expect(await invoicesOf(mine.contract.id)).toHaveLength(3);
  });

  it("for a month not begun yet is refused on the page, and makes nothing", async () => {
    const mine = await billedWorld();
    await mine.browser.get("/billing");
    const res = await mine.browser.post(`/billing/${mine.contract.id}/runs`, { period: "2027-01", key: "k" });
    expect(res.status).toBe(409);
    expect(textOf(res.html)).toContain("这个月份不能开账单");
    expect(await invoicesOf(mine.contract.id)).toEqual([]);
  });
});

describe("a recorded payment", () => {
  it("lowers what is outstanding to the fen, and a repeat of it records nothing twice", async () => {
    const mine = await billedWorld();
    const [sub] = mine.subs;
    if (!sub) throw new Error("no subscription");
    const invoice = await createInvoice(database.db, mine.contract, {
      subscriberKey: sub.subscriberKey,
      subscriptionId: sub.id,
      total: "128.50",
      period: "2026-11",
      issueDate: "2026-11-01",
    });
    const page = await mine.browser.get("/billing");
    expect(page.html).toContain(`data-testid="outstanding-${invoice.number}">¥128.50<`);
    const prefix = `pay-${invoice.number}`;
    const form = {
      prefix,
      [`${prefix}-amount`]: "28.45",
      [`${prefix}-method`]: "wechat",
      [`${prefix}-externalRef`]: "WX-20261204-0001",
      [`${prefix}-receivedOn`]: "2026-12-04",
    };
    const paid = await mine.browser.post(`/billing/invoices/${invoice.id}/payments`, form);
    expect(paid.status).toBe(303);
    const after = await mine.browser.get(paid.location ?? "");
    expect(after.html).toContain(`data-testid="outstanding-${invoice.number}">¥100.05<`);
    expect(textOf(after.html)).toContain(`已登记收款 ¥28.45（${invoice.number}），这张账单还欠 ¥100.05。`);
    expect(textOf(after.html)).toContain("WX-20261204-0001");
    const [row] = await database.db.select().from(invoices).where(eq(invoices.id, invoice.id));
    expect(row?.paidAmount).toBe("28.45");

    await mine.browser.post(`/billing/invoices/${invoice.id}/payments`, form);
    expect(await database.db.select().from(payments).where(eq(payments.invoiceId, invoice.id))).toHaveLength(
      1,
    );
  });

  it("with a bad amount shows the form again with the message and writes nothing", async () => {
    const mine = await billedWorld();
    const [sub] = mine.subs;
    if (!sub) throw new Error("no subscription");
    const invoice = await createInvoice(database.db, mine.contract, {
      subscriberKey: sub.subscriberKey,
      subscriptionId: sub.id,
      total: "30.00",
      period: "2026-11",
      issueDate: "2026-11-01",
    });
    await mine.browser.get("/billing");
    const prefix = `pay-${invoice.number}`;
    for (const [amount, words] of [
      ["12.345", "请填写金额（元），最多两位小数，例如 128.50。"],
      ["-1", "金额不能是负数。"],
    ] as const) {
      const res = await mine.browser.post(`/billing/invoices/${invoice.id}/payments`, {
        prefix,
        [`${prefix}-amount`]: amount,
        [`${prefix}-method`]: "cash",
        [`${prefix}-externalRef`]: `CASH-${amount}`,
        [`${prefix}-receivedOn`]: "2026-12-05",
      });
      expect(res.status).toBe(400);
      expect(textOf(res.html)).toContain(words);
      expect(res.html).toContain(`value="${amount}"`);
    }
    const future = await mine.browser.post(`/billing/invoices/${invoice.id}/payments`, {
      prefix,
      [`${prefix}-amount`]: "30.00",
      [`${prefix}-method`]: "cash",
      [`${prefix}-externalRef`]: "CASH-FUTURE",
      [`${prefix}-receivedOn`]: "2026-12-06",
    });
    expect(future.status).toBe(400);
    expect(textOf(future.html)).toContain("日期不能晚于今天。");
    expect(await database.db.select().from(payments).where(eq(payments.invoiceId, invoice.id))).toEqual([]);
  });
});

describe("the billing page", () => {
  it("shows the not-found page for another enterprise's contract, and bills nothing of it", async () => {
    const mine = await billedWorld();
    const theirs = await billedWorld();
    const page = await mine.browser.get(`/billing?contract=${theirs.contract.id}`);
    expect(page.status).toBe(404);
    expect(page.html).not.toContain(theirs.contract.title);
    const run = await mine.browser.post(`/billing/${theirs.contract.id}/runs`, {
      period: "2026-11",
      key: "k",
    });
    expect(run.status).toBe(404);
    expect(await invoicesOf(theirs.contract.id)).toEqual([]);
  });

  it("offers an owners committee member neither a billing run nor a payment form", async () => {
    const mine = await billedWorld();
    const [sub] = mine.subs;
    if (!sub) throw new Error("no subscription");
    await createInvoice(database.db, mine.contract, {
      subscriberKey: sub.subscriberKey,
      subscriptionId: sub.id,
      total: "30.00",
      period: "2026-11",
      issueDate: "2026-11-01",
    });
    const member = await createPerson(database.db, mine.world.ownersCommittee.org.id);
    const browser = portalClient(app);
    await browser.signIn(member.login, member.password);
    const page = await browser.get(`/billing?contract=${mine.contract.id}`);
    expect(page.status).toBe(200);
    expect(textOf(page.html)).toContain("¥30.00");
    expect(page.html).not.toContain('/payments"');
    expect(page.html).not.toContain(`/billing/${mine.contract.id}/runs`);
    const refused = await browser.post(`/billing/${mine.contract.id}/runs`, { period: "2026-11", key: "x" });
    expect(refused.status).toBe(403);
    expect(await invoicesOf(mine.contract.id)).toHaveLength(1);
  });
});
