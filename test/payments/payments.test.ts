import { randomUUID } from "node:crypto";
import { and, count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { auditLog, creditNotes, invoices, payments } from "../../db/schema.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createBilledHousehold, createOrg, createWorld } from "../support/factories.js";

let database: DatabaseHandle;
/** 2026-03-10 10:00 in Shanghai. */
const now = new Date("2026-03-10T02:00:00Z");

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const api = (key: string) => client(createTestApp(database.db, { now: () => now }), key);

let refNo = 0;
const ref = () => `WX-${Date.now()}-${++refNo}`;

const pay = (key: string, invoiceId: string, body: Record<string, unknown>) =>
  api(key).post(`/v1/invoices/${invoiceId}/payments`, {
    method: "wechat",
    externalRef: ref(),
    receivedOn: "2026-03-09",
    ...body,
  });

describe("recording payments", () => {
  it("a partial payment, then the rest, pays the invoice off", async () => {
    const { world, invoice } = await createBilledHousehold(database.db, { total: "100.00" });
    const first = await pay(world.enterprise.key, invoice.id, { amount: "30.50" });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      amount: "30.50",
      appliedAmount: "30.50",
      creditAmount: "0.00",
      creditNote: null,
      invoice: { paidAmount: "30.50", outstanding: "69.50" },
    });
    const second = await pay(world.enterprise.key, invoice.id, { amount: "69.50", method: "cash" });
    expect(second.status).toBe(201);
    expect(second.body.invoice).toMatchObject({ paidAmount: "100.00", outstanding: "0.00" });

    const list = await api(world.ownersCommittee.key).get(`/v1/invoices/${invoice.id}/payments`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((p: { amount: string }) => p.amount)).toEqual(["30.50", "69.50"]);
    const audit = await database.db
      .select({ action: auditLog.action })
      .from(auditLog)
      .where(eq(auditLog.contractId, invoice.contractId));
    expect(audit.map((a) => a.action)).toEqual(["payment.recorded", "payment.recorded"]);
  });

  it("an overpayment becomes a credit note of exactly the excess", async () => {
    const { world, invoice, subscription } = await createBilledHousehold(database.db, { total: "100.00" });
    await pay(world.enterprise.key, invoice.id, { amount: "40.00" });
    const res = await pay(world.enterprise.key, invoice.id, { amount: "75.37" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ amount: "75.37", appliedAmount: "60.00", creditAmount: "15.37" });
    expect(res.body.invoice).toMatchObject({ paidAmount: "100.00", outstanding: "0.00" });
    expect(res.body.creditNote).toMatchObject({
      reason: "overpayment",
      amount: "15.37",
      remaining: "15.37",
      subscriberKey: subscription.subscriberKey,
      subscriptionId: subscription.id,
      paymentId: res.body.id,
      number: "CN-2026-000001",
    });
    // A payment on a paid-off invoice is all credit.
    const more = await pay(world.enterprise.key, invoice.id, { amount: "5.00" });
    expect(more.body).toMatchObject({ appliedAmount: "0.00", creditAmount: "5.00" });
    expect(more.body.creditNote.number).toBe("CN-2026-000002");

    const notes = await api(world.streetOffice.key).get(
      `/v1/contracts/${invoice.contractId}/credit-notes?subscriberKey=${subscription.subscriberKey}`,
    );
    expect(notes.body.items.map((n: { amount: string }) => n.amount)).toEqual(["15.37", "5.00"]);
  });

  it("a repeat with the same reference answers the payment already recorded", async () => {
    const { world, invoice } = await createBilledHousehold(database.db);
    const body = { amount: "20.00", externalRef: ref() };
    const first = await pay(world.enterprise.key, invoice.id, body);
    const again = await pay(world.enterprise.key, invoice.id, body);
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.invoice.paidAmount).toBe("20.00");
    const other = await pay(world.enterprise.key, invoice.id, { ...body, amount: "21.00" });
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ code: "payment_reference_used", field: "body.externalRef" });
  });

  it("two payments with the same reference at once record one payment", async () => {
    const { world, invoice } = await createBilledHousehold(database.db, { total: "80.00" });
    const body = { amount: "90.00", externalRef: ref() };
    const results = await Promise.all([
      pay(world.enterprise.key, invoice.id, body),
      pay(world.enterprise.key, invoice.id, body),
      pay(world.enterprise.key, invoice.id, body),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const [rows] = await database.db
      .select({ n: count() })
      .from(payments)
      .where(and(eq(payments.invoiceId, invoice.id)));
    expect(rows?.n).toBe(1);
    const [notes] = await database.db
      .select({ n: count() })
      .from(creditNotes)
      .where(eq(creditNotes.contractId, invoice.contractId));
    expect(notes?.n).toBe(1);
    const [after] = await database.db.select().from(invoices).where(eq(invoices.id, invoice.id));
    expect(after?.paidAmount).toBe("80.00");
  });

  it("only the contract's enterprise records payments; others do not even see the invoice", async () => {
    const { world, invoice } = await createBilledHousehold(database.db);
    const oc = await pay(world.ownersCommittee.key, invoice.id, { amount: "1.00" });
    expect(oc.status).toBe(403);
    const office = await pay(world.streetOffice.key, invoice.id, { amount: "1.00" });
    expect(office.status).toBe(403);
    const stranger = await createOrg(database.db, { kind: "enterprise", streetId: world.street.id });
    const hidden = await pay(stranger.key, invoice.id, { amount: "1.00" });
    expect(hidden.status).toBe(404);
    expect((await api(stranger.key).get(`/v1/invoices/${invoice.id}/payments`)).status).toBe(404);
  });

  it("bad input answers problem+json naming each field, and writes nothing", async () => {
    const { world, invoice } = await createBilledHousehold(database.db);
    const cases: [Record<string, unknown>, string][] = [
      [{ amount: "10.005" }, "body.amount"],
      [{ amount: "-5.00" }, "body.amount"],
      [{ amount: "0.00" }, "body.amount"],
      [{ amount: "100000.01" }, "body.amount"],
      [{ amount: 10 }, "body.amount"],
      [{ amount: "1e3" }, "body.amount"],
      [{ amount: "1.00", method: "bitcoin" }, "body.method"],
      [{ amount: "1.00", externalRef: "" }, "body.externalRef"],
      [{ amount: "1.00", externalRef: "x".repeat(101) }, "body.externalRef"],
      [{ amount: "1.00", receivedOn: "2026-03-11" }, "body.receivedOn"],
      [{ amount: "1.00", receivedOn: "2026-02-30" }, "body.receivedOn"],
      [{ amount: "1.00", tip: "2.00" }, "body.tip"],
    ];
    for (const [body, field] of cases) {
      const res = await pay(world.enterprise.key, invoice.id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    const amountError = await pay(world.enterprise.key, invoice.id, { amount: "100000.01" });
    expect(amountError.body.errors[0].message).toBe("must be at most 100000.00");
    const [rows] = await database.db
      .select({ n: count() })
      .from(payments)
      .where(eq(payments.invoiceId, invoice.id));
    expect(rows?.n).toBe(0);
    const badId = await api(world.enterprise.key).post("/v1/invoices/not-a-uuid/payments", {
      amount: "1.00",
      method: "cash",
      externalRef: "x",
      receivedOn: "2026-03-01",
    });
    expect(badId.body.errors[0].field).toBe("path.id");
  });
});

describe("credit notes and refunds", () => {
  it("a refund pays credit back, never more than remains, idempotent by reference", async () => {
    const { world, invoice } = await createBilledHousehold(database.db, { total: "50.00" });
    const paid = await pay(world.enterprise.key, invoice.id, { amount: "80.00" });
    const noteId: string = paid.body.creditNote.id;
    expect(paid.body.creditNote.remaining).toBe("30.00");
    const refund = (body: Record<string, unknown>, key = world.enterprise.key) =>
      api(key).post(`/v1/credit-notes/${noteId}/refunds`, {
        method: "bank_transfer",
        paidOn: "2026-03-10",
        externalRef: "RF-1",
        ...body,
      });

    const tooMuch = await refund({ amount: "30.01" });
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body).toMatchObject({
      code: "refund_exceeds_remaining",
      field: "body.amount",
      remaining: "30.00",
    });

    const first = await refund({ amount: "12.00" });
    expect(first.status).toBe(201);
    expect(first.body.creditNote).toMatchObject({ amount: "30.00", remaining: "18.00", refunded: "12.00" });
    const repeat = await refund({ amount: "12.00" });
    expect(repeat.status).toBe(200);
    expect(repeat.body.id).toBe(first.body.id);
    expect(repeat.body.creditNote.remaining).toBe("18.00");
    const clash = await refund({ amount: "13.00" });
    expect(clash.status).toBe(409);

    expect((await refund({ amount: "18.01", externalRef: "RF-2" })).status).toBe(409);
    const rest = await refund({ amount: "18.00", externalRef: "RF-2" });
    expect(rest.body.creditNote.remaining).toBe("0.00");
    expect((await refund({ amount: "0.01", externalRef: "RF-3" })).status).toBe(409);
    expect((await refund({ amount: "1.00", externalRef: "RF-4" }, world.ownersCommittee.key)).status).toBe(
      403,
    );
    expect(
      (await refund({ amount: "1.00", externalRef: "RF-5", paidOn: "2026-03-11" })).body.errors[0].field,
    ).toBe("body.paidOn");
    // The invoice was never touched by the refunds.
    const [after] = await database.db.select().from(invoices).where(eq(invoices.id, invoice.id));
    expect(after).toMatchObject({ total: "50.00", paidAmount: "50.00", creditApplied: "0.00" });
  });

  it("the enterprise issues a manual adjustment credit note to a known subscriber", async () => {
    const { world, contract, subscription } = await createBilledHousehold(database.db);
    const url = `/v1/contracts/${contract.id}/credit-notes`;
    const res = await api(world.enterprise.key).post(url, {
      subscriberKey: subscription.subscriberKey,
      amount: "12.30",
      note: "电梯停运三天的补偿",
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      reason: "adjustment",
      amount: "12.30",
      remaining: "12.30",
      subscriptionId: subscription.id,
      paymentId: null,
    });
    const unknown = await api(world.enterprise.key).post(url, {
      subscriberKey: "slot:NOBODY",
      amount: "1.00",
      note: "x",
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].field).toBe("body.subscriberKey");
    const bad = await api(world.enterprise.key).post(url, {
      subscriberKey: "bob",
      amount: "1.001",
      note: "",
    });
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      "body.amount",
      "body.note",
      "body.subscriberKey",
    ]);
    const oc = await api(world.ownersCommittee.key).post(url, {
      subscriberKey: subscription.subscriberKey,
      amount: "1.00",
      note: "x",
    });
    expect(oc.status).toBe(403);
    const audit = await database.db
      .select({ action: auditLog.action, payload: auditLog.payload })
      .from(auditLog)
      .where(eq(auditLog.contractId, contract.id));
    expect(audit).toEqual([
      {
        action: "credit_note.issued",
        payload: expect.objectContaining({ amount: "12.30", reason: "adjustment" }),
      },
    ]);
  });
});

