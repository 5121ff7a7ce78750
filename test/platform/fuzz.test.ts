/**
 * No input makes a 500 (issue 17): a schema-driven fuzz of every operation of the OpenAPI document
 * the app serves, as every role.
 *
 * What it covers:
 *  - every operation of /openapi.json (the /v1 routes with the authorization matrix's valid
 *    request as a starting point, in a world in the state the matrix's row needs; the others from
 *    their schema alone);
 *  - requests built from each operation's own schema (path and query parameters, headers, JSON
 *    body, `$ref`s resolved), mixed with hostile values: NUL, unpaired surrogates, zero-width and
 *    bidi characters, NFD text, very long text, SQL and JSON metacharacters, raw percent escapes
 *    that are not UTF-8; numbers past int4 and the safe range, negative, fractional, 1e308, and
 *    numbers as text ("NaN", "Infinity"); ids in scope, random UUIDs and non-UUIDs; wrong JSON
 *    types, unknown fields, malformed JSON;
 *  - each request as one of: the five roles' keys, the sensor's key (sensor ingest), an unknown
 *    key, no key.
 * Each answer must be below 500; an error must be application/problem+json with a `code` of
 * ERROR_CODES; and a refused request (4xx) must have stored nothing: no transaction that ended
 * while it ran committed (pg_xact_status of every transaction id between the snapshot xmax before
 * and after it). That costs one small query per request, so the run stays fast, and it is stricter
 * than comparing rows: a refused request may begin a transaction, never commit one. The app's key
 * cache holds keys for the whole run and every key is used once before it, so a key's
 * last_used_at stamp (the one write authentication makes) cannot fall inside a fuzzed request.
 * The incident feed's stream is answered and let go.
 *
 * At least FUZZ_MIN_REQUESTS requests in all (FUZZ_REQUESTS lowers it for a quick local run). The
 * seed is fixed (FUZZ_SEED overrides it) and printed by fast-check with the counterexample, so a
 * failure replays; FUZZ_ONLY=<text> fuzzes only the operations whose "METHOD /path" contains it,
 * FUZZ_KEEP_GOING=1 lists every failure at the end instead of stopping at the first.
 */
import { Writable } from "node:stream";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFailedLogins } from "../../contracts/login-throttle.js";
import { type DatabaseHandle, openDatabase } from "../../db/client.js";
import { hashKey } from "../../db/keys.js";
import { createApp } from "../../src/app.js";
import { createKeyCache } from "../../src/auth/key-cache.js";
import { loadConfig } from "../../src/config.js";
import { ERROR_CODES } from "../../src/errors.js";
import { keyOf } from "../authz/calls.js";
import { buildFixture } from "../authz/fixtures.js";
import { type Call, type Fixture, type FixtureState, MATRIX, NOW, ROLES, routeKey } from "../authz/matrix.js";
import { TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.js";

const FUZZ_MIN_REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261205);

// ---- the OpenAPI document as JSON Schema --------------------------------------------------------

interface Schema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  $ref?: string;
}

interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required?: boolean;
  schema?: Schema;
}

interface Operation {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  parameters: Parameter[];
  body?: Schema;
}

let components: Record<string, Schema> = {};
const resolve = (s: Schema): Schema =>
  s.$ref ? resolve(components[s.$ref.replace("#/components/schemas/", "")] ?? {}) : s;

// ---- hostile values ----------------------------------------------------------------------------

