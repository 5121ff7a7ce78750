import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { openTestDatabase } from "../support/db.js";
import { createOperatingContract, createWorld, type World } from "../support/factories.js";
import { apiFor, countRows, invoicesOf, testClock } from "./helpers.js";

let database: DatabaseHandle;
const clock = testClock();
let api: ReturnType<typeof apiFor>;

beforeAll(async () => {
  database = await openTestDatabase();
  api = apiFor(database, clock);
});
afterAll(() => database.close());

/** A fresh world (its own enterprise, so its own invoice numbers) with an operating elevator contract. */
async function operating(operationStart: string, termMonths: number) {
  const world = await createWorld(database.db);
  const prefix = `E${randomUUID().replace(/-/g, "").slice(0, 6).toUpperCase()}`.replace(/[^A-Z0-9]/g, "A");
  const made = await createOperatingContract(database.db, world, {
    operationStart,
    termMonths,
    invoicePrefix: prefix,
  });
  return { world, prefix, ...made, enterprise: api(world.enterprise.key) };
}

async function subscribeAll(
  world: World,
  contractId: string,
  plan: { floor: number; n?: number; feeCode: string; startDate: string }[],
) {
  const enterprise = api(world.enterprise.key);
  const ids: string[] = [];
  for (const p of plan) {
    const h = world.households.filter((x) => x.floor === p.floor)[p.n ?? 0];
    if (!h) throw new Error("no such household");
    const res = await enterprise.post(`/v1/contracts/${contractId}/subscriptions`, {
      householdId: h.id,
      feeCode: p.feeCode,
      startDate: p.startDate,
    });
    expect(res.status).toBe(201);
    ids.push(res.body.id);
  }
  return ids;
}