describe("one payment, one refund", () => {
  it("each is read at its Location by every party of the contract, as created; 404 for another street", async () => {
    const { world, invoice } = await createBilledHousehold(database.db, { total: "50.00" });
    const paid = await pay(world.enterprise.key, invoice.id, { amount: "80.00" });
    expect(paid.status).toBe(201);
    // The answer wraps the overpayment credit note too: Location names the payment.
    expect(paid.headers.get("location")).toBe(`/v1/payments/${paid.body.id}`);
    const committee = api(world.ownersCommittee.key);
    const payment = await committee.get(paid.headers.get("location") ?? "");
    expect(payment.status).toBe(200);
    const { invoice: _invoice, creditNote, ...asPaid } = paid.body;
    expect(payment.body).toEqual({ ...asPaid, creditNoteId: creditNote.id });
    const list = await committee.get(`/v1/invoices/${invoice.id}/payments`);
    expect(list.body.items).toEqual([payment.body]);

    const refunded = await api(world.enterprise.key).post(`/v1/credit-notes/${creditNote.id}/refunds`, {
      amount: "12.00",
      method: "bank_transfer",
      externalRef: ref(),
      paidOn: "2026-03-10",
    });
    expect(refunded.status).toBe(201);
    expect(refunded.headers.get("location")).toBe(`/v1/refunds/${refunded.body.id}`);
    const refund = await committee.get(refunded.headers.get("location") ?? "");
    expect(refund.status).toBe(200);
    const { creditNote: note, ...asRefunded } = refunded.body;
    expect(refund.body).toEqual(asRefunded);
    expect(refund.body).toMatchObject({ creditNoteId: note.id, amount: "12.00", method: "bank_transfer" });

    const other = await createWorld(database.db);
    for (const path of [`/v1/payments/${paid.body.id}`, `/v1/refunds/${refunded.body.id}`]) {
      const hidden = await api(other.enterprise.key).get(path);
      expect(hidden.status, path).toBe(404);
      expect(hidden.body.code).toBe("not_found");
    }
    for (const path of [`/v1/payments/${randomUUID()}`, `/v1/refunds/${randomUUID()}`]) {
      const unknown = await api(world.enterprise.key).get(path);
      expect(unknown.status, path).toBe(404);
      expect(unknown.body.code).toBe("not_found");
    }
  });
});