const HOSTILE_TEXT = [
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udc00y",
  "\udbff\udfff\ud800",
  "\u200b",
  "名\u200b称",
  "\u202eevil\u202c",
  "\u2066x\u2069",
  "\ufeff",
  "e\u0301",
  "A\u030a",
  "\u0007\u001b[31m",
  "\t\r\n",
  " ",
  "",
  "'; drop table contracts; --",
  "' or '1'='1",
  '"}],"x":{"',
  "\\u0000",
  "\\",
  "%",
  "%00",
  "_%",
  "$1",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template placeholder sent as text
  "${x}",
  "../../etc/passwd",
  "😀👨‍👩‍👧",
  "null",
  "NaN",
  "Infinity",
  "-Infinity",
  "1e308",
  "-1",
  "99999999999",
  "0x7fffffff",
  "2025-02-30",
  "2025-13-01",
  "0000-01-01",
  "9999-12-31",
  "275760-09-13",
  "infinity",
  "2025-03-01T25:00:00Z",
  "00000000-0000-0000-0000-000000000000",
  "ffffffff-ffff-ffff-ffff-ffffffffffff",
  "x".repeat(5000),
  "长".repeat(100_000),
];
const HOSTILE_NUMBERS = [
  99_999_999_999,
  -99_999_999_999,
  2_147_483_648,
  2_147_483_647,
  -2_147_483_649,
  1e308,
  -1e308,
  5e-324,
  0.5,
  -0.5,
  -1,
  0,
  2 ** 60,
  1.7976931348623157e308,
];
/** What a database cannot store as text: the values that made 500s before the schemas refused them. */
const UNSTORABLE = ["\u0000", "a\u0000b", "\ud800", "x\udc00y", "\\u0000"];
const hostileText = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...UNSTORABLE) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_TEXT) },
);
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileText },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [null], { "\u0000": 1 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
);
/** Escapes sent as they are in a path or query: bytes that are no UTF-8, a lone `%`. */
const RAW_ESCAPES = ["%FF", "%ED%A0%80", "%C0%80", "%00", "%", "%zz", "%E4%B8"];
/** Bodies that are no JSON object: sent as they are. */
const RAW_BODIES = [
  "",
  "{",
  "not json",
  "null",
  "[]",
  '"text"',
  "1e308",
  '{"a":"\\ud800"}',
  '{"__proto__":{"x":1}}',
  `${"[".repeat(5000)}${"]".repeat(5000)}`,
];

// ---- arbitraries from a schema -------------------------------------------------------------------

/** A value the schema describes (roughly: bounds kept so it often passes and reaches the database). */
function fromSchema(raw: Schema, ids: string[], depth = 0): fc.Arbitrary<unknown> {
  // Built once per schema and depth: the requests are built per run, and some arbitraries
  // (fc.stringMatching) cost far more to build than to draw from.
  const known = built.get(raw)?.get(depth);
  if (known) return known;
  const arbitrary = buildFromSchema(raw, ids, depth);
  if (!built.has(raw)) built.set(raw, new Map());
  built.get(raw)?.set(depth, arbitrary);
  return arbitrary;
}
const built = new WeakMap<Schema, Map<number, fc.Arbitrary<unknown>>>();

function buildFromSchema(raw: Schema, ids: string[], depth: number): fc.Arbitrary<unknown> {
  const s = resolve(raw);
  const options = s.anyOf ?? s.oneOf;
  if (options) return fc.oneof(...options.map((o) => fromSchema(o, ids, depth)));
  if (s.allOf) return fromSchema(s.allOf[0] ?? {}, ids, depth);
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : ["string"];
  return fc.oneof(...types.map((type) => ofType(type, s, ids, depth)));
}

function ofType(type: string, s: Schema, ids: string[], depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer": {
      const min = Math.max(s.minimum ?? -1e6, Number.MIN_SAFE_INTEGER);
      const max = Math.min(s.maximum ?? 1e6, Number.MAX_SAFE_INTEGER);
      return fc.integer({ min: Math.ceil(min), max: Math.max(Math.ceil(min), Math.floor(max)) });
    }
    case "number":
      return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true });
    case "array":
      return depth > 3
        ? fc.constant([])
        : fc.array(fromSchema(s.items ?? {}, ids, depth + 1), {
            minLength: Math.min(s.minItems ?? 0, 3),
            maxLength: Math.min(s.maxItems ?? 3, 3),
          });
    case "object": {
      if (depth > 3) return fc.constant({});
      const props = Object.entries(s.properties ?? {});
      if (props.length === 0)
        return fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 });
      return fc.record(Object.fromEntries(props.map(([k, v]) => [k, fromSchema(v, ids, depth + 1)])), {
        requiredKeys: (s.required ?? []).filter((k) => s.properties?.[k]),
      });
    }
    default:
      return stringOf(s, ids);
  }
}

function stringOf(s: Schema, ids: string[]): fc.Arbitrary<unknown> {
  switch (s.format) {
    case "uuid":
      return ids.length > 0 ? fc.oneof(fc.constantFrom(...ids), fc.uuid()) : fc.uuid();
    case "date":
      return fc
        .date({ min: new Date("2020-01-01"), max: new Date("2030-12-31"), noInvalidDate: true })
        .map((d) => d.toISOString().slice(0, 10));
    case "date-time":
      return fc
        .date({ min: new Date("2020-01-01"), max: new Date("2030-12-31"), noInvalidDate: true })
        .map((d) => d.toISOString());
  }
  if (s.pattern) {
    try {
      return fc.stringMatching(new RegExp(s.pattern), { size: "xsmall" });
    } catch {
      // A pattern fast-check cannot walk: plain text below.
    }
  }
  return fc.string({
    minLength: s.minLength ?? 0,
    maxLength: Math.min(s.maxLength ?? 40, 40),
    unit: "grapheme",
  });
}

