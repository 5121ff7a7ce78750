/**
 * The API's own wording of validation failures: one plain sentence per zod issue saying what is
 * wrong and what is accepted ("must be a whole number from 1 to 200", "is required"), written to
 * follow the field's name (`body.floor must be …`).
 *
 * How a schema's own message is kept: `plainMessage` is given to zod as an error map, never
 * applied to finished issues. The API installs it as zod's global `customError`
 * (src/openapi.ts: the route validators take no per-parse options); the sensor protocol and the
 * configuration pass it to their own parse (`{ error: plainMessage }`), so their wording does not
 * depend on which modules a process loaded. zod 4 asks for an issue's message in a fixed order
 * and takes the first it gets: a message given when the issue is raised
 * (`ctx.addIssue({ message })`), then the `error`/`message` param of the check or schema that
 * raised it (`.regex(re, "…")`, `z.uuid({ message })`, `.refine(fn, "…")`), then the parse
 * call's map, then `customError`, and only then its English locale. So a message a schema gives
 * always wins, and this map replaces the locale's defaults ("Invalid input: expected string,
 * received number") and nothing else; no comparing with zod's wording is needed.
 *
 * Here, not in src/, because the sensor ingest (iot/) words its rejections the same way; it is a
 * pure function of an issue (zod is imported for its types only).
 */
import type { z } from "zod";

type RawIssue = z.core.$ZodRawIssue;
type CheckDef = z.core.$ZodChecks["_zod"]["def"];

