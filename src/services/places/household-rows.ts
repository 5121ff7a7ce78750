/**
 * Reading and checking a household register import (JSON rows or CSV). Pure functions: they
 * return every failing field at once, named `rows.<n>.<field>` with rows counted from 1 as the
 * user sees them in the file (for CSV also the line), so one round trip fixes the whole file.
 */
import { Decimal } from "decimal.js";
import { textRefusal } from "../../../contracts/validation-messages.js";
import type { FieldError } from "../../errors.js";
import { CsvSyntaxError, parseCsv } from "./csv.js";

export const MAX_IMPORT_ROWS = 5000;
export const LOWEST_FLOOR = -3;
const MAX_FLOOR_AREA = new Decimal("10000");
const MAX_TEXT = 50;
const COLUMNS = ["unit", "room", "floor", "floorArea"] as const;
const AREA_RE = /^\d{1,12}(\.\d{1,2})?$/;
const INTEGER_RE = /^[+-]?\d{1,6}$/;

/** One row as read from the file, before any check. */
export interface RawRow {
  /** 1-based row number among the data rows. */
  row: number;
  /** CSV only: the line of the file the row starts on. */
  line?: number;
  value: unknown;
  /** A structural problem found while reading (e.g. a CSV row with too many fields). */
  problem?: string;
}

export interface HouseholdRow {
  unit: string;
  room: string;
  floor: number;
  /** m², a decimal string with at most 2 places. */
  floorArea: string;
}

export type ReadResult = { ok: true; rows: RawRow[] } | { ok: false; errors: FieldError[] };
export type CheckResult = { ok: true; rows: HouseholdRow[] } | { ok: false; errors: FieldError[] };

export function readJsonRows(body: unknown): ReadResult {
  if (!Array.isArray(body)) {
    return {
      ok: false,
      errors: [{ field: "rows", message: "must be a JSON array of { unit, room, floor, floorArea }" }],
    };
  }
  return { ok: true, rows: body.map((value: unknown, i) => ({ row: i + 1, value })) };
}

/** CSV with a header row naming the columns unit, room, floor, floorArea (any order, any case). */
export function readCsvRows(text: string): ReadResult {
  let records: ReturnType<typeof parseCsv>;
  try {
    records = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvSyntaxError) {
      return { ok: false, errors: [{ field: "body", message: `line ${err.line}: ${err.message}` }] };
    }
    throw err;
  }
  const [header, ...data] = records;
  if (!header) return { ok: false, errors: [{ field: "rows", message: "must contain at least one row" }] };

  const columns: (string | undefined)[] = [];
  const errors: FieldError[] = [];
  for (const name of header.fields) {
    const column = COLUMNS.find((c) => c.toLowerCase() === name.trim().toLowerCase());
    if (!column) {
      errors.push({ field: "header", message: `line ${header.line}: unknown column "${name.trim()}"` });
    } else if (columns.includes(column)) {
      errors.push({ field: "header", message: `line ${header.line}: column "${column}" appears twice` });
    }
    columns.push(column);
  }
  for (const column of COLUMNS) {
    if (!columns.includes(column)) {
      errors.push({ field: "header", message: `line ${header.line}: the column "${column}" is missing` });
    }
  }
  if (errors.length) {
    errors.push({ field: "header", message: `expected the header row ${COLUMNS.join(",")}` });
    return { ok: false, errors };
  }

  const rows = data.map((record, i): RawRow => {
    const base = { row: i + 1, line: record.line };
    if (record.fields.length !== columns.length) {
      return {
        ...base,
        value: null,
        problem: `has ${record.fields.length} fields, expected ${columns.length}`,
      };
    }
    const value: Record<string, unknown> = {};
    record.fields.forEach((field, j) => {
      const column = columns[j];
      if (!column) return;
      const text = field.trim();
      value[column] = column === "floor" && INTEGER_RE.test(text) ? Number(text) : text;
    });
    return { ...base, value };
  });
  return { ok: true, rows };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkText(value: unknown): string | { error: string } {
  if (value === undefined || value === null) return { error: "is required" };
  if (typeof value !== "string") return { error: "must be a string" };
  // A unit or room names a household (unique in its building): refused and normalised as any name.
  const refusal = textRefusal(value, "name");
  if (refusal) return { error: refusal };
  const text = value.normalize("NFC").trim();
  if (!text) return { error: "must not be empty" };
  if (text.length > MAX_TEXT) return { error: `must be at most ${MAX_TEXT} characters` };
  return text;
}

