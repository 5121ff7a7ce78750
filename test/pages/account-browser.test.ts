/**
 * Signing in and accepting an invitation in a real Chromium at a phone's width: the pages pass
 * axe-core, do not scroll sideways, raise no console error or CSP violation.
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

describe("the account pages in Chromium", () => {
  it("an admin invites a member, who accepts on a phone and is signed in", async () => {
    const world = await createWorld(database.db);
    const admin = await createPerson(database.db, world.ownersCommittee.org.id, {
      role: "admin",
      name: "李主任",
    });
    const { context, problems } = await openContext(browser);
    const page = await context.newPage();
    await page.goto(`${server.base}/sign-in`);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshots(page, "sign-in");
    await signInAs(page, server.base, admin.login, admin.password);
    await page.goto(`${server.base}/members`);
    await page.getByLabel("姓名").fill("王秀英");
    await page.getByRole("button", { name: "生成邀请链接" }).click();
    const link = (await page.getByTestId("invitation-link").textContent())?.trim() ?? "";
    expect(link).toContain(`${server.base}/invitations/`);
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(await overflowsSideways(page)).toBe(false);
    await screenshots(page, "members");

    const invited = await openContext(browser);
    const phone = await invited.context.newPage();
    await phone.goto(link);
    expect(await seriousAxeViolations(phone)).toEqual([]);
    expect(await overflowsSideways(phone)).toBe(false);
    await phone.getByLabel(/^账号/).fill(`139${String(Date.now()).slice(-8)}`);
    await phone.getByLabel(/^密码/).fill("梧桐叶落满了小区的路");
    await phone.getByLabel("再次输入密码").fill("梧桐叶落满了小区的路");
    await phone.getByRole("button", { name: "设置密码并登录" }).click();
    await phone.waitForURL(`${server.base}/home`);
    expect(await phone.getByRole("heading", { level: 1 }).textContent()).toBe("您好，王秀英");
    const cookies = await invited.context.cookies();
    const session = cookies.find((c) => c.name === "__Host-bot_session");
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: "Lax" });
    expect(problems).toEqual([]);
    expect(invited.problems).toEqual([]);
    await context.close();
    await invited.context.close();
  }, 60_000);

  it("refuses a form sent without its token (the 表单已过期 page), and writes nothing", async () => {
    const world = await createWorld(database.db);
    const admin = await createPerson(database.db, world.propertyCompany.org.id, { role: "admin" });
    const { context, problems } = await openContext(browser);
    const page = await context.newPage();
    await signInAs(page, server.base, admin.login, admin.password);
    await page.goto(`${server.base}/members`);
    // What a forged form amounts to: the same fields, without this session's token.
    await page.evaluate("document.querySelectorAll('input[name=_csrf]').forEach((e) => e.remove())");
    await page.getByLabel("姓名").fill("伪造的邀请");
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/members/invite")),
      page.getByRole("button", { name: "生成邀请链接" }).click(),
    ]);
    expect(answer.status()).toBe(403);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("表单已过期");
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.goto(`${server.base}/members`);
    expect(await page.getByText("伪造的邀请").count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it("throttles signing in: after five wrong passwords the right one waits, and the page says how long", async () => {
    const world = await createWorld(database.db);
    const person = await createPerson(database.db, world.enterprise.org.id);
    const { context, problems } = await openContext(browser);
    const page = await context.newPage();
    const attempt = async (password: string) => {
      await page.goto(`${server.base}/sign-in`);
      await page.getByLabel(/账号/).fill(person.login);
      await page.getByLabel(/^密码$/).fill(password);
      const [answer] = await Promise.all([
        page.waitForResponse((r) => r.url().includes("/sign-in") && r.request().method() === "POST"),
        page.getByRole("button", { name: "登录" }).click(),
      ]);
      await page.waitForLoadState();
      return answer.status();
    };
    for (let i = 0; i < 5; i++) expect(await attempt(`wrong password ${i}`)).toBe(401);
    expect(await page.getByRole("alert").textContent()).toContain("账号或密码不正确。");
    expect(await attempt(person.password)).toBe(429);
    expect(await page.getByRole("alert").textContent()).toContain("尝试次数过多，请 15 分钟后再试。");
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshots(page, "sign-in-throttled");
    expect((await context.cookies()).some((c) => c.name === "__Host-bot_session")).toBe(false);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);
});
