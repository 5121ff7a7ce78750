import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ContractTerms, shanghaiDate } from "../../contracts/index.js";
import { type DatabaseHandle, openDatabase } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { contractVersions, facilities, guidanceDisbursements, sensors } from "../../db/schema.js";
import { findDemoStreet } from "../../db/seed.js";
import { seedDemoOnce } from "../../src/demo/seed.js";
import { client, createTestApp, TEST_ADMIN_TOKEN } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createFacility, createWorld, type World } from "../support/factories.js";
import { createContractWithTerms, createIncidentRow, createInvoiceRow, createSensorRow } from "./support.js";

let database: DatabaseHandle;
let world: World;
let other: World;
/** Asia/Shanghai 10:00 on 2026-06-01. */
const now = new Date("2026-06-01T02:00:00Z");
const api = (key: string) => client(createTestApp(database.db, { now: () => now }), key);

const terms = (guidanceFunds: string): ContractTerms => ({
  totalInvestment: "800000.00",
  enterpriseCapital: "600000.00",
  guidanceFunds,
  operationTermMonths: 120,
  handbackConditions: [],
  maintenanceObligations: "",
  feeSchedule: [{ code: "EL-M", name: "包月", kind: "monthly", price: "50.00", unit: "household" }],
});

type Status = (typeof facilities.$inferInsert)["status"];

beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  world = await createWorld(db);
  other = await createWorld(db);
  const w = world;
  const at = { streetId: w.street.id, communityId: w.community.id };
  const make = async (kind: "elevator" | "garage", status: Status, size: "large" | "mini" = "large") => {
    const f =
      kind === "elevator"
        ? await createFacility(db, { ...at, kind, buildingId: w.building.id })
        : await createFacility(db, { ...at, kind, garageSize: size });
    await db.update(facilities).set({ status }).where(eq(facilities.id, f.id));
    return f;
  };
  // Elevators: the world's planned one, 2 operating, 1 transferred, 1 being built, 1 decommissioned.
  const e1 = await make("elevator", "operating");
  const e2 = await make("elevator", "operating");
  const e3 = await make("elevator", "transferred");
  await make("elevator", "under_construction");
  await make("elevator", "decommissioned");
  // Garages: large 2 operating + 1 planned; mini 1 transferred, 1 being built, 2 planned.
  await make("garage", "operating");
  await make("garage", "operating");
  await make("garage", "planned");
  await make("garage", "transferred", "mini");
  await make("garage", "under_construction", "mini");
  await make("garage", "planned", "mini");
  await make("garage", "planned", "mini");

  const contract = (
    state: Parameters<typeof createContractWithTerms>[2]["state"],
    guidance: string,
    transferDate?: string,
  ) =>
    createContractWithTerms(db, w, {
      terms: terms(guidance),
      state,
      facilityIds: [],
      transferDate: transferDate ?? null,
    });
  const c1 = await contract("operating", "550.00", "2026-09-09");
  const c2 = await contract("operating", "120000.00", "2027-07-01");
  const c3 = await contract("signed", "1000.00");
  const c4 = await contract("transferred", "2000.00", "2026-03-01");
  await contract("draft", "999.00");
  const c6 = await contract("terminated", "777.00");
  await contract("operating", "550.00", "2026-05-20");
  // C1's amendment in force since 2026-05-01 raised its guidance funds to 600.00; C2's amendment
  // (999,999.00) takes effect only in 2027.
  await db
    .update(contractVersions)
    .set({ status: "superseded" })
    .where(eq(contractVersions.contractId, c1.id));
  const amendment = (contractId: string, effectiveDate: string, guidanceFunds: string) => ({
    contractId,
    versionNo: 2,
    status: "signed" as const,
    isAmendment: true,
    effectiveDate,
    totalInvestment: "1999999.00",
    enterpriseCapital: "1000000.00",
    guidanceFunds,
    operationTermMonths: 120,
    maintenanceObligations: "",
    handbackConditions: [],
  });
  await db
    .insert(contractVersions)
    .values([amendment(c1.id, "2026-05-01", "600.00"), amendment(c2.id, "2027-01-01", "999999.00")]);
  await db.insert(guidanceDisbursements).values([
    { contractId: c1.id, amount: "300.00", paidOn: "2026-01-10", recordedByOrgId: w.streetOffice.org.id },
    { contractId: c4.id, amount: "2000.00", paidOn: "2025-01-10", recordedByOrgId: w.streetOffice.org.id },
    { contractId: c6.id, amount: "100.00", paidOn: "2025-01-10", recordedByOrgId: w.streetOffice.org.id },
  ]);
  void c3;

  // Invoices of C1 (today 2026-06-01): one paid, five with something outstanding.
  const invoice = (total: string, dueDate: string, paidAmount = "0", creditApplied = "0") =>
    createInvoiceRow(db, c1, {
      period: "2026-01",
      dueDate,
      paidAmount,
      creditApplied,
      lines: [{ code: "EL-M", amount: total }],
    });
  await invoice("100.00", "2026-05-01", "100.00");
  await invoice("80.00", "2026-06-10", "30.00"); // 50.00, not yet due
  await invoice("70.00", "2026-05-20", "0", "20.00"); // 50.00, 12 days late
  await invoice("45.50", "2026-03-15"); // 45.50, 78 days late
  await invoice("200.00", "2026-01-01"); // 200.00, 151 days late
  await invoice("10.00", "2026-06-01"); // 10.00, due today
  // Another street's unpaid invoice does not count.
  const elsewhere = await createContractWithTerms(db, other, { terms: terms("1.00"), state: "operating" });
  await createInvoiceRow(db, elsewhere, {
    period: "2026-01",
    dueDate: "2026-01-01",
    lines: [{ code: "EL-M", amount: "9999.00" }],
  });

  // Sensors on the two operating elevators; a revoked one on the transferred elevator.
  const s1 = await createSensorRow(db, w, e1.id);
  const s2 = await createSensorRow(db, w, e2.id);
  const s3 = await createSensorRow(db, w, e3.id);
  await db
    .update(sensors)
    .set({ revokedAt: new Date("2026-01-01T00:00:00Z") })
    .where(eq(sensors.id, s3.id));
  // In the last 30 days (from 2026-05-02T02:00Z): 4 e-bike incidents, one halting the car, one a
  // false alarm and one confirmed (2 classified). Older ones and offline incidents do not count.
  await createIncidentRow(db, s1, { openedAt: "2026-05-02T02:00:00Z", halted: true });
  await createIncidentRow(db, s1, { openedAt: "2026-05-10T02:00:00Z", falseAlarm: true });
  await createIncidentRow(db, s1, { openedAt: "2026-05-20T02:00:00Z", falseAlarm: false });
  await createIncidentRow(db, s2, { openedAt: "2026-06-01T01:00:00Z" });
  await createIncidentRow(db, s2, { openedAt: "2026-05-02T01:59:59Z" });
  await createIncidentRow(db, s2, { openedAt: "2026-05-25T02:00:00Z", kind: "sensor_offline" });
  await createIncidentRow(db, s3, { openedAt: "2026-04-01T02:00:00Z" });
});
afterAll(() => database.close());

