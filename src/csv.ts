/**
 * CSV export of the lists people put in spreadsheets (docs/api.md, "CSV export"): a route answers
 * `text/csv` when the request's Accept prefers it to JSON. One format for every export: UTF-8 with
 * a byte order mark (so Excel opens Chinese text as UTF-8), CRLF line ends, RFC 4180 quoting, a
 * header row of the JSON fields' names, times as Asia/Shanghai wall-clock time with +08:00, and
 * cells that a spreadsheet would run as a formula defused with a leading `'` (OWASP).
 *
 * The body is a web ReadableStream (Node and Workers alike) that reads the next batch of rows
 * from the database only when the client has taken the last one, so an export of a year of
 * incidents never sits in memory.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { parseAccept } from "hono/utils/accept";
import { shanghaiDateTime } from "../contracts/dates.js";
import { type AppEnv, holdRequestUntil } from "./context.js";
import { ApiError } from "./errors.js";
import { type PageQuery, ProblemSchema } from "./openapi.js";

export const CSV_MEDIA_TYPE = "text/csv";
const JSON_MEDIA_TYPE = "application/json";
const BOM = "\uFEFF";
const CRLF = "\r\n";

// ---- cells and lines ----------------------------------------------------------------------------

/** What a JSON presenter puts in a scalar field. */
export type CsvValue = string | number | boolean | null | undefined;

/**
 * The first characters with which a spreadsheet takes a cell for a formula (or, tab and CR, a
 * cell it may shift): `=HYPERLINK(…)` in a comment must stay text.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One cell: empty for null, a formula-like text defused with a leading `'`, quoted (RFC 4180)
 * when it holds a comma, a quote, CR or LF, with its quotes doubled. Numbers and booleans are
 * written as JSON writes them; a negative number stays a number.
 */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  if (typeof value !== "string") return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record: its cells, comma-separated, and CRLF. */
export function csvLine(values: readonly CsvValue[]): string {
  return `${values.map(csvCell).join(",")}${CRLF}`;
}

// ---- columns from the JSON schema ---------------------------------------------------------------

/** How the rows of one export are written: the header and one line per row (a JSON item). */
export interface CsvFormat<T> {
  /** The column names: the JSON fields', in the schema's order. */
  readonly columns: readonly string[];
  readonly header: string;
  line(row: T): string;
}

type Def = { type: string; format?: string; innerType?: z.ZodType };

/** The field's own schema under nullable/optional/default. */
function unwrap(schema: z.ZodType): Def {
  let def = schema._zod.def as unknown as Def;
  while (def.innerType && ["nullable", "optional", "default", "readonly"].includes(def.type)) {
    def = def.innerType._zod.def as unknown as Def;
  }
  return def;
}

/**
 * The CSV of a list whose items `schema` describes: one column per scalar field, named and ordered
 * as in the JSON; a list or object field (an incident's releases) has no column (read it from the
 * JSON). A `date-time` field is written as Asia/Shanghai time with +08:00, so a spreadsheet shows
 * local time; every other value as the JSON has it (money as a decimal string to the fen).
 * Derived from the schema, so a field added to the JSON is a column of the CSV too.
 */
export function csvFormat<S extends z.ZodObject>(schema: S): CsvFormat<z.input<S>> {
  const fields = Object.entries(schema.shape as Record<string, z.ZodType>).flatMap(([name, field]) => {
    const def = unwrap(field);
    if (def.type === "array" || def.type === "object" || def.type === "record") return [];
    return [{ name, time: def.type === "string" && def.format === "datetime" }];
  });
  const columns = fields.map((f) => f.name);
  return {
    columns,
    header: csvLine(columns),
    line: (row) => {
      const item = row as Record<string, CsvValue>;
      return csvLine(
        fields.map(({ name, time }) => {
          const value = item[name];
          return time && typeof value === "string" ? shanghaiDateTime(new Date(value)) : value;
        }),
      );
    },
  };
}

// ---- the OpenAPI document -----------------------------------------------------------------------

/**
 * A 200 response that is JSON, or CSV when asked for: `json` is the route's JSON response
 * (`jsonResponse(…)`), `format` the CSV's columns, `rows` what a CSV row is.
 */
export function withCsv<R extends { description: string; content: Record<string, unknown> }, T>(
  json: R,
  format: CsvFormat<T>,
  rows: string,
) {
  const description = `CSV (Accept: text/csv; docs/api.md, "CSV export"): ${rows}; a header row, then one line per row, UTF-8 with a byte order mark, CRLF line ends. Columns: ${format.columns.join(", ")}.`;
  return {
    ...json,
    description: `${json.description}; or, with Accept: text/csv, the same rows as CSV`,
    content: {
      ...json.content,
      [CSV_MEDIA_TYPE]: {
        schema: z.string().openapi({ description, example: `${BOM}${format.header}` }),
      },
    },
  } as const;
}

