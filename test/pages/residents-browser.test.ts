/**
 * In a real Chromium at a phone's width: a property company member issues a household link (its
 * QR code shown), a resident with no account opens it and reads the bills to the fen and the
 * transfer date; an owners committee member reviews an operation report beside the platform's
 * figures. axe-core on every page, no sideways scrolling, no console error or CSP violation.
 */
import { eq } from "drizzle-orm";
import pino from "pino";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { hashKey } from "../../db/keys.js";
import { invoices, operationReports, payments } from "../../db/schema.js";
import { createApp } from "../../src/app.js";
import { TEST_ADMIN_TOKEN } from "../support/app.js";
import {
  launchChromium,
  openContext,
  overflowsSideways,
  screenshots,
  seriousAxeViolations,
  serve,
  signInAs,
} from "../support/browser.js";
import { openTestDatabase } from "../support/db.js";
import { createBilledHousehold, createInvoice, createPerson } from "../support/factories.js";
import { textOf } from "../support/portal.js";

let database: DatabaseHandle;
let browser: Browser;
let server: Awaited<ReturnType<typeof serve>>;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createApp({
    db: database.db,
    logger: pino({ level: "silent" }),
    clock: () => new Date(),
    adminTokenHash: hashKey(TEST_ADMIN_TOKEN),
  });
  server = await serve(app);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await database?.close();
});

