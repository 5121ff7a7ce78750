/**
 * The owners committee's journey in a real Chromium at a phone's width: a member invited by the
 * committee's admin opens a submitted contract, records the owners' vote and approves it; a
 * failing vote names the threshold it missed and offers no approval; another community's member
 * sees the not-found page. Every page passes axe-core and does not scroll sideways.
 */
import pino from "pino";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { createApp } from "../../src/app.js";
import { client } from "../support/app.js";
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
import { createPerson, createWorld, type World } from "../support/factories.js";
import { elevatorTerms } from "../support/terms.js";

let database: DatabaseHandle;
let browser: Browser;
let app: ReturnType<typeof createApp>;
let server: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createApp({ db: database.db, logger: pino({ level: "silent" }), clock: () => new Date() });
  server = await serve(app);
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await database?.close();
});

/** A contract the enterprise drafted and submitted (with its model's assumptions), over the world's elevator. */
async function submittedContract(world: World) {
  const enterprise = client(app, world.enterprise.key);
  const drafted = await enterprise.post("/v1/contracts", {
    title: "国伟新苑1号楼加装电梯合同",
    communityId: world.community.id,
    ownersCommitteeOrgId: world.ownersCommittee.org.id,
    propertyCompanyOrgId: world.propertyCompany.org.id,
    streetOfficeOrgId: world.streetOffice.org.id,
    facilityIds: [world.elevator.id],
    terms: elevatorTerms({ operationTermMonths: 120 }),
  });
  if (drafted.status !== 201) throw new Error(`draft: ${drafted.status}`);
  const id: string = drafted.body.id;
  await enterprise.put(`/v1/contracts/${id}/financial-assumptions`, {
    takeUp: { rates: { "EL-M": "0.80", "EL-Y": "0.10" } },
    yearlyCosts: { maintenance: "6000.00", electricity: "1800.00", insurance: "600.00", other: "0" },
    discountRate: "0.05",
  });
  if ((await enterprise.post(`/v1/contracts/${id}/submit`)).status !== 200) throw new Error("submit");
  return id;
}

async function checkPage(page: Page, shot?: string) {
  expect(await seriousAxeViolations(page)).toEqual([]);
  expect(await overflowsSideways(page)).toBe(false);
  if (shot) await screenshots(page, shot);
}

