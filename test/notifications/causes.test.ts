/**
 * Each cause of a notification is recorded in the outbox exactly when the change that caused it
 * commits, once, and not when the change is refused or rolled back: incidents opened by the ingest
 * (HTTP and the handler MQTT shares) and the offline sweeper, suspensions for arrears, contracts
 * handed to the owners committee, operation reports filed.
 */
import { sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { incidents } from "../../db/schema.js";
import { startEmbeddedBroker } from "../../iot/broker.js";
import { createIngest, type Ingest } from "../../iot/ingest.js";
import { eventsTopic } from "../../iot/protocol.js";
import { sweepOffline } from "../../iot/sweeper.js";
import { createWriter } from "../../iot/writer.js";
import { runArrearsPass } from "../../src/services/fees/arrears.js";
import {
  createElevator,
  createIotWorld,
  createSensor,
  device,
  event,
  eventItem,
  INGEST_USER,
} from "../iot/support.js";
import { createContractWithTerms } from "../reports/support.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createBilledHousehold, createWorld, type World } from "../support/factories.js";
import { elevatorTerms } from "../support/terms.js";
import { causesOf } from "./causes-support.js";

const logger = pino({ level: "silent" });
let database: DatabaseHandle;
let world: World;
let ingest: Ingest;

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
  ingest = createIngest({ db: database.db, logger, clock: () => new Date(), sensorCacheTtlMs: 0 });
});
afterAll(async () => {
  await database?.close();
});

/** A sensor on an elevator of its own (one open e-bike incident per elevator). */
async function sensorOnItsOwnElevator() {
  return createSensor(database.db, world, (await createElevator(database.db, world)).id);
}

async function send(sensorId: string, ...events: Record<string, unknown>[]) {
  const result = await ingest.ingestBatch(events.map((e) => eventItem(sensorId, e)));
  expect(result.rejected).toEqual([]);
}

async function haltCauses(facilityId: string) {
  return (await causesOf(database.db, "ebike_halt_opened")).filter((c) => c.facility_id === facilityId);
}

async function incidentIds(facilityId: string, kind: "ebike" | "sensor_offline" = "ebike") {
  const rows = await database.db
    .select({ id: incidents.id, openedAt: incidents.openedAt })
    .from(incidents)
    .where(sql`${incidents.facilityId} = ${facilityId} and ${incidents.kind} = ${kind}`)
    .orderBy(incidents.openedAt);
  return rows;
}

