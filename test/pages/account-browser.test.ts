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
});
