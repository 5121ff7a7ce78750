import pino, { type Logger } from "pino";
import { describeDbError, sqlState } from "../db/pg-errors.js";

/** Fields whose values never reach the logs, wherever they sit in a record. */
const SECRET_FIELDS = new Set(["authorization", "key", "token"]);
const CENSOR = "[redacted]";

/** JSON.stringify's replacer for Workers' log lines: secrets censored, errors by name and message. */
function censored(name: string, value: unknown): unknown {
  if (SECRET_FIELDS.has(name)) return CENSOR;
  if (value instanceof Error) {
    const { stack: _, ...rest } = loggableError(value);
    return rest;
  }
  return value;
}

/**
 * An error as a log may carry it: never the values of a request (residents' names, bodies, query
 * parameters). A database error is its SQLSTATE and the names it gives (db/pg-errors.ts), never
 * the SQL parameters or the detail that quote values; drizzle's wrapper (its message is the query
 * with its parameters) is replaced by the error it wraps; anything else by type, code, message
 * and stack.
 */
export function loggableError(err: unknown): Record<string, unknown> {
  if (sqlState(err) !== undefined) return { type: "DatabaseError", dbError: describeDbError(err) };
  let e: unknown = err;
  for (let depth = 0; depth < 5 && isQueryWrapper(e); depth++) e = e.cause;
  if (!(e instanceof Error)) return { type: typeof e, message: String(e) };
  const code = (e as { code?: unknown }).code;
  return {
    type: e.name,
    // A query error of drizzle's that wraps nothing still ends with the parameters.
    message: e.message.split("\nparams: ")[0],
    ...(typeof code === "string" ? { code } : {}),
    ...(e.stack ? { stack: e.stack.split("\nparams: ")[0] } : {}),
  };
}

/** drizzle's DrizzleQueryError: the failed query's text and parameters around the real error. */
function isQueryWrapper(e: unknown): e is { cause: unknown } {
  if (!(e instanceof Error)) return false;
  const { query, params, cause } = e as { query?: unknown; params?: unknown; cause?: unknown };
  return typeof query === "string" && Array.isArray(params) && cause !== undefined;
}

/**
 * JSON logs. Authorization headers and anything that looks like a key are redacted, so a
 * secret can not reach the logs even if a caller logs a whole request object.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "bot-platform" },
    // Whatever logs an error as `err` (the API, the ingest, the jobs) logs it without values.
    serializers: { err: loggableError },
    redact: {
      paths: [
        "req.headers.authorization",
        "headers.authorization",
        "authorization",
        "key",
        "token",
        "*.key",
        "*.token",
      ],
      censor: CENSOR,
    },
    // Workers (pino's browser build, which ignores `redact`): one JSON line per record on the
    // console, which Workers Logs index by field, with the same fields censored. Node ignores this.
    browser: {
      asObject: true,
      serialize: true,
      write: (record) => console.log(JSON.stringify(record, censored)),
    },
  });
}