describe("ebike_halt_opened", () => {
  it("is recorded once when HTTP ingest opens a halt, with the names resolved, and not again on redelivery", async () => {
    const sensor = await sensorOnItsOwnElevator();
    const device = client(createTestApp(database.db), sensor.key);
    const detected = event("ebike_detected", 0);
    const posted = await device.post(`/v1/sensors/${sensor.id}/events`, detected);
    expect(posted.status).toBe(200);
    const [incident] = await incidentIds(sensor.facilityId);
    if (!incident) throw new Error("no incident opened");
    const causes = await haltCauses(sensor.facilityId);
    expect(causes).toEqual([
      expect.objectContaining({
        subject_id: incident.id,
        street_id: world.street.id,
        community_id: world.community.id,
        enterprise_org_id: world.enterprise.org.id,
        dedupe_key: `ebike_halt_opened:${sensor.facilityId}:${detected.occurredAt}`,
        payload: {
          incidentId: incident.id,
          facilityId: sensor.facilityId,
          facilityName: expect.any(String),
          communityName: world.community.name,
          openedAt: detected.occurredAt,
        },
      }),
    ]);
    expect(causes[0]?.occurred_at).toEqual(new Date(detected.occurredAt));

    // The same event again (a redelivery), a second detection of the same halt, and the clear.
    expect((await device.post(`/v1/sensors/${sensor.id}/events`, detected)).body.duplicates).toEqual([
      detected.eventId,
    ]);
    await send(sensor.id, event("ebike_detected", 5), detected);
    await send(sensor.id, event("ebike_cleared", 30));
    expect(await haltCauses(sensor.facilityId)).toHaveLength(1);
  });

  it("is recorded once when the detection arrives after the clear, and once for each halt a late clear splits", async () => {
    const late = await sensorOnItsOwnElevator();
    const base = Date.now() - 600_000;
    // The clear first (nothing open: ignored), then its detection: one closed incident, announced.
    await send(late.id, event("ebike_cleared", 40, {}, base));
    expect(await haltCauses(late.facilityId)).toEqual([]);
    const detected = event("ebike_detected", 0, {}, base);
    await send(late.id, detected);
    await send(late.id, detected);
    const late1 = await haltCauses(late.facilityId);
    expect(late1.map((c) => c.payload.openedAt)).toEqual([detected.occurredAt]);

    // Detections at 0 s and 60 s are one halt, until a clear at 30 s arrives late: two halts, the
    // second a new opening (announced once), the first still announced once.
    const split = await sensorOnItsOwnElevator();
    const d0 = event("ebike_detected", 0, {}, base);
    const d60 = event("ebike_detected", 60, {}, base);
    await send(split.id, d0);
    await send(split.id, d60);
    expect(await haltCauses(split.facilityId)).toHaveLength(1);
    const c30 = event("ebike_cleared", 30, {}, base);
    await send(split.id, c30);
    await send(split.id, d0, d60, c30);
    const opened = await incidentIds(split.facilityId);
    expect(opened).toHaveLength(2);
    const causes = await haltCauses(split.facilityId);
    expect(causes.map((c) => [c.subject_id, c.payload.openedAt])).toEqual([
      [opened[0]?.id, d0.occurredAt],
      [opened[1]?.id, d60.occurredAt],
    ]);
  });

  it("is recorded for each halt when a late detection moves an announced incident and a later clear splits it", async () => {
    const sensor = await sensorOnItsOwnElevator();
    const base = Date.now() - 600_000;
    const d0 = event("ebike_detected", 0, {}, base);
    const d60 = event("ebike_detected", 60, {}, base);
    const c30 = event("ebike_cleared", 30, {}, base);
    // 60 s first: announced. Then 0 s: the same halt began earlier, not announced again.
    await send(sensor.id, d60);
    await send(sensor.id, d0);
    const moved = await incidentIds(sensor.facilityId);
    expect(moved.map((i) => i.openedAt)).toEqual([new Date(d0.occurredAt)]);
    expect((await haltCauses(sensor.facilityId)).map((c) => c.payload.openedAt)).toEqual([d60.occurredAt]);
    // The clear at 30 s: two halts. The incident at 0 s keeps its row; the one at 60 s is new, and
    // its opening was announced already. The halt at 0 s is announced now, once.
    await send(sensor.id, c30);
    await send(sensor.id, d0, d60, c30);
    const opened = await incidentIds(sensor.facilityId);
    expect(opened.map((i) => i.openedAt)).toEqual([new Date(d0.occurredAt), new Date(d60.occurredAt)]);
    const causes = await haltCauses(sensor.facilityId);
    expect(causes.map((c) => c.payload.openedAt).sort()).toEqual([d0.occurredAt, d60.occurredAt].sort());
    expect(causes.find((c) => c.payload.openedAt === d0.occurredAt)?.subject_id).toBe(opened[0]?.id);
  });

  it("is recorded once when the ingest re-plans the halt (the incident deleted and inserted again)", async () => {
    const sensor = await sensorOnItsOwnElevator();
    const detected = event("ebike_detected", 0);
    await send(sensor.id, detected);
    // As the ingest does when it cannot match a stored incident: delete, then insert the same opening.
    await database.db.transaction(async (tx) => {
      const [row] = await tx
        .delete(incidents)
        .where(sql`${incidents.facilityId} = ${sensor.facilityId}`)
        .returning();
      if (!row) throw new Error("no incident");
      const { id: _id, ...again } = row;
      await tx.insert(incidents).values(again);
    });
    expect(await incidentIds(sensor.facilityId)).toHaveLength(1);
    expect(await haltCauses(sensor.facilityId)).toHaveLength(1);
  });

  it("is not recorded when the incident's transaction rolls back, nor for an event refused", async () => {
    const sensor = await sensorOnItsOwnElevator();
    await expect(
      database.db.transaction(async (tx) => {
        await tx.insert(incidents).values({
          kind: "ebike",
          sensorId: sensor.id,
          facilityId: sensor.facilityId,
          communityId: world.community.id,
          streetId: world.street.id,
          openedAt: new Date(),
        });
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    const refused = await ingest.ingestBatch([
      eventItem(sensor.id, event("ebike_detected", 0, {}, Date.now() + 3_600_000)),
    ]);
    expect(refused.rejected).toHaveLength(1);
    expect(await incidentIds(sensor.facilityId)).toEqual([]);
    expect(await haltCauses(sensor.facilityId)).toEqual([]);
  });
});

describe("ebike_halt_opened over MQTT (the embedded broker)", () => {
  it("is recorded once for a halt whose events are published twice, on two connections, and late", async () => {
    const ingestOverMqtt = createIngest({ db: database.db, logger, clock: () => new Date() });
    const writer = createWriter({ ingestBatch: ingestOverMqtt.ingestBatch, logger });
    const broker = await startEmbeddedBroker({
      db: database.db,
      writer,
      logger,
      port: 0,
      host: "127.0.0.1",
      internal: INGEST_USER,
    });
    try {
      const url = `mqtt://127.0.0.1:${broker.port}`;
      const sensor = await sensorOnItsOwnElevator();
      const topic = eventsTopic(sensor.id);
      const base = Date.now() - 600_000;
      const detected = event("ebike_detected", 0, {}, base);
      const again = event("ebike_detected", 10, {}, base);
      const cleared = event("ebike_cleared", 40, {}, base);
      const first = await device(url, sensor.id, sensor.key);
      // The clear arrives first, then the detections, each twice (a redelivery after a reconnect).
      await first.publishAsync(topic, JSON.stringify(cleared), { qos: 1 });
      await first.publishAsync(topic, JSON.stringify(again), { qos: 1 });
      await first.endAsync();
      const second = await device(url, sensor.id, sensor.key);
      for (const e of [again, detected, detected, cleared]) {
        await second.publishAsync(topic, JSON.stringify(e), { qos: 1 });
      }
      await second.endAsync();
      // Every PUBACK came after its commit.
      const opened = await incidentIds(sensor.facilityId);
      expect(opened).toHaveLength(1);
      // Announced when its first detection to arrive (at 10 s) opened it; the earlier one that
      // arrived late moved the opening back to 0 s without announcing the same halt again.
      expect(opened[0]?.openedAt).toEqual(new Date(detected.occurredAt));
      const causes = await haltCauses(sensor.facilityId);
      expect(causes.map((c) => [c.subject_id, c.payload.openedAt])).toEqual([
        [opened[0]?.id, again.occurredAt],
      ]);
    } finally {
      await broker.close();
      await writer.close();
    }
  });
});

describe("sensor_offline", () => {
  it("is recorded once when the sweeper opens an offline incident, however many sweepers run", async () => {
    const iot = await createIotWorld(database.db);
    const sensor = await createSensor(database.db, iot);
    // Seen once, then silent: swept offline an hour later.
    await send(sensor.id, event("heartbeat", 0, {}, Date.now() - 1000));
    const now = new Date(Date.now() + 3_600_000);
    await Promise.all([1, 2, 3].map(() => sweepOffline(database.db, now, { communityId: iot.community.id })));
    const [incident] = await incidentIds(sensor.facilityId, "sensor_offline");
    if (!incident) throw new Error("no offline incident");
    const causes = await causesOf(database.db, "sensor_offline", incident.id);
    expect(causes).toEqual([
      expect.objectContaining({
        facility_id: sensor.facilityId,
        community_id: iot.community.id,
        street_id: iot.street.id,
        payload: {
          incidentId: incident.id,
          sensorId: sensor.id,
          sensorName: expect.stringMatching(/^sensor /),
          facilityName: expect.any(String),
          communityName: iot.community.name,
          since: now.toISOString(),
        },
      }),
    ]);
    // Swept again: still offline, nothing new.
    await sweepOffline(database.db, new Date(now.getTime() + 600_000), { communityId: iot.community.id });
    expect(await causesOf(database.db, "sensor_offline", incident.id)).toHaveLength(1);
  });
});

describe("subscription_suspended", () => {
  it("is recorded by the arrears pass that suspends, with the household and the amount overdue, once", async () => {
    const {
      world: w,
      household,
      contract,
      subscription,
      invoice,
    } = await createBilledHousehold(database.db, { total: "60.00" });
    let clock = new Date("2026-03-31T15:59:00Z"); // 23:59 on 2026-03-31 in Shanghai: still in grace
    const pass = () =>
      runArrearsPass({ db: database.db, clock: () => clock, logger, only: { contractId: contract.id } });
    await pass();
    expect(await causesOf(database.db, "subscription_suspended", subscription.id)).toEqual([]);

    clock = new Date("2026-03-31T23:30:00Z"); // 07:30 on 2026-04-01 in Shanghai
    await Promise.all([pass(), pass()]);
    const causes = await causesOf(database.db, "subscription_suspended", subscription.id);
    expect(causes).toEqual([
      expect.objectContaining({
        contract_id: contract.id,
        community_id: contract.communityId,
        street_id: contract.streetId,
        enterprise_org_id: contract.enterpriseOrgId,
        payload: {
          subscriptionId: subscription.id,
          contractId: contract.id,
          householdLabel: `${w.building.name} ${household.unit}单元 ${household.room}`,
          communityName: expect.any(String),
          overdueAmount: "60.00",
        },
      }),
    ]);
    expect(invoice.subscriptionId).toBe(subscription.id);
    await pass();
    expect(await causesOf(database.db, "subscription_suspended", subscription.id)).toHaveLength(1);
  });
});

describe("contract_awaiting_committee", () => {
  it("is recorded when the enterprise submits and when another party's signature leaves the committee's, never for a refused command", async () => {
    const w = await createWorld(database.db);
    const now = new Date("2024-12-20T02:00:00Z");
    const api = (key: string) => client(createTestApp(database.db, { now: () => now }), key);
    const [enterprise, committee, property, office] = [
      w.enterprise.key,
      w.ownersCommittee.key,
      w.propertyCompany.key,
      w.streetOffice.key,
    ].map(api);
    if (!enterprise || !committee || !property || !office) throw new Error("no clients");
    const drafted = await enterprise.post("/v1/contracts", {
      title: "国伟新苑1号楼加装电梯BOT合同",
      communityId: w.community.id,
      ownersCommitteeOrgId: w.ownersCommittee.org.id,
      propertyCompanyOrgId: w.propertyCompany.org.id,
      streetOfficeOrgId: w.streetOffice.org.id,
      facilityIds: [w.elevator.id],
      terms: elevatorTerms(),
    });
    expect(drafted.status).toBe(201);
    const id: string = drafted.body.id;
    const awaiting = async () =>
      (await causesOf(database.db, "contract_awaiting_committee", id)).map((c) => c.payload);
    expect(await awaiting()).toEqual([]);

    expect((await enterprise.post(`/v1/contracts/${id}/submit`)).status).toBe(200);
    expect(await awaiting()).toEqual([
      { contractId: id, title: "国伟新苑1号楼加装电梯BOT合同", action: "review" },
    ]);
    const [first] = await causesOf(database.db, "contract_awaiting_committee", id);
    expect(first).toMatchObject({
      contract_id: id,
      community_id: w.community.id,
      street_id: w.street.id,
      enterprise_org_id: w.enterprise.org.id,
    });
    // Refused (already submitted): nothing recorded.
    expect((await enterprise.post(`/v1/contracts/${id}/submit`)).status).toBe(409);
    // The committee's own commands tell nobody; the resubmission asks for a review again.
    await committee.post(`/v1/contracts/${id}/request-changes`, { reason: "6楼价格偏高" });
    await enterprise.post(`/v1/contracts/${id}/revise`);
    expect((await enterprise.post(`/v1/contracts/${id}/submit`)).status).toBe(200);
    expect((await awaiting()).map((p) => p.action)).toEqual(["review", "review"]);

    const vote = await committee.post(`/v1/contracts/${id}/votes`, {
      heldOn: "2024-12-20",
      participatingArea: "480.00",
      participatingOwners: 8,
      yesArea: "360.00",
      yesOwners: 6,
    });
    expect(vote.body.passed).toBe(true);
    expect((await committee.post(`/v1/contracts/${id}/approve`)).body.state).toBe("approved");
    expect((await awaiting()).map((p) => p.action)).toEqual(["review", "review"]);

    // The enterprise signs: the committee's signature is awaited (once, however many sign before it).
    expect((await enterprise.post(`/v1/contracts/${id}/sign`)).status).toBe(200);
    expect((await enterprise.post(`/v1/contracts/${id}/sign`)).status).toBe(409);
    await property.post(`/v1/contracts/${id}/sign`);
    expect((await awaiting()).map((p) => p.action)).toEqual(["review", "review", "sign"]);
    await committee.post(`/v1/contracts/${id}/sign`);
    expect((await office.post(`/v1/contracts/${id}/sign`)).body.state).toBe("signed");
    expect((await awaiting()).map((p) => p.action)).toEqual(["review", "review", "sign"]);
  });
});

describe("report_filed", () => {
  it("is recorded when the enterprise files a report, not when the filing is refused", async () => {
    const w = await createWorld(database.db);
    const terms = elevatorTerms() as unknown as Parameters<typeof createContractWithTerms>[2]["terms"];
    const contract = await createContractWithTerms(database.db, w, {
      terms: { ...terms, operationTermMonths: 120 },
      state: "operating",
      operationStartDate: "2026-01-15",
      transferDate: "2036-01-15",
    });
    const now = new Date("2026-04-05T02:00:00Z");
    const enterprise = client(createTestApp(database.db, { now: () => now }), w.enterprise.key);
    const codes = terms.feeSchedule.map((f) => f.code);
    const figures = {
      revenueByItem: Object.fromEntries(codes.map((c) => [c, "0.00"])),
      costs: { maintenance: "800.00", electricity: "120.35", insurance: "90.00", other: "0" },
      usage: { rides: 0, kWh: "0", chargingSessions: 0 },
      availabilityPercent: "99.50",
      maintenanceRecords: [],
      safetyIncidents: 0,
    };
    const reports = `/v1/contracts/${contract.id}/reports`;
    // Refused: a period not yet over, and (below) the same period twice.
    expect((await enterprise.post(reports, { period: "2026-04", figures })).status).toBe(400);
    const filed = await enterprise.post(reports, { period: "2026-03", figures });
    expect(filed.status).toBe(201);
    expect((await enterprise.post(reports, { period: "2026-03", figures })).status).toBe(409);
    const after = (await causesOf(database.db, "report_filed")).filter((c) => c.contract_id === contract.id);
    expect(after).toEqual([
      expect.objectContaining({
        subject_id: filed.body.id,
        contract_id: contract.id,
        community_id: w.community.id,
        enterprise_org_id: w.enterprise.org.id,
        payload: {
          reportId: filed.body.id,
          contractId: contract.id,
          title: contract.title,
          period: "2026-03",
          enterpriseName: w.enterprise.org.name,
        },
      }),
    ]);

    // A revision refused (the report was not queried) records nothing; one after a query is filed anew.
    const v1: string = filed.body.id;
    expect((await enterprise.post(`/v1/reports/${v1}/revise`, { figures })).status).toBe(409);
    const committee = client(createTestApp(database.db, { now: () => now }), w.ownersCommittee.key);
    expect((await committee.post(`/v1/reports/${v1}/query`, { comment: "请核对" })).status).toBe(200);
    const revised = await enterprise.post(`/v1/reports/${v1}/revise`, { figures });
    expect(revised.status).toBe(201);
    const filings = (await causesOf(database.db, "report_filed")).filter(
      (c) => c.contract_id === contract.id,
    );
    expect(filings.map((c) => c.payload.reportId)).toEqual([v1, revised.body.id]);
  });
});