describe("household links and operation reports in a browser", () => {
  it("a property company issues a link with its QR code; a resident opens it on a phone with no account", async () => {
    const { world, household, invoice, contract, subscription } = await createBilledHousehold(database.db, {
      contract: { transferDate: "2031-01-01" },
      total: "128.50",
    });
    await database.db.update(invoices).set({ paidAmount: "28.49" }).where(eq(invoices.id, invoice.id));
    await database.db.insert(payments).values({
      invoiceId: invoice.id,
      contractId: contract.id,
      enterpriseOrgId: contract.enterpriseOrgId,
      subscriberKey: subscription.subscriberKey,
      amount: "28.49",
      appliedAmount: "28.49",
      method: "cash",
      externalRef: `cash-${invoice.id}`,
      receivedOn: "2026-03-12",
    });
    await createInvoice(database.db, contract, {
      subscriberKey: subscription.subscriberKey,
      subscriptionId: subscription.id,
      total: "40.00",
      period: "2026-04",
      issueDate: "2026-04-01",
    });
    const staff = await createPerson(database.db, world.propertyCompany.org.id, { name: "物业小张" });

    const issuer = await openContext(browser);
    const page = await issuer.context.newPage();
    await signInAs(page, server.base, staff.login, staff.password);
    await page.goto(`${server.base}/households`);
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);
    await page.getByLabel("搜索楼号、单元或房号").fill(world.building.name);
    await Promise.all([page.waitForURL(/\?q=/), page.getByRole("button", { name: "搜索" }).click()]);
    await Promise.all([
      page.waitForURL(new RegExp(`/households/${household.id}$`)),
      page.getByRole("link", { name: new RegExp(`管理链接：.* ${household.room}室$`) }).click(),
    ]);
    await page.getByRole("button", { name: "生成新链接" }).click();
    const qr = page.getByRole("img", { name: /住户链接二维码/ });
    await qr.waitFor();
    expect(await qr.isVisible()).toBe(true);
    const link = (await page.getByTestId("household-link").textContent())?.trim() ?? "";
    expect(link).toMatch(new RegExp(`^${server.base}/h/[\\w-]{43}$`));
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);
    await screenshots(page, "households-link");
    expect(issuer.problems).toEqual([]);
    await issuer.context.close();

    const resident = await openContext(browser);
    const phone = await resident.context.newPage();
    const res = await phone.goto(link);
    expect(res?.status()).toBe(200);
    const text = textOf(await phone.locator("main").innerHTML());
    expect(text).toContain(`${household.unit}单元 ${household.room}室`);
    // ¥128.50 − ¥28.49 = ¥100.01 on March; April ¥40.00 unpaid: ¥140.01 owed of ¥168.50.
    expect(text).toContain("¥100.01");
    expect(text).toContain("¥28.49");
    expect(text).toMatch(/账单合计 ¥168\.50 已付款 ¥28\.49 尚欠 ¥140\.01/);
    expect(text).toContain("目前尚欠合计： ¥140.01");
    expect(text).toContain("2031年1月1日 起，设施归全体业主所有");
    expect(await seriousAxeViolations(phone)).toEqual([]);
    expect(await overflowsSideways(phone)).toBe(false);
    await screenshots(phone, "resident-household");
    expect(resident.problems).toEqual([]);
    await resident.context.close();
  }, 120_000);

  it("an owners committee member reviews a report beside the platform's figures and accepts it", async () => {
    const { world, contract, subscription } = await createBilledHousehold(database.db, {
      contract: { transferDate: "2031-01-01" },
    });
    await createInvoice(database.db, contract, {
      subscriberKey: subscription.subscriberKey,
      subscriptionId: subscription.id,
      total: "60.00",
      period: "2026-11",
      issueDate: "2026-11-01",
    });
    // The enterprise's clerk files November through the form, typing less than was billed.
    const clerk = await createPerson(database.db, world.enterprise.org.id, { name: "企业小李" });
    const office = await openContext(browser);
    const desk = await office.context.newPage();
    await signInAs(desk, server.base, clerk.login, clerk.password);
    await desk.goto(`${server.base}/reports`);
    expect(await seriousAxeViolations(desk)).toEqual([]);
    await Promise.all([
      desk.waitForURL(/\/reports\/new\?contract=/),
      desk.getByRole("link", { name: /填报运营报告/ }).click(),
    ]);
    await desk.getByLabel("报告月份").fill("2026-11");
    await Promise.all([
      desk.waitForURL(/period=2026-11/),
      desk.getByRole("button", { name: "换成这个月份" }).click(),
    ]);
    const revenue = desk.getByLabel("EL-M（EL-M）");
    expect(await revenue.inputValue()).toBe("60.00");
    expect(await seriousAxeViolations(desk)).toEqual([]);
    expect(await overflowsSideways(desk)).toBe(false);
    await screenshots(desk, "report-new");
    await revenue.fill("50.00");
    await desk.getByLabel("维保费").fill("300.00");
    await desk.getByLabel("电费").fill("120.50");
    await desk.getByLabel("保险费").fill("40.00");
    await desk.getByLabel("其他费用").fill("0.00");
    await desk.getByLabel("可用率（%）").fill("99.50");
    await desk.getByLabel("维保记录").fill("2026-11-03 月度保养");
    await Promise.all([
      desk.waitForURL(/\/reports\/[0-9a-f-]{36}\?done=filed$/),
      desk.getByRole("button", { name: "提交报告" }).click(),
    ]);
    const id = /\/reports\/([0-9a-f-]{36})/.exec(desk.url())?.[1] ?? "";
    expect(office.problems).toEqual([]);
    await office.context.close();

    const member = await createPerson(database.db, world.ownersCommittee.org.id, { name: "业委会老王" });
    const committee = await openContext(browser);
    const page = await committee.context.newPage();
    await signInAs(page, server.base, member.login, member.password);
    await page.goto(`${server.base}/reports/${id}`);
    const table = textOf(await page.getByTestId("comparison").innerHTML());
    expect(table).toMatch(/¥50\.00 ¥60\.00 -¥10\.00 ⚠ 有差异/);
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);
    await screenshots(page, "report-review");
    await Promise.all([
      page.waitForURL(/done=accepted/),
      page.getByRole("button", { name: "接受报告" }).click(),
    ]);
    expect(await page.getByTestId("report-status").textContent()).toContain("已接受");
    expect(await seriousAxeViolations(page)).toEqual([]);
    const [row] = await database.db.select().from(operationReports).where(eq(operationReports.id, id));
    expect(row?.status).toBe("accepted");
    expect(committee.problems).toEqual([]);
    await committee.context.close();
  }, 120_000);
});
