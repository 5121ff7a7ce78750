import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractTerms } from "../../contracts/index.js";
import type { DatabaseHandle } from "../../db/client.js";
import { auditLog } from "../../db/schema.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createWorld, type World } from "../support/factories.js";
import { elevatorTerms } from "../support/terms.js";
import {
  createContractWithTerms,
  createIncidentRow,
  createInvoiceRow,
  createPaymentRow,
  createSensorRow,
  createUsageRow,
} from "./support.js";

let database: DatabaseHandle;
let world: World;
let other: World;
let contractId: string;
/** Asia/Shanghai 10:00 on 2026-04-05: March 2026 is over, April is not. */
const now = new Date("2026-04-05T02:00:00Z");
const api = (key: string) => client(createTestApp(database.db, { now: () => now }), key);

/** The elevator terms of test/support/terms.ts plus a per-ride fee, so rides are metered. */
const terms = (): ContractTerms => {
  const t = elevatorTerms() as unknown as ContractTerms;
  return {
    ...t,
    operationTermMonths: 120,
    feeSchedule: [
      ...t.feeSchedule,
      { code: "EL-R", name: "电梯按次", kind: "per_use", price: "0.50", unit: "ride" },
    ],
  };
};

const figures = (overrides: Record<string, unknown> = {}) => ({
  revenueByItem: { "EL-M": "150.00", "EL-Y": "600.50", "EL-R": "50.00" },
  costs: { maintenance: "800.00", electricity: "120.35", insurance: "90.00", other: "0" },
  usage: { rides: 100, kWh: "0", chargingSessions: 0 },
  availabilityPercent: "99.50",
  maintenanceRecords: [{ date: "2026-03-12", description: "半月例行保养" }],
  safetyIncidents: 2,
  ...overrides,
});

beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  world = await createWorld(db);
  other = await createWorld(db);
  const contract = await createContractWithTerms(db, world, {
    terms: terms(),
    state: "operating",
    operationStartDate: "2026-01-15",
    transferDate: "2036-01-15",
  });
  contractId = contract.id;

  // The ledger of March 2026: EL-M 30 + 50 + 70 = 150.00, EL-Y 600.00, EL-R 100 rides × 0.50 = 50.00.
  const march = { period: "2026-03", dueDate: "2026-03-16" };
  const m1 = await createInvoiceRow(db, contract, { ...march, lines: [{ code: "EL-M", amount: "30.00" }] });
  await createInvoiceRow(db, contract, { ...march, lines: [{ code: "EL-M", amount: "50.00" }] });
  const y = await createInvoiceRow(db, contract, {
    ...march,
    lines: [
      { code: "EL-M", amount: "70.00" },
      { code: "EL-Y", amount: "600.00" },
    ],
  });
  await createInvoiceRow(db, contract, {
    ...march,
    lines: [{ code: "EL-R", amount: "50.00", quantity: "100", unitPrice: "0.50" }],
  });
  // Outside the period: February's and April's invoices and an April payment.
  const feb = await createInvoiceRow(db, contract, {
    period: "2026-02",
    dueDate: "2026-02-16",
    lines: [{ code: "EL-M", amount: "40.00" }],
  });
  await createInvoiceRow(db, contract, {
    period: "2026-04",
    dueDate: "2026-04-16",
    lines: [{ code: "EL-M", amount: "999.00" }],
  });
  // Collected in March: 30.00 + 670.00 + February's 40.00 paid late = 740.00.
  await createPaymentRow(db, m1, { amount: "30.00", receivedOn: "2026-03-10" });
  await createPaymentRow(db, y, { amount: "670.00", receivedOn: "2026-03-31" });
  await createPaymentRow(db, feb, { amount: "40.00", receivedOn: "2026-03-01" });
  await createPaymentRow(db, feb, { amount: "5.00", receivedOn: "2026-04-01" });

  for (const q of ["40", "35", "25"]) {
    await createUsageRow(db, contract.id, {
      kind: "ride",
      feeCode: "EL-R",
      startedAt: "2026-03-20T01:00:00Z",
      period: "2026-03",
      quantity: q,
    });
  }
  await createUsageRow(db, contract.id, {
    kind: "ride",
    feeCode: "EL-R",
    startedAt: "2026-04-01T01:00:00Z",
    period: "2026-04",
    quantity: "7",
  });

  // Three e-bike incidents in March (one a false alarm, one halting the car), one in April.
  // 2026-02-28T16:30Z is 2026-03-01 00:30 in Shanghai: in March.
  const sensor = await createSensorRow(db, world, world.elevator.id);
  await createIncidentRow(db, sensor, { openedAt: "2026-02-28T16:30:00Z", halted: true });
  await createIncidentRow(db, sensor, { openedAt: "2026-03-15T04:00:00Z", falseAlarm: false });
  await createIncidentRow(db, sensor, { openedAt: "2026-03-20T04:00:00Z", falseAlarm: true });
  await createIncidentRow(db, sensor, { openedAt: "2026-03-31T16:30:00Z" });
});
afterAll(() => database.close());

