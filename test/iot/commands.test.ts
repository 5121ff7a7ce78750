/**
 * Commands people send to sensors through the API: stored pending with the audit row, idempotent
 * by commandId, every refusal of the device command table with its status and problem body, the
 * scope of each role, the releases an incident shows, and the expiry job on an injected clock.
 */
import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { hashKey } from "../../db/keys.js";
import { auditLog, deviceCommands, incidents, notificationEvents, sensors } from "../../db/schema.js";
import { createCommandCounters } from "../../iot/command-counters.js";
import { createApp } from "../../src/app.js";
import { runScheduled } from "../../src/scheduled.js";
import { runCommandExpiry } from "../../src/services/sensors/commands.js";
import { client, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createContractRecord, createOrg, createWorld, type World } from "../support/factories.js";
import { createElevator, createIotWorld, createSensor } from "./support.js";

let database: DatabaseHandle;
let app: TestApp;
/** The app's clock: tests move it. */
let now = new Date("2026-12-05T02:00:00.000Z");
const clock = () => now;
const counters = createCommandCounters();
let kicks = 0;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createApp({
    db: database.db,
    logger: pino({ level: "silent" }),
    clock,
    adminTokenHash: hashKey(TEST_ADMIN_TOKEN),
    commandCounters: counters,
    commandDispatcher: { kick: () => void kicks++ },
  });
});
afterAll(async () => database?.close());

/** A sensor on a new elevator of the world's community, with an open e-bike halt when asked. */
async function sensorIn(world: World, opts: { halt?: boolean } = {}) {
  const elevator = await createElevator(database.db, world);
  const sensor = await createSensor(database.db, world, elevator.id);
  let incidentId: string | null = null;
  if (opts.halt) {
    const [row] = await database.db
      .insert(incidents)
      .values({
        kind: "ebike",
        sensorId: sensor.id,
        facilityId: elevator.id,
        communityId: world.community.id,
        streetId: world.street.id,
        openedAt: new Date(now.getTime() - 60_000),
        detections: 1,
      })
      .returning();
    incidentId = row?.id ?? null;
  }
  return { sensor, elevator, incidentId };
}

const release = (reason = "误报：婴儿车") => ({ type: "release", reason });

async function commandRow(id: string) {
  const [row] = await database.db.select().from(deviceCommands).where(eq(deviceCommands.id, id));
  return row;
}

