/**
 * The financial model of a contract (the owners committee's "is this term fair?") and the street
 * office's guidance funds. The arithmetic is contracts/finance.ts; this module gathers its inputs
 * (terms, the enterprise's assumptions, the household register, the ledger, the reports) and runs
 * the enterprise's and the street office's writes as commands on the contract
 * (`set_financial_assumptions`, `record_guidance_disbursement`).
 */
import { Decimal } from "decimal.js";
import { and, asc, eq, ne, sql } from "drizzle-orm";
import {
  type Actuals,
  actualsToDate,
  addPeriods,
  compareDates,
  type FinancialInputs,
  type FinancialProjection,
  formatMoney,
  isCommitted,
  monthsBetween,
  operatedSpan,
  parseReportPeriod,
  periodOf,
  projectFinancials,
  shanghaiDate,
  validateFinancialInputs,
} from "../../../contracts/index.js";
import { type Queryable, queryRows } from "../../../db/database.js";
import {
  contracts,
  financialAssumptions,
  guidanceDisbursements,
  operationReports,
} from "../../../db/schema.js";
import { contractScope } from "../../auth/scope.js";
import { ApiError, type FieldError, notInFuture } from "../../errors.js";
import type { ServiceContext } from "../context.js";
import { runContractCommand } from "../contracts/command.js";
import {
  type ContractRow,
  findContract,
  findVersion,
  termsOf,
  type VersionRow,
  versionInForce,
} from "../contracts/store.js";
import { type Page, type PageRequest, pageOf } from "../pages.js";
import { Figures } from "../reports/figures.js";
import { Assumptions, type FinancialAssumptions } from "./assumptions.js";

export type AssumptionsRow = typeof financialAssumptions.$inferSelect;
export type DisbursementRow = typeof guidanceDisbursements.$inferSelect;

/** Which version the model reads: asked for, in force (signed contracts), or the current one. */
export type ModelBasis = "version_in_force" | "current_version" | "requested_version";

/** Actuals to date, each operating year with its first month (`from`). */
export type ActualsAsOf = Omit<Actuals, "years"> & {
  asOf: string;
  years: (Actuals["years"][number] & { from: string })[];
};

/** Everything the model's answer shows. */
export interface ModelParts {
  contractId: string;
  state: ContractRow["state"];
  versionNo: number;
  basis: ModelBasis;
  inputs: FinancialInputs;
  householdsSource: "register" | "assumptions";
  projection: FinancialProjection;
  actuals: ActualsAsOf | null;
}

/** What the caller overrides in the model for one answer (query strings as given). */
export interface ModelOverrides {
  discountRate?: string | undefined;
  /** "0.6" (every fee item but per_use ones) or "EL-M:0.6,EL-Y:0.2". */
  takeUp?: string | undefined;
  versionNo?: number | undefined;
}

export interface NewDisbursement {
  amount: string;
  paidOn: string;
  note: string;
}

/** The guidance funds the signed terms commit, what was paid, and what is left (money strings). */
export interface GuidanceTotals {
  committed: string;
  paid: string;
  remaining: string;
}

/** The inputs of the model as validateFinancialInputs reads them, from terms and assumptions. */
function inputsOf(
  terms: Awaited<ReturnType<typeof termsOf>>,
  a: FinancialAssumptions,
  householdsByFloor: { floor: number; households: number }[],
): FinancialInputs {
  return {
    investment: terms.totalInvestment,
    guidanceFunds: terms.guidanceFunds,
    enterpriseCapital: terms.enterpriseCapital,
    operationTermMonths: terms.operationTermMonths,
    feeSchedule: terms.feeSchedule,
    takeUp: { rates: a.takeUp.rates ?? {}, slots: a.takeUp.slots ?? {}, householdsByFloor },
    yearlyCosts: a.yearlyCosts,
    usagePerYear: a.usagePerYear ?? {},
    discountRate: a.discountRate,
  };
}

/** Fee codes the assumptions name that the schedule does not have. */
function unknownCodes(a: FinancialAssumptions, codes: Set<string>, prefix: string): FieldError[] {
  const errors: FieldError[] = [];
  const check = (path: string, record: Record<string, unknown> | undefined) => {
    for (const code of Object.keys(record ?? {})) {
      if (!codes.has(code)) {
        errors.push({
          field: `${prefix}.${path}.${code}`,
          message: `is not a fee code of the schedule (${[...codes].join(", ")})`,
        });
      }
    }
  };
  check("takeUp.rates", a.takeUp.rates);
  check("takeUp.slots", a.takeUp.slots);
  check("usagePerYear", a.usagePerYear);
  return errors;
}

