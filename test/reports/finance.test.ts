import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContractTerms } from "../../contracts/index.js";
import type { DatabaseHandle } from "../../db/client.js";
import { operationReports } from "../../db/schema.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createWorld, type World } from "../support/factories.js";
import { createContractWithTerms, createInvoiceRow, createPaymentRow } from "./support.js";

let database: DatabaseHandle;
let world: World;
let other: World;
/** Asia/Shanghai 10:00 on 2027-01-20. */
const now = new Date("2027-01-20T02:00:00Z");
const api = (key: string) => client(createTestApp(database.db, { now: () => now }), key);

/**
 * A 13-month added-elevator contract: 3,650.00 invested, of which the enterprise's capital is
 * 3,100.00 and the street's guidance funds 550.00. Monthly fee per floor (floor 1 pays nothing):
 * 30 / 40 / 50 / 60 / 70 on floors 2–6; a yearly pass at 600.00 whatever the floor.
 */
const terms: ContractTerms = {
  totalInvestment: "3650.00",
  enterpriseCapital: "3100.00",
  guidanceFunds: "550.00",
  operationTermMonths: 13,
  handbackConditions: [],
  maintenanceObligations: "企业承担维保",
  feeSchedule: [
    {
      code: "EL-M",
      name: "包月",
      kind: "monthly",
      price: "0.00",
      unit: "household",
      floorPrices: [
        { floor: 2, price: "30.00" },
        { floor: 3, price: "40.00" },
        { floor: 4, price: "50.00" },
        { floor: 5, price: "60.00" },
        { floor: 6, price: "70.00" },
      ],
    },
    { code: "EL-Y", name: "包年", kind: "yearly", price: "600.00", unit: "household" },
  ],
};

const assumptions = {
  takeUp: { rates: { "EL-M": "0.50", "EL-Y": "0.25" } },
  yearlyCosts: { maintenance: "1200.00", electricity: "360.00", insurance: "240.00", other: "0" },
  discountRate: "0.05",
};

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createWorld(database.db);
  other = await createWorld(database.db);
});
afterAll(() => database.close());

