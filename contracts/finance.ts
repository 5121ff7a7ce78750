/**
 * The financial model of one contract: the owners committee's "is this term fair?".
 *
 * From the enterprise's capital, the fee schedule, the expected take-up and the yearly costs it
 * projects the enterprise's yearly cash flows over the operation term, the payback year, the
 * net present value at a discount rate and the internal rate of return; and it sets the actuals
 * collected so far against the capital. Money is Decimal inside and 2-decimal strings out;
 * rates are decimal fractions ("0.05" = 5 %), written out with 4 decimals ("0.0500").
 */
import { Decimal } from "decimal.js";
import { checkMoney, formatMoney, MONEY_MAX, money } from "./money.js";
import { type FeeItem, priceFor, TERM_MONTHS_MAX, TERM_MONTHS_MIN, type TermsIssue } from "./terms.js";

/** Precision for discounting and ratios; results are rounded once, at the end. */
const Exact = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });

const RATE_RE = /^\d+(\.\d+)?$/;
const QTY_RE = /^\d+(\.\d{1,3})?$/;

/** Expected take-up of the fee items. */
export interface TakeUp {
  /** Households per floor of the building(s) (elevators; the ground floor usually pays nothing). */
  householdsByFloor?: { floor: number; households: number }[];
  /** Share of the households taking each fee item, by fee code, a decimal 0–1 ("0.60"). */
  rates?: Record<string, string>;
  /** A fixed number of subscribers (garage slots) by fee code; takes precedence over a rate. */
  slots?: Record<string, number>;
}

export interface YearlyCosts {
  maintenance: string;
  electricity: string;
  insurance: string;
  other: string;
}

export interface FinancialInputs {
  /** Total investment (for the record; the enterprise's own money is `enterpriseCapital`). */
  investment: string;
  guidanceFunds: string;
  enterpriseCapital: string;
  operationTermMonths: number;
  feeSchedule: FeeItem[];
  takeUp: TakeUp;
  yearlyCosts: YearlyCosts;
  /** Units per year for per_use items, by fee code ("15000.5" kWh, "20000" rides). */
  usagePerYear?: Record<string, string>;
  /** Discount rate per year as a decimal fraction, 0–1 ("0.05"). */
  discountRate: string;
}

export interface ItemRevenue {
  code: string;
  kind: FeeItem["kind"];
  /** Expected subscribers (or units for per_use), as a decimal string. */
  quantity: string;
  /** Revenue of a full year (one_off items: the one-time amount), to the fen. */
  amount: string;
}

export interface ProjectedYear {
  /** 0 = the investment; 1..N = years of operation. */
  year: number;
  /** Months of operation in this year (12, fewer in a last partial year, 0 in year 0). */
  months: number;
  revenue: string;
  costs: string;
  /** revenue − costs (year 0: − enterprise capital). */
  net: string;
  /** Sum of `net` from year 0 to this year. */
  cumulative: string;
}

export interface FinancialProjection {
  investment: string;
  guidanceFunds: string;
  enterpriseCapital: string;
  revenueByItem: ItemRevenue[];
  /** Costs of a full year. */
  yearlyCosts: string;
  years: ProjectedYear[];
  /** Undiscounted sum of all the yearly nets, year 0 included. */
  totalNet: string;
  /** First year whose cumulative cash is ≥ 0, or null when the term never pays back. */
  paybackYear: number | null;
  discountRate: string;
  npv: string;
  /** null when the cash flows never change sign (no rate makes the NPV zero). */
  irr: string | null;
}

function isRate01(s: unknown): boolean {
  return typeof s === "string" && RATE_RE.test(s) && new Decimal(s).lte(1);
}

