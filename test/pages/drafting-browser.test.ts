/**
 * The enterprise's clerk on a phone (360 px, Chromium): signs in, drafts a contract with per-floor
 * prices, saves it, submits it to the owners committee, and records a payment on the billing desk. axe-core on
 * every page, no sideways scrolling, no console error or CSP violation; screenshots for review.
 */
import { eq } from "drizzle-orm";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { contracts, contractVersions, feeItems } from "../../db/schema.js";
import { createTestApp } from "../support/app.js";
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
import {
  createInvoice,
  createOperatingContract,
  createPerson,
  createSubscription,
  createWorld,
} from "../support/factories.js";

let database: DatabaseHandle;
let browser: Browser;
let server: { base: string; close: () => Promise<void> };

beforeAll(async () => {
  database = await openTestDatabase();
  server = await serve(createTestApp(database.db));
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await database?.close();
});

describe("an enterprise clerk on a phone", () => {
  it("drafts a contract with per-floor prices, submits it, and records a payment on the billing desk", async () => {
    const world = await createWorld(database.db);
    // Something to bill: an operating contract of the same enterprise with a subscriber and an invoice.
    const { contract: operating } = await createOperatingContract(database.db, world, {
      operationStart: "2026-01-01",
      termMonths: 180,
    });
    const home = world.households[6];
    if (!home) throw new Error("world without households");
    const sub = await createSubscription(database.db, operating, {
      householdId: home.id,
      unitPrice: "40.00",
    });
    await createInvoice(database.db, operating, {
      subscriberKey: sub.subscriberKey,
      subscriptionId: sub.id,
      total: "40.00",
      period: "2026-11",
      issueDate: "2026-11-01",
    });
    const clerk = await createPerson(database.db, world.enterprise.org.id, { name: "张会计" });

    const { context, problems } = await openContext(browser);
    const page = await context.newPage();
    await signInAs(page, server.base, clerk.login, clerk.password);

    await page.goto(`${server.base}/drafts`);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.getByRole("link", { name: "起草新合同" }).click();
    await page.waitForURL(/\/drafts\/new$/);
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);

    const title = `国伟新苑3号楼加装电梯 ${world.community.id.slice(0, 6)}`;
    await page.getByLabel("合同名称").fill(title);
    await page.getByLabel("小区").selectOption({ label: world.community.name });
    await page.getByLabel("业委会").selectOption({ label: world.ownersCommittee.org.name });
    await page.getByLabel("物业公司").selectOption({ label: world.propertyCompany.org.name });
    await page.getByLabel(/街道办事处/).selectOption({ label: world.streetOffice.org.name });
    await page.getByLabel(new RegExp(world.elevator.name)).check();
    await page.getByLabel("合同摘要").fill("3号楼加装电梯一部，一楼不收费");
    await page.getByLabel("总投资（元）").fill("800000.00");
    await page.getByLabel("企业出资（元）").fill("680000.00");
    await page.getByLabel(/街道引导资金/).fill("120000.00");
    await page.getByLabel(/运营期（月）/).fill("180");
    await page.getByLabel("维保责任").fill("企业承担运营期内全部维保费用");
    const prices: Record<number, string> = { 2: "30.00", 3: "38.80", 4: "45.05", 5: "52.10", 6: "60.99" };
    const first = page.getByRole("group", { name: "收费项目 1" });
    for (const [floor, price] of Object.entries(prices)) {
      await first.getByLabel(`${floor} 楼的价格（元）`).fill(price);
    }
    const second = page.getByRole("group", { name: "收费项目 2" });
    await second.getByLabel("价格（元）", { exact: false }).first().fill("600.00");
    await page.getByRole("group", { name: "移交条件 1" }).getByLabel("编号").fill("INSPECT");
    await page.getByRole("group", { name: "移交条件 1" }).getByLabel("内容").fill("移交前通过年度检验");

    await Promise.all([
      page.waitForURL(/\/drafts\/[^/]+\/edit\?saved=1$/),
      page.getByRole("button", { name: "保存为草稿" }).click(),
    ]);
    expect(await page.getByRole("status").textContent()).toBe("草稿已保存。");
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);
    await screenshots(page, "drafting-editor");

    const [row] = await database.db.select().from(contracts).where(eq(contracts.title, title));
    if (!row) throw new Error("no contract drafted");
    const [fee] = await database.db
      .select({ floorPrices: feeItems.floorPrices })
      .from(feeItems)
      .innerJoin(contractVersions, eq(contractVersions.id, feeItems.versionId))
      .where(eq(contractVersions.contractId, row.id))
      .orderBy(feeItems.position);
    expect(fee?.floorPrices).toEqual(
      Object.entries(prices).map(([floor, price]) => ({ floor: Number(floor), price })),
    );

    await Promise.all([
      page.waitForURL(/\/drafts\?submitted=/),
      page.getByRole("button", { name: "提交业委会审阅" }).click(),
    ]);
    expect(await page.getByRole("status").textContent()).toContain("已提交业委会审阅");
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);
    const [submitted] = await database.db.select().from(contracts).where(eq(contracts.id, row.id));
    expect(submitted?.state).toBe("submitted");

    await page.getByRole("link", { name: "收费" }).click();
    await page.waitForURL(/\/billing$/);
    expect(await page.getByTestId("outstanding-total").textContent()).toBe("¥40.00");
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);
    await screenshots(page, "billing");

    // A resident paid part of the bill by WeChat: the clerk records it.
    const invoice = page.locator("details", { hasText: "登记收款" }).first();
    await invoice.locator("summary").click();
    await invoice.getByLabel("金额（元）").fill("15.50");
    await invoice.getByLabel("付款方式").selectOption({ label: "微信" });
    await invoice.getByLabel(/流水号或收据号/).fill("WX-20261205-0007");
    await Promise.all([
      page.waitForURL(/paid=/),
      invoice.getByRole("button", { name: "登记这笔收款" }).click(),
    ]);
    expect(await page.getByTestId("outstanding-total").textContent()).toBe("¥24.50");
    expect(await page.getByRole("status").textContent()).toContain("这张账单还欠 ¥24.50");
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);

    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});
