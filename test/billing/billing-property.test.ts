import { Decimal } from "decimal.js";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addDays,
  addMonths,
  billingRunRefusal,
  invoiceFor,
  isDue,
  periodRange,
  periodStart,
  type Subscription,
  subscriptionLine,
} from "../../contracts/index.js";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { subscriptions } from "../../db/schema.js";
import { openTestDatabase } from "../support/db.js";
import { createOperatingContract, createWorld, type World } from "../support/factories.js";
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

const OPERATION_START = "2026-01-10";
const FIRST = "2025-12";
const LAST = "2027-08";

const subscriptionArb = fc.record({
  kind: fc.constantFrom("monthly" as const, "yearly" as const),
  startMonths: fc.integer({ min: -1, max: 18 }),
  startDay: fc.integer({ min: 1, max: 28 }),
  fen: fc.integer({ min: 0, max: 2_000_000 }),
  state: fc.constantFrom("active" as const, "suspended" as const, "cancelled" as const, "ended" as const),
  /** Days of use after the start (the end date), or none. */
  usedDays: fc.option(fc.integer({ min: -1, max: 600 }), { nil: null }),
});

describe("the SQL billing run agrees with contracts/billing.ts", () => {
  it("bills exactly the periods isDue says, each line as invoiceFor computes it, never twice", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(subscriptionArb, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 3, max: 30 }),
        async (plans, termMonths) => {
          const { contract, transferDate } = await createOperatingContract(database.db, world, {
            operationStart: OPERATION_START,
            termMonths,
            facility: "garage",
          });
          const subs = await database.db
            .insert(subscriptions)
            .values(
              plans.map((p, i) => {
                const start = addDays(addMonths("2026-01-01", p.startMonths), p.startDay - 1);
                return {
                  contractId: contract.id,
                  streetId: contract.streetId,
                  communityId: contract.communityId,
                  enterpriseOrgId: contract.enterpriseOrgId,
                  subscriberKey: `slot:p${i}`,
                  slotRef: `p${i}`,
                  feeCode: p.kind === "monthly" ? "GA-M" : "GA-Y",
                  kind: p.kind,
                  unitPrice: new Decimal(p.fen).div(100).toFixed(2),
                  priceVersionNo: 1,
                  startDate: start,
                  endDate: p.usedDays === null ? null : addDays(start, p.usedDays),
                  state: p.state,
                };
              }),
            )
            .returning();
          const limits = { operationStart: OPERATION_START, transferDate };
          const enterprise = api(world.enterprise.key);
          clock.at("2026-01-15");
          const ran: string[] = [];
          for (const period of periodRange(FIRST, LAST)) {
            // A month is billed once it has begun (Asia/Shanghai).
            if (periodStart(period) > "2026-01-15") clock.at(periodStart(period));
            const res = await enterprise.post(`/v1/contracts/${contract.id}/billing-runs`, { period });
            const refusal = billingRunRefusal(period, limits);
            if (refusal) {
              expect(res.status).toBe(409);
              expect(res.body.detail).toBe(`The ${refusal}.`);
            } else {
              expect(res.status).toBe(201);
              ran.push(period);
            }
          }
          const rows = await queryRows<{
            subscription_id: string;
            period: string;
            total: string;
            lines: string;
          }>(
            database.db,
            sql`select i.subscription_id, i.period, i.total::text as total,
                       (select coalesce(sum(l.amount), 0)::text from invoice_lines l where l.invoice_id = i.id) as lines
                from invoices i where i.contract_id = ${contract.id}`,
          );
          const billed = new Map(rows.map((r) => [`${r.subscription_id}/${r.period}`, r]));
          expect(billed.size).toBe(rows.length); // no period billed twice
          for (const r of rows) expect(r.lines).toBe(r.total); // lines sum to the total
          let expected = 0;
          for (const s of subs) {
            const domain: Subscription = {
              id: s.id,
              feeCode: s.feeCode,
              kind: s.kind,
              unitPrice: s.unitPrice,
              startDate: s.startDate,
              endDate: s.endDate,
              state: s.state,
            };
            for (const period of ran) {
              const due = isDue(domain, period, limits);
              const row = billed.get(`${s.id}/${period}`);
              expect(row !== undefined, `${s.kind} ${s.state} ${s.startDate}–${s.endDate} in ${period}`).toBe(
                due,
              );
              if (due && row) {
                expected++;
                expect(row.total).toBe(invoiceFor([subscriptionLine(domain, period)]).total.toFixed(2));
              }
            }
          }
          expect(rows.length).toBe(expected);
          // Running a billed period again creates nothing.
          const again = ran[0];
          if (again) {
            const res = await enterprise.post(`/v1/contracts/${contract.id}/billing-runs`, { period: again });
            expect(res.body.invoicesCreated).toBe(0);
          }
        },
      ),
      { numRuns: 12 },
    );
    // Invoice numbers of the enterprise are gap-free across every run above, within each year of issue.
    const numbers = await queryRows<{ year: string; seq: number }>(
      database.db,
      sql`select split_part(number, '-', 2) as year, split_part(number, '-', 3)::int as seq from invoices
          where enterprise_org_id = ${world.enterprise.org.id} order by 1, 2`,
    );
    const years = [...new Set(numbers.map((n) => n.year))];
    expect(years.length).toBeGreaterThan(0);
    for (const year of years) {
      const seqs = numbers.filter((n) => n.year === year).map((n) => Number(n.seq));
      expect(seqs, year).toEqual(seqs.map((_, i) => i + 1));
    }
  }, 120_000);
});