describe("issuing a command", () => {
  it("a release is stored pending with the halt it lets go of, the audit row and the dispatcher told", async () => {
    const world = await createIotWorld(database.db);
    const { sensor, elevator, incidentId } = await sensorIn(world, { halt: true });
    const contract = await createContractRecord(database.db, {
      streetId: world.street.id,
      communityId: world.community.id,
      enterpriseOrgId: world.enterprise.org.id,
      ownersCommitteeOrgId: world.ownersCommittee.org.id,
      propertyCompanyOrgId: world.propertyCompany.org.id,
      facilityIds: [elevator.id],
      state: "operating",
    });
    const kicksBefore = kicks;
    const issuedBefore = counters.issued.release;
    const res = await client(app, world.propertyCompany.key).post(
      `/v1/sensors/${sensor.id}/commands`,
      release(),
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      sensorId: sensor.id,
      type: "release",
      params: {},
      state: "pending",
      reason: "误报：婴儿车",
      incidentId,
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 120_000).toISOString(),
      sentAt: null,
      resultAt: null,
      issuedByOrgId: world.propertyCompany.org.id,
      issuedByName: null,
    });
    expect((await commandRow(res.body.id))?.state).toBe("pending");
    const audit = await database.db.select().from(auditLog).where(eq(auditLog.contractId, contract.id));
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      action: "device_command.issued",
      actorOrgId: world.propertyCompany.org.id,
      actorKeyId: world.propertyCompany.keyId,
      payload: {
        commandId: res.body.id,
        sensorId: sensor.id,
        type: "release",
        reason: "误报：婴儿车",
        incidentId,
      },
    });
    expect(kicks).toBe(kicksBefore + 1);
    expect(counters.issued.release).toBe(issuedBefore + 1);
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toContain(`bot_device_commands_issued_total{type="release"} ${counters.issued.release}`);
  });

  it("blocking off until a time, on, and the heartbeat: the device's fields only", async () => {
    const world = await createIotWorld(database.db);
    const { sensor } = await sensorIn(world);
    const ent = client(app, world.enterprise.key);
    const until = new Date(now.getTime() + 6 * 3_600_000);
    const off = await ent.post(`/v1/sensors/${sensor.id}/commands`, {
      type: "set_blocking",
      enabled: false,
      until: "2026-12-05T16:00:00+08:00",
      reason: "搬家日",
    });
    expect(off.status).toBe(201);
    expect(off.body.params).toEqual({ enabled: false, until: until.toISOString() });
    expect(off.body.incidentId).toBeNull();
    const on = await ent.post(`/v1/sensors/${sensor.id}/commands`, {
      type: "set_blocking",
      enabled: true,
      reason: "搬家结束",
    });
    expect(on.status).toBe(201);
    expect(on.body.params).toEqual({ enabled: true });
    const beat = await ent.post(`/v1/sensors/${sensor.id}/commands`, {
      type: "set_heartbeat",
      intervalSeconds: 60,
      reason: "省流量",
    });
    expect(beat.status).toBe(201);
    expect(beat.body.params).toEqual({ intervalSeconds: 60 });
  });

  it("the same commandId and body again is answered with the stored command, once; another body or sensor is 409", async () => {
    const world = await createIotWorld(database.db);
    const { sensor } = await sensorIn(world, { halt: true });
    const other = await sensorIn(world, { halt: true });
    const pc = client(app, world.propertyCompany.key);
    const commandId = randomUUID();
    const first = await pc.post(`/v1/sensors/${sensor.id}/commands`, { ...release(), commandId });
    expect(first.status).toBe(201);
    expect(first.body.id).toBe(commandId);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    for (let i = 0; i < 2; i++) {
      const again = await pc.post(`/v1/sensors/${sensor.id}/commands`, { ...release(), commandId });
      expect(again.status).toBe(200);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(again.body).toEqual(first.body);
    }
    const rows = await database.db
      .select()
      .from(deviceCommands)
      .where(eq(deviceCommands.sensorId, sensor.id));
    expect(rows).toHaveLength(1);
    // A replay of blocking off (the stored params are jsonb, whose key order is its own).
    const offId = randomUUID();
    const off = {
      commandId: offId,
      type: "set_blocking",
      enabled: false,
      until: new Date(now.getTime() + 3_600_000).toISOString(),
      reason: "搬家",
    };
    expect((await pc.post(`/v1/sensors/${sensor.id}/commands`, off)).status).toBe(201);
    const offAgain = await pc.post(`/v1/sensors/${sensor.id}/commands`, off);
    expect(offAgain.status).toBe(200);
    expect(offAgain.body.id).toBe(offId);

    const otherBody = await pc.post(`/v1/sensors/${sensor.id}/commands`, {
      ...release("另一个理由"),
      commandId,
    });
    expect(otherBody.status).toBe(409);
    expect(otherBody.headers.get("content-type")).toContain("application/problem+json");
    expect(otherBody.body).toMatchObject({ status: 409, code: "command_id_reused" });
    const otherSensor = await pc.post(`/v1/sensors/${other.sensor.id}/commands`, { ...release(), commandId });
    expect(otherSensor.status).toBe(409);
    expect(otherSensor.body.code).toBe("command_id_reused");
    expect(otherSensor.body.detail).toContain("another sensor");
    expect(
      await database.db.select().from(deviceCommands).where(eq(deviceCommands.sensorId, other.sensor.id)),
    ).toEqual([]);
  });

  it("concurrent requests with one commandId store one command; the others are replays", async () => {
    const world = await createIotWorld(database.db);
    const { sensor } = await sensorIn(world, { halt: true });
    const pc = client(app, world.propertyCompany.key);
    const commandId = randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 4 }, () =>
        pc.post(`/v1/sensors/${sensor.id}/commands`, { ...release(), commandId }),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 201]);
    expect(
      await database.db.select().from(deviceCommands).where(eq(deviceCommands.sensorId, sensor.id)),
    ).toHaveLength(1);
  });
});