const OMIT = Symbol("omit");

/**
 * A variant of a valid value: mostly kept, else replaced by one from the schema or a hostile one;
 * objects and lists varied field by field (a field may go missing, an unknown one may come).
 */
function variant(valid: unknown, raw: Schema | undefined, ids: string[], depth = 0): fc.Arbitrary<unknown> {
  const s = raw ? resolve(raw) : {};
  const fromIt = raw ? fromSchema(raw, ids, depth) : hostile;
  if (valid === undefined)
    return fc.oneof({ weight: 2, arbitrary: fromIt }, { weight: 1, arbitrary: hostile });
  let kept: fc.Arbitrary<unknown> = fc.constant(valid);
  if (depth < 4 && valid !== null && typeof valid === "object" && !Array.isArray(valid)) {
    const obj = valid as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(obj), ...Object.keys(s.properties ?? {})])];
    kept = fc
      .tuple(
        fc.record(
          Object.fromEntries(
            keys.map((k) => [
              k,
              fc.oneof(
                { weight: 8, arbitrary: variant(obj[k], s.properties?.[k], ids, depth + 1) },
                { weight: 1, arbitrary: fc.constant(OMIT) },
              ),
            ]),
          ),
        ),
        fc.option(fc.tuple(fc.oneof(hostileText, fc.string({ maxLength: 6 })), hostile), { freq: 10 }),
      )
      .map(([fields, extra]) => {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(fields)) if (v !== OMIT) out[k] = v;
        if (extra) out[extra[0]] = extra[1];
        return out;
      });
  } else if (depth < 4 && Array.isArray(valid) && valid.length > 0) {
    kept = fc.array(variant(valid[0], s.items, ids, depth + 1), {
      minLength: 0,
      maxLength: valid.length + 1,
    });
  }
  return fc.oneof(
    { weight: 10, arbitrary: kept },
    { weight: 2, arbitrary: fromIt },
    { weight: 2, arbitrary: hostile },
  );
}

/** Every path to a value inside `valid` (object fields and list items). */
function pathsOf(valid: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (valid === null || typeof valid !== "object") return [prefix];
  const entries = Array.isArray(valid) ? valid.map((v, i) => [i, v] as const) : Object.entries(valid);
  return [prefix, ...entries.flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
}

/** The valid value with exactly one value inside it made hostile: the rest passes, so it reaches the handler. */
function oneHostile(valid: unknown): fc.Arbitrary<unknown> {
  const paths = pathsOf(valid).filter((path) => path.length > 0);
  if (paths.length === 0) return hostile;
  return fc.tuple(fc.constantFrom(...paths), hostile).map(([path, value]) => {
    const copy = structuredClone(valid) as Record<string | number, unknown>;
    let at = copy;
    for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
    const last = path[path.length - 1];
    if (last !== undefined) at[last] = value;
    return copy;
  });
}

// ---- requests ------------------------------------------------------------------------------------

interface Request {
  caller: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body?: string;
}

/** Text as a path or query component; unpaired surrogates as the bytes a CESU encoder would send. */
function encode(value: unknown): string {
  if (typeof value === "object" && value !== null && "raw" in value) return String(value.raw);
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "");
  return [...text]
    .map((ch) => {
      try {
        return encodeURIComponent(ch);
      } catch {
        return "%ED%A0%80";
      }
    })
    .join("");
}

const rawEscape = fc.constantFrom(...RAW_ESCAPES).map((raw) => ({ raw }));
/** Header values a client can send: printable Latin-1 (a header can carry no NUL or line break). */
const headerText = fc.oneof(
  fc.string({
    unit: fc
      .integer({ min: 0x20, max: 0xff })
      .filter((c) => c !== 0x7f)
      .map((c) => String.fromCharCode(c)),
    maxLength: 80,
  }),
  fc.constantFrom("x".repeat(10_000), "'; drop table x; --", '"', 'W/"1"', "*"),
);

