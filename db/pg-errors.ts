/**
 * Database errors, classified once, here: for both postgres.js and PGlite, for the API, the
 * ingest and every background job.
 */
export function sqlState(err: unknown): string | undefined {
  let e: unknown = err;
  // drizzle wraps driver errors (`cause`); walk down to the one that carries the code.
  for (let depth = 0; depth < 5 && e && typeof e === "object"; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export const isUniqueViolation = (err: unknown) => sqlState(err) === "23505";
export const isForeignKeyViolation = (err: unknown) => sqlState(err) === "23503";
export const isSerializationFailure = (err: unknown) => sqlState(err) === "40001";

/**
 * What a database error says, and so what to do with the work that met it:
 * - `transient`: the database or the way to it is passing through a bad moment (connection
 *   refused, reset, timed out or ended; "not accepting connections"; shutdown, restart, recovery;
 *   too many connections; serialization failures and deadlocks; statement timeouts and
 *   cancellations). Retry the same work later; never acknowledge, reject or dead-letter it.
 * - `data`: the data itself broke a rule of the schema (SQLSTATE classes 22 and 23): retrying it
 *   changes nothing. The only errors that may become a rejection of the data.
 * - `defect`: anything else (a missing table, a syntax error, a trigger's own exception, a bug in
 *   our code): not the data's fault either. The API answers 500; the ingest retries, so nothing
 *   is lost while someone fixes it.
 */
export type DbErrorClass = "transient" | "data" | "defect";

/** SQLSTATE classes and codes of a passing condition (see DbErrorClass). */
const TRANSIENT_CLASSES = ["08", "40", "53", "55", "57", "58"];
/** Error codes the drivers and Node give a connection that failed or was lost (no SQLSTATE). */
const CONNECTION_CODES = new Set([
  // postgres.js
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  // Node's sockets and DNS
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  // db/socket-watchdog.ts: a request the database did not answer in time
  "DATABASE_UNANSWERED",
]);

export function classifyDbError(err: unknown): DbErrorClass {
  const state = sqlState(err);
  if (state) {
    // A racing insert of the same event (another instance, a redelivery): retried, it is a duplicate.
    if (state === "23505" && EXACTLY_ONCE_KEY.test(constraintOf(err) ?? "")) return "transient";
    if (state.startsWith("22") || state.startsWith("23")) return "data";
    if (TRANSIENT_CLASSES.some((c) => state.startsWith(c))) return "transient";
    // XX000 and friends: PostgreSQL's internal errors (and PGlite's, when its WASM instance
    // failed) are not the data's fault; XX001/XX002 (corruption) need a person, not a retry loop
    // that hides them, but retrying loses nothing while they look.
    if (state.startsWith("XX")) return "transient";
    return "defect";
  }
  return isConnectionError(err) ? "transient" : "defect";
}

/**
 * sensor_events' primary key (sensor, eventId, occurredAt, type): the ingest's exactly-once key.
 * A violation names the key of the partition the row went to (`sensor_events_heartbeat_p20260301_pkey`,
 * `sensor_events_evidence_default_pkey`), not the parent's `sensor_events_pkey`.
 */
const EXACTLY_ONCE_KEY = /^sensor_events(_(heartbeat|evidence)(_p\d{6}|_p\d{8}|_default)?)?_pkey$/;

/** The constraint a violation names: postgres.js says `constraint_name`, PGlite `constraint`. */
function constraintOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === "object"; depth++) {
    const { constraint_name, constraint } = e as { constraint_name?: unknown; constraint?: unknown };
    const name = constraint_name ?? constraint;
    if (typeof name === "string") return name;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export const isTransient = (err: unknown) => classifyDbError(err) === "transient";

/** The error (or one it wraps) is a failed or lost connection, by its code or its message. */
function isConnectionError(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === "object"; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_CODES.has(code)) return true;
    const errno = (e as { errno?: unknown }).errno;
    if (typeof errno === "string" && CONNECTION_CODES.has(errno)) return true;
    const message = (e as { message?: unknown }).message;
    // PGlite closed under us; pglite-socket and some poolers say it in words only.
    if (
      typeof message === "string" &&
      /PGlite is closed|connection (terminated|closed|ended)/i.test(message)
    ) {
      return true;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The names a database error gives of what it met: never a value. */
export interface DbErrorNames {
  constraint?: string;
  table?: string;
  column?: string;
  dataType?: string;
}

/** postgres.js names them `constraint_name`, `table_name`, …; PGlite `constraint`, `table`, …. */
export function dbErrorNames(err: unknown): DbErrorNames {
  const names: DbErrorNames = {};
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === "object"; depth++) {
    const f = e as Record<string, unknown>;
    const pick = (...keys: string[]) => keys.map((k) => f[k]).find((v) => typeof v === "string" && v !== "");
    names.constraint ??= pick("constraint_name", "constraint") as string | undefined;
    names.table ??= pick("table_name", "table") as string | undefined;
    names.column ??= pick("column_name", "column") as string | undefined;
    names.dataType ??= pick("data_type_name", "dataType") as string | undefined;
    e = f.cause;
  }
  return names;
}

/**
 * What a data error (SQLSTATE class 22) means, in words that carry no value: PostgreSQL's own
 * message often quotes the value (`invalid input syntax for type uuid: "…"`, `value "…" is out of
 * range`), and its detail does too (`Key (name)=(…) already exists`).
 */
const DATA_ERRORS: Record<string, string> = {
  "22001": "a text is longer than the database accepts",
  "22003": "a number is outside the range the database accepts",
  "22007": "a date or time is not valid",
  "22008": "a date or time is outside the range the database accepts",
  "22012": "a division by zero",
  "22021": "a text holds a character the database cannot store (such as NUL)",
  "22P02": "a value is not of the type the database expects",
  "22P05": "a JSON text holds a character the database cannot store (such as \\u0000)",
};

/** A plain sentence for a class 22 error, with no value in it. */
export function describeDataError(err: unknown): string {
  const state = sqlState(err) ?? "";
  return DATA_ERRORS[state] ?? "a value is not one the database accepts";
}

/**
 * One line for a log: the code and message of the innermost error (drizzle's wrapper repeats the
 * whole query and its parameters). Failures that repeat while an outage lasts are logged with
 * this, not a stack. Never a value: for the data's errors (classes 22 and 23), whose messages and
 * details quote it, the code, a plain sentence and the names of constraint, table and column.
 */
export function describeDbError(err: unknown): string {
  const state = sqlState(err);
  if (state && (state.startsWith("22") || state.startsWith("23"))) {
    const names = Object.entries(dbErrorNames(err))
      .filter(([, name]) => name !== undefined)
      .map(([what, name]) => `${what} ${name}`);
    const what = state.startsWith("22") ? describeDataError(err) : "a constraint was violated";
    return `${state}: ${what}${names.length > 0 ? ` (${names.join(", ")})` : ""}`;
  }
  let code: string | undefined;
  let message: string | undefined;
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === "object"; depth++) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === "string") code = c;
    const m = (e as { message?: unknown }).message;
    if (typeof m === "string" && m) message = m.split("\n")[0];
    e = (e as { cause?: unknown }).cause;
  }
  if (!message) message = String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