/** The answer to an Accept that takes neither JSON nor CSV. */
export const notAcceptableResponse = {
  406: {
    description: "Code `not_acceptable`: the Accept header allows neither application/json nor text/csv",
    content: { "application/problem+json": { schema: ProblemSchema } },
  },
} as const;

// ---- content negotiation ------------------------------------------------------------------------

/**
 * How much the Accept header wants `media` (RFC 9110 §12.5.1): the q of the most specific range
 * that matches it (`text/csv` before `text/*` before `*\/*`); 0 when none does.
 */
function quality(accepted: ReturnType<typeof parseAccept>, media: string): number {
  const [main] = media.split("/");
  let best = { specificity: 0, q: 0 };
  for (const range of accepted) {
    const type = range.type.toLowerCase();
    const specificity = type === media ? 3 : type === `${main}/*` ? 2 : type === "*/*" ? 1 : 0;
    if (specificity > best.specificity) best = { specificity, q: range.q };
  }
  return best.q;
}

/**
 * Whether this request of a route that exports CSV asks for CSV: true when Accept prefers
 * text/csv to application/json (a tie, no Accept, or `*\/*` is JSON). An Accept that allows
 * neither is a 406. Routes branch on it first: `if (wantsCsv(c)) return …`.
 */
export function wantsCsv(c: Context<AppEnv>): boolean {
  c.header("Vary", "Accept", { append: true });
  const header = c.req.header("accept")?.trim();
  if (!header) return false;
  const accepted = parseAccept(header);
  const json = quality(accepted, JSON_MEDIA_TYPE);
  const csv = quality(accepted, CSV_MEDIA_TYPE);
  if (json <= 0 && csv <= 0) {
    throw new ApiError(
      406,
      "not_acceptable",
      "Not acceptable",
      "This route answers application/json or text/csv; the Accept header allows neither.",
    );
  }
  return csv > json;
}

/**
 * The page a CSV export was asked for: `limit`/`offset` when the request names either (the CSV
 * then holds the rows of that one JSON page), else undefined: every row, every page.
 */
export function csvWindow(c: Context<AppEnv>, q: PageQuery): PageQuery | undefined {
  const given = c.req.query("limit") !== undefined || c.req.query("offset") !== undefined;
  return given ? { limit: q.limit, offset: q.offset } : undefined;
}

// ---- the streamed answer ------------------------------------------------------------------------

/** A file name for Content-Disposition: ASCII letters, digits, `.`, `-` and `_` only. */
function safeFilename(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_");
}

/**
 * The 200 `text/csv` answer: BOM, header, then each batch of `rows` (read one after another as
 * the client takes them) presented by `present` (the route's JSON presenter) and written by
 * `format`. The first batch is read before answering, so a refusal (404, 403) or an unavailable
 * database is still a problem+json; a failure after it ends the body unfinished (no CSV a client
 * could take for complete) and is logged.
 */
export async function csvResponse<R, T>(
  c: Context<AppEnv>,
  opts: {
    filename: string;
    format: CsvFormat<T>;
    rows: AsyncIterable<readonly R[]>;
    present: (row: R) => T;
  },
): Promise<Response> {
  const { format, present } = opts;
  const batches = opts.rows[Symbol.asyncIterator]();
  const first = await batches.next();
  const encoder = new TextEncoder();
  const lines = (rows: readonly R[]) => encoder.encode(rows.map((r) => format.line(present(r))).join(""));
  // The body outlives this handler: so must the request's database client (Workers).
  let ended = () => {};
  holdRequestUntil(c, new Promise<void>((resolve) => (ended = resolve)));
  const logger = c.var.logger;

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`${BOM}${format.header}`));
      if (first.done) {
        controller.close();
        ended();
      } else controller.enqueue(lines(first.value));
    },
    async pull(controller) {
      try {
        const next = await batches.next();
        if (next.done) {
          controller.close();
          ended();
        } else controller.enqueue(lines(next.value));
      } catch (err) {
        logger.error({ err }, "CSV export failed after its first rows were sent");
        controller.error(err);
        ended();
      }
    },
    async cancel() {
      ended();
      await batches.return?.();
    },
  });
  return c.body(body, 200, {
    "Content-Type": `${CSV_MEDIA_TYPE}; charset=utf-8; header=present`,
    "Content-Disposition": `attachment; filename="${safeFilename(opts.filename)}"`,
  });
}