/** The household register of the contract's elevator buildings, households per floor. */
async function registerByFloor(db: Queryable, contractId: string) {
  return queryRows<{ floor: number; households: number }>(
    db,
    sql`select h.floor, count(*)::int as households from households h
      where h.building_id in (
        select f.building_id from contract_facilities cf join facilities f on f.id = cf.facility_id
        where cf.contract_id = ${contractId} and f.kind = 'elevator')
      group by h.floor order by h.floor`,
  );
}

/**
 * 404 `financial_assumptions_missing` (naming the PUT that sets them): a read of the assumptions, or
 * of the model built on them, before the enterprise has set them. Not a 409: nothing about the
 * contract's state forbids the read; the resource asked for does not exist yet.
 */
function assumptionsMissing(contractId: string): ApiError {
  return new ApiError(
    404,
    "financial_assumptions_missing",
    "Financial assumptions not set",
    `The enterprise has not set the contract's financial assumptions yet: PUT /v1/contracts/${contractId}/financial-assumptions sets them.`,
  );
}

/** The contract's assumptions exactly as the enterprise last set them (the PUT's body). */
export async function getAssumptions(ctx: ServiceContext, contractId: string): Promise<AssumptionsRow> {
  const contract = await findContract(ctx.db, ctx.principal, contractId);
  const [stored] = await ctx.db
    .select()
    .from(financialAssumptions)
    .where(eq(financialAssumptions.contractId, contract.id));
  if (!stored) throw assumptionsMissing(contract.id);
  return stored;
}

/** The enterprise sets the model's assumptions (400 naming each one that does not make a model). */
export async function setAssumptions(
  ctx: ServiceContext,
  contractId: string,
  assumptions: FinancialAssumptions,
): Promise<AssumptionsRow> {
  return runContractCommand(ctx, contractId, { type: "set_financial_assumptions" }, async (s) => {
    const version = await findVersion(s.tx, s.contract.id, s.contract.currentVersionNo);
    const terms = await termsOf(s.tx, version);
    const households = assumptions.takeUp.householdsByFloor ?? (await registerByFloor(s.tx, s.contract.id));
    const errors = [
      ...unknownCodes(assumptions, new Set(terms.feeSchedule.map((f) => f.code)), "body"),
      ...validateFinancialInputs(inputsOf(terms, assumptions, households)).map((i) => ({
        field: `body.${i.path}`,
        message: i.message,
      })),
    ];
    if (errors.length) throw ApiError.validation(errors, "The assumptions do not make a model.");
    const values = { assumptions, updatedByOrgId: s.actor.orgId, updatedAt: s.now };
    const [saved] = await s.tx
      .insert(financialAssumptions)
      .values({ contractId: s.contract.id, ...values })
      .onConflictDoUpdate({ target: financialAssumptions.contractId, set: values })
      .returning();
    if (!saved) throw new Error("upsert returned nothing");
    await s.audit("financial_assumptions.set", { versionNo: version.versionNo, payload: assumptions });
    return saved;
  });
}

/** Which version the model reads: asked for, in force (signed contracts), or the current one. */
async function modelVersion(
  db: Queryable,
  contract: ContractRow,
  today: string,
  versionNo: number | undefined,
): Promise<{ version: VersionRow; basis: ModelBasis }> {
  if (versionNo !== undefined) {
    return { version: await findVersion(db, contract.id, versionNo), basis: "requested_version" };
  }
  if (contract.signedVersionNo !== null) {
    const inForce =
      (await versionInForce(db, contract.id, today)) ??
      (await findVersion(db, contract.id, contract.signedVersionNo));
    return { version: inForce, basis: "version_in_force" };
  }
  return { version: await findVersion(db, contract.id, contract.currentVersionNo), basis: "current_version" };
}

/**
 * `takeUp` override: "0.6" sets the rate of every fee item but per_use ones; "EL-M:0.6,EL-Y:0.2"
 * sets the rates of the codes named. Null when malformed.
 */
function parseTakeUp(s: string, codes: string[]): Record<string, string> | null {
  if (!s.includes(":")) return Object.fromEntries(codes.map((code) => [code, s.trim()]));
  const out: Record<string, string> = {};
  for (const part of s.split(",")) {
    const [code, rate, ...rest] = part.split(":").map((x) => x.trim());
    if (!code || rate === undefined || rest.length) return null;
    out[code] = rate;
  }
  return out;
}

