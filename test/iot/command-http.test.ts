/**
 * Device commands for devices without MQTT: fetching the open commands and answering them over
 * HTTP with the sensor's own key, and what the answers do (state, reason, idempotence, scope).
 */
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { deviceCommands, notificationEvents } from "../../db/schema.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import type { World } from "../support/factories.js";
import { commandRow, createCommand, createIotWorld, createSensor } from "./support.js";

let database: DatabaseHandle;
let world: World;
let app: ReturnType<typeof createTestApp>;

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
  app = createTestApp(database.db);
});
afterAll(() => database.close());

const api = (key?: string) => client(app, key);
const pending = (sensor: { id: string; key: string }) =>
  api(sensor.key).get(`/v1/sensors/${sensor.id}/commands/pending`);
const answer = (sensor: { id: string; key: string }, body: unknown) =>
  api(sensor.key).post(`/v1/sensors/${sensor.id}/command-results`, body);

describe("device commands over HTTP", () => {
  it("a device fetches its open, unexpired commands (marked sent) and answers them", async () => {
    const sensor = await createSensor(database.db, world);
    const release = await createCommand(database.db, world, sensor, {
      issuedAt: new Date(Date.now() - 2_000),
    });
    const blocking = await createCommand(database.db, world, sensor, {
      type: "set_blocking",
      params: { enabled: false, until: "2026-12-06T00:00:00.000Z" },
    });
    await createCommand(database.db, world, sensor, {
      issuedAt: new Date(Date.now() - 120_000),
      expiresAt: new Date(Date.now() - 60_000),
    });
    const answered = await createCommand(database.db, world, sensor, { state: "applied" });

    const res = await pending(sensor);
    expect(res.status).toBe(200);
    expect(res.body.commands).toEqual([
      {
        commandId: release.id,
        type: "release",
        issuedAt: release.issuedAt.toISOString(),
        expiresAt: release.expiresAt.toISOString(),
      },
      {
        commandId: blocking.id,
        type: "set_blocking",
        issuedAt: blocking.issuedAt.toISOString(),
        expiresAt: blocking.expiresAt.toISOString(),
        enabled: false,
        until: "2026-12-06T00:00:00.000Z",
      },
    ]);
    expect(res.body.commands.map((c: { commandId: string }) => c.commandId)).not.toContain(answered.id);
    expect((await commandRow(database.db, release.id)).state).toBe("sent");

    const applied = await answer(sensor, { commandId: release.id, result: "applied" });
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ commandId: release.id, state: "applied", outcome: "recorded" });
    // A retry of the same answer is fine; another answer afterwards is refused, the first stays.
    const again = await answer(sensor, { commandId: release.id, result: "applied" });
    expect(again.body).toMatchObject({ state: "applied", outcome: "duplicate" });
    const other = await answer(sensor, {
      commandId: release.id,
      result: "refused",
      reason: "changed my mind",
    });
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ code: "command_closed", currentState: "applied" });
    expect(await commandRow(database.db, release.id)).toMatchObject({ state: "applied", resultReason: null });

    // Answered: no longer fetched.
    const after = await pending(sensor);
    expect(after.body.commands.map((c: { commandId: string }) => c.commandId)).toEqual([blocking.id]);
  });

  it("an answer past the platform's expiry stays expired; a device's own `expired` is a failure", async () => {
    const sensor = await createSensor(database.db, world);
    const late = await createCommand(database.db, world, sensor, {
      state: "expired",
      resultAt: new Date(),
      resultReason: "no answer before expiresAt",
    });
    const res = await answer(sensor, { commandId: late.id, result: "applied" });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: "command_closed", currentState: "expired" });
    expect((await commandRow(database.db, late.id)).state).toBe("expired");

    const missed = await createCommand(database.db, world, sensor, { state: "sent", sentAt: new Date() });
    const expired = await answer(sensor, { commandId: missed.id, result: "expired" });
    expect(expired.body).toMatchObject({ state: "expired", outcome: "recorded" });
    expect(await commandRow(database.db, missed.id)).toMatchObject({
      state: "expired",
      resultReason: "expired on the device",
    });
    const causes = await database.db
      .select()
      .from(notificationEvents)
      .where(eq(notificationEvents.subjectId, missed.id));
    expect(causes.map((c) => [c.type, (c.payload as { result: string }).result])).toEqual([
      ["command_failed", "expired"],
    ]);
  });

  it("a sensor answers only its own commands and reads only its own list", async () => {
    const a = await createSensor(database.db, world);
    const b = await createSensor(database.db, world);
    const theirs = await createCommand(database.db, world, b);
    const res = await answer(a, { commandId: theirs.id, result: "refused", reason: "not mine" });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe("not_found");
    const unknown = await answer(a, { commandId: randomUUID(), result: "applied" });
    expect(unknown.status).toBe(404);
    expect((await commandRow(database.db, theirs.id)).state).toBe("pending");
    // Another sensor's key on this sensor's path: 401, as the HTTP ingest.
    const spy = await api(a.key).get(`/v1/sensors/${b.id}/commands/pending`);
    expect(spy.status).toBe(401);
    const forged = await api(a.key).post(`/v1/sensors/${b.id}/command-results`, {
      commandId: theirs.id,
      result: "applied",
    });
    expect(forged.status).toBe(401);
    expect((await commandRow(database.db, theirs.id)).state).toBe("pending");
    // An organization's key is not a sensor's.
    expect((await api(world.enterprise.key).get(`/v1/sensors/${b.id}/commands/pending`)).status).toBe(401);
  });

  it("refuses an invalid answer naming the field, and changes nothing", async () => {
    const sensor = await createSensor(database.db, world);
    const command = await createCommand(database.db, world, sensor);
    const cases: [unknown, string][] = [
      [{ commandId: command.id, result: "done" }, "body.result"],
      [{ commandId: "42", result: "applied" }, "body.commandId"],
      [{ result: "applied" }, "body.commandId"],
      [{ commandId: command.id, result: "refused", reason: "x".repeat(501) }, "body.reason"],
      [{ commandId: command.id, result: "applied", extra: true }, "body.extra"],
    ];
    for (const [body, field] of cases) {
      const res = await answer(sensor, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe("validation_failed");
      expect(res.body.errors[0].field, JSON.stringify(body)).toBe(field);
    }
    const [row] = await database.db.select().from(deviceCommands).where(eq(deviceCommands.id, command.id));
    expect(row?.state).toBe("pending");
  });
});