describe("refusals of the device command table", () => {
  async function expectProblem(
    res: { status: number; body: Record<string, unknown>; headers: Headers },
    status: number,
    code: string,
  ) {
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.body).toMatchObject({ status, code });
  }

  it("a release with no open e-bike halt: 409 no_open_halt, nothing stored", async () => {
    const world = await createIotWorld(database.db);
    const { sensor } = await sensorIn(world);
    const res = await client(app, world.propertyCompany.key).post(
      `/v1/sensors/${sensor.id}/commands`,
      release(),
    );
    await expectProblem(res, 409, "no_open_halt");
    expect(
      await database.db.select().from(deviceCommands).where(eq(deviceCommands.sensorId, sensor.id)),
    ).toEqual([]);
  });

  it("a revoked sensor takes no command: 409 sensor_revoked", async () => {
    const world = await createIotWorld(database.db);
    const { sensor } = await sensorIn(world, { halt: true });
    await database.db.update(sensors).set({ revokedAt: now }).where(eq(sensors.id, sensor.id));
    for (const body of [release(), { type: "set_heartbeat", intervalSeconds: 30, reason: "x" }]) {
      const res = await client(app, world.enterprise.key).post(`/v1/sensors/${sensor.id}/commands`, body);
      await expectProblem(res, 409, "sensor_revoked");
    }
  });

  it("blocking off without until, with until on, beyond the window or in the past", async () => {
    const world = await createIotWorld(database.db);
    const { sensor } = await sensorIn(world);
    const pc = client(app, world.propertyCompany.key);
    const path = `/v1/sensors/${sensor.id}/commands`;
    const noUntil = await pc.post(path, { type: "set_blocking", enabled: false, reason: "搬家" });
    await expectProblem(noUntil, 400, "validation_failed");
    expect(noUntil.body.errors).toEqual([
      { field: "body.until", message: "is required to switch blocking off: when it comes back on" },
    ]);
    const untilOn = await pc.post(path, {
      type: "set_blocking",
      enabled: true,
      until: new Date(now.getTime() + 3_600_000).toISOString(),
      reason: "搬家",
    });
    await expectProblem(untilOn, 400, "validation_failed");
    expect(untilOn.body.errors[0].field).toBe("body.until");
    const far = await pc.post(path, {
      type: "set_blocking",
      enabled: false,
      until: new Date(now.getTime() + 25 * 3_600_000).toISOString(),
      reason: "搬家",
    });
    await expectProblem(far, 422, "blocking_off_window");
    expect(far.body.errors).toEqual([
      { field: "body.until", message: "must be at most 24 hours ahead (DEVICE_BLOCKING_OFF_MAX_H)" },
    ]);
    const past = await pc.post(path, {
      type: "set_blocking",
      enabled: false,
      until: new Date(now.getTime() - 60_000).toISOString(),
      reason: "搬家",
    });
    await expectProblem(past, 422, "blocking_off_window");
    expect(past.body.errors).toEqual([{ field: "body.until", message: "must be in the future" }]);
    expect(
      await database.db.select().from(deviceCommands).where(eq(deviceCommands.sensorId, sensor.id)),
    ).toEqual([]);
  });

  it("fields of another type, a heartbeat out of range, and no reason: 400 naming the field", async () => {
    const world = await createIotWorld(database.db);
    const { sensor } = await sensorIn(world, { halt: true });
    const pc = client(app, world.propertyCompany.key);
    const path = `/v1/sensors/${sensor.id}/commands`;
    const extra = await pc.post(path, { ...release(), intervalSeconds: 30 });
    await expectProblem(extra, 400, "validation_failed");
    expect(extra.body.errors).toEqual([
      { field: "body.intervalSeconds", message: "is not a field of release" },
    ]);
    const beat = await pc.post(path, { type: "set_heartbeat", intervalSeconds: 4, reason: "x" });
    await expectProblem(beat, 400, "validation_failed");
    expect(beat.body.errors[0].field).toBe("body.intervalSeconds");
    const noReason = await pc.post(path, { type: "release" });
    await expectProblem(noReason, 400, "validation_failed");
    expect(noReason.body.errors[0].field).toBe("body.reason");
    const blank = await pc.post(path, { type: "release", reason: "   " });
    await expectProblem(blank, 400, "validation_failed");
    const long = await pc.post(path, { type: "release", reason: "长".repeat(501) });
    await expectProblem(long, 400, "validation_failed");
  });

  it("the owners committee and the street office read but do not issue: 403; the admin token: 403", async () => {
    const world = await createIotWorld(database.db);
    const { sensor } = await sensorIn(world, { halt: true });
    for (const key of [world.ownersCommittee.key, world.streetOffice.key, TEST_ADMIN_TOKEN]) {
      const c = client(app, key);
      const res = await c.post(`/v1/sensors/${sensor.id}/commands`, release());
      await expectProblem(res, 403, "forbidden");
      expect((await c.get(`/v1/sensors/${sensor.id}/commands`)).status).toBe(200);
    }
  });

  it("another street's property company and another enterprise get 404, for issuing and reading", async () => {
    const world = await createIotWorld(database.db);
    const { sensor } = await sensorIn(world, { halt: true });
    const issued = await client(app, world.propertyCompany.key).post(
      `/v1/sensors/${sensor.id}/commands`,
      release(),
    );
    const elsewhere = await createWorld(database.db);
    const strangerEnterprise = await createOrg(database.db, {
      kind: "enterprise",
      streetId: world.street.id,
    });
    for (const key of [elsewhere.propertyCompany.key, strangerEnterprise.key, elsewhere.streetOffice.key]) {
      const c = client(app, key);
      const res = await c.post(`/v1/sensors/${sensor.id}/commands`, release());
      await expectProblem(res, 404, "not_found");
      expect((await c.get(`/v1/sensors/${sensor.id}/commands`)).status).toBe(404);
      expect((await c.get(`/v1/sensors/${sensor.id}/commands/${issued.body.id}`)).status).toBe(404);
    }
  });
});

