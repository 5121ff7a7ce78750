import { Decimal } from "decimal.js";
import { eq } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { balanceOf, formatMoney } from "../../contracts/index.js";
import type { DatabaseHandle } from "../../db/client.js";
import { invoices } from "../../db/schema.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createBilledHousehold, createInvoice } from "../support/factories.js";

let database: DatabaseHandle;
const now = new Date("2026-06-15T02:00:00Z");

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const api = (key: string) => client(createTestApp(database.db, { now: () => now }), key);

/** Fen as an integer → a 2-place decimal string. */
const fen = (max: number) => fc.integer({ min: 1, max }).map((n) => new Decimal(n).div(100).toFixed(2));

const op = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("pay" as const), invoice: fc.nat(3), amount: fen(60_000) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("refund" as const), note: fc.nat(5), amount: fen(30_000) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("credit" as const), amount: fen(5_000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("repeat" as const), back: fc.nat(5) }) },
);

describe("the ledger under random payments", () => {
  it("balance = invoices − payments − credits + refunds, and no invoice is ever paid beyond what was due", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fen(50_000), { minLength: 1, maxLength: 4 }),
        fc.array(op, { maxLength: 10 }),
        async (totals, ops) => {
          run++;
          const [firstTotal, ...more] = totals;
          const { world, contract, household, subscription, invoice } = await createBilledHousehold(
            database.db,
            {
              total: firstTotal,
            },
          );
          const key = subscription.subscriberKey;
          const bills = [invoice];
          for (const [i, total] of more.entries()) {
            bills.push(
              await createInvoice(database.db, contract, {
                subscriberKey: key,
                total,
                period: `2026-0${i + 4}`,
                issueDate: "2026-05-01",
              }),
            );
          }
          const ent = api(world.enterprise.key);
          // The model: what is still due per invoice, the credit notes' remaining, the ledger.
          const due = bills.map((b) => new Decimal(b.total));
          const notes: { id: string; remaining: Decimal }[] = [];
          const ledger = {
            invoices: bills.map((b) => b.total),
            payments: [] as string[],
            credits: [] as string[],
            refunds: [] as string[],
          };
          const sent: { invoiceId: string; body: Record<string, string> }[] = [];
          let ref = 0;

          for (const o of ops) {
            if (o.kind === "pay") {
              const i = o.invoice % bills.length;
              const bill = bills[i];
              const left = due[i];
              if (!bill || !left) throw new Error("no bill");
              const body = {
                amount: o.amount,
                method: "wechat",
                externalRef: `P${run}-${++ref}`,
                receivedOn: "2026-06-15",
              };
              const res = await ent.post(`/v1/invoices/${bill.id}/payments`, body);
              expect(res.status).toBe(201);
              sent.push({ invoiceId: bill.id, body });
              const applied = Decimal.min(left, new Decimal(o.amount));
              const excess = new Decimal(o.amount).minus(applied);
              expect(res.body.appliedAmount).toBe(formatMoney(applied));
              expect(res.body.creditAmount).toBe(formatMoney(excess));
              due[i] = left.minus(applied);
              ledger.payments.push(o.amount);
              if (excess.gt(0)) notes.push({ id: res.body.creditNote.id, remaining: excess });
            } else if (o.kind === "repeat") {
              const earlier = sent[sent.length - 1 - (o.back % Math.max(sent.length, 1))];
              if (!earlier) continue;
              const res = await ent.post(`/v1/invoices/${earlier.invoiceId}/payments`, earlier.body);
              expect(res.status).toBe(200);
            } else if (o.kind === "credit") {
              const res = await ent.post(`/v1/contracts/${contract.id}/credit-notes`, {
                subscriberKey: key,
                amount: o.amount,
                note: "adjustment",
              });
              expect(res.status).toBe(201);
              notes.push({ id: res.body.id, remaining: new Decimal(o.amount) });
              ledger.credits.push(o.amount);
            } else {
              const note = notes[o.note % Math.max(notes.length, 1)];
              if (!note) continue;
              const res = await ent.post(`/v1/credit-notes/${note.id}/refunds`, {
                amount: o.amount,
                method: "cash",
                externalRef: `R${run}-${++ref}`,
                paidOn: "2026-06-15",
              });
              if (new Decimal(o.amount).gt(note.remaining)) {
                expect(res.status).toBe(409);
              } else {
                expect(res.status).toBe(201);
                note.remaining = note.remaining.minus(o.amount);
                ledger.refunds.push(o.amount);
              }
            }
          }

          const statement = await api(world.ownersCommittee.key).get(
            `/v1/statements/households/${household.id}?contractId=${contract.id}`,
          );
          expect(statement.status).toBe(200);
          const t = statement.body.totals;
          expect(t.balance).toBe(formatMoney(balanceOf(ledger)));
          // The same figure from the documents' running amounts.
          expect(new Decimal(t.balance).eq(new Decimal(t.outstanding).minus(t.creditAvailable))).toBe(true);
          expect(statement.body.payments).toHaveLength(ledger.payments.length);
          for (const [i, bill] of bills.entries()) {
            const [row] = await database.db.select().from(invoices).where(eq(invoices.id, bill.id));
            if (!row) throw new Error("invoice vanished");
            expect(new Decimal(row.paidAmount).lte(new Decimal(row.total).minus(row.creditApplied))).toBe(
              true,
            );
            expect(formatMoney(new Decimal(row.total).minus(row.paidAmount))).toBe(
              formatMoney(due[i] ?? new Decimal(-1)),
            );
          }
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});
