/**
 * The drafting form as the browser posts it, and back: the typed values (kept exactly as typed,
 * so a refused form is shown again as it was), the request body the API's schema checks, and the
 * API's field paths (`body.terms.feeSchedule.0.floorPrices.2.price`) mapped to the inputs.
 *
 * Input names follow the API's paths (`terms.feeSchedule.0.price`), except per-floor prices,
 * named by floor (`terms.feeSchedule.0.floor.3`): a row per floor served, and an empty row is a
 * floor that pays nothing, so it is left out of the body (the API's index J is not the floor).
 */
import {
  type ContractTerms,
  checkMoney,
  FEE_KINDS,
  FEE_UNITS,
  type FeeKind,
  type FeeUnit,
  FLOOR_MAX,
  FLOOR_MIN,
  MONEY_MAX,
  PRICE_MAX,
} from "../../../contracts/index.js";
import type { FieldError } from "../../errors.js";
import { field } from "../guards.js";
import type { Translate } from "../i18n.js";
import type { DraftingKey } from "./messages.js";

export interface FeeRow {
  code: string;
  name: string;
  kind: string;
  unit: string;
  price: string;
  /** Floor → price as typed ("" or missing: the floor pays nothing). */
  floors: Record<number, string>;
}

export interface HandbackRow {
  code: string;
  description: string;
}

export interface DraftForm {
  title: string;
  communityId: string;
  ownersCommitteeOrgId: string;
  propertyCompanyOrgId: string;
  streetOfficeOrgId: string;
  facilityIds: string[];
  voteMatter: string;
  summary: string;
  effectiveDate: string;
  invoiceDueDays: string;
  paymentGraceDays: string;
  totalInvestment: string;
  enterpriseCapital: string;
  guidanceFunds: string;
  operationTermMonths: string;
  maintenanceObligations: string;
  fees: FeeRow[];
  handbacks: HandbackRow[];
}

const ROWS_MAX = 100;

export const blankFee = (): FeeRow => ({
  code: "",
  name: "",
  kind: "monthly",
  unit: "household",
  price: "",
  floors: {},
});

/** A new draft starts from the usual elevator schedule: 包月 by floor, 包年, nothing typed yet. */
export function newDraftForm(): DraftForm {
  return {
    title: "",
    communityId: "",
    ownersCommitteeOrgId: "",
    propertyCompanyOrgId: "",
    streetOfficeOrgId: "",
    facilityIds: [],
    voteMatter: "special",
    summary: "",
    effectiveDate: "",
    invoiceDueDays: "15",
    paymentGraceDays: "15",
    totalInvestment: "",
    enterpriseCapital: "",
    guidanceFunds: "0.00",
    operationTermMonths: "",
    maintenanceObligations: "",
    fees: [
      { ...blankFee(), code: "EL-M", name: "电梯包月", price: "0.00" },
      { ...blankFee(), code: "EL-Y", name: "电梯包年", kind: "yearly", price: "" },
    ],
    handbacks: [{ code: "", description: "" }],
  };
}

/** The form of a stored draft. */
export function formOfTerms(
  base: Pick<DraftForm, "summary" | "effectiveDate" | "invoiceDueDays" | "paymentGraceDays">,
  terms: ContractTerms,
): DraftForm {
  return {
    ...newDraftForm(),
    ...base,
    totalInvestment: terms.totalInvestment,
    enterpriseCapital: terms.enterpriseCapital,
    guidanceFunds: terms.guidanceFunds,
    operationTermMonths: String(terms.operationTermMonths),
    maintenanceObligations: terms.maintenanceObligations,
    fees: terms.feeSchedule.map((f) => ({
      code: f.code,
      name: f.name,
      kind: f.kind,
      unit: f.unit,
      price: f.price,
      floors: Object.fromEntries((f.floorPrices ?? []).map((fp) => [fp.floor, fp.price])),
    })),
    handbacks: terms.handbackConditions.map((h) => ({ code: h.code, description: h.description })),
  };
}

