import type { z } from "@hono/zod-openapi";
import type { FinancialProjection, YearlyCosts } from "../../../contracts/index.js";
import { Assumptions } from "../../services/finance/assumptions.js";
import type {
  ActualsAsOf,
  AssumptionsRow,
  DisbursementRow,
  GuidanceTotals,
  ModelParts,
} from "../../services/finance/finance.js";
import type {
  AssumptionsRecord,
  Disbursement,
  FinancialModel,
  GuidanceTotals as GuidanceTotalsSchema,
} from "./finance.routes.js";

type Model = z.input<typeof FinancialModel>;

/** The assumptions as the PUT took them: stored as JSON, parsed with the schema they were accepted with, so only its fields are sent. */
export function assumptionsJson(row: AssumptionsRow): z.input<typeof Assumptions> {
  return Assumptions.parse(row.assumptions);
}

export function assumptionsRecordJson(row: AssumptionsRow): z.input<typeof AssumptionsRecord> {
  return {
    contractId: row.contractId,
    assumptions: assumptionsJson(row),
    updatedByOrgId: row.updatedByOrgId,
    updatedAt: row.updatedAt.toISOString(),
  };
}

const yearlyCostsJson = (c: YearlyCosts) => ({
  maintenance: c.maintenance,
  electricity: c.electricity,
  insurance: c.insurance,
  other: c.other,
});

function projectionJson(p: FinancialProjection): Model["projection"] {
  return {
    investment: p.investment,
    guidanceFunds: p.guidanceFunds,
    enterpriseCapital: p.enterpriseCapital,
    revenueByItem: p.revenueByItem.map((i) => ({
      code: i.code,
      kind: i.kind,
      quantity: i.quantity,
      amount: i.amount,
    })),
    yearlyCosts: p.yearlyCosts,
    years: p.years.map((y) => ({
      year: y.year,
      months: y.months,
      revenue: y.revenue,
      costs: y.costs,
      net: y.net,
      cumulative: y.cumulative,
    })),
    totalNet: p.totalNet,
    paybackYear: p.paybackYear,
    discountRate: p.discountRate,
    npv: p.npv,
    irr: p.irr,
  };
}

function actualsJson(a: ActualsAsOf): NonNullable<Model["actuals"]> {
  return {
    asOf: a.asOf,
    capital: a.capital,
    years: a.years.map((y) => ({
      year: y.year,
      from: y.from,
      collected: y.collected,
      costs: y.costs,
      net: y.net,
      cumulative: y.cumulative,
    })),
    netToDate: a.netToDate,
    position: a.position,
    recoveredPercent: a.recoveredPercent,
    paidBack: a.paidBack,
  };
}

export function financialModelJson(m: ModelParts): Model {
  return {
    contractId: m.contractId,
    state: m.state,
    versionNo: m.versionNo,
    basis: m.basis,
    inputs: {
      takeUp: {
        rates: m.inputs.takeUp.rates ?? {},
        slots: m.inputs.takeUp.slots ?? {},
        householdsByFloor: (m.inputs.takeUp.householdsByFloor ?? []).map((h) => ({
          floor: h.floor,
          households: h.households,
        })),
      },
      householdsSource: m.householdsSource,
      yearlyCosts: yearlyCostsJson(m.inputs.yearlyCosts),
      usagePerYear: m.inputs.usagePerYear ?? {},
      discountRate: m.inputs.discountRate,
    },
    projection: projectionJson(m.projection),
    actuals: m.actuals ? actualsJson(m.actuals) : null,
  };
}

export function disbursementJson(r: DisbursementRow): z.input<typeof Disbursement> {
  return {
    id: r.id,
    contractId: r.contractId,
    amount: r.amount,
    paidOn: r.paidOn,
    note: r.note,
    recordedByOrgId: r.recordedByOrgId,
    createdAt: r.createdAt.toISOString(),
  };
}

/** The guidance funds the signed terms commit, what was paid, and what is left. */
export function guidanceTotalsJson(t: GuidanceTotals): z.input<typeof GuidanceTotalsSchema> {
  return { committed: t.committed, paid: t.paid, remaining: t.remaining };
}