/** Every problem with the inputs (empty = valid), with dotted paths like validateTerms. */
export function validateFinancialInputs(inp: FinancialInputs): TermsIssue[] {
  const issues: TermsIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  for (const f of ["investment", "guidanceFunds", "enterpriseCapital"] as const) {
    const r = checkMoney(inp[f], { max: MONEY_MAX });
    if (r) add(f, r);
  }
  for (const f of ["maintenance", "electricity", "insurance", "other"] as const) {
    const r = checkMoney(inp.yearlyCosts?.[f], { max: MONEY_MAX });
    if (r) add(`yearlyCosts.${f}`, r);
  }
  const m = inp.operationTermMonths;
  if (!Number.isInteger(m) || m < TERM_MONTHS_MIN || m > TERM_MONTHS_MAX) {
    add(
      "operationTermMonths",
      `must be an integer number of months from ${TERM_MONTHS_MIN} to ${TERM_MONTHS_MAX}`,
    );
  }
  if (!isRate01(inp.discountRate)) add("discountRate", "must be a decimal fraction from 0 to 1");
  if (!Array.isArray(inp.feeSchedule)) add("feeSchedule", "must be a list");
  else {
    inp.feeSchedule.forEach((item, i) => {
      const r = checkMoney(item.price);
      if (r) add(`feeSchedule.${i}.price`, r);
      for (const [j, fp] of (item.floorPrices ?? []).entries()) {
        const rf = checkMoney(fp.price);
        if (rf) add(`feeSchedule.${i}.floorPrices.${j}.price`, rf);
      }
    });
  }
  (inp.takeUp?.householdsByFloor ?? []).forEach((h, i) => {
    if (!Number.isInteger(h.floor)) add(`takeUp.householdsByFloor.${i}.floor`, "must be an integer");
    if (!Number.isSafeInteger(h.households) || h.households < 0) {
      add(`takeUp.householdsByFloor.${i}.households`, "must be a non-negative integer");
    }
  });
  for (const [code, rate] of Object.entries(inp.takeUp?.rates ?? {})) {
    if (!isRate01(rate)) add(`takeUp.rates.${code}`, "must be a decimal from 0 to 1");
  }
  for (const [code, n] of Object.entries(inp.takeUp?.slots ?? {})) {
    if (!Number.isSafeInteger(n) || n < 0) add(`takeUp.slots.${code}`, "must be a non-negative integer");
  }
  for (const [code, q] of Object.entries(inp.usagePerYear ?? {})) {
    if (typeof q !== "string" || !QTY_RE.test(q)) {
      add(`usagePerYear.${code}`, "must be a non-negative decimal with at most 3 decimal places");
    }
  }
  return issues;
}

function ex(v: string | Decimal): Decimal {
  return new Exact(money(v).toString());
}
function fen(d: Decimal): Decimal {
  return new Decimal(d.toDecimalPlaces(2, Decimal.ROUND_HALF_UP).toString());
}

/**
 * Expected revenue of one fee item over a full year (exact, unrounded), and its quantity.
 * - Subscribers: the fixed slot count for the code when given (priced at the base price), else
 *   Σ over floors of households × take-up rate × that floor's price (priceFor). A code with
 *   neither a slot count nor a rate has no subscribers.
 * - monthly: subscribers × price × 12; yearly: subscribers × price;
 *   per_use: units per year × price; one_off: subscribers × price, collected once, in year 1.
 */
function itemRevenue(item: FeeItem, inp: FinancialInputs): { quantity: Decimal; amount: Decimal } {
  const price = ex(priceFor(item));
  if (item.kind === "per_use") {
    const units = ex(inp.usagePerYear?.[item.code] ?? "0");
    return { quantity: units, amount: units.times(price) };
  }
  const slots = inp.takeUp.slots?.[item.code];
  let subscribers: Decimal;
  let perPeriod: Decimal;
  if (slots !== undefined) {
    subscribers = new Exact(slots);
    perPeriod = subscribers.times(price);
  } else {
    const rate = ex(inp.takeUp.rates?.[item.code] ?? "0");
    subscribers = new Exact(0);
    perPeriod = new Exact(0);
    for (const h of inp.takeUp.householdsByFloor ?? []) {
      const n = rate.times(h.households);
      subscribers = subscribers.plus(n);
      perPeriod = perPeriod.plus(n.times(ex(priceFor(item, h.floor))));
    }
  }
  return { quantity: subscribers, amount: item.kind === "monthly" ? perPeriod.times(12) : perPeriod };
}

