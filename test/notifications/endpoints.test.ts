/**
 * The endpoints API as an organization's admin uses it: a webhook's secret shown once, masked
 * URLs, rules with the escalation defaults, who may read and change, a test ping that reaches a
 * real receiver, the delivery log, replay under the same delivery id, secret rotation, disabling.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../db/database.js";
import { notificationEndpoints, notificationEvents } from "../../db/schema.js";
import { deliverDueNotifications } from "../../src/services/notifications/delivery.js";
import { verifyWebhook } from "../../src/services/notifications/signing.js";
import { client, createTestApp, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { createKey, createWorld, type World } from "../support/factories.js";
import { manualClock, ownDatabase, type Receiver, startReceiver } from "./support.js";

let db: Database;
let close: () => Promise<void>;
let receiver: Receiver;
let app: TestApp;
let world: World;
const clock = manualClock();

beforeAll(async () => {
  ({ db, close } = await ownDatabase("endpoints"));
  receiver = await startReceiver();
  app = createTestApp(db, { now: clock.now });
  world = await createWorld(db);
});
afterAll(async () => {
  await db?.delete(notificationEndpoints);
  await db?.delete(notificationEvents);
  await receiver?.close();
  await close?.();
});

const pc = () => client(app, world.propertyCompany.key);
const deliver = () => deliverDueNotifications({ db, clock: clock.now });

async function createWebhook(path: string, extra: Record<string, unknown> = {}) {
  const res = await pc().post("/v1/notification-endpoints", {
    name: "物业值班群",
    channel: "webhook",
    url: `${receiver.url}${path}?token=s3cr3t-token-value`,
    rules: [{ type: "ebike_halt_opened" }, { type: "halt_unacknowledged" }],
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { endpoint: { id: string; url: string }; secret: string };
}

describe("adding an endpoint", () => {
  it("returns a webhook's secret once; reads mask the URL and never show the secret", async () => {
    const { endpoint, secret } = await createWebhook("/hook");
    expect(secret).toMatch(/^whsec_/);
    expect(endpoint.url).toBe(`${receiver.url}/hook?token=***`);
    const read = await pc().get(`/v1/notification-endpoints/${endpoint.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      channel: "webhook",
      hasSecret: true,
      enabled: true,
      consecutiveFailures: 0,
    });
    expect(JSON.stringify(read.body)).not.toContain(secret.slice(6));
    expect(JSON.stringify(read.body)).not.toContain("s3cr3t");
    // The property company's step of the escalation chain, by default.
    expect(read.body.rules).toEqual([
      { type: "ebike_halt_opened", afterSeconds: null },
      { type: "halt_unacknowledged", afterSeconds: 300 },
    ]);
    const list = await pc().get("/v1/notification-endpoints");
    expect(list.body.items.map((e: { id: string }) => e.id)).toContain(endpoint.id);
    expect(JSON.stringify(list.body)).not.toContain(secret.slice(6));
  });

  it("takes the escalation defaults by organization kind, and an explicit step", async () => {
    const steps: [string, number][] = [];
    for (const [key, kind] of [
      [world.ownersCommittee.key, "owners committee"],
      [world.streetOffice.key, "street office"],
    ] as const) {
      const res = await client(app, key).post("/v1/notification-endpoints", {
        name: `${kind} 群`,
        channel: "wecom",
        url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
        rules: [{ type: "halt_unacknowledged" }],
      });
      expect(res.status).toBe(201);
      expect(res.body.secret).toBeNull();
      expect(res.body.endpoint.url).toBe("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***");
      steps.push([kind, res.body.endpoint.rules[0].afterSeconds]);
    }
    expect(steps).toEqual([
      ["owners committee", 900],
      ["street office", 1800],
    ]);
    const custom = await pc().post("/v1/notification-endpoints", {
      name: "经理",
      channel: "dingtalk",
      url: "https://oapi.dingtalk.com/robot/send?access_token=abcdef",
      secret: "SEC0123456789abcdef0123456789abcdef",
      rules: [{ type: "halt_unacknowledged", afterSeconds: 600 }],
    });
    expect(custom.status).toBe(201);
    expect(custom.body.secret).toBeNull();
    expect(custom.body.endpoint).toMatchObject({
      hasSecret: true,
      rules: [{ type: "halt_unacknowledged", afterSeconds: 600 }],
    });
    expect(JSON.stringify(custom.body)).not.toContain("SEC0123");
    // The DingTalk secret is write-only; null removes it.
    const cleared = await pc().patch(`/v1/notification-endpoints/${custom.body.endpoint.id}`, {
      secret: null,
    });
    expect(cleared.body.hasSecret).toBe(false);
  });

  it("refuses plain http off the machine, afterSeconds on another type or not in whole minutes, a secret for a webhook", async () => {
    const bad = [
      [{ url: "http://example.com/hook" }, "body.url"],
      [{ rules: [{ type: "ebike_halt_opened", afterSeconds: 300 }] }, "body.rules.0.afterSeconds"],
      [{ rules: [{ type: "halt_unacknowledged", afterSeconds: 90 }] }, "body.rules.0.afterSeconds"],
      [{ secret: "SEC0123456789abcdef0123456789" }, "body.secret"],
      [{ rules: [{ type: "test_ping" }] }, "body.rules.0.type"],
      [{ rules: [{ type: "sensor_offline" }, { type: "sensor_offline" }] }, "body.rules.1.type"],
    ] as const;
    for (const [change, field] of bad) {
      const res = await pc().post("/v1/notification-endpoints", {
        name: "x",
        channel: "webhook",
        url: `${receiver.url}/x`,
        ...change,
      });
      expect(res.status, field).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(
        res.body.errors.map((e: { field: string }) => e.field),
        JSON.stringify(res.body),
      ).toContain(field);
    }
  });
});

describe("who may", () => {
  it("members read, only admins change; another organization sees nothing; the platform admin has none", async () => {
    const { endpoint } = await createWebhook("/who");
    const member = await createKey(db, world.propertyCompany.org.id, "member");
    expect((await client(app, member.key).get(`/v1/notification-endpoints/${endpoint.id}`)).status).toBe(200);
    const refused = await client(app, member.key).patch(`/v1/notification-endpoints/${endpoint.id}`, {
      name: "y",
    });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe("forbidden");
    expect(
      (
        await client(app, member.key).post("/v1/notification-endpoints", {
          name: "x",
          channel: "webhook",
          url: `${receiver.url}/x`,
        })
      ).status,
    ).toBe(403);
    // The owners committee of the same community: not its endpoint.
    const other = client(app, world.ownersCommittee.key);
    expect((await other.get(`/v1/notification-endpoints/${endpoint.id}`)).status).toBe(404);
    expect((await other.get(`/v1/notification-endpoints/${endpoint.id}/deliveries`)).status).toBe(404);
    expect((await other.delete(`/v1/notification-endpoints/${endpoint.id}`)).status).toBe(404);
    const list = await other.get("/v1/notification-endpoints");
    expect(list.body.items.map((e: { id: string }) => e.id)).not.toContain(endpoint.id);
    const admin = await client(app, TEST_ADMIN_TOKEN).get("/v1/notification-endpoints");
    expect(admin.status).toBe(403);
  });
});

describe("test ping, delivery log, replay", () => {
  it("a test ping reaches the receiver signed with the secret shown once; replay sends it again under the same id", async () => {
    const { endpoint, secret } = await createWebhook("/ping");
    const queued = await pc().post(`/v1/notification-endpoints/${endpoint.id}/test`);
    expect(queued.status).toBe(202);
    const deliveryId = queued.body.deliveryId as string;
    expect(await deliver()).toMatchObject({ delivered: 1 });
    const got = receiver.received.filter((r) => r.path.startsWith("/ping"));
    expect(got).toHaveLength(1);
    expect(got[0]?.path).toBe("/ping?token=s3cr3t-token-value");
    expect(JSON.parse(got[0]?.body ?? "{}")).toMatchObject({
      id: deliveryId,
      type: "test_ping",
      data: { endpointId: endpoint.id },
    });
    expect(
      await verifyWebhook(secret, got[0]?.headers as Record<string, string>, got[0]?.body ?? "", {
        now: clock.now(),
      }),
    ).toMatchObject({
      ok: true,
      id: deliveryId,
    });

    const log = await pc().get(`/v1/notification-endpoints/${endpoint.id}/deliveries`);
    expect(log.status).toBe(200);
    expect(log.body.total).toBe(1);
    expect(log.body.items[0]).toMatchObject({
      id: deliveryId,
      state: "delivered",
      attempts: 1,
      nextAttemptAt: null,
    });
    expect(log.body.items[0].log).toEqual([
      expect.objectContaining({ attempt: 1, ok: true, httpStatus: 200, error: null }),
    ]);

    clock.advance(60_000);
    const replayed = await pc().post(
      `/v1/notification-endpoints/${endpoint.id}/deliveries/${deliveryId}/replay`,
    );
    expect(replayed.status).toBe(202);
    expect(replayed.body).toMatchObject({ id: deliveryId, state: "pending" });
    // Still queued: a second replay is refused until it is sent.
    const twice = await pc().post(
      `/v1/notification-endpoints/${endpoint.id}/deliveries/${deliveryId}/replay`,
    );
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe("delivery_pending");
    await deliver();
    const again = receiver.received.filter((r) => r.path.startsWith("/ping"));
    expect(again.map((r) => r.headers["webhook-id"])).toEqual([deliveryId, deliveryId]);
    const after = await pc().get(`/v1/notification-endpoints/${endpoint.id}/deliveries?state=delivered`);
    expect(after.body.items[0].log.map((a: { attempt: number }) => a.attempt)).toEqual([2, 1]);
    // Another endpoint's delivery id is not found under this one.
    const { endpoint: other } = await createWebhook("/ping-other");
    expect(
      (await pc().post(`/v1/notification-endpoints/${other.id}/deliveries/${deliveryId}/replay`)).status,
    ).toBe(404);
  });

  it("a rotated secret signs from then on; the old one no longer verifies", async () => {
    const { endpoint, secret: old } = await createWebhook("/rotate");
    const rotated = await pc().post(`/v1/notification-endpoints/${endpoint.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(old);
    await pc().post(`/v1/notification-endpoints/${endpoint.id}/test`);
    await deliver();
    const [r] = receiver.received.filter((x) => x.path.startsWith("/rotate"));
    const headers = r?.headers as Record<string, string>;
    expect(
      await verifyWebhook(rotated.body.secret, headers, r?.body ?? "", { now: clock.now() }),
    ).toMatchObject({ ok: true });
    expect(await verifyWebhook(old, headers, r?.body ?? "", { now: clock.now() })).toMatchObject({
      ok: false,
    });
  });

  it("a disabled endpoint takes no test and no replay until PATCH re-enables it; DELETE removes it", async () => {
    const { endpoint } = await createWebhook("/off");
    const off = await pc().patch(`/v1/notification-endpoints/${endpoint.id}`, { enabled: false });
    expect(off.body).toMatchObject({ enabled: false, disabledReason: "disabled through the API" });
    const refused = await pc().post(`/v1/notification-endpoints/${endpoint.id}/test`);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("endpoint_disabled");
    const on = await pc().patch(`/v1/notification-endpoints/${endpoint.id}`, {
      enabled: true,
      rules: [{ type: "sensor_offline" }],
    });
    expect(on.body).toMatchObject({
      enabled: true,
      disabledAt: null,
      rules: [{ type: "sensor_offline", afterSeconds: null }],
    });
    expect((await pc().post(`/v1/notification-endpoints/${endpoint.id}/test`)).status).toBe(202);
    const gone = await pc().delete(`/v1/notification-endpoints/${endpoint.id}`);
    expect(gone.status).toBe(200);
    expect((await pc().get(`/v1/notification-endpoints/${endpoint.id}`)).status).toBe(404);
  });
});