describe("reading commands", () => {
  it("newest first, paged, and one by id only under its own sensor", async () => {
    const world = await createIotWorld(database.db);
    const { sensor } = await sensorIn(world);
    const other = await sensorIn(world);
    const ent = client(app, world.enterprise.key);
    const ids: string[] = [];
    for (const intervalSeconds of [10, 20, 30]) {
      now = new Date(now.getTime() + 1000);
      const res = await ent.post(`/v1/sensors/${sensor.id}/commands`, {
        type: "set_heartbeat",
        intervalSeconds,
        reason: "r",
      });
      ids.push(res.body.id);
    }
    const page = await client(app, world.ownersCommittee.key).get(
      `/v1/sensors/${sensor.id}/commands?limit=2`,
    );
    expect(page.status).toBe(200);
    expect(page.body.total).toBe(3);
    expect(page.body.items.map((i: { id: string }) => i.id)).toEqual([ids[2], ids[1]]);
    const rest = await ent.get(`/v1/sensors/${sensor.id}/commands?limit=2&offset=2`);
    expect(rest.body.items.map((i: { id: string }) => i.id)).toEqual([ids[0]]);
    const one = await client(app, world.streetOffice.key).get(`/v1/sensors/${sensor.id}/commands/${ids[0]}`);
    expect(one.status).toBe(200);
    expect(one.body.params).toEqual({ intervalSeconds: 10 });
    expect((await ent.get(`/v1/sensors/${other.sensor.id}/commands/${ids[0]}`)).status).toBe(404);
  });
});

describe("the incident shows its releases", () => {
  it("who released it, why, and the command's state, in the list and the one incident", async () => {
    const world = await createIotWorld(database.db);
    const { sensor, elevator, incidentId } = await sensorIn(world, { halt: true });
    const pc = client(app, world.propertyCompany.key);
    const issued = await pc.post(`/v1/sensors/${sensor.id}/commands`, release("轮椅，不是电动车"));
    const one = await pc.get(`/v1/incidents/${incidentId}`);
    expect(one.body.releases).toEqual([
      {
        commandId: issued.body.id,
        state: "pending",
        issuedAt: issued.body.issuedAt,
        issuedByOrgId: world.propertyCompany.org.id,
        issuedByName: null,
        reason: "轮椅，不是电动车",
        resultAt: null,
      },
    ]);
    const list = await client(app, world.ownersCommittee.key).get(`/v1/incidents?facilityId=${elevator.id}`);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0].releases).toEqual(one.body.releases);
  });
});

describe("the live feed shows the releases too", () => {
  it("an incident's change carries its releases, as GET /v1/incidents/{id} answers it", async () => {
    const world = await createIotWorld(database.db);
    const { sensor, incidentId } = await sensorIn(world, { halt: true });
    const pc = client(app, world.propertyCompany.key);
    const issued = await pc.post(`/v1/sensors/${sensor.id}/commands`, release("自行车"));
    // The halt ends (as the ingest closes it), which the change log records.
    await database.db
      .update(incidents)
      .set({ closedAt: now, haltSeconds: 60, updatedAt: now })
      .where(eq(incidents.id, incidentId ?? ""));
    const res = await app.request("/v1/incidents/stream?lastEventId=0&follow=false", {
      headers: { authorization: `Bearer ${world.propertyCompany.key}` },
    });
    const events = (await res.text())
      .split("\n")
      .filter((l) => l.startsWith("data: "))
      .map((l) => JSON.parse(l.slice(6)))
      .filter((i: { id: string }) => i.id === incidentId);
    expect(events.length).toBeGreaterThan(0);
    const last = events.at(-1);
    expect(last.releases).toEqual([expect.objectContaining({ commandId: issued.body.id, reason: "自行车" })]);
    expect(last).toEqual((await pc.get(`/v1/incidents/${incidentId}`)).body);
  });
});