/** Net present value of yearly cash flows (index = year, year 0 undiscounted), exact. */
function npvExact(flows: readonly Decimal[], rate: Decimal): Decimal {
  const factor = new Exact(1).plus(rate);
  let df = new Exact(1);
  let sum = new Exact(0);
  for (const cf of flows) {
    sum = sum.plus(new Exact(cf.toString()).div(df));
    df = df.times(factor);
  }
  return sum;
}

/**
 * NPV = Σ cash flow of year t ÷ (1 + rate)^t, t = 0, 1, …, rounded half up to the fen.
 * Flows are money (strings or Decimals); the rate is a decimal fraction greater than −1.
 */
export function npv(flows: readonly (string | Decimal)[], rate: string | Decimal): Decimal {
  const r = new Exact(money(rate).toString());
  if (r.lte(-1)) throw new RangeError("rate must be greater than -1");
  return fen(
    npvExact(
      flows.map((f) => money(f)),
      r,
    ),
  );
}

/** Lowest and highest rate the IRR search considers: −99 % and 1000 % a year. */
export const IRR_MIN = "-0.99";
export const IRR_MAX = "10";

/**
 * Internal rate of return: the rate at which the NPV is zero, found by bisection between
 * −99 % and 1000 % until the bracket is narrower than 0.000001, written with 4 decimals
 * ("0.1524" = 15.24 %). Null when the NPV has the same sign at both ends of that range: the
 * flows never turn (e.g. all negative), or the return is outside −99 % … 1000 % a year. With more than one sign change in the flows several rates may qualify;
 * bisection returns one of them.
 */
export function irr(flows: readonly (string | Decimal)[]): string | null {
  const fs = flows.map((f) => money(f));
  let lo = new Exact(IRR_MIN);
  let hi = new Exact(IRR_MAX);
  const fLo = npvExact(fs, lo);
  const fHi = npvExact(fs, hi);
  if (fLo.isZero()) return rate4(lo);
  if (fHi.isZero()) return rate4(hi);
  if (fLo.isNegative() === fHi.isNegative()) return null;
  const loNegative = fLo.isNegative();
  const tol = new Exact("0.000001");
  while (hi.minus(lo).gt(tol)) {
    const mid = lo.plus(hi).div(2);
    const fMid = npvExact(fs, mid);
    if (fMid.isZero()) return rate4(mid);
    if (fMid.isNegative() === loNegative) lo = mid;
    else hi = mid;
  }
  return rate4(lo.plus(hi).div(2));
}

function rate4(d: Decimal): string {
  const s = d.toFixed(4, Decimal.ROUND_HALF_UP);
  return s === "-0.0000" ? "0.0000" : s;
}

/**
 * Project one contract over its operation term.
 *
 * - Year 0: − the enterprise's capital (the guidance funds and other funding are not the
 *   enterprise's money, so they are not part of its cash flow).
 * - Years 1..N, N = term months ÷ 12 rounded up: revenue − costs, where revenue is the sum of the
 *   items' full-year revenue (see take-up rules) and costs are maintenance + electricity +
 *   insurance + other. A last year shorter than 12 months counts months ÷ 12 of both; one_off
 *   items are collected once, in year 1.
 * - Each year's revenue and costs are rounded half up to the fen, and net, cumulative cash,
 *   NPV and IRR are computed from those rounded figures (so the table adds up for a reader).
 * - Payback year: the first year whose cumulative cash is ≥ 0 (null if none).
 * Throws a RangeError listing the problems when the inputs are invalid.
 */