async function recordVote(
  page: Page,
  tally: { area: string; owners: string; yesArea: string; yesOwners: string },
) {
  await page.getByLabel("参与表决的面积（平方米）").fill(tally.area);
  await page.getByLabel("参与表决的户数").fill(tally.owners);
  await page.getByLabel("同意的面积（平方米）").fill(tally.yesArea);
  await page.getByLabel("同意的户数").fill(tally.yesOwners);
  await Promise.all([
    page.waitForURL(/\/contracts\/[^/]+#vote$/),
    page.getByRole("button", { name: "登记表决结果" }).click(),
  ]);
}

describe("the owners committee's contract pages in Chromium", () => {
  it("an invited member opens the submitted contract, records a passing vote and approves it", async () => {
    const world = await createWorld(database.db);
    const id = await submittedContract(world);
    const admin = await createPerson(database.db, world.ownersCommittee.org.id, {
      role: "admin",
      name: "李主任",
    });
    const { context, problems } = await openContext(browser);
    const page = await context.newPage();
    await signInAs(page, server.base, admin.login, admin.password);
    await page.goto(`${server.base}/members`);
    await page.getByLabel("姓名").fill("王秀英");
    await page.getByRole("button", { name: "生成邀请链接" }).click();
    const link = (await page.getByTestId("invitation-link").textContent())?.trim() ?? "";
    expect(link).toContain(`${server.base}/invitations/`);

    const invited = await openContext(browser);
    const phone = await invited.context.newPage();
    await phone.goto(link);
    // Unique per run: a shared PostgreSQL keeps the people of earlier runs.
    await phone.getByLabel(/^账号/).fill(`139${String(Date.now()).slice(-8)}`);
    await phone.getByLabel(/^密码/).fill("梧桐叶落满了小区的路");
    await phone.getByLabel("再次输入密码").fill("梧桐叶落满了小区的路");
    await phone.getByRole("button", { name: "设置密码并登录" }).click();
    await phone.waitForURL(`${server.base}/home`);

    await phone.getByRole("link", { name: "合同" }).first().click();
    await phone.waitForURL(`${server.base}/contracts`);
    await checkPage(phone, "contracts-list");
    await phone.getByRole("link", { name: "国伟新苑1号楼加装电梯合同" }).click();
    await phone.waitForURL(`${server.base}/contracts/${id}`);
    expect(await phone.getByTestId("contract-state").textContent()).toBe("已提交，待审阅");
    await expect.poll(() => phone.getByRole("img", { name: "企业每年现金流（测算）" }).count()).toBe(1);
    expect(await phone.getByRole("button", { name: "批准", exact: true }).count()).toBe(0);
    await checkPage(phone, "contracts-contract");

    await recordVote(phone, { area: "480.00", owners: "8", yesArea: "360.00", yesOwners: "6" });
    expect(await phone.getByTestId("vote-result").getByRole("status").textContent()).toBe("表决通过");
    await checkPage(phone);
    await Promise.all([
      phone.waitForURL(`${server.base}/contracts/${id}`),
      phone.getByRole("button", { name: "批准", exact: true }).click(),
    ]);
    expect(await phone.getByTestId("contract-state").textContent()).toBe("已批准，待签署");
    expect(await phone.getByTestId("timeline").locator("li").first().textContent()).toContain(
      `王秀英（${world.ownersCommittee.org.name}）`,
    );
    await checkPage(phone, "contracts-approved");

    await phone.getByRole("link", { name: "打印版（业主大会用）" }).click();
    await phone.waitForURL(`${server.base}/contracts/${id}/print`);
    await expect.poll(() => phone.getByRole("button", { name: "打印" }).isVisible()).toBe(true);
    await checkPage(phone, "contracts-print");
    // Printed, the page has no navigation or header, and the voting slip is there.
    await phone.emulateMedia({ media: "print" });
    expect(await phone.locator("nav.main").isVisible()).toBe(false);
    expect(await phone.locator("header.top").isVisible()).toBe(false);
    expect(await phone.getByRole("heading", { name: "业主表决票" }).isVisible()).toBe(true);
    await phone.emulateMedia({ media: "screen" });

    expect(problems).toEqual([]);
    expect(invited.problems).toEqual([]);
    await context.close();
    await invited.context.close();
  }, 120_000);

  it("a failing vote names the threshold it missed and offers no approval", async () => {
    const world = await createWorld(database.db);
    const id = await submittedContract(world);
    const member = await createPerson(database.db, world.ownersCommittee.org.id, { name: "赵美华" });
    const { context, problems } = await openContext(browser);
    const page = await context.newPage();
    await signInAs(page, server.base, member.login, member.password);
    await page.goto(`${server.base}/contracts/${id}`);
    await recordVote(page, { area: "480.00", owners: "8", yesArea: "359.99", yesOwners: "6" });
    const result = page.getByTestId("vote-result");
    expect(await result.getByRole("status").textContent()).toBe("表决未通过");
    expect(await page.getByTestId("vote-failed").textContent()).toBe(
      "未达到的条件：同意的面积（占参与面积）",
    );
    expect(await result.locator('tr[data-measure="approval_area"] td.fail').textContent()).toBe("未达到");
    expect(await page.getByRole("button", { name: "批准", exact: true }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "要求修改" }).count()).toBe(1);
    expect(await page.getByTestId("contract-state").textContent()).toBe("已提交，待审阅");
    await checkPage(page, "contracts-vote-failed");

    // The committee asks for changes; the enterprise lowers the 6th floor; the diff shows it.
    await page.getByLabel(/^需要修改的地方/).fill("6楼价格偏高，请调整为65元");
    await Promise.all([
      page.waitForURL(`${server.base}/contracts/${id}`),
      page.getByRole("button", { name: "要求修改" }).click(),
    ]);
    expect(await page.getByTestId("contract-state").textContent()).toBe("已要求修改");
    const enterprise = client(app, world.enterprise.key);
    await enterprise.post(`/v1/contracts/${id}/revise`);
    const cheaper = elevatorTerms({ operationTermMonths: 120 });
    cheaper.feeSchedule[0]?.floorPrices?.splice(4, 1, { floor: 6, price: "65.00" });
    await enterprise.put(`/v1/contracts/${id}/versions/2`, { terms: cheaper }, { "if-match": '"r1"' });
    await page.reload();
    await page.getByLabel("原版本").selectOption("1");
    await page.getByLabel("新版本").selectOption("2");
    await Promise.all([
      page.waitForURL(`${server.base}/contracts/${id}/diff?from=1&to=2`),
      page.getByRole("button", { name: "查看修改之处" }).click(),
    ]);
    const row = page.locator('tr[data-path="feeSchedule[EL-M].floorPrices[6]"]');
    expect((await row.locator("td").allTextContents()).map((s) => s.trim())).toEqual(["¥70.00", "¥65.00"]);
    await checkPage(page, "contracts-diff");
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it("a member of another community sees the not-found page", async () => {
    const world = await createWorld(database.db);
    const other = await createWorld(database.db);
    const id = await submittedContract(world);
    const stranger = await createPerson(database.db, other.ownersCommittee.org.id, { name: "钱阿姨" });
    const { context, problems } = await openContext(browser);
    const page = await context.newPage();
    await signInAs(page, server.base, stranger.login, stranger.password);
    const res = await page.goto(`${server.base}/contracts/${id}`);
    expect(res?.status()).toBe(404);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("找不到这个页面");
    expect(await page.getByText("国伟新苑1号楼加装电梯合同").count()).toBe(0);
    await checkPage(page);
    await page.goto(`${server.base}/contracts`);
    expect(await page.getByText("还没有合同").count()).toBe(1);
    await checkPage(page);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
});