describe("the expiry job", () => {
  it("expires an unanswered command at expiresAt, not before, with exactly one command_failed cause", async () => {
    const world = await createIotWorld(database.db);
    const { sensor, elevator } = await sensorIn(world, { halt: true });
    const issuedAt = new Date(now.getTime());
    const res = await client(app, world.propertyCompany.key).post(
      `/v1/sensors/${sensor.id}/commands`,
      release(),
    );
    const id: string = res.body.id;
    const expiredBefore = counters.expired;
    const at = (ms: number) => () => new Date(issuedAt.getTime() + ms);
    // Every run's count (other tests' commands expire too on a shared database) reaches the counter.
    let counted = (await runCommandExpiry({ db: database.db, clock: at(119_999), counters })).expired;
    expect((await commandRow(id))?.state).toBe("pending");
    const causes = () =>
      database.db
        .select()
        .from(notificationEvents)
        .where(and(eq(notificationEvents.type, "command_failed"), eq(notificationEvents.subjectId, id)));
    expect(await causes()).toEqual([]);
    for (let run = 0; run < 3; run++) {
      counted += (await runCommandExpiry({ db: database.db, clock: at(120_000 + run), counters })).expired;
    }
    const row = await commandRow(id);
    expect(row).toMatchObject({
      state: "expired",
      resultAt: new Date(issuedAt.getTime() + 120_000),
      resultReason: "No answer came from the device within 120 s of the command being issued.",
    });
    const recorded = await causes();
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      streetId: world.street.id,
      communityId: world.community.id,
      facilityId: elevator.id,
      enterpriseOrgId: world.enterprise.org.id,
      payload: {
        commandId: id,
        commandType: "release",
        sensorId: sensor.id,
        sensorName: expect.any(String),
        facilityName: elevator.name,
        result: "expired",
        reason: "No answer came from the device within 120 s of the command being issued.",
      },
    });
    expect(counted).toBeGreaterThanOrEqual(1);
    expect(counters.expired).toBe(expiredBefore + counted);
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toContain(`bot_device_commands_expired_total ${counters.expired}`);
  });

  it("a command answered before expiry is not expired; several instances at once expire each once", async () => {
    const world = await createIotWorld(database.db);
    const { sensor } = await sensorIn(world);
    const ent = client(app, world.enterprise.key);
    const answered = await ent.post(`/v1/sensors/${sensor.id}/commands`, {
      type: "set_heartbeat",
      intervalSeconds: 60,
      reason: "r",
    });
    // The device's answer, as the dispatcher records it.
    await database.db
      .update(deviceCommands)
      .set({ state: "applied", resultAt: now })
      .where(eq(deviceCommands.id, answered.body.id));
    const silent: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await ent.post(`/v1/sensors/${sensor.id}/commands`, {
        type: "set_heartbeat",
        intervalSeconds: 60 + i,
        reason: "r",
      });
      silent.push(res.body.id);
    }
    const later = () => new Date(now.getTime() + 121_000);
    await Promise.all(Array.from({ length: 3 }, () => runCommandExpiry({ db: database.db, clock: later })));
    expect((await commandRow(answered.body.id))?.state).toBe("applied");
    for (const id of silent) expect((await commandRow(id))?.state).toBe("expired");
    const causes = await database.db
      .select()
      .from(notificationEvents)
      .where(eq(notificationEvents.type, "command_failed"));
    const mine = causes.filter((c) => silent.includes(c.subjectId) || c.subjectId === answered.body.id);
    expect(mine.map((c) => c.subjectId).sort()).toEqual([...silent].sort());
  });

  it("the Workers cron's every-minute job expires commands too", async () => {
    const world = await createIotWorld(database.db);
    const { sensor } = await sensorIn(world);
    const res = await client(app, world.enterprise.key).post(`/v1/sensors/${sensor.id}/commands`, {
      type: "set_heartbeat",
      intervalSeconds: 45,
      reason: "r",
    });
    const later = new Date(now.getTime() + 120_000);
    await runScheduled("* * * * *", {
      db: database.db,
      clock: () => later,
      logger: pino({ level: "silent" }),
    });
    expect((await commandRow(res.body.id))?.state).toBe("expired");
  });
});