function requestArb(op: Operation, valid: Call | undefined, callers: fc.Arbitrary<string>, ids: string[]) {
  const params = valid?.params ?? {};
  const pathParams = op.parameters.filter((p) => p.in === "path");
  const queryParams = op.parameters.filter((p) => p.in === "query");
  const headerParams = op.parameters.filter((p) => p.in === "header");
  const pathArb = fc.record(
    Object.fromEntries(
      pathParams.map((p) => [
        p.name,
        fc.oneof(
          { weight: 6, arbitrary: variant(params[p.name], p.schema, ids) },
          { weight: 1, arbitrary: fc.uuid() },
          { weight: 1, arbitrary: rawEscape },
        ),
      ]),
    ),
  );
  const queryArb = fc.tuple(
    fc.record(
      Object.fromEntries(
        queryParams.map((p) => [
          p.name,
          fc.oneof(
            { weight: 3, arbitrary: fc.constant(OMIT) },
            { weight: 4, arbitrary: variant(valid?.query?.[p.name], p.schema, ids) },
            { weight: 1, arbitrary: rawEscape },
          ),
        ]),
      ),
    ),
    fc.option(
      fc.tuple(
        fc.constantFrom("unknown", "limit", "q", "offset", ...queryParams.map((p) => p.name)),
        hostile,
      ),
      { freq: 8 },
    ),
  );
  const headerArb = fc.record(
    Object.fromEntries(
      headerParams.map((p) => {
        const given = valid?.headers?.[p.name] ?? valid?.headers?.[p.name.toLowerCase()];
        return [
          p.name,
          fc.oneof(
            { weight: 4, arbitrary: given === undefined ? fc.constant(OMIT) : fc.constant(given) },
            { weight: 1, arbitrary: fc.constant(OMIT) },
            { weight: 1, arbitrary: headerText },
          ),
        ];
      }),
    ),
  );
  const bodyArb: fc.Arbitrary<string | undefined> = op.body
    ? fc.oneof(
        {
          weight: 10,
          arbitrary: variant(valid?.body ?? {}, op.body, ids).map((b) => JSON.stringify(b) ?? "null"),
        },
        { weight: 10, arbitrary: oneHostile(valid?.body ?? {}).map((b) => JSON.stringify(b) ?? "null") },
        { weight: 3, arbitrary: fromSchema(op.body, ids).map((b) => JSON.stringify(b) ?? "null") },
        { weight: 1, arbitrary: fc.constantFrom(...RAW_BODIES) },
      )
    : op.method === "GET" || op.method === "DELETE"
      ? fc.constant(undefined)
      : fc.oneof(fc.constant(undefined), fc.constant("{}"), fc.constantFrom(...RAW_BODIES));
  return fc
    .record({ caller: callers, path: pathArb, query: queryArb, headers: headerArb, body: bodyArb })
    .map(({ caller, path, query: [fields, extra], headers, body }): Request => {
      const filled = op.path.replace(/\{(\w+)\}/g, (_, name: string) => encode(path[name]));
      const pairs = Object.entries(fields)
        .filter(([, v]) => v !== OMIT)
        .map(([k, v]) => `${k}=${encode(v)}`);
      if (extra) pairs.push(`${extra[0]}=${encode(extra[1])}`);
      const sentHeaders = Object.fromEntries(
        Object.entries(headers).filter((e): e is [string, string] => e[1] !== OMIT),
      );
      return { caller, path: filled, query: pairs.join("&"), headers: sentHeaders, body };
    });
}

// ---- the run -------------------------------------------------------------------------------------

let database: DatabaseHandle;
/**
 * On PostgreSQL, a server of this file's own: "stored nothing" is judged by transaction ids, which
 * belong to the whole server, so another test file committing beside it (the suite runs two at
 * once) would look like a refused request that stored something.
 */
let privateServer: PrivatePostgres | undefined;
let app: TestApp;
let operations: Operation[] = [];
const fixtures = new Map<FixtureState, Fixture>();
/** Every id of every fixture: in scope for some caller, out of it for the others. */
let idPool: string[] = [];
let sent = 0;
const logLines: string[] = [];
/** FUZZ_KEEP_GOING=1: list every failure at the end instead of stopping at the first. */
const keepGoing = process.env.FUZZ_KEEP_GOING === "1";
const failures = new Map<string, string>();

/** The snapshot's xmax after the last request (nothing runs between two requests). */
let lastXmax: bigint | undefined;

async function rowsOf<T>(query: ReturnType<typeof sql>): Promise<T[]> {
  const result = (await database.db.execute(query)) as unknown as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}

/** One past the highest transaction id that has ended (committed or rolled back). */
async function xmaxNow(): Promise<bigint> {
  const [row] = await rowsOf<{ x: string }>(sql`select pg_snapshot_xmax(pg_current_snapshot())::text as x`);
  return BigInt(row?.x ?? 0);
}

