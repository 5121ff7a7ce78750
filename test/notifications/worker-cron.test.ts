/**
 * The Workers cron delivers too: the bundle `npm run build:worker` makes, under workerd, fans out
 * a cause and sends a signed webhook and a signed DingTalk message (Web Crypto on workerd) to a
 * real receiver on 127.0.0.1. Against PostgreSQL only (Workers reach it through Hyperdrive): the
 * test's own scratch database on DATABASE_URL, or a private PostgreSQL server.
 */
import { createHmac, randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notifications } from "../../db/schema.js";
import { buildWorker } from "../../src/cli/build-worker.js";
import { recordNotificationEvents } from "../../src/services/notifications/events.js";
import { verifyWebhook } from "../../src/services/notifications/signing.js";
import { createScratchDatabase, type ScratchDatabase } from "../support/db.js";
import { createWorld } from "../support/factories.js";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.js";
import { startBundledWorker } from "../support/worker.js";
import { createEndpoint, DATABASE_URL, type Receiver, startReceiver } from "./support.js";

let server: PrivatePostgres | null = null;
let database: ScratchDatabase;
let receiver: Receiver;
const bundleDir = join(tmpdir(), `bot-notify-worker-${process.pid}-${randomUUID().slice(0, 8)}`);

beforeAll(async () => {
  if (!DATABASE_URL) server = await startPrivatePostgres();
  const serverUrl = DATABASE_URL ?? server?.url;
  if (!serverUrl) throw new Error("no PostgreSQL server");
  database = await createScratchDatabase(
    serverUrl,
    `notif_worker_${process.pid}_${randomUUID().slice(0, 8)}`,
  );
  // A 200 with errcode 0 (as a robot answers) for every request; a webhook takes any 2xx.
  receiver = await startReceiver({ status: 200, body: '{"errcode":0,"errmsg":"ok"}' });
}, 120_000);

afterAll(async () => {
  await receiver?.close();
  await database?.drop();
  await server?.destroy();
  await rm(bundleDir, { recursive: true, force: true });
});

describe("the Workers cron", () => {
  it("fans out and delivers a signed webhook and a signed DingTalk message", {
    timeout: 180_000,
  }, async () => {
    const db = database.db;
    const world = await createWorld(db);
    const hook = await createEndpoint(db, {
      organizationId: world.propertyCompany.org.id,
      url: `${receiver.url}/wk`,
    });
    const secret = "SEC0123456789abcdef0123456789abcdef";
    const ding = await createEndpoint(db, {
      organizationId: world.ownersCommittee.org.id,
      channel: "dingtalk",
      url: `${receiver.url}/ding?access_token=t`,
      secret,
    });
    const now = new Date();
    await db.transaction((tx) =>
      recordNotificationEvents(tx, [
        {
          type: "ebike_halt_opened",
          subjectId: randomUUID(),
          streetId: world.street.id,
          communityId: world.community.id,
          payload: {
            facilityName: world.elevator.name,
            communityName: world.community.name,
            openedAt: now.toISOString(),
          },
          occurredAt: now,
        },
      ]),
    );
    const build = buildWorker(bundleDir);
    expect(build.problems).toEqual([]);
    const bundled = await startBundledWorker(build.script, database.url);
    try {
      expect((await bundled.scheduled("* * * * *")).outcome).toBe("ok");
    } finally {
      await bundled.dispose();
    }
    const [webhook] = receiver.received.filter((r) => r.path === "/wk");
    if (!webhook) throw new Error("the webhook got nothing");
    const [delivered] = await db.select().from(notifications).where(eq(notifications.endpointId, hook.id));
    expect(delivered?.state, delivered?.lastError ?? "").toBe("delivered");
    expect(
      await verifyWebhook(hook.secret ?? "", webhook.headers as Record<string, string>, webhook.body),
    ).toMatchObject({
      ok: true,
      id: delivered?.id,
    });
    const [robot] = receiver.received.filter((r) => r.path.startsWith("/ding"));
    const url = new URL(robot?.path ?? "", receiver.url);
    const timestamp = url.searchParams.get("timestamp") ?? "";
    expect(url.searchParams.get("sign")).toBe(
      createHmac("sha256", secret).update(`${timestamp}\n${secret}`).digest("base64"),
    );
    expect(JSON.parse(robot?.body ?? "{}")).toMatchObject({
      msgtype: "markdown",
      markdown: { title: expect.any(String) },
    });
    const [dingRow] = await db.select().from(notifications).where(eq(notifications.endpointId, ding.id));
    expect(dingRow?.state, dingRow?.lastError ?? "").toBe("delivered");
  });
});
