/**
 * The residents' payment days of a contract (issue 12): how long an invoice runs before it is
 * due, and how long after that an unpaid one suspends the subscription. The enterprise sets them
 * while drafting, every party reads them on the contract, and billing and the arrears sweep go by
 * them.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { applyArrearsStanding } from "../../db/ledger.js";
import { auditLog } from "../../db/schema.js";
import { driveContract } from "../authz/fixtures.js";
import { NOW } from "../authz/matrix.js";
import { client, createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createWorld, type World } from "../support/factories.js";
import { elevatorTerms } from "../support/terms.js";

let database: DatabaseHandle;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  // The matrix's clock (2025-03-01 Shanghai): driveContract's milestones lie before it.
  app = createTestApp(database.db, { now: () => NOW });
});
afterAll(() => database.close());

function draftOf(world: World, extra: Record<string, unknown> = {}) {
  return {
    title: "国伟新苑加装电梯BOT合同",
    communityId: world.community.id,
    ownersCommitteeOrgId: world.ownersCommittee.org.id,
    propertyCompanyOrgId: world.propertyCompany.org.id,
    streetOfficeOrgId: world.streetOffice.org.id,
    facilityIds: [world.elevator.id],
    terms: elevatorTerms(),
    ...extra,
  };
}

async function auditPayload(contractId: string, action: string) {
  const rows = await database.db
    .select({ payload: auditLog.payload })
    .from(auditLog)
    .where(and(eq(auditLog.contractId, contractId), eq(auditLog.action, action)));
  return rows.map((r) => r.payload);
}

describe("the residents' payment days of a contract", () => {
  it("are set by the enterprise when drafting, and read back by every party", async () => {
    const world = await createWorld(database.db);
    const drafted = await client(app, world.enterprise.key).post(
      "/v1/contracts",
      draftOf(world, { invoiceDueDays: 10, paymentGraceDays: 0 }),
    );
    expect(drafted.status).toBe(201);
    expect(drafted.body).toMatchObject({ invoiceDueDays: 10, paymentGraceDays: 0 });
    const id: string = drafted.body.id;

    const committee = client(app, world.ownersCommittee.key);
    expect((await committee.get(`/v1/contracts/${id}`)).body).toMatchObject({
      invoiceDueDays: 10,
      paymentGraceDays: 0,
    });
    const listed = await client(app, world.streetOffice.key).get(
      `/v1/contracts?communityId=${world.community.id}`,
    );
    expect(listed.body.items).toEqual([
      expect.objectContaining({ id, invoiceDueDays: 10, paymentGraceDays: 0 }),
    ]);
    expect(await auditPayload(id, "contract.drafted")).toEqual([
      expect.objectContaining({ invoiceDueDays: 10, paymentGraceDays: 0 }),
    ]);
  });

  it("default to 15 days due and 15 days' grace", async () => {
    const world = await createWorld(database.db);
    const drafted = await client(app, world.enterprise.key).post("/v1/contracts", draftOf(world));
    expect(drafted.status).toBe(201);
    expect(drafted.body).toMatchObject({ invoiceDueDays: 15, paymentGraceDays: 15 });
  });

  it("are whole days: due 1–90 days after issue, grace 0–90 days; anything else is a 400 naming the field", async () => {
    const world = await createWorld(database.db);
    const enterprise = client(app, world.enterprise.key);
    const refused: [Record<string, unknown>, string][] = [
      [{ invoiceDueDays: 0 }, "body.invoiceDueDays"],
      [{ invoiceDueDays: 91 }, "body.invoiceDueDays"],
      [{ invoiceDueDays: 7.5 }, "body.invoiceDueDays"],
      [{ invoiceDueDays: "10" }, "body.invoiceDueDays"],
      [{ paymentGraceDays: -1 }, "body.paymentGraceDays"],
      [{ paymentGraceDays: 91 }, "body.paymentGraceDays"],
      [{ paymentGraceDays: null }, "body.paymentGraceDays"],
    ];
    for (const [extra, field] of refused) {
      const res = await enterprise.post("/v1/contracts", draftOf(world, extra));
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    }
    // Nothing was drafted: the elevator is still free for a contract at the bounds.
    const atBounds = await enterprise.post(
      "/v1/contracts",
      draftOf(world, { invoiceDueDays: 90, paymentGraceDays: 90 }),
    );
    expect(atBounds.status).toBe(201);
    const low = await enterprise.put(
      `/v1/contracts/${atBounds.body.id}/versions/1`,
      { terms: elevatorTerms(), invoiceDueDays: 1, paymentGraceDays: 0 },
      { "if-match": '"r1"' },
    );
    expect(low.status).toBe(200);
  });

  it("change with the draft (If-Match), are kept when an edit leaves them out, and freeze once submitted", async () => {
    const world = await createWorld(database.db);
    const enterprise = client(app, world.enterprise.key);
    const drafted = await enterprise.post("/v1/contracts", draftOf(world));
    const id: string = drafted.body.id;

    const edited = await enterprise.put(
      `/v1/contracts/${id}/versions/1`,
      { terms: elevatorTerms(), invoiceDueDays: 20, paymentGraceDays: 5 },
      { "if-match": '"r1"' },
    );
    expect(edited.status).toBe(200);
    expect((await enterprise.get(`/v1/contracts/${id}`)).body).toMatchObject({
      invoiceDueDays: 20,
      paymentGraceDays: 5,
    });
    expect(await auditPayload(id, "draft.edited")).toEqual([
      expect.objectContaining({ invoiceDueDays: 20, paymentGraceDays: 5 }),
    ]);

    const termsOnly = await enterprise.put(
      `/v1/contracts/${id}/versions/1`,
      { terms: elevatorTerms(), paymentGraceDays: 7 },
      { "if-match": '"r2"' },
    );
    expect(termsOnly.status).toBe(200);
    expect((await enterprise.get(`/v1/contracts/${id}`)).body).toMatchObject({
      invoiceDueDays: 20,
      paymentGraceDays: 7,
    });

    expect((await enterprise.post(`/v1/contracts/${id}/submit`)).status).toBe(200);
    const frozen = await enterprise.put(
      `/v1/contracts/${id}/versions/1`,
      { terms: elevatorTerms(), invoiceDueDays: 30 },
      { "if-match": '"r3"' },
    );
    expect(frozen.status).toBe(409);
    expect(frozen.body.code).toBe("version_frozen");
    expect((await enterprise.get(`/v1/contracts/${id}`)).body.invoiceDueDays).toBe(20);
  });

  it("cannot be changed by an amendment (they are the contract's, not a version's)", async () => {
    const world = await createWorld(database.db);
    const enterprise = client(app, world.enterprise.key);
    const id = await driveContract(world, app, "signed", { invoiceDueDays: 10 });
    const amended = await enterprise.post(`/v1/contracts/${id}/amendments`, {
      effectiveDate: "2025-06-01",
      summary: "运营期延长至15个月",
      terms: elevatorTerms({ operationTermMonths: 15 }),
    });
    expect(amended.status).toBe(201);
    const res = await enterprise.put(
      `/v1/contracts/${id}/versions/2`,
      { terms: elevatorTerms({ operationTermMonths: 15 }), invoiceDueDays: 30 },
      { "if-match": '"r1"' },
    );
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      {
        field: "body.invoiceDueDays",
        message: "is set while the original contract is drafted; an amendment cannot change it",
      },
    ]);
    expect((await enterprise.get(`/v1/contracts/${id}`)).body.invoiceDueDays).toBe(10);
  });

  it("are what billing and the arrears sweep go by: due 10 days after issue, suspended the day after with no grace", async () => {
    const world = await createWorld(database.db);
    const enterprise = client(app, world.enterprise.key);
    const id = await driveContract(world, app, "operating", { invoiceDueDays: 10, paymentGraceDays: 0 });
    const household = world.households.find((h) => h.floor === 3);
    if (!household) throw new Error("the world has no household on floor 3");
    const subscribed = await enterprise.post(`/v1/contracts/${id}/subscriptions`, {
      householdId: household.id,
      feeCode: "EL-M",
      startDate: "2025-03-01",
    });
    expect(subscribed.status).toBe(201);

    // Issued today, 2025-03-01: due 10 days later.
    const run = await enterprise.post(`/v1/contracts/${id}/billing-runs`, { period: "2025-03" });
    expect(run.status).toBe(201);
    const invoices = await enterprise.get(`/v1/contracts/${id}/invoices`);
    expect(invoices.body.items).toEqual([
      expect.objectContaining({ issueDate: "2025-03-01", dueDate: "2025-03-11", state: "open" }),
    ]);

    expect(await applyArrearsStanding(database.db, "2025-03-11", { contractId: id })).toEqual([]);
    expect(await applyArrearsStanding(database.db, "2025-03-12", { contractId: id })).toEqual([
      expect.objectContaining({ subscriptionId: subscribed.body.id, state: "suspended" }),
    ]);
  });
});