function count(body: Record<string, unknown>, name: string): number {
  const n = Number(field(body, name));
  return Number.isInteger(n) && n >= 0 ? Math.min(n, ROWS_MAX) : 0;
}

function all(body: Record<string, unknown>, name: string): string[] {
  const v = body[name];
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.filter((x): x is string => typeof x === "string" && x !== "");
}

/** The typed values of a posted form (parsed with `parseBody({ all: true })`). */
export function readForm(body: Record<string, unknown>): DraftForm {
  const one = (name: string) => {
    const v = body[name];
    return Array.isArray(v) ? String(v[0] ?? "") : field(body, name);
  };
  const fees: FeeRow[] = [];
  for (let i = 0; i < count(body, "fees"); i++) {
    const p = `terms.feeSchedule.${i}`;
    const floors: Record<number, string> = {};
    for (const key of Object.keys(body)) {
      const m = new RegExp(`^terms\\.feeSchedule\\.${i}\\.floor\\.(-?\\d+)$`).exec(key);
      if (m) floors[Number(m[1])] = one(key).trim();
    }
    fees.push({
      code: one(`${p}.code`).trim(),
      name: one(`${p}.name`).trim(),
      kind: one(`${p}.kind`),
      unit: one(`${p}.unit`),
      price: one(`${p}.price`).trim(),
      floors,
    });
  }
  const handbacks: HandbackRow[] = [];
  for (let i = 0; i < count(body, "handbacks"); i++) {
    const p = `terms.handbackConditions.${i}`;
    handbacks.push({ code: one(`${p}.code`).trim(), description: one(`${p}.description`).trim() });
  }
  return {
    title: one("title"),
    communityId: one("communityId"),
    ownersCommitteeOrgId: one("ownersCommitteeOrgId"),
    propertyCompanyOrgId: one("propertyCompanyOrgId"),
    streetOfficeOrgId: one("streetOfficeOrgId"),
    facilityIds: all(body, "facilityIds"),
    voteMatter: one("voteMatter"),
    summary: one("summary"),
    effectiveDate: one("effectiveDate"),
    invoiceDueDays: one("invoiceDueDays").trim(),
    paymentGraceDays: one("paymentGraceDays").trim(),
    totalInvestment: one("terms.totalInvestment").trim(),
    enterpriseCapital: one("terms.enterpriseCapital").trim(),
    guidanceFunds: one("terms.guidanceFunds").trim(),
    operationTermMonths: one("terms.operationTermMonths").trim(),
    maintenanceObligations: one("terms.maintenanceObligations"),
    fees,
    handbacks,
  };
}

export const isBlankFee = (f: FeeRow) =>
  !f.code && !f.name && !f.price && Object.values(f.floors).every((p) => p === "");

/** A whole number as typed, else the text itself (so the schema says what is wrong with it). */
const wholeOr = (s: string): number | string => (/^-?\d{1,9}$/.test(s) ? Number(s) : s);

/**
 * What the form asks the API for, and where each item of the body came from (its row in the
 * form, and the floor of each per-floor price), to put the API's errors back at the right input.
 */
export interface Body {
  terms: Record<string, unknown>;
  feeRows: number[];
  floorsOf: number[][];
  handbackRows: number[];
}

