import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { openTestDatabase } from "../support/db.js";
import {
  createOperatingContract,
  createSignedVersion,
  createWorld,
  GARAGE_FEES,
  type World,
} from "../support/factories.js";
import { apiFor, countRows, testClock } from "./helpers.js";

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

const session = (id: string, startedAt: string, quantity: string, extra: Record<string, unknown> = {}) => ({
  sessionId: id,
  slotRef: "B1-017",
  kind: "charging",
  feeCode: "CHG-KWH",
  startedAt,
  quantity,
  ...extra,
});

describe("metered use", () => {
  it("charging sessions are stored once per session id and billed in their Shanghai month at its price", async () => {
    const { contract } = await createOperatingContract(database.db, world, {
      operationStart: "2026-01-10",
      termMonths: 36,
      facility: "garage",
    });
    // From 2026-04-01 charging costs 1.50 a kWh.
    await createSignedVersion(database.db, {
      contractId: contract.id,
      versionNo: 2,
      termMonths: 36,
      effectiveDate: "2026-04-01",
      fees: GARAGE_FEES.map((f) => (f.code === "CHG-KWH" ? { ...f, price: "1.50" } : f)),
    });
    clock.at("2026-04-20");
    const enterprise = api(world.enterprise.key);
    const path = `/v1/contracts/${contract.id}/usage`;
    const batch = [
      session("s-1", "2026-03-02T10:00:00+08:00", "12.345"),
      session("s-2", "2026-03-15T21:00:00+08:00", "0.125"),
      // 23:30 UTC on 31 March is 1 April in Shanghai: April, at the new price.
      session("s-3", "2026-03-31T23:30:00Z", "10"),
      session("s-4", "2026-03-20T08:00:00+08:00", "3", { slotRef: "B1-018" }),
      session("s-5", "2026-03-20T09:00:00+08:00", "90", { slotRef: "B1-018", feeCode: "CHG-H" }),
    ];
    const first = await enterprise.post(path, batch);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ stored: ["s-1", "s-2", "s-3", "s-4", "s-5"], duplicates: [] });
    // A retry (and a single record) is answered as duplicates; nothing is stored twice.
    const retry = await enterprise.post(path, [batch[0], session("s-6", "2026-03-03T10:00:00+08:00", "1")]);
    expect(retry.body).toEqual({ stored: ["s-6"], duplicates: ["s-1"] });
    expect((await enterprise.post(path, batch[1])).body).toEqual({ stored: [], duplicates: ["s-2"] });
    expect(
      await countRows(
        database,
        sql`select count(*) as n from usage_records where contract_id = ${contract.id}`,
      ),
    ).toBe(6);
    const periods = await queryRows<{ session_id: string; period: string }>(
      database.db,
      sql`select session_id, period from usage_records where contract_id = ${contract.id} order by session_id`,
    );
    expect(periods.find((p) => p.session_id === "s-3")?.period).toBe("2026-04");

    // March's run: one usage invoice per slot, one line per fee item, quantity summed, rounded once.
    const run = await enterprise.post(`/v1/contracts/${contract.id}/billing-runs`, { period: "2026-03" });
    expect(run.body.invoicesCreated).toBe(2);
    const invoices = await enterprise.get(`/v1/contracts/${contract.id}/invoices?period=2026-03`);
    const bySlot = new Map<string, string>(
      invoices.body.items.map((i: { subscriberKey: string; id: string }) => [i.subscriberKey, i.id]),
    );
    const slot17 = await enterprise.get(`/v1/invoices/${bySlot.get("slot:B1-017")}`);
    // 12.345 + 0.125 + 1 = 13.470 kWh × 1.20 = 16.164 → 16.16
    expect(slot17.body).toMatchObject({ kind: "usage", total: "16.16" });
    expect(slot17.body.lines).toEqual([
      {
        lineNo: 1,
        code: "CHG-KWH",
        description: "CHG-KWH 2026-03 usage",
        quantity: "13.470",
        unitPrice: "1.20",
        amount: "16.16",
      },
    ]);
    const slot18 = await enterprise.get(`/v1/invoices/${bySlot.get("slot:B1-018")}`);
    // 90 minutes × 0.20 = 18.00 and 3 kWh × 1.20 = 3.60
    expect(slot18.body.total).toBe("21.60");
    expect(slot18.body.lines.map((l: { code: string; amount: string }) => [l.code, l.amount])).toEqual([
      ["CHG-H", "18.00"],
      ["CHG-KWH", "3.60"],
    ]);
    // April's run bills the session of 1 April (Shanghai) at 1.50.
    clock.at("2026-05-02");
    const april = await enterprise.post(`/v1/contracts/${contract.id}/billing-runs`, { period: "2026-04" });
    expect(april.body).toMatchObject({ invoicesCreated: 1, totalAmount: "15.00" });
    const unbilled = await countRows(
      database,
      sql`select count(*) as n from usage_records where contract_id = ${contract.id} and invoice_id is null`,
    );
    expect(unbilled).toBe(0);
  });

  it("rejects bad records with the field, and writes nothing of the batch", async () => {
    const { contract } = await createOperatingContract(database.db, world, {
      operationStart: "2026-01-10",
      termMonths: 12,
      facility: "garage",
    });
    clock.at("2026-04-20");
    const enterprise = api(world.enterprise.key);
    const path = `/v1/contracts/${contract.id}/usage`;
    const fieldsOf = async (body: unknown) => {
      const res = await enterprise.post(path, body);
      expect(res.status).toBe(400);
      return res.body.errors.map((e: { field: string }) => e.field);
    };
    const ok = session("ok-1", "2026-03-02T10:00:00+08:00", "1");
    expect(await fieldsOf([ok, session("b-1", "2026-03-02T10:00:00+08:00", "1.2345")])).toEqual([
      "body.1.quantity",
    ]);
    expect(await fieldsOf([session("b-2", "2026-03-02T10:00:00+08:00", "-1")])).toEqual(["body.0.quantity"]);
    expect(await fieldsOf([session("b-3", "2026-03-02T10:00:00+08:00", "1.5", { kind: "ride" })])).toEqual([
      "body.0.quantity",
    ]);
    expect(await fieldsOf([session("b-4", "2026-03-02 10:00", "1")])).toEqual(["body.0.startedAt"]);
    expect(await fieldsOf([session("b-5", "2026-01-09T10:00:00+08:00", "1")])).toEqual(["body.0.startedAt"]);
    expect(await fieldsOf([session("b-6", "2026-03-02T10:00:00+08:00", "1", { feeCode: "GA-M" })])).toEqual([
      "body.0.feeCode",
    ]);
    expect(
      await fieldsOf([
        session("b-7", "2026-03-02T10:00:00+08:00", "1", { householdId: world.households[0]?.id }),
      ]),
    ).toEqual(["body.0.slotRef"]);
    expect(await fieldsOf([])).toEqual(["body"]);
    expect(
      await countRows(
        database,
        sql`select count(*) as n from usage_records where contract_id = ${contract.id}`,
      ),
    ).toBe(0);
  });
});