/** The tables holding rows written by transactions with an id in [from, to), for a failure message. */
async function tablesWrittenBetween(from: bigint, to: bigint): Promise<string> {
  const tables = await rowsOf<{ name: string }>(
    sql`select c.relname as name from pg_class c join pg_namespace ns on ns.oid = c.relnamespace
        where ns.nspname = 'public' and c.relkind = 'r'`,
  );
  const written: string[] = [];
  for (const { name } of tables) {
    const [row] = await rowsOf<{ n: number }>(
      sql.raw(
        `select count(*)::int as n from "${name}" where xmin::text::bigint >= ${from} and xmin::text::bigint < ${to}`,
      ),
    );
    if (row && row.n > 0) written.push(`${name}: ${row.n} rows`);
  }
  return written.join(", ") || "rows since deleted";
}

/** How many transactions with an id in [from, to) committed. */
async function committedBetween(from: bigint, to: bigint): Promise<number> {
  const [row] = await rowsOf<{ n: number }>(
    sql`select count(*)::int as n from generate_series(${String(from)}::bigint, ${String(to)}::bigint - 1) as g
        where pg_xact_status(g::text::xid8) = 'committed'`,
  );
  return row?.n ?? 0;
}

beforeAll(async () => {
  if (loadConfig(process.env).DATABASE_URL) {
    privateServer = await startPrivatePostgres();
    database = await openDatabase({ url: privateServer.url, max: 4 });
    await database.migrate();
  } else {
    database = await openTestDatabase();
  }
  // The server's warnings and errors, to quote the one of a failing request.
  const logs = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      if (logLines.length > 200) logLines.splice(0, logLines.length - 100);
      done();
    },
  });
  app = createApp({
    db: database.db,
    logger: pino({ level: "warn" }, logs),
    clock: () => NOW,
    adminTokenHash: hashKey(TEST_ADMIN_TOKEN),
    readDocsAsset: async () => null,
    // Keys stay cached for the whole run: a refreshed key's last_used_at is the one write a
    // refused request may make, and it would blur the check that it stored nothing.
    keyCache: createKeyCache({ ttlMs: 3_600_000 }),
    // Refused keys are counted as in production, but wait at most a millisecond: the fuzz sends
    // hundreds of wrong sensor keys, and the waits are tested in test/platform/failed-keys.test.ts.
    failedLogins: createFailedLogins({ baseDelayMs: 1, maxDelayMs: 1 }),
  });
  const doc = (await (await app.request("/openapi.json")).json()) as {
    paths: Record<
      string,
      Record<
        string,
        { parameters?: Parameter[]; requestBody?: { content?: Record<string, { schema: Schema }> } }
      >
    >;
    components: { schemas: Record<string, Schema> };
  };
  components = doc.components.schemas;
  operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase() as Operation["method"],
      path,
      parameters: op.parameters ?? [],
      body: op.requestBody?.content?.["application/json"]?.schema,
    })),
  );
  for (const state of new Set(MATRIX.map((r) => r.needs))) {
    fixtures.set(state, await buildFixture(database.db, app, state));
  }
  // Every key used once, so its last_used_at is stamped now and not by the first fuzzed request
  // (the long-lived key cache then never stamps it again).
  for (const fx of fixtures.values()) {
    for (const role of ROLES)
      await app.request("/v1/districts", { headers: { authorization: `Bearer ${keyOf(fx, role)}` } });
    if (fx.sensor)
      await app.request(`/v1/sensors/${fx.sensor.id}/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${fx.sensor.key}`, "content-type": "application/json" },
        body: "[]",
      });
  }
  for (let stable = 0, last = await xmaxNow(); stable < 3; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = await xmaxNow();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  idPool = [...fixtures.values()].flatMap((fx) =>
    [
      fx.world.street.id,
      fx.world.community.id,
      fx.world.building.id,
      fx.world.elevator.id,
      fx.world.enterprise.org.id,
      fx.world.ownersCommittee.org.id,
      fx.contractId,
      fx.garageId,
      fx.sensor?.id,
      fx.sensor?.incidentId,
      fx.ledger?.invoiceId,
      fx.ledger?.householdId,
      fx.ledger?.subscriptionId,
      fx.ledger?.creditNoteId,
      fx.ledger?.submittedReportId,
      fx.ledger?.paymentId,
      fx.ledger?.refundId,
      fx.ledger?.billingRunId,
      fx.contractItems?.commentId,
      fx.contractItems?.voteId,
      fx.contractItems?.disbursementId,
      fx.invitationId,
      fx.spareKeyId,
    ].filter((id): id is string => typeof id === "string"),
  );
}, 120_000);
afterAll(async () => {
  await database?.close();
  await privateServer?.destroy();
});