export function termsBody(form: DraftForm): Body {
  const feeRows: number[] = [];
  const floorsOf: number[][] = [];
  const feeSchedule = form.fees.flatMap((f, row) => {
    if (isBlankFee(f)) return [];
    const floors = Object.keys(f.floors)
      .map(Number)
      .filter((fl) => f.floors[fl] !== "")
      .sort((a, b) => a - b);
    feeRows.push(row);
    floorsOf.push(floors);
    return [
      {
        code: f.code,
        name: f.name,
        kind: f.kind,
        unit: f.unit,
        price: f.price,
        ...(floors.length ? { floorPrices: floors.map((floor) => ({ floor, price: f.floors[floor] })) } : {}),
      },
    ];
  });
  const handbackRows: number[] = [];
  const handbackConditions = form.handbacks.flatMap((h, row) => {
    if (!h.code && !h.description) return [];
    handbackRows.push(row);
    return [{ code: h.code, description: h.description }];
  });
  return {
    terms: {
      totalInvestment: form.totalInvestment,
      enterpriseCapital: form.enterpriseCapital,
      guidanceFunds: form.guidanceFunds,
      operationTermMonths: wholeOr(form.operationTermMonths),
      handbackConditions,
      maintenanceObligations: form.maintenanceObligations,
      feeSchedule,
    },
    feeRows,
    floorsOf,
    handbackRows,
  };
}

/** The body of POST /v1/contracts for this form. */
export function newContractBody(form: DraftForm, body: Body): Record<string, unknown> {
  return {
    title: form.title,
    communityId: form.communityId,
    ownersCommitteeOrgId: form.ownersCommitteeOrgId,
    propertyCompanyOrgId: form.propertyCompanyOrgId,
    ...(form.streetOfficeOrgId ? { streetOfficeOrgId: form.streetOfficeOrgId } : {}),
    facilityIds: form.facilityIds,
    voteMatter: form.voteMatter,
    summary: form.summary,
    terms: body.terms,
    invoiceDueDays: wholeOr(form.invoiceDueDays),
    paymentGraceDays: wholeOr(form.paymentGraceDays),
  };
}

/** The body of the API's draft edit for this form (payment days only on the original contract). */
export function editBody(form: DraftForm, body: Body, isAmendment: boolean): Record<string, unknown> {
  return {
    summary: form.summary,
    ...(isAmendment && form.effectiveDate ? { effectiveDate: form.effectiveDate } : {}),
    terms: body.terms,
    ...(isAmendment
      ? {}
      : { invoiceDueDays: wholeOr(form.invoiceDueDays), paymentGraceDays: wholeOr(form.paymentGraceDays) }),
  };
}

/** The input an API field path names (the form's own name for it), or null when none shows it. */
export function inputOf(path: string, body: Body): string | null {
  const p = path.replace(/^body\./, "");
  let m = /^facilityIds(\.\d+)?$/.exec(p);
  if (m) return "facilityIds";
  m = /^terms\.feeSchedule\.(\d+)\.floorPrices\.(\d+)\.(price|floor)$/.exec(p);
  if (m) {
    const row = body.feeRows[Number(m[1])];
    const floor = body.floorsOf[Number(m[1])]?.[Number(m[2])];
    return row === undefined || floor === undefined ? null : `terms.feeSchedule.${row}.floor.${floor}`;
  }
  m = /^terms\.feeSchedule\.(\d+)\.floorPrices$/.exec(p);
  if (m) {
    const row = body.feeRows[Number(m[1])];
    return row === undefined ? null : `terms.feeSchedule.${row}.floors`;
  }
  m = /^terms\.feeSchedule\.(\d+)\.(code|name|kind|unit|price)$/.exec(p);
  if (m) {
    const row = body.feeRows[Number(m[1])];
    return row === undefined ? null : `terms.feeSchedule.${row}.${m[2]}`;
  }
  m = /^terms\.handbackConditions\.(\d+)\.(code|description)$/.exec(p);
  if (m) {
    const row = body.handbackRows[Number(m[1])];
    return row === undefined ? null : `terms.handbackConditions.${row}.${m[2]}`;
  }
  if (
    /^(title|communityId|ownersCommitteeOrgId|propertyCompanyOrgId|streetOfficeOrgId|voteMatter|summary|effectiveDate|invoiceDueDays|paymentGraceDays)$/.test(
      p,
    ) ||
    /^terms\.(totalInvestment|enterpriseCapital|guidanceFunds|operationTermMonths|maintenanceObligations)$/.test(
      p,
    )
  ) {
    return p;
  }
  return null;
}

