/**
 * Device commands in the portal: the property company releases a halted car from the incident
 * board with a reason (the command is stored with the person's name, the audit log names them),
 * and the board then shows who released it, why, and what became of it; the owners committee sees
 * it but is offered no form. On a sensor's commands page the enterprise switches blocking off
 * until a Beijing time, on again, and changes the heartbeat.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { auditLog, deviceCommands, incidents } from "../../db/schema.js";
import { createElevator, createIotWorld, createSensor } from "../iot/support.js";
import { createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createContractRecord, createPerson, type World } from "../support/factories.js";
import { type PortalClient, portalClient, textOf } from "../support/portal.js";

let database: DatabaseHandle;
let app: TestApp;
const NOW = new Date("2026-12-05T02:00:00.000Z");

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db, { now: () => NOW });
});
afterAll(async () => database?.close());

async function signedIn(orgId: string, name?: string): Promise<PortalClient> {
  const person = await createPerson(database.db, orgId, name ? { name } : {});
  const browser = portalClient(app);
  await browser.signIn(person.login, person.password);
  return browser;
}

async function haltIn(world: World) {
  const elevator = await createElevator(database.db, world);
  const sensor = await createSensor(database.db, world, elevator.id);
  const [incident] = await database.db
    .insert(incidents)
    .values({
      kind: "ebike",
      sensorId: sensor.id,
      facilityId: elevator.id,
      communityId: world.community.id,
      streetId: world.street.id,
      openedAt: new Date(NOW.getTime() - 120_000),
      detections: 1,
    })
    .returning();
  if (!incident) throw new Error("no incident");
  return { elevator, sensor, incident };
}

describe("remote release on the incident board", () => {
  it("the property company releases with a reason; the board shows who and why, the audit log names the person", async () => {
    const world = await createIotWorld(database.db);
    const { elevator, sensor, incident } = await haltIn(world);
    const contract = await createContractRecord(database.db, {
      streetId: world.street.id,
      communityId: world.community.id,
      enterpriseOrgId: world.enterprise.org.id,
      ownersCommitteeOrgId: world.ownersCommittee.org.id,
      propertyCompanyOrgId: world.propertyCompany.org.id,
      facilityIds: [elevator.id],
      state: "operating",
    });
    const pc = await signedIn(world.propertyCompany.org.id, "物业值班员张师傅");
    const board = await pc.get("/incidents");
    const card = board.html.slice(board.html.indexOf(`id="incident-${incident.id}"`));
    expect(card).toContain(`action="/incidents/${incident.id}/release"`);
    expect(textOf(card)).toContain("远程放行");

    const res = await pc.post(`/incidents/${incident.id}/release`, { reason: "误报：婴儿车" });
    expect(res.status).toBe(303);
    expect(res.location).toBe(`/incidents/${incident.id}?released=1`);
    const [row] = await database.db
      .select()
      .from(deviceCommands)
      .where(eq(deviceCommands.sensorId, sensor.id));
    expect(row).toMatchObject({
      type: "release",
      state: "pending",
      reason: "误报：婴儿车",
      incidentId: incident.id,
      issuedByOrgId: world.propertyCompany.org.id,
      issuedByName: "物业值班员张师傅",
    });
    const [audit] = await database.db.select().from(auditLog).where(eq(auditLog.contractId, contract.id));
    expect(audit).toMatchObject({
      action: "device_command.issued",
      actorName: "物业值班员张师傅",
      payload: { commandId: row?.id, type: "release", reason: "误报：婴儿车" },
    });
    expect(audit?.actorPersonId).toMatch(/^[0-9a-f-]{36}$/);

    const detail = textOf((await pc.get(res.location ?? "")).html);
    expect(detail).toContain("已发出远程放行指令，等待设备回应。");
    expect(detail).toContain("由 物业值班员张师傅 远程放行（误报：婴儿车）");
    expect(detail).toContain("等待发给设备");
    // The device's answer, as the dispatcher records it, shows on the board.
    await database.db
      .update(deviceCommands)
      .set({ state: "applied", resultAt: NOW })
      .where(eq(deviceCommands.id, row?.id ?? ""));
    const oc = await signedIn(world.ownersCommittee.org.id);
    const ocBoard = await oc.get("/incidents");
    const ocCard = ocBoard.html.slice(ocBoard.html.indexOf(`id="incident-${incident.id}"`));
    expect(textOf(ocCard)).toContain("由 物业值班员张师傅 远程放行（误报：婴儿车）");
    expect(textOf(ocCard)).toContain("设备已放行");
    expect(ocCard).not.toContain(`action="/incidents/${incident.id}/release"`);
    await oc.get(`/lang?to=en&back=/incidents/${incident.id}`);
    const english = textOf((await oc.get(`/incidents/${incident.id}`)).html);
    expect(english).toContain("Released remotely by 物业值班员张师傅 (误报：婴儿车)");
    expect(english).toContain("the device let the car go");
  });

  it("the owners committee is refused (403), a closed halt is no_open_halt (409), a blank reason 400; nothing stored", async () => {
    const world = await createIotWorld(database.db);
    const { sensor, incident } = await haltIn(world);
    const oc = await signedIn(world.ownersCommittee.org.id);
    await oc.get("/incidents");
    const refused = await oc.post(`/incidents/${incident.id}/release`, { reason: "想放行" });
    expect(refused.status).toBe(403);
    const pc = await signedIn(world.propertyCompany.org.id);
    await pc.get("/incidents");
    const blank = await pc.post(`/incidents/${incident.id}/release`, { reason: "  " });
    expect(blank.status).toBe(400);
    expect(textOf(blank.html)).toContain("请写明放行理由");
    await database.db
      .update(incidents)
      .set({ closedAt: NOW, haltSeconds: 120 })
      .where(eq(incidents.id, incident.id));
    const closed = await pc.post(`/incidents/${incident.id}/release`, { reason: "误报" });
    expect(closed.status).toBe(409);
    expect(textOf(closed.html)).toContain("这部电梯现在没有被电动车拦停，无需放行。");
    const withoutToken = await pc.post(`/incidents/${incident.id}/release`, { reason: "误报", _csrf: null });
    expect(withoutToken.status).toBe(403);
    expect(
      await database.db.select().from(deviceCommands).where(eq(deviceCommands.sensorId, sensor.id)),
    ).toEqual([]);
  });
});

describe("a sensor's commands page", () => {
  it("the enterprise switches blocking off until a Beijing time, on again, and changes the heartbeat", async () => {
    const world = await createIotWorld(database.db);
    const elevator = await createElevator(database.db, world);
    const sensor = await createSensor(database.db, world, elevator.id);
    const ent = await signedIn(world.enterprise.org.id, "运维李工");
    const list = await ent.get("/sensors");
    expect(list.html).toContain(`href="/sensors/${sensor.id}/commands"`);
    const page = await ent.get(`/sensors/${sensor.id}/commands`);
    expect(page.status).toBe(200);
    expect(textOf(page.html)).toContain("临时关闭电动车拦截");

    const off = await ent.post(`/sensors/${sensor.id}/commands`, {
      type: "blocking_off",
      until: "2026-12-05T18:00",
      reason: "3号楼搬家",
    });
    expect(off.status).toBe(303);
    const on = await ent.post(`/sensors/${sensor.id}/commands`, { type: "blocking_on", reason: "搬家结束" });
    expect(on.status).toBe(303);
    const beat = await ent.post(`/sensors/${sensor.id}/commands`, {
      type: "heartbeat",
      intervalS: "60",
      reason: "省流量",
    });
    expect(beat.status).toBe(303);
    const rows = await database.db
      .select()
      .from(deviceCommands)
      .where(eq(deviceCommands.sensorId, sensor.id))
      .orderBy(deviceCommands.id);
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r.params)).toEqual(
      expect.arrayContaining([
        { enabled: false, until: "2026-12-05T10:00:00.000Z" },
        { enabled: true },
        { intervalS: 60 },
      ]),
    );
    expect(rows.every((r) => r.issuedByName === "运维李工")).toBe(true);
    const after = textOf((await ent.get(`/sensors/${sensor.id}/commands?sent=1`)).html);
    expect(after).toContain("指令已发出，等待设备回应。");
    expect(after).toContain("心跳间隔改为 60 秒");
    expect(after).toContain("恢复电动车拦截");
    expect(after).toContain("3号楼搬家");

    const far = await ent.post(`/sensors/${sensor.id}/commands`, {
      type: "blocking_off",
      until: "2026-12-07T10:00",
      reason: "太久",
    });
    expect(far.status).toBe(422);
    expect(textOf(far.html)).toContain("关闭拦截的结束时间必须在将来");
  });

  it("the owners committee reads the commands but is offered no form, and is refused a post", async () => {
    const world = await createIotWorld(database.db);
    const sensor = await createSensor(database.db, world);
    const oc = await signedIn(world.ownersCommittee.org.id);
    const page = await oc.get(`/sensors/${sensor.id}/commands`);
    expect(page.status).toBe(200);
    expect(page.html).not.toContain(`action="/sensors/${sensor.id}/commands"`);
    const res = await oc.post(`/sensors/${sensor.id}/commands`, { type: "blocking_on", reason: "x" });
    expect(res.status).toBe(403);
  });
});