describe("a billing run", () => {
  it("issues one invoice per due subscription, numbered gap-free, and never twice", async () => {
    const { world, contract, prefix, enterprise } = await operating("2026-01-10", 36);
    // 10 monthly passes (floors 2–6) and 2 yearly ones (anniversaries March and April).
    const plan = [2, 3, 4, 5, 6].flatMap((floor) =>
      [0, 1].map((n) => ({ floor, n, feeCode: "EL-M", startDate: "2026-02-01" })),
    );
    await subscribeAll(world, contract.id, [
      ...plan,
      { floor: 1, n: 0, feeCode: "EL-Y", startDate: "2026-03-15" },
      { floor: 1, n: 1, feeCode: "EL-Y", startDate: "2026-04-01" },
    ]);
    clock.at("2026-03-05");
    const path = `/v1/contracts/${contract.id}/billing-runs`;
    const first = await enterprise.post(path, { period: "2026-03" });
    expect(first.status).toBe(201);
    // 2×(30+40+50+60+70) + 600 = 1100.00
    expect(first.body).toMatchObject({ invoicesCreated: 11, totalAmount: "1100.00" });
    expect(first.body.run).toMatchObject({ period: "2026-03", invoicesCreated: 11, totalAmount: "1100.00" });

    const list = await enterprise.get(`/v1/contracts/${contract.id}/invoices?period=2026-03&limit=200`);
    expect(list.body.items.map((i: { number: string }) => i.number)).toEqual(
      Array.from({ length: 11 }, (_, i) => `${prefix}-2026-${String(i + 1).padStart(6, "0")}`),
    );
    expect(list.body.items[0]).toMatchObject({
      issueDate: "2026-03-05",
      dueDate: "2026-03-20",
      state: "open",
    });
    const yearly = list.body.items.find((i: { total: string }) => i.total === "600.00");
    const detail = await api(world.ownersCommittee.key).get(`/v1/invoices/${yearly.id}`);
    expect(detail.body.lines).toEqual([
      {
        lineNo: 1,
        code: "EL-Y",
        description: "EL-Y 包年 2026-03 – 2027-02",
        quantity: "1.000",
        unitPrice: "600.00",
        amount: "600.00",
      },
    ]);

    // The same period again: the existing run, nothing created (counted in the database).
    const second = await enterprise.post(path, { period: "2026-03" });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({
      invoicesCreated: 0,
      totalAmount: "0.00",
      run: { id: first.body.run.id },
    });
    expect(await invoicesOf(database, contract.id)).toBe(11);
    expect(
      await countRows(
        database,
        sql`select count(*) as n from billing_runs where contract_id = ${contract.id}`,
      ),
    ).toBe(1);

    // A month that has not begun is not billed yet.
    const early = await enterprise.post(path, { period: "2026-04" });
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({
      code: "billing_period_refused",
      period: "2026-04",
      detail: "The period 2026-04 has not begun; bill a month up to 2026-03.",
    });
    // April: the monthly passes and the April yearly pass; the March one waits for its anniversary.
    clock.at("2026-04-01");
    const april = await enterprise.post(path, { period: "2026-04" });
    expect(april.body).toMatchObject({ invoicesCreated: 11, totalAmount: "1100.00" });
    clock.at("2026-05-03");
    const may = await enterprise.post(path, { period: "2026-05" });
    expect(may.body).toMatchObject({ invoicesCreated: 10, totalAmount: "500.00" });
    clock.at("2027-03-02");
    const nextMarch = await enterprise.post(path, { period: "2027-03" });
    expect(nextMarch.body).toMatchObject({ invoicesCreated: 11, totalAmount: "1100.00" });
    // Numbers stay gap-free across runs within each year of issue: 11 + 11 + 10 in 2026, 11 in 2027.
    const numbers = await queryRows<{ number: string }>(
      database.db,
      sql`select number from invoices where contract_id = ${contract.id} order by number`,
    );
    expect(numbers.map((n) => n.number)).toEqual([
      ...Array.from({ length: 32 }, (_, i) => `${prefix}-2026-${String(i + 1).padStart(6, "0")}`),
      ...Array.from({ length: 11 }, (_, i) => `${prefix}-2027-${String(i + 1).padStart(6, "0")}`),
    ]);

    // Runs are listed latest period first; the committee may read but not run.
    const runs = await api(world.ownersCommittee.key).get(path);
    expect(runs.body.items.map((r: { period: string }) => r.period)).toEqual([
      "2027-03",
      "2026-05",
      "2026-04",
      "2026-03",
    ]);
    expect((await api(world.ownersCommittee.key).post(path, { period: "2026-06" })).status).toBe(403);
  });

  it("two concurrent runs of one period make one set of invoices; a repeated Idempotency-Key the same answer", async () => {
    const { world, contract, enterprise } = await operating("2026-01-10", 36);
    await subscribeAll(
      world,
      contract.id,
      [2, 3, 4].map((floor) => ({ floor, feeCode: "EL-M", startDate: "2026-02-01" })),
    );
    clock.at("2026-04-02");
    const path = `/v1/contracts/${contract.id}/billing-runs`;
    const both = await Promise.all([
      enterprise.post(path, { period: "2026-04" }),
      enterprise.post(path, { period: "2026-04" }),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 201]);
    expect(both.map((r) => r.body.invoicesCreated).sort()).toEqual([0, 3]);
    expect(both[0]?.body.run.id).toBe(both[1]?.body.run.id);
    expect(await invoicesOf(database, contract.id, "2026-04")).toBe(3);

    const key = { "idempotency-key": `run-${randomUUID()}` };
    clock.at("2026-07-01");
    const first = await enterprise.post(path, { period: "2026-05" }, key);
    expect(first.status).toBe(201);
    const replay = await enterprise.post(path, { period: "2026-05" }, key);
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await invoicesOf(database, contract.id, "2026-05")).toBe(3);
    const reused = await enterprise.post(path, { period: "2026-06" }, key);
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe("idempotency_key_reused");
    // Same key, concurrently, for a new period: one run.
    const key2 = { "idempotency-key": `run-${randomUUID()}` };
    const pair = await Promise.all([
      enterprise.post(path, { period: "2026-07" }, key2),
      enterprise.post(path, { period: "2026-07" }, key2),
    ]);
    expect(pair.map((r) => r.body.run.id)[0]).toBe(pair[1]?.body.run.id);
    expect(await invoicesOf(database, contract.id, "2026-07")).toBe(3);
  });

  it("bills the Shanghai month at 23:30 UTC on a month's last day, and leap-year February", async () => {
    const { world, contract, prefix, enterprise } = await operating("2027-11-20", 24);
    await subscribeAll(world, contract.id, [{ floor: 6, feeCode: "EL-M", startDate: "2027-12-01" }]);
    const path = `/v1/contracts/${contract.id}/billing-runs`;
    // 2027-12-31T23:30Z is 2028-01-01 07:30 in Shanghai: the run bills January 2028, issued in 2028.
    clock.atInstant("2027-12-31T23:30:00Z");
    const jan = await enterprise.post(path, {});
    expect(jan.status).toBe(201);
    expect(jan.body.run.period).toBe("2028-01");
    const invoices = await enterprise.get(`/v1/contracts/${contract.id}/invoices?period=2028-01`);
    expect(invoices.body.items[0]).toMatchObject({
      number: `${prefix}-2028-000001`,
      issueDate: "2028-01-01",
      dueDate: "2028-01-16",
    });
    // Leap February: issued on the 20th, due 15 days later = 6 March (29 days in February 2028).
    clock.at("2028-02-20");
    expect((await enterprise.post(path, { period: "2028-02" })).body.invoicesCreated).toBe(1);
    const feb = await enterprise.get(`/v1/contracts/${contract.id}/invoices?period=2028-02`);
    expect(feb.body.items[0]).toMatchObject({
      issueDate: "2028-02-20",
      dueDate: "2028-03-06",
      total: "70.00",
    });
    // Overdue once the due date passed.
    clock.at("2028-03-07");
    const overdue = await enterprise.get(`/v1/contracts/${contract.id}/invoices?state=overdue`);
    expect(overdue.body.total).toBe(2);
  });

  it("is read at its Location by every party of the contract, as the list shows it; 404 for another street", async () => {
    const { world, contract, enterprise } = await operating("2026-01-10", 36);
    await subscribeAll(world, contract.id, [{ floor: 2, feeCode: "EL-M", startDate: "2026-02-01" }]);
    clock.at("2026-03-02");
    const created = await enterprise.post(`/v1/contracts/${contract.id}/billing-runs`, { period: "2026-03" });
    expect(created.status).toBe(201);
    expect(created.body.run).toMatchObject({ period: "2026-03", invoicesCreated: 1, totalAmount: "30.00" });
    const location = created.headers.get("location");
    expect(location).toBe(`/v1/billing-runs/${created.body.run.id}`);
    const committee = api(world.ownersCommittee.key);
    const read = await committee.get(location ?? "");
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body.run);
    const list = await committee.get(`/v1/contracts/${contract.id}/billing-runs`);
    expect(list.body.items).toEqual([read.body]);

    const other = await createWorld(database.db);
    const hidden = await api(other.enterprise.key).get(location ?? "");
    expect(hidden.status).toBe(404);
    expect(hidden.body.code).toBe("not_found");
    const unknown = await enterprise.get(`/v1/billing-runs/${randomUUID()}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("not_found");
  });

  it("refuses periods outside the operation with the reason, and bad input with the field", async () => {
    const { contract, enterprise } = await operating("2026-03-10", 12);
    const path = `/v1/contracts/${contract.id}/billing-runs`;
    clock.at("2026-04-01");
    const early = await enterprise.post(path, { period: "2026-02" });
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ code: "billing_period_refused", period: "2026-02" });
    expect(early.body.detail).toContain("before the operation start month 2026-03");
    clock.at("2027-04-01");
    const late = await enterprise.post(path, { period: "2027-04" });
    expect(late.body.code).toBe("billing_period_refused");
    expect(late.body.detail).toContain("on or after the transfer date 2027-03-10");
    // The transfer month itself is billed (the transfer falls on its 10th).
    expect((await enterprise.post(path, { period: "2027-03" })).status).toBe(201);
    for (const period of ["2026-13", "2026-4", "26-04", 202604]) {
      const bad = await enterprise.post(path, { period });
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0].field).toBe("body.period");
    }
    const badKey = await enterprise.post(path, { period: "2026-05" }, { "idempotency-key": "has space" });
    expect(badKey.body.errors[0].field).toBe("header.idempotency-key");
  });
});

describe("the end of billing", () => {
  it("settles every subscription at the transfer (leap February) and refuses later runs", async () => {
    const { world, contract, transferDate, enterprise } = await operating("2026-02-15", 24);
    expect(transferDate).toBe("2028-02-15");
    const [monthly, yearly] = await subscribeAll(world, contract.id, [
      { floor: 6, feeCode: "EL-M", startDate: "2026-03-01" },
      { floor: 5, feeCode: "EL-Y", startDate: "2027-06-01" },
    ]);
    const path = `/v1/contracts/${contract.id}/billing-runs`;
    clock.at("2027-06-01");
    expect((await enterprise.post(path, { period: "2027-06" })).body.invoicesCreated).toBe(2);
    clock.at("2028-02-01");
    expect((await enterprise.post(path, { period: "2028-02" })).body.invoicesCreated).toBe(1);
    // A monthly pass from 3 February, after the run: not billed for February yet.
    const [late] = await subscribeAll(world, contract.id, [
      { floor: 4, feeCode: "EL-M", startDate: "2028-02-03" },
    ]);

    const refused = await enterprise.post(path, { period: "2028-03" });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("billing_period_refused");

    clock.at("2028-02-15");
    const transferred = await api(world.ownersCommittee.key).post(
      `/v1/contracts/${contract.id}/transfer`,
      {},
    );
    expect(transferred.status).toBe(200);
    expect(transferred.body.state).toBe("transferred");

    const subs = await enterprise.get(`/v1/contracts/${contract.id}/subscriptions`);
    for (const s of subs.body.items) expect(s).toMatchObject({ state: "ended", endDate: "2028-02-14" });

    // Monthly, billed 70.00 for February: used 14 of 29 days → 33.79 charged, 36.21 credited.
    // Yearly, 600.00 for 2027-06 – 2028-05: March – May unused → 150.00 credited.
    const notes = await queryRows<{
      subscription_id: string;
      amount: string;
      reason: string;
      number: string;
    }>(
      database.db,
      sql`select subscription_id, amount::text as amount, reason, number from credit_notes
          where contract_id = ${contract.id} order by number`,
    );
    expect(Object.fromEntries(notes.map((n) => [n.subscription_id, [n.amount, n.reason]]))).toEqual({
      [monthly ?? ""]: ["36.21", "transfer"],
      [yearly ?? ""]: ["150.00", "transfer"],
    });
    // The late pass: 3–14 February, 12 of 29 days of 50.00 → a final invoice of 20.69.
    const finals = await queryRows<{ subscription_id: string; total: string; period: string; kind: string }>(
      database.db,
      sql`select subscription_id, total::text as total, period, kind from invoices
          where contract_id = ${contract.id} and kind = 'final'`,
    );
    expect(finals).toEqual([{ subscription_id: late, total: "20.69", period: "2028-02", kind: "final" }]);

    const after = await enterprise.post(path, { period: "2028-03" });
    expect(after.status).toBe(409);
    expect(after.body.detail).toContain("on or after the transfer date 2028-02-15");
    const sameMonth = await enterprise.post(path, { period: "2028-01" });
    expect(sameMonth.status).toBe(409);
    expect(sameMonth.body.code).toBe("contract_not_operating");
    const audit = await queryRows<{ action: string }>(
      database.db,
      sql`select action from audit_log where contract_id = ${contract.id} order by seq desc limit 2`,
    );
    expect(audit.map((a) => a.action)).toEqual(["subscriptions.ended_at_transfer", "contract.transferred"]);
  });

  it("ends subscriptions at a termination: no further bills, a yearly pass paid ahead credited", async () => {
    const { world, contract, enterprise } = await operating("2026-01-10", 36);
    const [monthly, yearly] = await subscribeAll(world, contract.id, [
      { floor: 3, feeCode: "EL-M", startDate: "2026-02-01" },
      { floor: 2, feeCode: "EL-Y", startDate: "2026-02-01" },
    ]);
    const path = `/v1/contracts/${contract.id}/billing-runs`;
    clock.at("2026-02-01");
    await enterprise.post(path, { period: "2026-02" });
    // March has not begun: it cannot be billed ahead (only a yearly pass is paid ahead).
    expect((await enterprise.post(path, { period: "2026-03" })).body.code).toBe("billing_period_refused");
    clock.at("2026-02-20");
    const terminated = await api(world.ownersCommittee.key).post(`/v1/contracts/${contract.id}/terminate`, {
      reason: "电梯无法通过年检",
    });
    expect(terminated.status).toBe(200);
    const subs = await enterprise.get(`/v1/contracts/${contract.id}/subscriptions`);
    for (const s of subs.body.items) expect(s).toMatchObject({ state: "ended", endDate: "2026-02-20" });
    // February, the month of the termination, is owed in full; the yearly pass paid ahead:
    // March – January = 11 of 12 → 550.00.
    const notes = await queryRows<{ subscription_id: string; amount: string }>(
      database.db,
      sql`select subscription_id, amount::text as amount from credit_notes where contract_id = ${contract.id}`,
    );
    expect(Object.fromEntries(notes.map((n) => [n.subscription_id, n.amount]))).toEqual({
      [yearly ?? ""]: "550.00",
    });
    expect(notes.some((n) => n.subscription_id === monthly)).toBe(false);
    const refused = await enterprise.post(path, { period: "2026-04" });
    expect(refused.body.code).toBe("contract_not_operating");
  });
});