/** The value typed into an input of the form. */
export function typedValue(form: DraftForm, input: string): string {
  let m = /^terms\.feeSchedule\.(\d+)\.floor\.(-?\d+)$/.exec(input);
  if (m) return form.fees[Number(m[1])]?.floors[Number(m[2])] ?? "";
  m = /^terms\.feeSchedule\.(\d+)\.(code|name|kind|unit|price)$/.exec(input);
  if (m) return form.fees[Number(m[1])]?.[m[2] as "code"] ?? "";
  m = /^terms\.handbackConditions\.(\d+)\.(code|description)$/.exec(input);
  if (m) return form.handbacks[Number(m[1])]?.[m[2] as "code"] ?? "";
  const key = input.replace(/^terms\./, "") as keyof DraftForm;
  const v = form[key];
  return typeof v === "string" ? v : "";
}

const MONEY_INPUT = /(price|floor\.-?\d+|totalInvestment|enterpriseCapital|guidanceFunds)$/;

/** The reader's sentence for one of the API's field errors, given what was typed. */
export function wordError(
  t: Translate<DraftingKey>,
  input: string | null,
  error: FieldError,
  typed: string,
  formatAmount: (amount: string) => string,
): string {
  const msg = error.message;
  if (/enterpriseCapital \+ guidanceFunds/.test(msg)) return t("err_funding_sum");
  if (input && MONEY_INPUT.test(input)) {
    if (typed === "") return t("err_required");
    const max = /price|floor/.test(input) ? PRICE_MAX : MONEY_MAX;
    const reason = checkMoney(typed, { max });
    if (reason === "must not be negative") return t("err_negative");
    if (reason?.startsWith("must be at most"))
      return t("err_money_max", { max: formatAmount(max.toFixed(2)) });
    if (reason) return t("err_money");
  }
  if (/per-floor prices are only allowed/.test(msg)) return t("err_floor_not_elevator");
  if (/duplicate code/.test(msg)) return t("err_duplicate_code");
  if (/duplicate floor/.test(msg)) return t("err_duplicate_floor");
  if (/fee must use one of|must be one of/.test(msg) && input && /\.(unit|kind)$/.test(input))
    return t("err_unit_kind");
  if (input === "terms.operationTermMonths") return t("err_term");
  if (input === "invoiceDueDays") return t("err_days", { min: 1, max: 90 });
  if (input === "paymentGraceDays") return t("err_days", { min: 0, max: 90 });
  if (input === "communityId") return t("err_community");
  if (input === "ownersCommitteeOrgId") return t("err_owners_committee");
  if (input === "propertyCompanyOrgId") return t("err_property_company");
  if (input === "streetOfficeOrgId") return t("err_street_office");
  if (input === "facilityIds") return typed === "" ? t("err_facilities_none") : t("err_facility");
  if (/letters, digits/.test(msg)) return t("err_code_format");
  if (typed.trim() === "" || /must not be empty|is required|at least 1/.test(msg)) return t("err_required");
  return t("err_other", { detail: msg });
}

/** The form's errors by input ("" for those no input shows), each in the reader's words. */
export function errorsByInput(
  t: Translate<DraftingKey>,
  form: DraftForm,
  body: Body,
  errors: FieldError[],
  formatAmount: (amount: string) => string,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of errors) {
    const input = inputOf(e.field, body);
    const typed = input === "facilityIds" ? form.facilityIds.join(",") : input ? typedValue(form, input) : "";
    const words = wordError(t, input, e, typed, formatAmount);
    const key = input ?? "";
    const before = out.get(key);
    if (!before) out.set(key, words);
    else if (!before.includes(words)) out.set(key, `${before} ${words}`);
  }
  return out;
}

export const FEE_KIND_LIST: readonly FeeKind[] = FEE_KINDS;
export const FEE_UNIT_LIST: readonly FeeUnit[] = FEE_UNITS;
export { FLOOR_MAX, FLOOR_MIN };