export function projectFinancials(inp: FinancialInputs): FinancialProjection {
  const issues = validateFinancialInputs(inp);
  if (issues.length > 0) {
    throw new RangeError(
      `invalid financial inputs: ${issues.map((i) => `${i.path} ${i.message}`).join("; ")}`,
    );
  }
  const capital = money(inp.enterpriseCapital);
  let recurring = new Exact(0);
  let oneOff = new Exact(0);
  const revenueByItem: ItemRevenue[] = inp.feeSchedule.map((item) => {
    const r = itemRevenue(item, inp);
    if (item.kind === "one_off") oneOff = oneOff.plus(r.amount);
    else recurring = recurring.plus(r.amount);
    return {
      code: item.code,
      kind: item.kind,
      quantity: r.quantity.toString(),
      amount: formatMoney(r.amount),
    };
  });
  const c = inp.yearlyCosts;
  const costs = ex(c.maintenance).plus(ex(c.electricity)).plus(ex(c.insurance)).plus(ex(c.other));

  const flows: Decimal[] = [capital.negated()];
  const years: ProjectedYear[] = [
    {
      year: 0,
      months: 0,
      revenue: "0.00",
      costs: "0.00",
      net: formatMoney(capital.negated()),
      cumulative: formatMoney(capital.negated()),
    },
  ];
  let cumulative = capital.negated();
  let paybackYear: number | null = cumulative.gte(0) ? 0 : null;
  const n = Math.ceil(inp.operationTermMonths / 12);
  for (let year = 1; year <= n; year++) {
    const months = Math.min(12, inp.operationTermMonths - (year - 1) * 12);
    const share = new Exact(months).div(12);
    const revenue = fen(recurring.times(share).plus(year === 1 ? oneOff : 0));
    const cost = fen(costs.times(share));
    const net = revenue.minus(cost);
    cumulative = cumulative.plus(net);
    if (paybackYear === null && cumulative.gte(0)) paybackYear = year;
    flows.push(net);
    years.push({
      year,
      months,
      revenue: formatMoney(revenue),
      costs: formatMoney(cost),
      net: formatMoney(net),
      cumulative: formatMoney(cumulative),
    });
  }
  const rate = new Decimal(inp.discountRate);
  return {
    investment: formatMoney(money(inp.investment)),
    guidanceFunds: formatMoney(money(inp.guidanceFunds)),
    enterpriseCapital: formatMoney(capital),
    revenueByItem,
    yearlyCosts: formatMoney(costs),
    years,
    totalNet: formatMoney(cumulative),
    paybackYear,
    discountRate: rate4(rate),
    npv: formatMoney(npv(flows, rate)),
    irr: irr(flows),
  };
}

export interface ActualYear {
  year: number;
  collected: string;
  costs: string;
  net: string;
  /** − capital + the nets of years 1..this year. */
  cumulative: string;
}

export interface Actuals {
  capital: string;
  years: ActualYear[];
  /** Σ (collected − costs) over the years so far. */
  netToDate: string;
  /** netToDate − capital: below 0 while the enterprise has not yet recovered its capital. */
  position: string;
  /** netToDate as a percentage of the capital, 2 decimals ("37.50"); null when the capital is 0. */
  recoveredPercent: string | null;
  paidBack: boolean;
}

/**
 * Actuals to date: for each operating year so far (index 0 = year 1), what was collected (from
 * the ledger) less the costs (from the operation reports); the cumulative net cash set against
 * the enterprise's capital. A year missing from one list counts as 0 there.
 */
export function actualsToDate(input: {
  capital: string | Decimal;
  collected: readonly (string | Decimal)[];
  costs: readonly (string | Decimal)[];
}): Actuals {
  const capital = money(input.capital);
  if (capital.isNegative()) throw new RangeError("capital must not be negative");
  const n = Math.max(input.collected.length, input.costs.length);
  const years: ActualYear[] = [];
  let netToDate = new Decimal(0);
  for (let i = 0; i < n; i++) {
    const collected = money(input.collected[i] ?? "0");
    const cost = money(input.costs[i] ?? "0");
    const net = collected.minus(cost);
    netToDate = netToDate.plus(net);
    years.push({
      year: i + 1,
      collected: formatMoney(collected),
      costs: formatMoney(cost),
      net: formatMoney(net),
      cumulative: formatMoney(netToDate.minus(capital)),
    });
  }
  const position = netToDate.minus(capital);
  return {
    capital: formatMoney(capital),
    years,
    netToDate: formatMoney(netToDate),
    position: formatMoney(position),
    recoveredPercent: capital.isZero()
      ? null
      : new Exact(netToDate.toString()).times(100).div(capital.toString()).toFixed(2, Decimal.ROUND_HALF_UP),
    paidBack: position.gte(0),
  };
}
