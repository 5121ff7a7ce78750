/**
 * The alerts page in a real Chromium at a phone's width: an admin adds a channel by clicking, sends
 * a test, reads the delivery log; both pages pass axe-core and do not scroll sideways.
 */
import pino from "pino";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { createApp } from "../../src/app.js";
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
import { createPerson, createWorld } from "../support/factories.js";

let database: DatabaseHandle;
let browser: Browser;
let server: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  database = await openTestDatabase();
  server = await serve(
    createApp({ db: database.db, logger: pino({ level: "silent" }), clock: () => new Date() }),
  );
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await database?.close();
});

describe("the alerts page in Chromium", () => {
  it("an admin adds a WeCom robot by clicking, sends a test and reads its log on a phone", async () => {
    const world = await createWorld(database.db);
    const admin = await createPerson(database.db, world.propertyCompany.org.id, {
      role: "admin",
      name: "张经理",
    });
    const { context, problems } = await openContext(browser);
    const page = await context.newPage();
    await signInAs(page, server.base, admin.login, admin.password);
    await page.getByRole("link", { name: "提醒" }).first().click();
    await page.waitForURL(`${server.base}/alerts`);
    expect(await page.getByLabel("超时未处理：多少分钟后提醒").inputValue()).toBe("5");
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);

    await page.getByLabel("名称", { exact: true }).fill("物业值班群");
    await page.getByLabel("渠道", { exact: true }).selectOption("wecom");
    await page
      .getByLabel(/^地址/)
      .fill("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0a1b2c3d-4e5f-6789-abcd-ef0123456789");
    await page.getByLabel("电动车拦停").check();
    await page.getByLabel("传感器离线").check();
    await Promise.all([
      page.waitForURL((url) => url.pathname === "/alerts" && url.search.includes("added")),
      page.getByRole("button", { name: "添加" }).click(),
    ]);
    expect(await page.getByRole("status").textContent()).toContain("已添加“物业值班群”");
    expect(await page.getByTestId("masked-url").textContent()).toBe(
      "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***",
    );
    expect(await page.getByText("电动车拦停、传感器离线").count()).toBe(1);
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);
    await screenshots(page, "alerts");

    await Promise.all([
      page.waitForURL((url) => url.pathname.startsWith("/alerts/") && url.search.includes("tested")),
      page.getByRole("button", { name: "发送测试 物业值班群" }).click(),
    ]);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("发送记录：物业值班群");
    expect(await page.getByTestId("delivery").count()).toBe(1);
    expect(await page.getByTestId("delivery").textContent()).toContain("测试消息");
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);
    await screenshots(page, "alerts-log");
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it("a member reads the page without forms, and it passes axe too", async () => {
    const world = await createWorld(database.db);
    const member = await createPerson(database.db, world.streetOffice.org.id);
    const { context, problems } = await openContext(browser);
    const page = await context.newPage();
    await signInAs(page, server.base, member.login, member.password);
    await page.goto(`${server.base}/alerts`);
    expect(await page.getByText("只有管理员可以添加或更改提醒渠道。").count()).toBe(1);
    expect(await page.getByRole("button", { name: "添加" }).count()).toBe(0);
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
});
