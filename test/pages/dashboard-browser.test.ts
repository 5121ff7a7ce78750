/**
 * The street office's dashboard in a real Chromium: a street office member signs in and opens it
 * on a phone (360 px) and at a desk (1280 px). No serious accessibility violation, no sideways
 * scrolling, the charts are images with their names, their figures a tap away; screenshots
 * `dashboard-360.png` and `dashboard-1280.png`.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDays, addMonths } from "../../contracts/dates.js";
import type { DatabaseHandle } from "../../db/client.js";
import { createSensor, event } from "../iot/support.js";
import { client, createTestApp } from "../support/app.js";
import {
  DESK,
  launchChromium,
  openContext,
  overflowsSideways,
  PHONE,
  screenshots,
  seriousAxeViolations,
  serve,
  signInAs,
} from "../support/browser.js";
import { openTestDatabase } from "../support/db.js";
import {
  createFacility,
  createInvoice,
  createLedgerContract,
  createOperatingContract,
  createPerson,
  createSubscription,
  createWorld,
} from "../support/factories.js";

const NOW = new Date("2026-12-05T12:00:00+08:00");
const TODAY = "2026-12-05";

let database: DatabaseHandle;
let server: { base: string; close: () => Promise<void> };
let browser: Browser;

beforeAll(async () => {
  database = await openTestDatabase();
  const app = createTestApp(database.db, { now: () => NOW });
  server = await serve(app);
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await database?.close();
});

/** A street with a little of everything the dashboard shows. */
async function street() {
  const db = database.db;
  const world = await createWorld(db);
  const app = createTestApp(db, { now: () => NOW });
  await createFacility(db, { kind: "garage", streetId: world.street.id, communityId: world.community.id });
  const soon = await createOperatingContract(db, world, {
    operationStart: addMonths(addDays(TODAY, 45), -60),
    termMonths: 60,
  });
  const ledger = await createLedgerContract(db, world);
  const home = world.households[6];
  if (!home) throw new Error("no household");
  const sub = await createSubscription(db, ledger, { householdId: home.id, unitPrice: "50.00" });
  for (const month of ["2026-09", "2026-10", "2026-11"]) {
    await createInvoice(db, ledger, {
      subscriberKey: sub.subscriberKey,
      subscriptionId: sub.id,
      total: "50.00",
      period: month,
      issueDate: `${month}-01`,
    });
  }
  const sensor = await createSensor(db, world, soon.facility.id);
  for (const [day, minutes] of [
    ["2026-10-20", 3],
    ["2026-11-12", 4],
    ["2026-11-13", 1],
    ["2026-12-02", 6],
  ] as const) {
    const base = Date.parse(`${day}T08:30:00+08:00`);
    const sent = await client(app, sensor.key).post(`/v1/sensors/${sensor.id}/events`, [
      event("ebike_detected", 0, {}, base),
      event("ebike_cleared", minutes * 60, {}, base),
    ]);
    expect(sent.status).toBe(200);
  }
  const person = await createPerson(db, world.streetOffice.org.id, { name: "街道刘科长" });
  return { world, person };
}

describe("the street office's dashboard in a browser", () => {
  it("is readable at 360 px and 1280 px, accessible, with its charts named", async () => {
    const { world, person } = await street();
    const { context, problems } = await openContext(browser, PHONE);
    const page = await context.newPage();
    await signInAs(page, server.base, person.login, person.password);
    await page.goto(`${server.base}/dashboard`);
    await expect
      .poll(() => page.getByRole("heading", { level: 1 }).textContent())
      .toBe(`街道概览：${world.street.name}`);

    for (const name of [
      "非机动车库改造进度",
      "加装电梯进度",
      "各状态的合同数",
      "每周电动车进梯次数（近 12 周）",
      "每周停梯分钟数（近 12 周）",
      "各小区逾期欠费",
    ]) {
      expect(await page.getByRole("img", { name }).count(), name).toBe(1);
    }
    // The figures behind a chart open in a table.
    await page.getByText("查看每周数字").first().click();
    const lastWeek = page.locator("#incidents-weekly tbody tr").last();
    expect(await lastWeek.textContent()).toContain("1 次");
    await expect.poll(() => page.getByRole("cell", { name: "还有 45 天" }).count()).toBe(1);

    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);

    await page.setViewportSize(DESK);
    expect(await overflowsSideways(page)).toBe(false);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.setViewportSize(PHONE);

    await screenshots(page, "dashboard");
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});