/** zod's error map: a sentence for every kind of issue (the fallback says only "is not valid"). */
export const plainMessage = (issue: RawIssue): string => {
  switch (issue.code) {
    case "invalid_type":
      return invalidType(issue.expected, issue.input, issue.schema);
    case "too_small":
    case "too_big":
      return outOfRange(issue);
    case "invalid_format":
      return invalidFormat(issue);
    case "not_multiple_of":
      return notMultipleOf(Number(issue.divisor));
    case "invalid_value":
      // One accepted value (a literal) is quoted; a list of them reads better bare.
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0]) ?? String(issue.values[0])}`
        : `must be one of: ${issue.values.map(String).join(", ")}`;
    case "unrecognized_keys":
      return issue.keys.length === 1
        ? `has a field that is not known: ${issue.keys[0]}`
        : `has fields that are not known: ${issue.keys.join(", ")}`;
    case "invalid_union":
      return invalidUnion(issue);
    case "invalid_key":
      return withFirst("is not an accepted key", issue.issues);
    case "invalid_element":
      return withFirst("has an item that is not accepted", issue.issues);
    default:
      // `custom`: a refinement that gave no message of its own.
      return "is not valid";
  }
};

/**
 * A schema's own message for a value that is there but wrong, as its `error` param
 * (`z.uuid({ error: whenGiven("must be a UUID") })`): a `message` param would answer a missing
 * field with it too, where `plainMessage` says "is required".
 */
export const whenGiven =
  (message: string) =>
  (issue: { input?: unknown }): string | undefined =>
    issue.input === undefined ? undefined : message;

// ---- text ------------------------------------------------------------------------------------

/**
 * Why a text is refused, or undefined when it is accepted. Every text: no NUL (PostgreSQL stores
 * none) and no unpaired surrogate (not Unicode; it cannot be written as UTF-8). A name also
 * refuses control characters (Unicode Cc) and invisible format characters (Cf: zero-width
 * characters, direction marks and overrides), which would let a look-alike of a registered name
 * past its uniqueness check or show a name other than the one stored.
 */
export function textRefusal(text: string, kind: "text" | "name"): string | undefined {
  if (text.includes("\u0000")) return "must not contain NUL characters";
  if (UNPAIRED_SURROGATE.test(text)) return "must be valid Unicode: it contains an unpaired surrogate";
  if (kind === "text") return undefined;
  if (CONTROL.test(text)) return "must not contain control characters";
  if (INVISIBLE.test(text)) return "must not contain invisible characters (zero-width or direction marks)";
  return undefined;
}

// With the `u` flag a surrogate only matches where it is not half of a pair.
const UNPAIRED_SURROGATE = /\p{Cs}/u;
const CONTROL = /\p{Cc}/u;
const INVISIBLE = /\p{Cf}/u;

// ---- types -----------------------------------------------------------------------------------

function invalidType(expected: string, input: unknown, schema: z.core.$ZodType | undefined): string {
  if (expected === "nonoptional") return "is required";
  if (expected === "never") return "is not allowed";
  if (expected === "undefined" || expected === "void") return "must not be given";
  if (input === undefined) return "is required";
  const wanted = expectedKind(expected, schema);
  // A number that is not whole (1.5 for an int), a query value that is not a number at all
  // (`?limit=abc`, NaN once coerced) or an invalid Date: saying what was sent adds nothing.
  if (typeof input === "number" && (expected === "int" || Number.isNaN(input))) return `must be ${wanted}`;
  if (input instanceof Date && Number.isNaN(input.getTime())) return `must be ${wanted}`;
  return `must be ${wanted}, not ${receivedKind(input)}`;
}

const EXPECTED: Record<string, string> = {
  string: "text",
  boolean: "true or false",
  bigint: "a whole number",
  symbol: "a symbol",
  null: "null",
  date: "a date",
  array: "a list",
  tuple: "a list",
  object: "an object",
  record: "an object",
  map: "a map",
  set: "a set",
  file: "a file",
  function: "a function",
  nan: "NaN",
};

function expectedKind(expected: string, schema?: z.core.$ZodType): string {
  if (expected === "number" || expected === "int") {
    const bounds = boundsOf(schema);
    if (expected === "int") bounds.whole = true;
    return numberPhrase(bounds);
  }
  return EXPECTED[expected] ?? `a ${expected}`;
}

function receivedKind(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "a list";
  if (input instanceof Date) return "a date";
  switch (typeof input) {
    case "string":
      return "text";
    case "number":
      return "a number";
    case "boolean":
      return "true/false";
    case "bigint":
      return "a big integer";
    case "object":
      return "an object";
    default:
      return typeof input;
  }
}

// ---- ranges ----------------------------------------------------------------------------------

interface Bound {
  value: number;
  inclusive: boolean;
}

/** What a schema's checks accept: both ends are named, not only the one that failed. */
interface Bounds {
  min?: Bound;
  max?: Bound;
  exact?: number;
  whole: boolean;
}

/**
 * The bounds a number, string or array schema declares, read from its checks (a format schema
 * such as `z.int()` is its own first check). An issue only carries the bound it broke; the
 * sentence names the whole accepted range.
 */
function boundsOf(schema: z.core.$ZodType | undefined): Bounds {
  const bounds: Bounds = { whole: false };
  if (!schema) return bounds;
  const defs = [schema._zod.def, ...(schema._zod.def.checks ?? []).map((check) => check._zod.def)];
  for (const def of defs as CheckDef[]) {
    switch (def.check) {
      case "greater_than":
        bounds.min = tighter(bounds.min, { value: Number(def.value), inclusive: def.inclusive }, 1);
        break;
      case "less_than":
        bounds.max = tighter(bounds.max, { value: Number(def.value), inclusive: def.inclusive }, -1);
        break;
      case "min_length":
      case "min_size":
        bounds.min = tighter(bounds.min, { value: def.minimum, inclusive: true }, 1);
        break;
      case "max_length":
      case "max_size":
        bounds.max = tighter(bounds.max, { value: def.maximum, inclusive: true }, -1);
        break;
      case "length_equals":
        bounds.exact = def.length;
        break;
      case "size_equals":
        bounds.exact = def.size;
        break;
      case "number_format":
      case "bigint_format":
        if (def.format.includes("int")) bounds.whole = true;
        break;
      case "multiple_of":
        if (Number(def.value) === 1) bounds.whole = true;
        break;
    }
  }
  return bounds;
}

/** The stricter of two bounds on the same side (`direction` 1 for a minimum, -1 for a maximum). */
function tighter(current: Bound | undefined, next: Bound, direction: 1 | -1): Bound {
  if (!current) return next;
  const diff = (next.value - current.value) * direction;
  return diff > 0 || (diff === 0 && !next.inclusive) ? next : current;
}

type RangeIssue = Extract<RawIssue, { code: "too_small" | "too_big" }>;

function outOfRange(issue: RangeIssue): string {
  const bounds = boundsOf(issue.schema);
  // The broken bound as the issue states it counts too (a format's own range, `z.int()`'s safe
  // integers, is not among the checks); of it and the checks', the tighter is the one named, so a
  // value past both (`99999999999` for an int4 column) reads the same for both issues.
  const broken: Bound = {
    value: Number(issue.code === "too_small" ? issue.minimum : issue.maximum),
    inclusive: issue.inclusive ?? true,
  };
  if (issue.exact) bounds.exact = broken.value;
  else if (issue.code === "too_small") bounds.min = tighter(bounds.min, broken, 1);
  else bounds.max = tighter(bounds.max, broken, -1);

  switch (issue.origin) {
    case "number":
    case "int":
    case "bigint":
      if (issue.origin !== "number") bounds.whole = true;
      return `must be ${numberPhrase(bounds)}`;
    case "string":
      if (issue.code === "too_small" && !issue.exact && broken.value === 1) return "must not be empty";
      return lengthPhrase(bounds, "character");
    case "array":
    case "set":
      if (issue.code === "too_small" && !issue.exact && broken.value === 1)
        return "must have at least one item";
      return lengthPhrase(bounds, "item");
    case "file":
      return lengthPhrase(bounds, "byte");
    case "date":
      return issue.code === "too_small"
        ? `must be ${broken.inclusive ? "on or after" : "after"} ${new Date(broken.value).toISOString()}`
        : `must be ${broken.inclusive ? "on or before" : "before"} ${new Date(broken.value).toISOString()}`;
    default:
      return issue.code === "too_small"
        ? `must be at least ${broken.value}`
        : `must be at most ${broken.value}`;
  }
}

/** "a whole number from 1 to 200", "a number greater than 0", "a whole number of at least 0". */
function numberPhrase({ min, max, whole }: Bounds): string {
  const noun = whole ? "a whole number" : "a number";
  if (min?.inclusive && max?.inclusive) return `${noun} from ${min.value} to ${max.value}`;
  const low = min && (min.inclusive ? `at least ${min.value}` : `greater than ${min.value}`);
  const high = max && (max.inclusive ? `at most ${max.value}` : `less than ${max.value}`);
  if (low && high) return `${noun} ${min?.inclusive ? "of " : ""}${low} and ${high}`;
  if (low) return `${noun} ${min?.inclusive ? "of " : ""}${low}`;
  if (high) return `${noun} ${max?.inclusive ? "of " : ""}${high}`;
  return noun;
}

/** "must be 1 to 40 characters long", "must have at most 200 items". */
function lengthPhrase({ min, max, exact }: Bounds, unit: "character" | "item" | "byte"): string {
  const count = (n: number) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  const verb = unit === "item" ? "must have" : "must be";
  const tail = unit === "character" ? " long" : "";
  if (exact !== undefined) return `${verb} exactly ${count(exact)}${tail}`;
  const low = min && (min.inclusive ? min.value : min.value + 1);
  const high = max && (max.inclusive ? max.value : max.value - 1);
  if (low !== undefined && low > 0 && high !== undefined) return `${verb} ${low} to ${count(high)}${tail}`;
  if (high !== undefined) return `${verb} at most ${count(high)}${tail}`;
  return `${verb} at least ${count(low ?? 1)}${tail}`;
}

// ---- formats ---------------------------------------------------------------------------------

type FormatIssue = Extract<RawIssue, { code: "invalid_format" }>;

const FORMATS: Record<string, string> = {
  uuid: "a UUID",
  guid: "a UUID",
  email: "an email address",
  url: "a URL",
  date: "a date as YYYY-MM-DD",
  time: "a time as HH:MM:SS",
  duration: "an ISO 8601 duration such as P1D",
  ipv4: "an IPv4 address",
  ipv6: "an IPv6 address",
  cidrv4: "an IPv4 range such as 10.0.0.0/8",
  cidrv6: "an IPv6 range such as 2001:db8::/32",
  mac: "a MAC address",
  e164: "a phone number in E.164 form such as +8613800000000",
  base64: "base64 text",
  base64url: "base64url text",
  jwt: "a JSON Web Token",
  json_string: "JSON text",
  lowercase: "in lowercase",
  uppercase: "in uppercase",
  hostname: "a host name",
  hex: "hexadecimal text",
  emoji: "an emoji",
  nanoid: "a nanoid",
  cuid: "a cuid",
  cuid2: "a cuid2",
  ulid: "a ULID",
  xid: "an XID",
  ksuid: "a KSUID",
};

function invalidFormat(issue: FormatIssue): string {
  switch (issue.format) {
    case "regex":
      return `must match the pattern ${issue.pattern}`;
    case "starts_with":
      return `must start with "${String(issue.prefix)}"`;
    case "ends_with":
      return `must end with "${String(issue.suffix)}"`;
    case "includes":
      return `must contain "${String(issue.includes)}"`;
    case "datetime":
      return `must be ${dateTimePhrase(issue.inst)}`;
  }
  return `must be ${FORMATS[issue.format] ?? `a valid ${issue.format.replaceAll("_", " ")}`}`;
}

/** What `z.iso.datetime()` accepts: `Z` only by default, an offset or no zone where the schema allows. */
function dateTimePhrase(inst: FormatIssue["inst"]): string {
  const def = (inst?._zod.def ?? {}) as { offset?: boolean; local?: boolean };
  const zones = [
    "Z",
    ...(def.offset ? ["an offset such as +08:00"] : []),
    ...(def.local ? ["no time zone"] : []),
  ];
  const zone = zones.length === 1 ? "in UTC, ending in Z" : `with ${zones.join(" or ")}`;
  return `a date and time as YYYY-MM-DDTHH:MM:SS ${zone}`;
}

// ---- the rest --------------------------------------------------------------------------------

/** A divisor of 0.01 means money-like precision: say so in places, not as a multiple. */
function notMultipleOf(divisor: number): string {
  if (divisor === 1) return "must be a whole number";
  const places = Math.round(-Math.log10(divisor));
  if (places > 0 && 10 ** -places === divisor) return `must have at most ${places} decimal places`;
  return `must be a multiple of ${divisor}`;
}

type UnionIssue = Extract<RawIssue, { code: "invalid_union" }>;

function invalidUnion(issue: UnionIssue): string {
  // A discriminated union whose discriminator (the issue's path ends at it) has no known value.
  if (issue.discriminator !== undefined && Array.isArray(issue.options))
    return `must be one of: ${issue.options.map(String).join(", ")}`;
  if (issue.inclusive === false) return "matches more than one of the accepted forms";
  // Every option refused the value's type outright (`string | number` given `true`): name them.
  const kinds = issue.errors.map((option) => {
    const [only, ...more] = option;
    if (only?.code !== "invalid_type" || only.path.length > 0 || more.length > 0) return undefined;
    return only.expected === "number" || only.expected === "int" ? "a number" : expectedKind(only.expected);
  });
  if (kinds.length > 0 && kinds.every((kind) => kind !== undefined)) {
    if (issue.input === undefined) return "is required";
    return `must be ${[...new Set(kinds)].join(" or ")}, not ${receivedKind(issue.input)}`;
  }
  return "does not match any of the accepted forms";
}

function withFirst(what: string, issues: readonly { message: string }[]): string {
  const first = issues[0]?.message;
  return first ? `${what}: ${first}` : what;
}