describe("the financial model the owners committee reads before the vote", () => {
  it("matches the hand-computed example to the fen", async () => {
    const contract = await createContractWithTerms(database.db, world, { terms, state: "submitted" });
    const committee = api(world.ownersCommittee.key);
    const path = `/v1/contracts/${contract.id}/financial-model`;
    const missing = await committee.get(path);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({
      code: "financial_assumptions_missing",
      detail: expect.stringContaining(`PUT /v1/contracts/${contract.id}/financial-assumptions`),
    });
    const noneYet = await committee.get(`/v1/contracts/${contract.id}/financial-assumptions`);
    expect(noneYet.status).toBe(404);
    expect(noneYet.body.code).toBe("financial_assumptions_missing");
    expect(
      (await committee.put(`/v1/contracts/${contract.id}/financial-assumptions`, assumptions)).status,
    ).toBe(403);
    const saved = await api(world.enterprise.key).put(
      `/v1/contracts/${contract.id}/financial-assumptions`,
      assumptions,
    );
    expect(saved.status).toBe(200);
    // Read back in the shape the PUT takes: what was sent, so read-modify-write is a plain PUT.
    const read = await committee.get(`/v1/contracts/${contract.id}/financial-assumptions`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(assumptions);
    const edited = { ...read.body, discountRate: "0.06" };
    const rewritten = await api(world.enterprise.key).put(
      `/v1/contracts/${contract.id}/financial-assumptions`,
      edited,
    );
    expect(rewritten.status).toBe(200);
    expect(rewritten.body.assumptions).toEqual(edited);
    expect(
      (await api(world.enterprise.key).put(`/v1/contracts/${contract.id}/financial-assumptions`, assumptions))
        .status,
    ).toBe(200);

    const model = await committee.get(path);
    expect(model.status).toBe(200);
    expect(model.body).toMatchObject({
      state: "submitted",
      versionNo: 1,
      basis: "current_version",
      actuals: null,
    });
    // The register: floors 1–6, two households each (createWorld).
    expect(model.body.inputs.householdsSource).toBe("register");
    expect(model.body.inputs.takeUp.householdsByFloor).toEqual(
      [1, 2, 3, 4, 5, 6].map((floor) => ({ floor, households: 2 })),
    );
    // EL-M: 50 % of 2 households per floor = 1 per floor: (0 + 30 + 40 + 50 + 60 + 70) = 250.00 a
    //       month, 6 subscribers, 250 × 12 = 3,000.00 a year.
    // EL-Y: 25 % of 12 households = 3 subscribers × 600.00 = 1,800.00 a year.
    // Costs: 1,200 + 360 + 240 + 0 = 1,800.00 a year.
    const p = model.body.projection;
    expect(p.revenueByItem).toEqual([
      { code: "EL-M", kind: "monthly", quantity: "6", amount: "3000.00" },
      { code: "EL-Y", kind: "yearly", quantity: "3", amount: "1800.00" },
    ]);
    expect(p.yearlyCosts).toBe("1800.00");
    // Year 0: −3,100.00 (the enterprise's capital; the guidance funds are not its money).
    // Year 1 (12 months): 4,800.00 − 1,800.00 = 3,000.00; cumulative −100.00.
    // Year 2 (the 13th month): 4,800 ÷ 12 = 400.00 − 1,800 ÷ 12 = 150.00 → 250.00; cumulative 150.00.
    expect(p.years).toEqual([
      { year: 0, months: 0, revenue: "0.00", costs: "0.00", net: "-3100.00", cumulative: "-3100.00" },
      { year: 1, months: 12, revenue: "4800.00", costs: "1800.00", net: "3000.00", cumulative: "-100.00" },
      { year: 2, months: 1, revenue: "400.00", costs: "150.00", net: "250.00", cumulative: "150.00" },
    ]);
    expect(p.paybackYear).toBe(2);
    expect(p.totalNet).toBe("150.00");
    // NPV at 5 %: −3,100 + 3,000 ÷ 1.05 + 250 ÷ 1.05² = −3,100 + 2,857.142857 + 226.757370
    //   = −16.099773 → −16.10.
    expect(p.npv).toBe("-16.10");
    // IRR: with x = 1 ÷ (1 + r), 250x² + 3,000x − 3,100 = 0 → x = (−3,000 + √12,100,000) ÷ 500
    //   = (−3,000 + 3,478.505426) ÷ 500 = 0.957010852 → r = 1 ÷ x − 1 = 0.044920 → "0.0449".
    expect(p.irr).toBe("0.0449");
    expect(p).toMatchObject({
      investment: "3650.00",
      guidanceFunds: "550.00",
      enterpriseCapital: "3100.00",
      discountRate: "0.0500",
    });

    // At 4 %: −3,100 + 3,000 ÷ 1.04 + 250 ÷ 1.0816 = −3,100 + 2,884.615385 + 231.139053 = 15.75.
    const at4 = await committee.get(`${path}?discountRate=0.04`);
    expect(at4.body.projection.npv).toBe("15.75");
    // 60 % take EL-M: 1.2 per floor → 300.00 a month, 3,600.00 a year; year 1 net 3,600, the
    // 13th month 450.00 − 150.00 = 300.00: −3,100 + 3,600 ÷ 1.05 + 300 ÷ 1.1025 = 600.68.
    const more = await committee.get(`${path}?takeUp=EL-M:0.60`);
    expect(more.body.projection).toMatchObject({ npv: "600.68", paybackYear: 1 });
    expect(more.body.inputs.takeUp.rates).toEqual({ "EL-M": "0.60", "EL-Y": "0.25" });
    const flat = await committee.get(`${path}?takeUp=0.25`);
    expect(flat.body.inputs.takeUp.rates).toEqual({ "EL-M": "0.25", "EL-Y": "0.25" });
    // The stored assumptions are unchanged by a reader's overrides.
    expect((await committee.get(path)).body.projection.npv).toBe("-16.10");
  });

  it("answers 400 naming each bad assumption or override", async () => {
    const contract = await createContractWithTerms(database.db, world, { terms, state: "draft" });
    const enterprise = api(world.enterprise.key);
    const bad = await enterprise.put(`/v1/contracts/${contract.id}/financial-assumptions`, {
      takeUp: { rates: { "EL-M": "1.2", "GR-M": "0.5" }, householdsByFloor: [{ floor: 2, households: -1 }] },
      yearlyCosts: { maintenance: "12.345", electricity: "0", insurance: "0", other: "-5" },
      discountRate: "-0.1",
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toContain("application/problem+json");
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(
      [
        "body.takeUp.rates.GR-M",
        "body.yearlyCosts.maintenance",
        "body.yearlyCosts.other",
        "body.discountRate",
        "body.takeUp.householdsByFloor.0.households",
        "body.takeUp.rates.EL-M",
      ].sort(),
    );
    expect(
      (await enterprise.put(`/v1/contracts/${contract.id}/financial-assumptions`, assumptions)).status,
    ).toBe(200);
    const path = `/v1/contracts/${contract.id}/financial-model`;
    const rate = await enterprise.get(`${path}?discountRate=1.5`);
    expect(rate.body.errors).toEqual([
      { field: "query.discountRate", message: "must be a decimal fraction from 0 to 1" },
    ]);
    expect((await enterprise.get(`${path}?takeUp=GR-M:0.5`)).body.errors[0].field).toBe("query.takeUp");
    expect((await enterprise.get(`${path}?takeUp=EL-M:2`)).body.errors[0].field).toBe("query.takeUp");
    expect((await api(other.ownersCommittee.key).get(path)).status).toBe(404);
  });

  it("sets the actuals to date of an operating contract against its capital", async () => {
    const db = database.db;
    // Operating since 2026-01-15: year 1 = 2026-01 … 2026-12, year 2 from 2027-01 (today 2027-01-20).
    const contract = await createContractWithTerms(db, world, {
      terms,
      state: "operating",
      operationStartDate: "2026-01-15",
      transferDate: "2027-02-15",
    });
    await api(world.enterprise.key).put(`/v1/contracts/${contract.id}/financial-assumptions`, assumptions);
    const invoice = await createInvoiceRow(db, contract, {
      period: "2026-02",
      dueDate: "2026-02-16",
      lines: [{ code: "EL-M", amount: "2000.00" }],
    });
    // Collected: 1,000.00 + 500.00 in year 1, 300.00 in year 2.
    await createPaymentRow(db, invoice, { amount: "1000.00", receivedOn: "2026-02-10" });
    await createPaymentRow(db, invoice, { amount: "500.00", receivedOn: "2026-12-31" });
    await createPaymentRow(db, invoice, { amount: "300.00", receivedOn: "2027-01-05" });
    // Costs of the reports in year 1: 170.00 (March) + 300.00 (Q2) + 130.00 (December) = 600.00;
    // Q2's superseded first version (999.00) does not count.
    const report = (
      period: string,
      versionNo: number,
      status: "accepted" | "submitted" | "superseded",
      m: string,
    ) => ({
      contractId: contract.id,
      period,
      versionNo,
      status,
      submittedByOrgId: world.enterprise.org.id,
      figures: {
        revenueByItem: {},
        costs: { maintenance: m, electricity: "0", insurance: "0", other: "0" },
        usage: { rides: 0, kWh: "0", chargingSessions: 0 },
        availabilityPercent: "100",
        maintenanceRecords: [],
        safetyIncidents: 0,
      },
    });
    await db
      .insert(operationReports)
      .values([
        report("2026-03", 1, "accepted", "170.00"),
        report("2026-Q2", 1, "superseded", "999.00"),
        report("2026-Q2", 2, "submitted", "300.00"),
        report("2026-12", 1, "accepted", "130.00"),
      ]);

    const model = await api(world.streetOffice.key).get(`/v1/contracts/${contract.id}/financial-model`);
    expect(model.status).toBe(200);
    expect(model.body.basis).toBe("version_in_force");
    // Year 1: 1,500.00 − 600.00 = 900.00, cumulative 900 − 3,100 = −2,200.00; year 2: 300.00,
    // −1,900.00. Recovered 1,200 ÷ 3,100 = 38.71 %.
    expect(model.body.actuals).toEqual({
      asOf: "2027-01-20",
      capital: "3100.00",
      years: [
        {
          year: 1,
          from: "2026-01",
          collected: "1500.00",
          costs: "600.00",
          net: "900.00",
          cumulative: "-2200.00",
        },
        {
          year: 2,
          from: "2027-01",
          collected: "300.00",
          costs: "0.00",
          net: "300.00",
          cumulative: "-1900.00",
        },
      ],
      netToDate: "1200.00",
      position: "-1900.00",
      recoveredPercent: "38.71",
      paidBack: false,
    });
  });
});

describe("guidance funds paid by the street office", () => {
  it("are recorded up to the committed amount, by the street office that is a party", async () => {
    const contract = await createContractWithTerms(database.db, world, {
      terms,
      state: "under_construction",
    });
    const office = api(world.streetOffice.key);
    const path = `/v1/contracts/${contract.id}/guidance-disbursements`;
    const first = await office.post(path, { amount: "300.00", paidOn: "2027-01-10", note: "首期" });
    expect(first.status).toBe(201);
    expect(first.body.totals).toEqual({ committed: "550.00", paid: "300.00", remaining: "250.00" });
    const over = await office.post(path, { amount: "250.01", paidOn: "2027-01-18" });
    expect(over.status).toBe(409);
    expect(over.body).toMatchObject({ code: "guidance_exceeded", paid: "300.00", committed: "550.00" });
    expect((await office.post(path, { amount: "250.00", paidOn: "2027-01-18" })).body.totals.remaining).toBe(
      "0.00",
    );

    expect(
      (await api(world.enterprise.key).post(path, { amount: "1.00", paidOn: "2027-01-18" })).status,
    ).toBe(403);
    expect(
      (await api(other.streetOffice.key).post(path, { amount: "1.00", paidOn: "2027-01-18" })).status,
    ).toBe(404);
    const future = await office.post(path, { amount: "1.00", paidOn: "2027-01-21" });
    expect(future.body.errors).toEqual([{ field: "body.paidOn", message: "is in the future" }]);
    expect((await office.post(path, { amount: "0.001", paidOn: "2027-01-18" })).body.errors[0].field).toBe(
      "body.amount",
    );

    const list = await api(world.ownersCommittee.key).get(path);
    expect(list.body.items.map((d: { amount: string; note: string }) => [d.amount, d.note])).toEqual([
      ["300.00", "首期"],
      ["250.00", ""],
    ]);
    expect(list.body.totals).toEqual({ committed: "550.00", paid: "550.00", remaining: "0.00" });

    // Each disbursement reads on its own at its Location, as the list shows it, for every party.
    const location = first.headers.get("location");
    expect(location).toBe(`/v1/guidance-disbursements/${first.body.disbursement.id}`);
    for (const key of [world.streetOffice.key, world.enterprise.key, world.ownersCommittee.key]) {
      const read = await api(key).get(`${location}`);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(first.body.disbursement);
    }
    expect(list.body.items).toContainEqual(first.body.disbursement);
    const elsewhere = await api(other.streetOffice.key).get(`${location}`);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.code).toBe("not_found");
    expect((await office.get("/v1/guidance-disbursements/00000000-0000-4000-8000-000000000000")).status).toBe(
      404,
    );

    const unsigned = await createContractWithTerms(database.db, world, { terms, state: "approved" });
    const early = await office.post(`/v1/contracts/${unsigned.id}/guidance-disbursements`, {
      amount: "1.00",
      paidOn: "2027-01-18",
    });
    expect(early.status).toBe(409);
  });
});