describe("operation reports beside the ledger", () => {
  it("flags revenue under-reported beyond the tolerance on that fee item only", async () => {
    const enterprise = api(world.enterprise.key);
    const filed = await enterprise.post(`/v1/contracts/${contractId}/reports`, {
      period: "2026-03",
      figures: figures({ revenueByItem: { "EL-M": "120.00", "EL-Y": "600.50", "EL-R": "50.00" } }),
    });
    expect(filed.status).toBe(201);
    expect(filed.body).toMatchObject({ period: "2026-03", versionNo: 1, state: "submitted" });
    const byName = Object.fromEntries(
      (filed.body.comparison.figures as { figure: string }[]).map((f) => [f.figure, f]),
    );
    // 120.00 against 150.00 invoiced: 30.00 off, more than max(1.00, 1 % of 150.00 = 1.50).
    expect(byName["revenueByItem.EL-M"]).toMatchObject({
      reported: "120.00",
      platform: "150.00",
      difference: "-30.00",
      allowed: "1.5",
      flagged: true,
      reason: "beyond_tolerance",
    });
    // 600.50 against 600.00: 0.50 off, within max(1.00, 6.00).
    expect(byName["revenueByItem.EL-Y"]).toMatchObject({
      platform: "600.00",
      difference: "0.50",
      flagged: false,
    });
    expect(byName["revenueByItem.EL-R"]).toMatchObject({ platform: "50.00", flagged: false });
    expect(byName["usage.rides"]).toMatchObject({ reported: "100", platform: "100", flagged: false });
    expect(byName["usage.kWh"]).toMatchObject({ platform: null, reason: "not_tracked", flagged: false });
    // 3 e-bike incidents in the Shanghai month, one a false alarm: 2 safety incidents.
    expect(byName.safetyIncidents).toMatchObject({ reported: "2", platform: "2", flagged: false });
    expect(byName["costs.maintenance"]).toMatchObject({ reported: "800.00", reason: "not_tracked" });
    expect(filed.body.comparison.flaggedCount).toBe(1);
    expect(filed.body.comparison.revenue).toEqual({
      reported: "770.50",
      invoiced: "800.00",
      collected: "740.00",
    });
    expect(filed.body.platform).toMatchObject({
      invoicedByItem: { "EL-M": "150.00", "EL-Y": "600.00", "EL-R": "50.00" },
      collected: "740.00",
      usage: { rides: "100", kWh: "0.000", chargingSessions: 0 },
      ebikeIncidents: 3,
      falseAlarms: 1,
      halts: 1,
    });

    // A wider tolerance (5 %, 10.00) on request: nothing flagged.
    const reportId: string = filed.body.id;
    const lenient = await api(world.ownersCommittee.key).get(
      `/v1/reports/${reportId}?toleranceAbsolute=50.00&toleranceRelative=0.05`,
    );
    expect(lenient.status).toBe(200);
    expect(lenient.body.comparison.flaggedCount).toBe(0);
  });

  it("keeps every version through query, revision and acceptance, each decision audited", async () => {
    const enterprise = api(world.enterprise.key);
    const committee = api(world.ownersCommittee.key);
    const [current] = (await committee.get(`/v1/contracts/${contractId}/reports?period=2026-03`)).body.items;
    const v1: string = current.id;

    expect((await enterprise.post(`/v1/reports/${v1}/accept`)).status).toBe(403);
    expect((await enterprise.post(`/v1/reports/${v1}/revise`, { figures: figures() })).body.code).toBe(
      "report_state",
    );
    const queried = await committee.post(`/v1/reports/${v1}/query`, {
      comment: "包月收入与账单不符，请核对",
    });
    expect(queried.status).toBe(200);
    expect(queried.body.state).toBe("queried");
    expect((await committee.post(`/v1/reports/${v1}/accept`)).status).toBe(409);

    const revised = await enterprise.post(`/v1/reports/${v1}/revise`, {
      figures: figures(),
      comment: "已按账单更正为150.00元",
    });
    expect(revised.status).toBe(201);
    expect(revised.body).toMatchObject({ period: "2026-03", versionNo: 2, state: "submitted" });
    expect(revised.body.comparison.flaggedCount).toBe(0);
    expect(
      revised.body.versions.map((v: { versionNo: number; state: string }) => [v.versionNo, v.state]),
    ).toEqual([
      [1, "superseded"],
      [2, "submitted"],
    ]);
    const v2: string = revised.body.id;
    expect((await enterprise.post(`/v1/reports/${v1}/revise`, { figures: figures() })).status).toBe(409);

    const accepted = await committee.post(`/v1/reports/${v2}/accept`);
    expect(accepted.body).toMatchObject({
      state: "accepted",
      reviewedByOrgId: world.ownersCommittee.org.id,
    });
    expect((await committee.post(`/v1/reports/${v2}/query`, { comment: "再看看" })).status).toBe(409);

    const comments = await api(world.propertyCompany.key).get(`/v1/reports/${v2}/comments`);
    expect(
      comments.body.items.map((c: { versionNo: number; body: string }) => [c.versionNo, c.body]),
    ).toEqual([
      [1, "包月收入与账单不符，请核对"],
      [2, "已按账单更正为150.00元"],
    ]);
    const list = await committee.get(`/v1/contracts/${contractId}/reports`);
    expect(list.body.items.map((r: { versionNo: number }) => r.versionNo)).toEqual([2]);
    const all = await committee.get(`/v1/contracts/${contractId}/reports?includeSuperseded=true`);
    expect(all.body.items.map((r: { versionNo: number; state: string }) => [r.versionNo, r.state])).toEqual([
      [2, "accepted"],
      [1, "superseded"],
    ]);
    // The superseded version is still readable as it was filed.
    expect((await committee.get(`/v1/reports/${v1}`)).body.figures.revenueByItem["EL-M"]).toBe("120.00");

    const audit = await database.db
      .select({ action: auditLog.action })
      .from(auditLog)
      .where(eq(auditLog.contractId, contractId))
      .orderBy(auditLog.seq);
    expect(audit.map((a) => a.action)).toEqual([
      "report.submitted",
      "report.queried",
      "report.revised",
      "report.accepted",
    ]);
    expect(
      (await api(world.streetOffice.key).get(`/v1/contracts/${contractId}/audit/verify`)).body.intact,
    ).toBe(true);
  });

  it("refuses periods already reported, not over, before the operation, and bad figures, naming the field", async () => {
    const enterprise = api(world.enterprise.key);
    const post = (body: unknown) => enterprise.post(`/v1/contracts/${contractId}/reports`, body);
    expect((await post({ period: "2026-03", figures: figures() })).body.code).toBe("report_exists");
    expect((await post({ period: "2026-Q1", figures: figures() })).body.code).toBe("report_exists");

    const field = async (body: unknown) => {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      return (res.body.errors as { field: string; message: string }[]).map((e) => e.field);
    };
    expect(await field({ period: "2026-13", figures: figures() })).toEqual(["body.period"]);
    expect(await field({ period: "2026-04", figures: figures({ maintenanceRecords: [] }) })).toEqual([
      "body.period",
    ]);
    expect(await field({ period: "2025-Q4", figures: figures({ maintenanceRecords: [] }) })).toEqual([
      "body.period",
    ]);
    expect(
      await field({ period: "2026-02", figures: figures({ revenueByItem: { "GR-M": "1.00" } }) }),
    ).toEqual(["body.figures.revenueByItem.GR-M", "body.figures.maintenanceRecords.0.date"]);
    expect(
      await field({
        period: "2026-02",
        figures: figures({
          availabilityPercent: "100.01",
          costs: { maintenance: "1.005", electricity: "0", insurance: "0", other: "-1" },
        }),
      }),
    ).toEqual([
      "body.figures.costs.maintenance",
      "body.figures.costs.other",
      "body.figures.availabilityPercent",
    ]);
    expect(await field({ period: "2026-02", figures: { ...figures(), profit: "1" } })).toEqual([
      "body.figures.profit",
    ]);
  });

  it("is filed by the operating contract's enterprise only, and hidden from another street", async () => {
    const body = { period: "2026-02", figures: figures({ maintenanceRecords: [] }) };
    expect(
      (await api(world.ownersCommittee.key).post(`/v1/contracts/${contractId}/reports`, body)).status,
    ).toBe(403);
    expect((await api(other.enterprise.key).post(`/v1/contracts/${contractId}/reports`, body)).status).toBe(
      404,
    );
    const [report] = (await api(world.enterprise.key).get(`/v1/contracts/${contractId}/reports`)).body.items;
    expect((await api(other.streetOffice.key).get(`/v1/reports/${report.id}`)).status).toBe(404);
    expect((await api(other.ownersCommittee.key).post(`/v1/reports/${report.id}/accept`)).status).toBe(404);

    const signed = await createContractWithTerms(database.db, world, { terms: terms(), state: "signed" });
    const early = await api(world.enterprise.key).post(`/v1/contracts/${signed.id}/reports`, body);
    expect(early.status).toBe(409);
    expect(early.body.currentState).toBe("signed");

    const filed = await api(world.enterprise.key).post(`/v1/contracts/${contractId}/reports`, body);
    expect(filed.status).toBe(201);

    // A transferred contract reports its last periods, up to the transfer date.
    const handedOver = await createContractWithTerms(database.db, world, {
      terms: terms(),
      state: "transferred",
      operationStartDate: "2016-02-15",
      transferDate: "2026-02-15",
      transferredOn: "2026-02-15",
    });
    const last = `/v1/contracts/${handedOver.id}/reports`;
    expect((await api(world.enterprise.key).post(last, body)).status).toBe(201);
    const after = await api(world.enterprise.key).post(last, {
      period: "2026-03",
      figures: figures({ maintenanceRecords: [] }),
    });
    expect(after.body.errors).toEqual([
      { field: "body.period", message: "begins on or after the transfer date 2026-02-15" },
    ]);
  });
});