function checkFloor(value: unknown, storeys: number): string | null {
  if (value === undefined || value === null || value === "") return "is required";
  if (typeof value !== "number" || !Number.isInteger(value)) return "must be an integer";
  if (value < LOWEST_FLOOR || value > storeys) {
    return `must be between ${LOWEST_FLOOR} and ${storeys} (the building's storeys)`;
  }
  if (value === 0) return "must not be 0 (the ground floor is 1, basements are -1 to -3)";
  return null;
}

function checkArea(value: unknown): string | null {
  if (value === undefined || value === null || value === "") return "is required";
  if (typeof value !== "string") return 'must be a decimal string such as "60.50"';
  if (!AREA_RE.test(value)) {
    return /^-\d/.test(value)
      ? "must be greater than 0"
      : 'must be a decimal number of m² with at most 2 decimal places, such as "60.50"';
  }
  const area = new Decimal(value);
  if (area.lte(0)) return "must be greater than 0";
  if (area.gt(MAX_FLOOR_AREA)) return `must be at most ${MAX_FLOOR_AREA.toString()} m²`;
  return null;
}

/** Checks every row against the building; all failing fields are reported, none is skipped. */
export function checkHouseholdRows(raw: RawRow[], storeys: number): CheckResult {
  if (raw.length === 0)
    return { ok: false, errors: [{ field: "rows", message: "must contain at least one row" }] };
  if (raw.length > MAX_IMPORT_ROWS) {
    return {
      ok: false,
      errors: [{ field: "rows", message: `has ${raw.length} rows; at most ${MAX_IMPORT_ROWS} per import` }],
    };
  }
  const errors: FieldError[] = [];
  const rows: HouseholdRow[] = [];
  const seen = new Map<string, number>();
  for (const { row, line, value, problem } of raw) {
    const where = line === undefined ? "" : ` (line ${line})`;
    const fail = (field: string | null, message: string) =>
      errors.push({ field: field ? `rows.${row}.${field}` : `rows.${row}`, message: `${message}${where}` });
    if (problem) {
      fail(null, problem);
      continue;
    }
    if (!isRecord(value)) {
      fail(null, "must be an object with unit, room, floor and floorArea");
      continue;
    }
    for (const key of Object.keys(value)) {
      if (!(COLUMNS as readonly string[]).includes(key)) fail(key, "is not a known field");
    }
    const unit = checkText(value.unit);
    const room = checkText(value.room);
    const floorError = checkFloor(value.floor, storeys);
    const areaError = checkArea(value.floorArea);
    if (typeof unit !== "string") fail("unit", unit.error);
    if (typeof room !== "string") fail("room", room.error);
    if (floorError) fail("floor", floorError);
    if (areaError) fail("floorArea", areaError);
    if (typeof unit === "string" && typeof room === "string") {
      const key = JSON.stringify([unit, room]);
      const first = seen.get(key);
      if (first !== undefined) fail("room", `duplicates row ${first} (unit ${unit}, room ${room})`);
      else seen.set(key, row);
      if (!floorError && !areaError && first === undefined) {
        rows.push({ unit, room, floor: Number(value.floor), floorArea: String(value.floorArea) });
      }
    }
  }
  return errors.length ? { ok: false, errors } : { ok: true, rows };
}