describe("the street dashboard", () => {
  it("counts the street's facilities, money, transfers and incidents exactly", async () => {
    const res = await api(world.streetOffice.key).get(`/v1/streets/${world.street.id}/dashboard`);
    expect(res.status).toBe(200);
    const d = res.body;
    expect(d.today).toBe("2026-06-01");
    expect(d.facilities.elevators).toEqual({
      retrofitted: 3,
      underConstruction: 1,
      planned: 1,
      decommissioned: 1,
      total: 5,
      notRetrofitted: 2,
      target: 20,
      toTarget: 17,
    });
    expect(d.facilities.garages).toEqual({
      retrofitted: 3,
      underConstruction: 1,
      planned: 3,
      decommissioned: 0,
      total: 7,
      notRetrofitted: 4,
      target: 153,
      toTarget: 150,
      bySize: {
        large: {
          retrofitted: 2,
          underConstruction: 0,
          planned: 1,
          decommissioned: 0,
          total: 3,
          notRetrofitted: 1,
        },
        mini: {
          retrofitted: 1,
          underConstruction: 1,
          planned: 2,
          decommissioned: 0,
          total: 4,
          notRetrofitted: 3,
        },
      },
    });
    // Committed: 600.00 (C1's amendment in force) + 120,000.00 + 1,000.00 + 2,000.00 + 550.00;
    // the draft and the terminated contract commit nothing. Paid: 300 + 2,000 + 100.
    expect(d.guidanceFunds).toEqual({ committed: "124150.00", paid: "2400.00", remaining: "121750.00" });
    expect(d.contractsByState).toEqual({
      draft: 1,
      submitted: 0,
      changes_requested: 0,
      approved: 0,
      signed: 1,
      under_construction: 0,
      operating: 3,
      transferred: 1,
      terminated: 1,
    });
    expect(d.transfersDue).toMatchObject({ until: "2027-06-01", total: 2, overdue: 1 });
    expect(
      d.transfersDue.items.map((t: { transferDate: string; transferDueInDays: number; overdue: boolean }) => [
        t.transferDate,
        t.transferDueInDays,
        t.overdue,
      ]),
    ).toEqual([
      ["2026-05-20", -12, true],
      ["2026-09-09", 100, false],
    ]);
    expect(d.receivables).toEqual({
      outstanding: "355.50",
      overdue: "295.50",
      invoicesOutstanding: 5,
      invoicesOverdue: 3,
      aging: {
        current: "60.00",
        days1To30: "50.00",
        days31To60: "0.00",
        days61To90: "45.50",
        over90Days: "200.00",
      },
    });
    expect(d.incidents).toEqual({
      from: "2026-05-02T02:00:00.000Z",
      to: "2026-06-01T02:00:00.000Z",
      monitoredElevators: 2,
      ebikeIncidents: 4,
      halts: 1,
      perElevatorPerMonth: "2.00",
      falseAlarms: 1,
      classified: 2,
      falseAlarmRate: "0.5000",
    });
  });

  it("is for the street's office and the platform admin only", async () => {
    const path = `/v1/streets/${world.street.id}/dashboard`;
    expect((await api(TEST_ADMIN_TOKEN).get(path)).body.guidanceFunds.committed).toBe("124150.00");
    expect((await api(other.streetOffice.key).get(path)).status).toBe(404);
    expect((await api(other.enterprise.key).get(path)).status).toBe(404);
    const denied = await api(world.enterprise.key).get(path);
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe("forbidden");
    expect((await api(world.ownersCommittee.key).get(path)).status).toBe(403);
    expect((await api(world.propertyCompany.key).get(path)).status).toBe(403);
  });

  // The demo is seeded through the API into a database of its own: up to a minute on a loaded machine.
  it("matches the seeded demo street", async () => {
    // A private in-memory database: on a shared PostgreSQL the demo test file may be seeding the
    // demo at this very moment, and the seed is not safe to run twice at once.
    const own = await openDatabase({ dataDir: "memory://" });
    await own.migrate();
    const keysFile = join(await mkdtemp(join(tmpdir(), "bot-demo-")), "demo-keys.json");
    await seedDemoOnce(own.db, { keysFile, logger: pino({ level: "silent" }) });
    const street = await findDemoStreet(own.db);
    // The demo bills the three months before the day it is seeded: read it as of that day.
    const demoNow = new Date();
    const today = shanghaiDate(demoNow);
    const res = await client(createTestApp(own.db, { now: () => demoNow }), TEST_ADMIN_TOKEN).get(
      `/v1/streets/${street?.id}/dashboard`,
    );
    // The ledger, added up independently of the dashboard's queries.
    const [ledger] = await queryRows<{ outstanding: string; overdue: string; open: number; late: number }>(
      own.db,
      sql`select coalesce(sum(total - credit_applied - paid_amount), 0)::numeric(14,2)::text as outstanding,
          coalesce(sum(total - credit_applied - paid_amount) filter (where due_date < ${today}::date), 0)::numeric(14,2)::text as overdue,
          count(*) filter (where total - credit_applied - paid_amount > 0)::int as open,
          count(*) filter (where total - credit_applied - paid_amount > 0 and due_date < ${today}::date)::int as late
          from invoices where street_id = ${street?.id ?? null}`,
    );
    await own.close();
    const d = res.body;
    // The demo leaves some households in arrears: the dashboard shows exactly what the ledger holds.
    expect(ledger?.late).toBeGreaterThan(0);
    expect(d.receivables).toMatchObject({
      outstanding: ledger?.outstanding,
      overdue: ledger?.overdue,
      invoicesOutstanding: ledger?.open,
      invoicesOverdue: ledger?.late,
    });
    expect(d.guidanceFunds).toMatchObject({ paid: "97500.00" });
    // Guowei Xinyuan's six elevators: one operating, one being built, four planned.
    expect(d.facilities.elevators).toMatchObject({
      retrofitted: 1,
      underConstruction: 1,
      planned: 4,
      target: 20,
    });
    // Two large garages retrofitted under one contract; a large and a mini garage to go.
    expect(d.facilities.garages).toMatchObject({
      retrofitted: 2,
      planned: 2,
      target: 153,
      toTarget: 151,
      bySize: { large: { retrofitted: 2, planned: 1 }, mini: { planned: 1, notRetrofitted: 1 } },
    });
    expect(d.contractsByState).toMatchObject({
      draft: 1,
      submitted: 1,
      approved: 1,
      signed: 1,
      under_construction: 1,
      operating: 2,
    });
    // Signed, under construction and operating elevators (3 × 97,500.00) and the garage (180,000.00).
    expect(d.guidanceFunds.committed).toBe("472500.00");
    // The garage (2020-01-15 + 84 months) and the operating elevator (2019-12-01 + 90 months).
    expect(d.transfersDue.items.map((t: { transferDate: string }) => t.transferDate)).toEqual([
      "2027-01-15",
      "2027-06-01",
    ]);
  }, 120_000);
});
