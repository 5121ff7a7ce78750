/**
 * The alerts page: an organization's admin chooses where its notifications go; its members read
 * the list and the delivery log; every change is the notification service's, through a form.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { notificationEndpoints, notifications } from "../../db/schema.js";
import { createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createPerson, createWorld } from "../support/factories.js";
import { portalClient, textOf } from "../support/portal.js";

let database: DatabaseHandle;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
});
afterAll(async () => database?.close());

const WECOM_KEY = "0a1b2c3d-4e5f-6789-abcd-ef0123456789";
const WECOM_URL = `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${WECOM_KEY}`;

async function committee() {
  const world = await createWorld(database.db);
  const admin = await createPerson(database.db, world.ownersCommittee.org.id, {
    role: "admin",
    name: "李主任",
  });
  const browser = portalClient(app);
  await browser.signIn(admin.login, admin.password);
  await browser.get("/alerts");
  return { world, admin, browser };
}

async function endpointNamed(name: string) {
  const [row] = await database.db
    .select()
    .from(notificationEndpoints)
    .where(eq(notificationEndpoints.name, name));
  if (!row) throw new Error(`no endpoint ${name}`);
  return row;
}

describe("the alerts page", () => {
  it("lets an admin add a WeCom robot for two events, listed with its URL masked", async () => {
    const { browser } = await committee();
    const name = `业委会群 ${crypto.randomUUID().slice(0, 8)}`;
    const sent = await browser.post("/alerts", {
      name,
      channel: "wecom",
      url: WECOM_URL,
      type_ebike_halt_opened: "on",
      type_halt_unacknowledged: "on",
      after_minutes: "15",
    });
    expect(sent.status).toBe(303);
    const page = await browser.get(sent.location ?? "/alerts");
    const text = textOf(page.html);
    expect(text).toContain(name);
    expect(text).toContain("企业微信机器人");
    expect(text).toContain("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***");
    expect(text).toContain("电动车拦停、超时未处理（15 分钟后）");
    expect(text).toContain("启用中");
    expect(page.html).not.toContain(WECOM_KEY);
  });

  it("prefills the escalation minutes with the organization kind's default", async () => {
    const { browser } = await committee();
    const page = await browser.get("/alerts");
    expect(page.html).toMatch(/name="after_minutes"[^>]*value="15"/);
  });

  it("shows a webhook's signing secret once, on the result page only", async () => {
    const { browser } = await committee();
    const name = `物业系统 ${crypto.randomUUID().slice(0, 8)}`;
    const created = await browser.post("/alerts", {
      name,
      channel: "webhook",
      url: "https://example.test/hooks/bot",
      type_sensor_offline: "on",
    });
    expect(created.status).toBe(200);
    expect(created.headers.get("cache-control")).toBe("no-store");
    expect(textOf(created.html)).toContain("只显示这一次");
    const secret = /data-testid="webhook-secret">\s*([^<\s]+)/.exec(created.html)?.[1] ?? "";
    expect(secret).toMatch(/^whsec_/);
    const list = await browser.get("/alerts");
    expect(textOf(list.html)).toContain(name);
    expect(list.html).not.toContain(secret);
  });

  it("refuses an http URL with the reason beside the field, and adds nothing", async () => {
    const { browser } = await committee();
    const name = `明文 ${crypto.randomUUID().slice(0, 8)}`;
    const sent = await browser.post("/alerts", { name, channel: "wecom", url: "http://example.test/x" });
    expect(sent.status).toBe(400);
    expect(textOf(sent.html)).toContain("地址必须是 https:// 开头的完整网址。");
    const rows = await database.db
      .select()
      .from(notificationEndpoints)
      .where(eq(notificationEndpoints.name, name));
    expect(rows).toEqual([]);
  });

  it("sends a test that the log page lists, disables and enables, and deletes after a confirmation", async () => {
    const { browser } = await committee();
    const name = `测试群 ${crypto.randomUUID().slice(0, 8)}`;
    await browser.post("/alerts", { name, channel: "wecom", url: WECOM_URL, type_daily_digest: "on" });
    const endpoint = await endpointNamed(name);
    await browser.get("/alerts");
    const tested = await browser.post(`/alerts/${endpoint.id}/test`);
    expect(tested.status).toBe(303);
    const log = await browser.get(tested.location ?? "");
    expect(log.status).toBe(200);
    expect(textOf(log.html)).toContain("测试消息");
    expect(textOf(log.html)).toContain("发送中");
    const queued = await database.db
      .select()
      .from(notifications)
      .where(eq(notifications.endpointId, endpoint.id));
    expect(queued.map((n) => n.type)).toEqual(["test_ping"]);

    await browser.get("/alerts");
    expect((await browser.post(`/alerts/${endpoint.id}/disable`)).status).toBe(303);
    let list = textOf((await browser.get("/alerts")).html);
    expect(list).toContain("已停用：disabled by 李主任");
    // What waited for it failed with it: it may now be sent again from the log.
    const failed = await browser.get(`/alerts/${endpoint.id}`);
    expect(textOf(failed.html)).toContain("失败");
    expect(textOf(failed.html)).toContain("the endpoint was disabled");
    expect((await browser.post(`/alerts/${endpoint.id}/enable`)).status).toBe(303);
    list = textOf((await browser.get("/alerts")).html);
    expect(list).toContain("启用中");
    const replayed = await browser.post(`/alerts/${endpoint.id}/deliveries/${queued[0]?.id}/replay`);
    expect(replayed.status).toBe(303);
    expect(textOf((await browser.get(`/alerts/${endpoint.id}`)).html)).toContain("发送中");

    const confirm = await browser.get(`/alerts/${endpoint.id}/delete`);
    expect(textOf(confirm.html)).toContain(`删除“${name}”？`);
    expect((await browser.post(`/alerts/${endpoint.id}/delete`)).status).toBe(303);
    expect(textOf((await browser.get("/alerts")).html)).not.toContain(name);
  });

  it("shows a member the list and the log without forms, and refuses a member's POST", async () => {
    const { world, browser } = await committee();
    const name = `只读群 ${crypto.randomUUID().slice(0, 8)}`;
    await browser.post("/alerts", { name, channel: "wecom", url: WECOM_URL, type_report_filed: "on" });
    const endpoint = await endpointNamed(name);
    const person = await createPerson(database.db, world.ownersCommittee.org.id, { role: "member" });
    const member = portalClient(app);
    await member.signIn(person.login, person.password);
    const list = await member.get("/alerts");
    expect(list.status).toBe(200);
    expect(textOf(list.html)).toContain(name);
    expect(textOf(list.html)).toContain("运营报告已提交");
    expect(list.html).not.toContain('action="/alerts"');
    expect(list.html).not.toContain(`/alerts/${endpoint.id}/test`);
    const log = await member.get(`/alerts/${endpoint.id}`);
    expect(log.status).toBe(200);
    expect(log.html).not.toContain("/replay");
    for (const path of [
      `/alerts/${endpoint.id}/test`,
      `/alerts/${endpoint.id}/disable`,
      `/alerts/${endpoint.id}/delete`,
    ]) {
      expect((await member.post(path)).status).toBe(403);
    }
    const added = await member.post("/alerts", { name: "冒名者", channel: "wecom", url: WECOM_URL });
    expect(added.status).toBe(403);
    expect((await endpointNamed(name)).disabledAt).toBeNull();
    const queued = await database.db
      .select()
      .from(notifications)
      .where(eq(notifications.endpointId, endpoint.id));
    expect(queued).toEqual([]);
  });

  it("answers 404 for another organization's endpoint, to read or to change", async () => {
    const { browser } = await committee();
    const name = `别人的群 ${crypto.randomUUID().slice(0, 8)}`;
    await browser.post("/alerts", { name, channel: "wecom", url: WECOM_URL });
    const endpoint = await endpointNamed(name);
    const other = await createWorld(database.db);
    const stranger = await createPerson(database.db, other.ownersCommittee.org.id, { role: "admin" });
    const outsider = portalClient(app);
    await outsider.signIn(stranger.login, stranger.password);
    expect((await outsider.get(`/alerts/${endpoint.id}`)).status).toBe(404);
    expect((await outsider.get(`/alerts/${endpoint.id}/delete`)).status).toBe(404);
    await outsider.get("/alerts");
    expect((await outsider.post(`/alerts/${endpoint.id}/disable`)).status).toBe(404);
    expect((await outsider.post(`/alerts/${endpoint.id}/delete`)).status).toBe(404);
    expect(textOf((await outsider.get("/alerts")).html)).not.toContain(name);
    expect((await outsider.get("/alerts/not-an-id")).status).toBe(404);
    expect((await endpointNamed(name)).disabledAt).toBeNull();
  });

  it("refuses a POST without the form token, and adds nothing", async () => {
    const { browser } = await committee();
    const name = `伪造 ${crypto.randomUUID().slice(0, 8)}`;
    const forged = await browser.post("/alerts", { _csrf: null, name, channel: "wecom", url: WECOM_URL });
    expect(forged.status).toBe(403);
    expect(textOf(forged.html)).toContain("表单已过期");
    const rows = await database.db
      .select()
      .from(notificationEndpoints)
      .where(eq(notificationEndpoints.name, name));
    expect(rows).toEqual([]);
  });

  it("is in the navigation of every organization's people", async () => {
    const world = await createWorld(database.db);
    for (const org of [world.ownersCommittee, world.propertyCompany, world.streetOffice, world.enterprise]) {
      const person = await createPerson(database.db, org.org.id);
      const browser = portalClient(app);
      await browser.signIn(person.login, person.password);
      expect((await browser.get("/home")).html).toContain('href="/alerts"');
    }
  });
});
