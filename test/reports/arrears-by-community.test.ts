/**
 * The receivables by community (`receivablesByCommunity`, the street dashboard page's arrears
 * table): for each community of the caller's scope, exactly the sum of the per-contract
 * `receivables()` of its contracts — invoiced, credit applied, collected, outstanding, aging and
 * overdue, to the fen — with the page's collection rate; other streets' invoices never counted.
 * Once on hand-made data (partial payments, credit applied, an overpayment, overdue and not yet
 * due invoices, an invoice and a payment after the date) and as a property over random ledgers.
 */
import { Decimal } from "decimal.js";
import { eq } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGING_BUCKETS, sumMoney } from "../../contracts/index.js";
import type { DatabaseHandle } from "../../db/client.js";
import { payments } from "../../db/schema.js";
import type { Principal } from "../../src/auth/principal.js";
import type { ServiceContext } from "../../src/services/context.js";
import {
  type CommunityReceivables,
  type Receivables,
  receivables,
  receivablesByCommunity,
} from "../../src/services/fees/statements.js";
import { openTestDatabase } from "../support/db.js";
import { createCommunity, createWorld, type World } from "../support/factories.js";
import { createContractWithTerms, createInvoiceRow, createPaymentRow } from "./support.js";

/** Asia/Shanghai noon on 5 December 2026. */
const NOW = new Date("2026-12-05T04:00:00Z");
const TODAY = "2026-12-05";

let database: DatabaseHandle;

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(async () => database?.close());

const TERMS = {
  totalInvestment: "800000.00",
  enterpriseCapital: "600000.00",
  guidanceFunds: "0.00",
  operationTermMonths: 120,
  handbackConditions: [],
  maintenanceObligations: "",
  feeSchedule: [],
};

function streetOffice(world: World): ServiceContext {
  const principal: Principal = {
    role: "street_office",
    orgId: world.streetOffice.org.id,
    keyId: null,
    keyRole: "member",
    streetId: world.street.id,
    communityIds: [],
    person: null,
  };
  return { db: database.db, clock: () => NOW, principal };
}

/** A contract of the world's parties in `communityId` (the world's own community unless given). */
function contractIn(world: World, communityId = world.community.id) {
  return createContractWithTerms(
    database.db,
    { ...world, community: { ...world.community, id: communityId } },
    {
      terms: TERMS,
      state: "operating",
      facilityIds: [],
    },
  );
}

type Contract = Awaited<ReturnType<typeof contractIn>>;

/** An invoice of `total` (credit applied as given), and payments of it received on their dates. */
async function invoiceWithPayments(
  contract: Contract,
  opts: {
    total: string;
    issueDate: string;
    dueDate: string;
    creditApplied?: string;
    payments?: { applied: string; amount?: string; receivedOn: string }[];
  },
) {
  const db = database.db;
  const invoice = await createInvoiceRow(db, contract, {
    period: opts.issueDate.slice(0, 7),
    lines: [{ code: "EL-M", amount: opts.total }],
    issueDate: opts.issueDate,
    dueDate: opts.dueDate,
    creditApplied: opts.creditApplied ?? "0",
    paidAmount: sumMoney((opts.payments ?? []).map((p) => p.applied)).toFixed(2),
  });
  for (const p of opts.payments ?? []) {
    const row = await createPaymentRow(db, invoice, {
      amount: p.amount ?? p.applied,
      receivedOn: p.receivedOn,
    });
    // An overpayment: only `applied` paid the invoice, the rest became the household's credit.
    if (p.amount) await db.update(payments).set({ appliedAmount: p.applied }).where(eq(payments.id, row.id));
  }
  return invoice;
}

const fen = (d: Decimal) => d.toFixed(2);

/** A community's figures in fen (and the rate to 10 places), for comparing. */
function figuresOf(r: CommunityReceivables) {
  return {
    invoiceCount: r.invoiceCount,
    openInvoiceCount: r.openInvoiceCount,
    invoiced: fen(r.totals.invoiced),
    creditApplied: fen(r.totals.creditApplied),
    collected: fen(r.totals.collected),
    outstanding: fen(r.totals.outstanding),
    overdue: fen(r.overdue),
    aging: Object.fromEntries(AGING_BUCKETS.map((b) => [b, fen(r.aging[b])])),
    collectionRate: r.collectionRate?.toFixed(10) ?? null,
  };
}

