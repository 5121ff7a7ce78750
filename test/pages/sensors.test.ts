/**
 * The sensors page (/sensors): health in the person's scope; the owning enterprise registers a
 * sensor and rotates its key, each key shown once and stored only as hashes.
 */
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { hashKey } from "../../db/keys.js";
import { incidents, sensors } from "../../db/schema.js";
import { createIotWorld, createSensor } from "../iot/support.js";
import { createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createPerson, createWorld } from "../support/factories.js";
import { type PortalClient, portalClient, textOf } from "../support/portal.js";

let database: DatabaseHandle;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
});
afterAll(async () => database?.close());

async function signedIn(orgId: string): Promise<PortalClient> {
  const person = await createPerson(database.db, orgId);
  const browser = portalClient(app);
  await browser.signIn(person.login, person.password);
  return browser;
}

function rowOf(html: string, sensorId: string): string {
  const at = html.indexOf(`id="sensor-${sensorId}"`);
  expect(at).toBeGreaterThan(0);
  return textOf(html.slice(at, html.indexOf("</tr>", at)));
}

describe("sensor health", () => {
  it("shows the property company its community's sensors: online or offline, last seen, heartbeat, open offline alerts", async () => {
    const world = await createIotWorld(database.db);
    const up = await createSensor(database.db, world);
    const down = await createSensor(database.db, world);
    const seen = new Date("2026-12-05T05:07:00Z");
    await database.db.update(sensors).set({ online: true, lastSeenAt: seen }).where(eq(sensors.id, up.id));
    await database.db
      .update(sensors)
      .set({ online: false, heartbeatIntervalS: 60, lastSeenAt: new Date("2026-12-04T16:30:00Z") })
      .where(eq(sensors.id, down.id));
    await database.db.insert(incidents).values({
      kind: "sensor_offline",
      sensorId: down.id,
      facilityId: world.elevator.id,
      communityId: world.community.id,
      streetId: world.street.id,
      openedAt: new Date("2026-12-04T16:33:00Z"),
    });
    const pc = await signedIn(world.propertyCompany.org.id);
    const page = await pc.get("/sensors");
    expect(page.status).toBe(200);
    const upRow = rowOf(page.html, up.id);
    expect(upRow).toContain("✓ 在线");
    expect(upRow).toContain("2026年12月5日 13:07");
    expect(upRow).toContain("每 30 秒");
    expect(upRow).toContain("无");
    expect(upRow).toContain(world.elevator.name);
    const downRow = rowOf(page.html, down.id);
    // Shanghai's calendar day: 16:30 UTC on the 4th is 00:30 on the 5th.
    expect(downRow).toContain("✕ 离线");
    expect(downRow).toContain("2026年12月5日 00:30");
    expect(downRow).toContain("每 60 秒");
    expect(downRow).toContain("1 条未结束");
    // Not the enterprise's: no key buttons, no registering.
    expect(textOf(page.html)).not.toContain("更换密钥");
    expect(textOf(page.html)).not.toContain("登记新传感器");
  });

  it("shows another community's sensors to nobody else, and says so when there are none", async () => {
    const world = await createIotWorld(database.db);
    const sensor = await createSensor(database.db, world);
    const other = await createWorld(database.db);
    const stranger = await signedIn(other.propertyCompany.org.id);
    const page = await stranger.get("/sensors");
    expect(page.html).not.toContain(sensor.id);
    expect(textOf(page.html)).toContain("还没有传感器。");
    const post = await stranger.post(`/sensors/${sensor.id}/rotate-key`);
    expect(post.status).toBe(404);
  });
});

describe("the enterprise", () => {
  it("registers a sensor on an elevator it operates and sees its key once; only hashes are stored", async () => {
    const world = await createIotWorld(database.db);
    const ent = await signedIn(world.enterprise.org.id);
    const page = await ent.get("/sensors");
    expect(textOf(page.html)).toContain("登记新传感器");
    expect(page.html).toContain(`<option value="${world.elevator.id}"`);
    // Unique: the PostgreSQL database outlives a run.
    const name = `3号楼电梯摄像头 ${randomUUID().slice(0, 8)}`;
    const res = await ent.post("/sensors", {
      facilityId: world.elevator.id,
      name,
      heartbeatIntervalS: "45",
    });
    expect(res.status).toBe(200);
    const key = /data-testid="sensor-key">\s*([^<\s]+)/.exec(res.html)?.[1] ?? "";
    expect(key.length).toBeGreaterThan(20);
    const [row] = await database.db.select().from(sensors).where(eq(sensors.name, name));
    expect(row).toMatchObject({
      facilityId: world.elevator.id,
      enterpriseOrgId: world.enterprise.org.id,
      heartbeatIntervalS: 45,
      keyHash: hashKey(key),
    });
    expect(textOf(res.html)).toContain(`传感器编号（登录用户名）：${row?.id}`);
    // Shown once: the list does not show it again.
    expect((await ent.get("/sensors")).html).not.toContain(key);
  });

  it("rotates a key: a new one shown once, the old one's hash gone", async () => {
    const world = await createIotWorld(database.db);
    const sensor = await createSensor(database.db, world);
    const ent = await signedIn(world.enterprise.org.id);
    const page = await ent.get("/sensors");
    expect(rowOf(page.html, sensor.id)).toContain("更换密钥");
    const res = await ent.post(`/sensors/${sensor.id}/rotate-key`);
    expect(res.status).toBe(200);
    expect(textOf(res.html)).toContain("密钥已更换，旧密钥立即失效。");
    const key = /data-testid="sensor-key">\s*([^<\s]+)/.exec(res.html)?.[1] ?? "";
    const [row] = await database.db.select().from(sensors).where(eq(sensors.id, sensor.id));
    expect(row?.keyHash).toBe(hashKey(key));
    expect(row?.keyHash).not.toBe(hashKey(sensor.key));
  });

  it("refuses a sensor without a name or on an elevator it does not operate, in words", async () => {
    const world = await createIotWorld(database.db);
    const ent = await signedIn(world.enterprise.org.id);
    await ent.get("/sensors");
    const nameless = await ent.post("/sensors", { facilityId: world.elevator.id, name: " " });
    expect(nameless.status).toBe(400);
    expect(textOf(nameless.html)).toContain("请填写传感器名称。");
    const other = await createIotWorld(database.db);
    const theirs = await ent.post("/sensors", { facilityId: other.elevator.id, name: "别人的电梯" });
    expect(theirs.status).toBe(400);
    expect(textOf(theirs.html)).toContain("请选择本企业运营的电梯。");
    const slow = await ent.post("/sensors", {
      facilityId: world.elevator.id,
      name: "x",
      heartbeatIntervalS: "2",
    });
    expect(slow.status).toBe(400);
    expect(textOf(slow.html)).toContain("心跳间隔要在 5 到 3600 秒之间。");
    expect(await database.db.select().from(sensors).where(eq(sensors.facilityId, world.elevator.id))).toEqual(
      [],
    );
  });
});
