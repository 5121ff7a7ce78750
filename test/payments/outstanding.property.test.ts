/**
 * What is still unpaid on an invoice is one rule with two forms: the SQL fragment the set-based
 * reads use (db/ledger.ts `outstandingSql`: the arrears pass, the invoice list's state filter, the
 * dashboard, credit application) and its TypeScript twin (contracts/billing.ts `outstandingOf`:
 * payments, statements, the invoice presenters). This pins them together on real invoice rows.
 */
import { randomUUID } from "node:crypto";
import { Decimal } from "decimal.js";
import { eq, inArray, sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatMoney, outstandingOf } from "../../contracts/index.js";
import type { DatabaseHandle } from "../../db/client.js";
import { outstandingSql } from "../../db/ledger.js";
import { invoices } from "../../db/schema.js";
import { openTestDatabase } from "../support/db.js";
import { createBilledHousehold, createInvoice } from "../support/factories.js";

let database: DatabaseHandle;

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

describe("the outstanding amount of an invoice", () => {
  it("is the same in SQL and in TypeScript, to the fen, whatever was paid or credited", async () => {
    const { contract } = await createBilledHousehold(database.db);
    await fc.assert(
      fc.asyncProperty(
        // What the database admits (invoices_amounts): credit applied + paid ≤ total, all ≥ 0.
        fc.array(
          fc
            .tuple(
              fc.integer({ min: 0, max: 2_000_000 }),
              fc.double({ min: 0, max: 1, noNaN: true }),
              fc.double({ min: 0, max: 1, noNaN: true }),
            )
            .map(([total, c, p]) => {
              const credit = Math.floor(total * c);
              const paid = Math.floor((total - credit) * p);
              const yuan = (n: number) => new Decimal(n).div(100).toFixed(2);
              return { total: yuan(total), credit: yuan(credit), paid: yuan(paid) };
            }),
          { minLength: 1, maxLength: 6 },
        ),
        async (amounts) => {
          const ids: string[] = [];
          for (const a of amounts) {
            const invoice = await createInvoice(database.db, contract, {
              // A usage invoice of its own garage slot (one per subscriber and month).
              subscriberKey: `slot:outstanding-${randomUUID()}`,
              total: a.total,
              creditApplied: a.credit,
              period: "2026-04",
              issueDate: "2026-04-01",
            });
            await database.db.update(invoices).set({ paidAmount: a.paid }).where(eq(invoices.id, invoice.id));
            ids.push(invoice.id);
          }
          const rows = await database.db
            .select({
              id: invoices.id,
              total: invoices.total,
              creditApplied: invoices.creditApplied,
              paidAmount: invoices.paidAmount,
              inSql: sql<string>`${outstandingSql("invoices")}::numeric(14,2)::text`,
            })
            .from(invoices)
            .where(inArray(invoices.id, ids));
          expect(rows).toHaveLength(amounts.length);
          for (const row of rows) {
            expect(row.inSql, row.id).toBe(formatMoney(outstandingOf(row)));
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 60_000);
});