/** Operating years so far (year 1 = the operation start month and the 11 following). */
async function actualsOf(
  db: Queryable,
  contract: ContractRow,
  capital: string,
  today: string,
): Promise<ActualsAsOf | null> {
  const span = operatedSpan(contract);
  if (!span) return null;
  const opStart = span.from;
  const asOf = span.until && compareDates(span.until, today) < 0 ? span.until : today;
  const opMonth = periodOf(opStart);
  const years = Math.max(1, Math.floor(monthsBetween(opMonth, periodOf(asOf)) / 12) + 1);
  const yearOf = (month: string) => Math.max(0, Math.floor(monthsBetween(opMonth, month) / 12));
  const [cash, reports] = await Promise.all([
    queryRows<{ month: string; amount: string }>(
      db,
      sql`select month, sum(amount)::text as amount from (
          select to_char(p.received_on, 'YYYY-MM') as month, p.amount from payments p
          where p.contract_id = ${contract.id} and p.received_on <= ${asOf}::date
          union all
          select to_char(r.paid_on, 'YYYY-MM'), -r.amount from refunds r
          join credit_notes n on n.id = r.credit_note_id
          where n.contract_id = ${contract.id} and r.paid_on <= ${asOf}::date
        ) x group by month`,
    ),
    db
      .select({ period: operationReports.period, figures: operationReports.figures })
      .from(operationReports)
      .where(and(eq(operationReports.contractId, contract.id), ne(operationReports.status, "superseded"))),
  ]);
  const collected = Array.from({ length: years }, () => new Decimal(0));
  const costs = Array.from({ length: years }, () => new Decimal(0));
  for (const row of cash) {
    const i = yearOf(row.month);
    const slot = collected[i];
    if (slot) collected[i] = slot.plus(row.amount);
  }
  for (const r of reports) {
    const period = parseReportPeriod(r.period);
    const figures = Figures.safeParse(r.figures);
    if (!period || !figures.success) continue;
    const i = yearOf(period.firstMonth);
    const slot = costs[i];
    const c = figures.data.costs;
    if (slot) costs[i] = slot.plus(c.maintenance).plus(c.electricity).plus(c.insurance).plus(c.other);
  }
  const a = actualsToDate({ capital, collected, costs });
  return {
    asOf,
    ...a,
    years: a.years.map((y) => ({ ...y, from: addPeriods(opMonth, (y.year - 1) * 12) })),
  };
}

/**
 * The model on the enterprise's assumptions (404 `financial_assumptions_missing` before they are set), with
 * the caller's overrides for this answer only (400 naming each input that is not valid).
 */
export async function financialModel(
  ctx: ServiceContext,
  contractId: string,
  overrides: ModelOverrides,
): Promise<ModelParts> {
  const { db } = ctx;
  const today = shanghaiDate(ctx.clock());
  const contract = await findContract(db, ctx.principal, contractId);
  const [stored] = await db
    .select()
    .from(financialAssumptions)
    .where(eq(financialAssumptions.contractId, contract.id));
  if (!stored) throw assumptionsMissing(contract.id);
  const assumptions = Assumptions.parse(stored.assumptions);
  const { version, basis } = await modelVersion(db, contract, today, overrides.versionNo);
  const terms = await termsOf(db, version);
  const register = assumptions.takeUp.householdsByFloor ? null : await registerByFloor(db, contract.id);
  const inputs = inputsOf(terms, assumptions, assumptions.takeUp.householdsByFloor ?? register ?? []);

  const errors: FieldError[] = [];
  const overridden = new Set<string>();
  if (overrides.discountRate !== undefined) inputs.discountRate = overrides.discountRate;
  if (overrides.takeUp !== undefined) {
    const codes = terms.feeSchedule.filter((f) => f.kind !== "per_use").map((f) => f.code);
    const rates = parseTakeUp(overrides.takeUp, codes);
    if (!rates)
      errors.push({
        field: "query.takeUp",
        message: "must be a rate (0.6) or code:rate pairs (EL-M:0.6,EL-Y:0.2)",
      });
    else {
      for (const code of Object.keys(rates)) {
        if (!codes.includes(code))
          errors.push({ field: "query.takeUp", message: `${code} is not a subscribed fee code` });
        overridden.add(`takeUp.rates.${code}`);
      }
      inputs.takeUp = { ...inputs.takeUp, rates: { ...inputs.takeUp.rates, ...rates } };
    }
  }
  for (const i of validateFinancialInputs(inputs)) {
    const field =
      i.path === "discountRate" && overrides.discountRate !== undefined
        ? "query.discountRate"
        : overridden.has(i.path)
          ? "query.takeUp"
          : `assumptions.${i.path}`;
    errors.push({ field, message: field === "query.takeUp" ? `${i.path} ${i.message}` : i.message });
  }
  if (errors.length) throw ApiError.validation(errors, "The model's inputs are not valid.");

  return {
    contractId: contract.id,
    state: contract.state,
    versionNo: version.versionNo,
    basis,
    inputs,
    householdsSource: register ? "register" : "assumptions",
    projection: projectFinancials(inputs),
    actuals: await actualsOf(db, contract, terms.enterpriseCapital, today),
  };
}