/** The same figures summed from each contract's receivables, the page's rate divided as it was. */
function summed(items: readonly Receivables[]) {
  const sum = (pick: (r: Receivables) => Decimal) => sumMoney(items.map(pick));
  const invoiced = sum((r) => r.totals.invoiced);
  const creditApplied = sum((r) => r.totals.creditApplied);
  const collected = sum((r) => r.totals.collected);
  const aging = Object.fromEntries(AGING_BUCKETS.map((b) => [b, fen(sum((r) => r.aging[b]))]));
  const billed = invoiced.minus(creditApplied);
  return {
    invoiceCount: items.reduce((n, r) => n + r.invoiceCount, 0),
    openInvoiceCount: items.reduce((n, r) => n + r.openInvoiceCount, 0),
    invoiced: fen(invoiced),
    creditApplied: fen(creditApplied),
    collected: fen(collected),
    outstanding: fen(sum((r) => r.totals.outstanding)),
    overdue: fen(sum((r) => sumMoney(AGING_BUCKETS.filter((b) => b !== "current").map((b) => r.aging[b])))),
    aging,
    collectionRate: billed.isZero() ? null : collected.div(billed).toFixed(10),
  };
}

/** Each community's figures by the per-contract reads, as of `asOf`. */
async function perContract(ctx: ServiceContext, byCommunity: Map<string, Contract[]>, asOf: string) {
  const out = new Map<string, ReturnType<typeof summed>>();
  for (const [communityId, list] of byCommunity) {
    out.set(communityId, summed(await Promise.all(list.map((c) => receivables(ctx, c.id, asOf)))));
  }
  return out;
}

