import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { openTestDatabase } from "../support/db.js";
import {
  createContractRecord,
  createOperatingContract,
  createSignedVersion,
  createWorld,
  ELEVATOR_FEES,
  type World,
} from "../support/factories.js";
import { apiFor, testClock } from "./helpers.js";

let database: DatabaseHandle;
let world: World;
const clock = testClock();
let api: ReturnType<typeof apiFor>;

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createWorld(database.db);
  api = apiFor(database, clock);
});
afterAll(() => database.close());

const onFloor = (floor: number, n = 0) => {
  const h = world.households.filter((x) => x.floor === floor)[n];
  if (!h) throw new Error(`no household ${n} on floor ${floor}`);
  return h;
};

describe("a household subscribes to the added elevator", () => {
  it("pays its floor's price from the schedule in force on the start date, once per contract", async () => {
    const { contract, transferDate } = await createOperatingContract(database.db, world, {
      operationStart: "2026-01-10",
      termMonths: 24,
    });
    expect(transferDate).toBe("2028-01-10");
    clock.at("2026-01-20");
    const enterprise = api(world.enterprise.key);
    const committee = api(world.ownersCommittee.key);
    const office = api(world.streetOffice.key);
    const path = `/v1/contracts/${contract.id}/subscriptions`;

    // Fifth floor: 60.00 a month, to the fen; the ground floor pays nothing.
    const fifth = await enterprise.post(path, {
      householdId: onFloor(5).id,
      feeCode: "EL-M",
      startDate: "2026-02-01",
    });
    expect(fifth.status).toBe(201);
    expect(fifth.body).toMatchObject({
      kind: "monthly",
      unitPrice: "60.00",
      priceVersionNo: 1,
      state: "active",
      subscriberKey: `household:${onFloor(5).id}`,
      endDate: null,
    });
    const ground = await enterprise.post(path, {
      householdId: onFloor(1).id,
      feeCode: "EL-M",
      startDate: "2026-02-01",
    });
    expect(ground.body.unitPrice).toBe("0.00");

    // One running subscription per household and contract (the database's partial unique index).
    const twice = await enterprise.post(path, {
      householdId: onFloor(5).id,
      feeCode: "EL-Y",
      startDate: "2026-03-01",
    });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe("subscription_exists");

    // An amendment effective 2026-06-01 raises the fifth floor to 65.00: only later starts pay it.
    await createSignedVersion(database.db, {
      contractId: contract.id,
      versionNo: 2,
      termMonths: 24,
      effectiveDate: "2026-06-01",
      fees: ELEVATOR_FEES.map((f) =>
        f.code === "EL-M"
          ? {
              ...f,
              floorPrices: (f.floorPrices ?? []).map((p) =>
                p.floor === 5 ? { floor: 5, price: "65.00" } : p,
              ),
            }
          : f,
      ),
    });
    const before = await enterprise.post(path, {
      householdId: onFloor(5, 1).id,
      feeCode: "EL-M",
      startDate: "2026-05-31",
    });
    expect(before.body).toMatchObject({ unitPrice: "60.00", priceVersionNo: 1 });
    const after = await enterprise.post(path, {
      householdId: onFloor(6).id,
      feeCode: "EL-M",
      startDate: "2026-06-01",
    });
    expect(after.body).toMatchObject({ unitPrice: "70.00", priceVersionNo: 2 });
    const yearly = await enterprise.post(path, {
      householdId: onFloor(4).id,
      feeCode: "EL-Y",
      startDate: "2026-06-15",
    });
    expect(yearly.body).toMatchObject({ kind: "yearly", unitPrice: "600.00", priceVersionNo: 2 });

    // Everyone in scope reads; only the enterprise subscribes.
    const listed = await committee.get(`${path}?state=active&feeCode=EL-M&limit=2`);
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ total: 4, limit: 2, offset: 0 });
    expect(listed.body.items).toHaveLength(2);
    expect((await office.get(`/v1/subscriptions/${fifth.body.id}`)).body.unitPrice).toBe("60.00");
    const refused = await committee.post(path, {
      householdId: onFloor(3).id,
      feeCode: "EL-M",
      startDate: "2026-02-01",
    });
    expect(refused.status).toBe(403);

    // The decisions are in the contract's audit log.
    const audit = await queryRows<{ action: string }>(
      database.db,
      sql`select action from audit_log where contract_id = ${contract.id} order by seq`,
    );
    expect(audit.map((a) => a.action)).toEqual(Array(5).fill("subscription.created"));
  });

  it("answers bad input with the failing field", async () => {
    const { contract } = await createOperatingContract(database.db, world, {
      operationStart: "2026-01-10",
      termMonths: 12,
    });
    const enterprise = api(world.enterprise.key);
    const path = `/v1/contracts/${contract.id}/subscriptions`;
    const home = onFloor(3).id;
    const fieldOf = async (body: unknown) => {
      const res = await enterprise.post(path, body);
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      return res.body.errors.map((e: { field: string }) => e.field);
    };
    expect(await fieldOf({ householdId: home, feeCode: "EL-M", startDate: "2026-01-09" })).toEqual([
      "body.startDate",
    ]);
    expect(await fieldOf({ householdId: home, feeCode: "EL-M", startDate: "2027-01-10" })).toEqual([
      "body.startDate",
    ]);
    expect(await fieldOf({ householdId: home, feeCode: "EL-RIDE", startDate: "2026-02-01" })).toEqual([
      "body.feeCode",
    ]);
    expect(await fieldOf({ householdId: home, feeCode: "NOPE", startDate: "2026-02-01" })).toEqual([
      "body.feeCode",
    ]);
    expect(
      await fieldOf({ householdId: home, slotRef: "B1-01", feeCode: "EL-M", startDate: "2026-02-01" }),
    ).toEqual(["body.slotRef"]);
    expect(await fieldOf({ slotRef: "B1-01", feeCode: "EL-M", startDate: "2026-02-01" })).toEqual([
      "body.slotRef",
    ]);
    expect(await fieldOf({ householdId: home, feeCode: "EL-M", startDate: "2026-02-30" })).toEqual([
      "body.startDate",
    ]);

    // A contract that is not operating takes no subscriptions.
    const signed = await createContractRecord(database.db, {
      streetId: world.street.id,
      communityId: world.community.id,
      enterpriseOrgId: world.enterprise.org.id,
      ownersCommitteeOrgId: world.ownersCommittee.org.id,
      propertyCompanyOrgId: world.propertyCompany.org.id,
      state: "signed",
    });
    await createSignedVersion(database.db, {
      contractId: signed.id,
      versionNo: 1,
      fees: ELEVATOR_FEES,
      termMonths: 24,
    });
    const notOperating = await enterprise.post(`/v1/contracts/${signed.id}/subscriptions`, {
      householdId: home,
      feeCode: "EL-M",
      startDate: "2026-02-01",
    });
    expect(notOperating.status).toBe(409);
    expect(notOperating.body).toMatchObject({ code: "contract_not_operating", currentState: "signed" });
  });

  it("cancels a yearly pass with a credit note for the unused whole months, applied to the next bill", async () => {
    const { contract } = await createOperatingContract(database.db, world, {
      operationStart: "2026-01-10",
      termMonths: 36,
    });
    const enterprise = api(world.enterprise.key);
    clock.at("2026-03-01");
    const home = onFloor(6).id;
    const sub = await enterprise.post(`/v1/contracts/${contract.id}/subscriptions`, {
      householdId: home,
      feeCode: "EL-Y",
      startDate: "2026-03-01",
    });
    const run = await enterprise.post(`/v1/contracts/${contract.id}/billing-runs`, { period: "2026-03" });
    expect(run.body).toMatchObject({ invoicesCreated: 1, totalAmount: "600.00" });

    // Cancelled on 2026-05-20: June – February unused = 9 months → 600 × 9 ÷ 12 = 450.00.
    clock.at("2026-05-20");
    const cancelled = await enterprise.post(`/v1/subscriptions/${sub.body.id}/cancel`, {
      cancelDate: "2026-05-20",
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.subscription).toMatchObject({ state: "cancelled", endDate: "2026-05-20" });
    expect(cancelled.body.refund).toMatchObject({ amount: "450.00", unusedWholeMonths: 9 });
    expect(cancelled.body.refund.creditNote.number).toMatch(/^CN-2026-\d{6}$/);
    const again = await enterprise.post(`/v1/subscriptions/${sub.body.id}/cancel`, {
      cancelDate: "2026-05-21",
    });
    expect(again.body.code).toBe("subscription_not_running");

    // Back on a monthly pass from June: the June bill (70.00) is paid from the credit.
    await enterprise.post(`/v1/contracts/${contract.id}/subscriptions`, {
      householdId: home,
      feeCode: "EL-M",
      startDate: "2026-06-01",
    });
    clock.at("2026-06-01");
    const june = await enterprise.post(`/v1/contracts/${contract.id}/billing-runs`, { period: "2026-06" });
    expect(june.body).toMatchObject({ invoicesCreated: 1, totalAmount: "70.00" });
    const invoices = await enterprise.get(`/v1/contracts/${contract.id}/invoices?period=2026-06`);
    expect(invoices.body.items[0]).toMatchObject({
      total: "70.00",
      creditApplied: "70.00",
      outstanding: "0.00",
      state: "paid",
    });
    const [note] = await queryRows<{ remaining: string }>(
      database.db,
      sql`select remaining::text as remaining from credit_notes where contract_id = ${contract.id}`,
    );
    expect(note?.remaining).toBe("380.00");

    // A monthly cancellation gives nothing back for the month it is cancelled in.
    const monthly = await enterprise.get(`/v1/contracts/${contract.id}/subscriptions?state=active`);
    const m = await enterprise.post(`/v1/subscriptions/${monthly.body.items[0].id}/cancel`, {
      cancelDate: "2026-06-10",
    });
    expect(m.body.refund).toMatchObject({ amount: "0.00", creditNote: null });
  });

  it("switches a monthly pass to yearly after its last billed month", async () => {
    const { contract } = await createOperatingContract(database.db, world, {
      operationStart: "2026-01-10",
      termMonths: 36,
    });
    const enterprise = api(world.enterprise.key);
    clock.at("2026-04-01");
    const sub = await enterprise.post(`/v1/contracts/${contract.id}/subscriptions`, {
      householdId: onFloor(2).id,
      feeCode: "EL-M",
      startDate: "2026-04-01",
    });
    await enterprise.post(`/v1/contracts/${contract.id}/billing-runs`, { period: "2026-04" });
    clock.at("2026-05-10");
    await enterprise.post(`/v1/contracts/${contract.id}/billing-runs`, { period: "2026-05" });
    const wrongItem = await enterprise.post(`/v1/subscriptions/${sub.body.id}/switch-to-yearly`, {
      switchDate: "2026-05-10",
      feeCode: "EL-M",
    });
    expect(wrongItem.status).toBe(400);
    expect(wrongItem.body.errors[0].field).toBe("body.feeCode");
    const switched = await enterprise.post(`/v1/subscriptions/${sub.body.id}/switch-to-yearly`, {
      switchDate: "2026-05-10",
      feeCode: "EL-Y",
    });
    expect(switched.status).toBe(200);
    expect(switched.body.ended).toMatchObject({ state: "cancelled", endDate: "2026-05-31" });
    expect(switched.body.subscription).toMatchObject({
      kind: "yearly",
      startDate: "2026-06-01",
      unitPrice: "600.00",
      state: "active",
    });
    const yearlyAgain = await enterprise.post(
      `/v1/subscriptions/${switched.body.subscription.id}/switch-to-yearly`,
      {
        switchDate: "2026-06-10",
        feeCode: "EL-Y",
      },
    );
    expect(yearlyAgain.body.code).toBe("switch_refused");
    // June bills the yearly pass, not the monthly one.
    clock.at("2026-06-01");
    const june = await enterprise.post(`/v1/contracts/${contract.id}/billing-runs`, { period: "2026-06" });
    expect(june.body).toMatchObject({ invoicesCreated: 1, totalAmount: "600.00" });
  });
});