// ---- guidance funds --------------------------------------------------------------------------

/** The guidance funds the signed terms in force commit ("0.00" before signing). */
async function committedFunds(db: Queryable, contract: ContractRow, today: string): Promise<Decimal> {
  if (contract.signedVersionNo === null || !isCommitted(contract.state)) return new Decimal(0);
  const version =
    (await versionInForce(db, contract.id, today)) ??
    (await findVersion(db, contract.id, contract.signedVersionNo));
  return new Decimal(version.guidanceFunds);
}

async function paidFunds(db: Queryable, contractId: string): Promise<Decimal> {
  const [row] = await db
    .select({ paid: sql<string>`coalesce(sum(${guidanceDisbursements.amount}), 0)::text` })
    .from(guidanceDisbursements)
    .where(eq(guidanceDisbursements.contractId, contractId));
  return new Decimal(row?.paid ?? "0");
}

function guidanceTotals(committed: Decimal, paid: Decimal): GuidanceTotals {
  return {
    committed: formatMoney(committed),
    paid: formatMoney(paid),
    remaining: formatMoney(committed.minus(paid)),
  };
}

/**
 * The street office records guidance funds paid: the total paid may not exceed what the signed
 * terms in force commit (409 `guidance_exceeded` with the totals).
 */
export async function recordDisbursement(
  ctx: ServiceContext,
  contractId: string,
  input: NewDisbursement,
): Promise<{ row: DisbursementRow; totals: GuidanceTotals }> {
  const today = shanghaiDate(ctx.clock());
  notInFuture("body.paidOn", input.paidOn, today);
  const amount = new Decimal(input.amount);
  if (amount.lte(0)) throw ApiError.validation([{ field: "body.amount", message: "must be greater than 0" }]);
  return runContractCommand(ctx, contractId, { type: "record_guidance_disbursement" }, async (s) => {
    const committed = await committedFunds(s.tx, s.contract, today);
    const paid = await paidFunds(s.tx, s.contract.id);
    if (paid.plus(amount).gt(committed)) {
      throw ApiError.conflict(
        "guidance_exceeded",
        `Paying ${formatMoney(amount)} would bring the guidance funds paid to ${formatMoney(paid.plus(amount))}, over the ${formatMoney(committed)} committed.`,
        { ...guidanceTotals(committed, paid) },
      );
    }
    const [row] = await s.tx
      .insert(guidanceDisbursements)
      .values({
        contractId: s.contract.id,
        amount: formatMoney(amount),
        paidOn: input.paidOn,
        note: input.note,
        recordedByOrgId: s.actor.orgId,
        createdAt: s.now,
      })
      .returning();
    if (!row) throw new Error("insert returned nothing");
    await s.audit("guidance.disbursed", {
      payload: { disbursementId: row.id, amount: row.amount, paidOn: row.paidOn, note: row.note },
    });
    return { row, totals: guidanceTotals(committed, paid.plus(amount)) };
  });
}

/**
 * Guidance funds paid to the contract, oldest first (id breaks ties), and the totals of the whole
 * list (committed, paid, remaining), the same on every page.
 */
export async function listDisbursements(
  ctx: ServiceContext,
  contractId: string,
  page?: PageRequest,
): Promise<Page<DisbursementRow> & { totals: GuidanceTotals }> {
  const { db } = ctx;
  const contract = await findContract(db, ctx.principal, contractId);
  const today = shanghaiDate(ctx.clock());
  const where = eq(guidanceDisbursements.contractId, contract.id);
  const query = db
    .select()
    .from(guidanceDisbursements)
    .where(where)
    .orderBy(
      asc(guidanceDisbursements.paidOn),
      asc(guidanceDisbursements.createdAt),
      asc(guidanceDisbursements.id),
    )
    .$dynamic();
  const [{ items, total }, committed, paid] = await Promise.all([
    pageOf(query, () => db.$count(guidanceDisbursements, where), page),
    committedFunds(db, contract, today),
    paidFunds(db, contract.id),
  ]);
  return { items, total, totals: guidanceTotals(committed, paid) };
}

/** One disbursement, if the caller may read its contract (as the contract's list; else 404). */
export async function getDisbursement(ctx: ServiceContext, id: string): Promise<DisbursementRow> {
  const [row] = await ctx.db
    .select({ disbursement: guidanceDisbursements })
    .from(guidanceDisbursements)
    .innerJoin(contracts, eq(contracts.id, guidanceDisbursements.contractId))
    .where(and(eq(guidanceDisbursements.id, id), contractScope(ctx.principal)));
  if (!row) throw ApiError.notFound("The guidance disbursement");
  return row.disbursement;
}