describe("receivables by community", () => {
  it("equals the sum of the contracts' receivables per community, to the fen", async () => {
    const db = database.db;
    const world = await createWorld(db);
    const other = await createWorld(db);
    const b = await createCommunity(db, world.street.id, `乙小区 ${world.street.id.slice(0, 6)}`);
    const empty = await createCommunity(db, world.street.id, `丙小区 ${world.street.id.slice(0, 6)}`);
    const a1 = await contractIn(world);
    const a2 = await contractIn(world);
    const b1 = await contractIn(world, b.id);
    const elsewhere = await contractIn(other);

    // Community A, contract 1: paid in two parts (one after today: not collected yet), overdue.
    await invoiceWithPayments(a1, {
      total: "100.00",
      issueDate: "2026-09-01",
      dueDate: "2026-09-30",
      payments: [
        { applied: "30.00", receivedOn: "2026-10-02" },
        { applied: "20.00", receivedOn: "2026-12-06" },
      ],
    });
    // ... credit applied and the rest paid by an overpayment (¥60 paid, ¥40 applied): settled.
    await invoiceWithPayments(a1, {
      total: "50.00",
      issueDate: "2026-10-01",
      dueDate: "2026-10-31",
      creditApplied: "10.00",
      payments: [{ applied: "40.00", amount: "60.00", receivedOn: "2026-10-20" }],
    });
    // Contract 2: not yet due, nothing paid; and one issued after today (not counted).
    await invoiceWithPayments(a2, { total: "75.50", issueDate: "2026-12-01", dueDate: "2026-12-31" });
    await invoiceWithPayments(a2, { total: "999.00", issueDate: "2026-12-06", dueDate: "2027-01-05" });
    // Community B: credit applied and a partial payment, 70 days late (61-90).
    await invoiceWithPayments(b1, {
      total: "200.00",
      issueDate: "2026-09-01",
      dueDate: "2026-09-26",
      creditApplied: "12.34",
      payments: [{ applied: "100.01", receivedOn: "2026-11-01" }],
    });
    // Another street: never in this street office's figures.
    await invoiceWithPayments(elsewhere, {
      total: "5000.00",
      issueDate: "2026-09-01",
      dueDate: "2026-09-30",
    });

    const ctx = streetOffice(world);
    const rows = await receivablesByCommunity(ctx);
    const byId = new Map(rows.map((r) => [r.communityId, r]));
    expect([...byId.keys()].sort()).toEqual([world.community.id, b.id, empty.id].sort());
    expect(rows.every((r) => r.asOf === TODAY)).toBe(true);

    const expected = await perContract(
      ctx,
      new Map([
        [world.community.id, [a1, a2]],
        [b.id, [b1]],
        [empty.id, []],
      ]),
      TODAY,
    );
    for (const [id, figures] of expected)
      expect(figuresOf(byId.get(id) as CommunityReceivables)).toEqual(figures);

    // And by hand, so both reads cannot be wrong the same way.
    const a = figuresOf(byId.get(world.community.id) as CommunityReceivables);
    expect(a).toMatchObject({
      invoiceCount: 3,
      openInvoiceCount: 2,
      invoiced: "225.50",
      creditApplied: "10.00",
      collected: "70.00",
      outstanding: "145.50",
      overdue: "70.00",
      aging: {
        current: "75.50",
        days1To30: "0.00",
        days31To60: "0.00",
        days61To90: "70.00",
        over90Days: "0.00",
      },
    });
    expect(byId.get(world.community.id)?.collectionRate?.toFixed(4)).toBe(
      new Decimal(70).div(215.5).toFixed(4),
    );
    expect(figuresOf(byId.get(b.id) as CommunityReceivables)).toMatchObject({
      invoiceCount: 1,
      invoiced: "200.00",
      creditApplied: "12.34",
      collected: "100.01",
      outstanding: "87.65",
      overdue: "87.65",
      aging: { days61To90: "87.65" },
    });
    expect(figuresOf(byId.get(empty.id) as CommunityReceivables)).toMatchObject({
      invoiceCount: 0,
      invoiced: "0.00",
      outstanding: "0.00",
      collectionRate: null,
    });
    // As of an earlier date: the invoices and payments after it are left out the same way.
    const earlier = new Map((await receivablesByCommunity(ctx, "2026-10-15")).map((r) => [r.communityId, r]));
    const expectedEarlier = await perContract(
      ctx,
      new Map([
        [world.community.id, [a1, a2]],
        [b.id, [b1]],
      ]),
      "2026-10-15",
    );
    for (const [id, figures] of expectedEarlier) {
      expect(figuresOf(earlier.get(id) as CommunityReceivables)).toEqual(figures);
    }
    expect(fen(earlier.get(world.community.id)?.totals.collected ?? new Decimal(1))).toBe("30.00");
  });

  it("equals the sum of the contracts' receivables on random ledgers (property)", async () => {
    const day = fc.integer({ min: 0, max: 150 }).map((n) => {
      const d = new Date(Date.UTC(2026, 7, 1) + n * 86_400_000);
      return d.toISOString().slice(0, 10);
    });
    const cents = (min: number, max: number) => fc.integer({ min, max });
    const invoice = fc.record({
      contract: fc.integer({ min: 0, max: 2 }),
      totalCents: cents(1, 50_000),
      creditShare: fc.constantFrom(0, 0, 0.25, 1),
      issue: day,
      dueIn: fc.integer({ min: 0, max: 40 }),
      payments: fc.array(
        fc.record({ share: fc.double({ min: 0.05, max: 0.7, noNaN: true }), on: day, over: cents(0, 500) }),
        {
          maxLength: 3,
        },
      ),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(invoice, { maxLength: 7 }), day, async (drafts, asOf) => {
        const db = database.db;
        const world = await createWorld(db);
        const b = await createCommunity(db, world.street.id, `乙 ${world.street.id.slice(0, 6)}`);
        // Contracts 0 and 1 in the world's community, contract 2 in B.
        const list = [await contractIn(world), await contractIn(world), await contractIn(world, b.id)];
        for (const d of drafts) {
          const total = new Decimal(d.totalCents).div(100);
          const credit = total.times(d.creditShare).toDecimalPlaces(2, Decimal.ROUND_DOWN);
          let open = total.minus(credit);
          const pays: { applied: string; amount: string; receivedOn: string }[] = [];
          for (const p of d.payments) {
            const applied = Decimal.min(open, open.times(p.share).toDecimalPlaces(2, Decimal.ROUND_DOWN));
            const amount = applied.plus(new Decimal(p.over).div(100));
            if (!amount.gt(0)) continue;
            open = open.minus(applied);
            pays.push({ applied: applied.toFixed(2), amount: amount.toFixed(2), receivedOn: p.on });
          }
          const dueDate = new Date(Date.parse(`${d.issue}T00:00:00Z`) + d.dueIn * 86_400_000)
            .toISOString()
            .slice(0, 10);
          await invoiceWithPayments(list[d.contract] as Contract, {
            total: total.toFixed(2),
            issueDate: d.issue,
            dueDate,
            creditApplied: credit.toFixed(2),
            payments: pays,
          });
        }
        const ctx = streetOffice(world);
        const got = new Map(
          (await receivablesByCommunity(ctx, asOf)).map((r) => [r.communityId, figuresOf(r)]),
        );
        const expected = await perContract(
          ctx,
          new Map([
            [world.community.id, list.slice(0, 2)],
            [b.id, list.slice(2)],
          ]),
          asOf,
        );
        expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected));
      }),
      { numRuns: 25 },
    );
  });
});