async function send(op: Operation, fx: Fixture | undefined, req: Request) {
  const key =
    req.caller === "none"
      ? undefined
      : req.caller === "unknown"
        ? "bot_unknown_0123456789abcdef0123456789abcdef"
        : req.caller === "sensor"
          ? fx?.sensor?.key
          : fx
            ? keyOf(fx, req.caller as (typeof ROLES)[number])
            : undefined;
  const url = req.query ? `${req.path}?${req.query}` : req.path;
  const res = await app.request(url, {
    method: op.method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(req.body !== undefined ? { "content-type": "application/json" } : {}),
      ...req.headers,
    },
    ...(req.body !== undefined ? { body: req.body } : {}),
  });
  sent++;
  return res;
}

function told(op: Operation, req: Request, status: number, text: string): string {
  const requestId = text.match(/"requestId":"([^"]+)"/)?.[1];
  const logged = requestId ? logLines.filter((line) => line.includes(requestId)).join("") : "";
  return `${op.method} ${req.path}${req.query ? `?${req.query.slice(0, 300)}` : ""} as ${req.caller} with ${
    req.body === undefined ? "no body" : req.body.slice(0, 300)
  } → ${status} ${text.slice(0, 400)}${logged ? `\nlogged: ${logged.slice(0, 1500)}` : ""}`;
}

describe("no input makes a 500", () => {
  it("finds every operation of the OpenAPI document", () => {
    expect(operations.length).toBeGreaterThan(50);
  });

  // Filled in beforeAll; vitest collects the tests before, so one test walks them all.
  it(`answers ${FUZZ_MIN_REQUESTS}+ hostile requests over every operation and role below 500, as problem+json, storing nothing when refused (seed ${SEED})`, async () => {
    const runs = Math.ceil(FUZZ_MIN_REQUESTS / operations.length);
    for (const op of operations.filter((o) => routeKey(o).includes(process.env.FUZZ_ONLY ?? ""))) {
      const row = MATRIX.find((r) => routeKey(r) === routeKey(op));
      const fx = row ? fixtures.get(row.needs) : undefined;
      const callers = fc.constantFrom<string>(
        ...(row ? ROLES : []),
        "none",
        "unknown",
        ...(row?.auth === "sensor" ? ["sensor", "sensor", "sensor"] : []),
      );
      // The matrix's valid request is built per run (the names it invents are fresh each time).
      const arb = fc
        .constant(null)
        .chain(() => requestArb(op, row && fx ? row.request(fx) : undefined, callers, idPool));
      await fc.assert(
        fc.asyncProperty(arb, async (req) => {
          try {
            await check(op, fx, req);
          } catch (err) {
            if (!keepGoing) throw err;
            const key = `${routeKey(op)} ${(err as Error).message.slice(0, 60)}`;
            if (!failures.has(key)) failures.set(key, (err as Error).message);
          }
        }),
        { numRuns: runs, seed: SEED, endOnFailure: true },
      );
    }
    expect([...failures.values()]).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(FUZZ_MIN_REQUESTS);
  }, 600_000);
});

async function check(op: Operation, fx: Fixture | undefined, req: Request) {
  const before = lastXmax ?? (await xmaxNow());
  const res = await send(op, fx, req);
  // The incident feed's stream (`?follow=true`) would never end: its status and headers are what
  // the request decided; its body is let go.
  const streaming = res.headers.get("content-type")?.startsWith("text/event-stream");
  if (streaming) await res.body?.cancel();
  const text = streaming ? "" : await res.text();
  const after = await xmaxNow();
  lastXmax = after;
  const why = told(op, req, res.status, text);
  expect(res.status, why).toBeLessThan(500);
  if (res.status >= 400) {
    expect(res.headers.get("content-type"), why).toBe("application/problem+json");
    const code = (JSON.parse(text) as { code?: string }).code ?? "";
    expect(Object.keys(ERROR_CODES), why).toContain(code);
    // Stored nothing: every transaction the request began was rolled back.
    if (after !== before && (await committedBetween(before, after)) > 0) {
      expect.fail(
        `a refused request stored something (${await tablesWrittenBetween(before, after)}): ${why}`,
      );
    }
  }
}
