import pino, { type Logger } from "pino";

/** Fields whose values never reach the logs, wherever they sit in a record. */
const SECRET_FIELDS = new Set(["authorization", "key", "token"]);
const CENSOR = "[redacted]";

/** JSON.stringify's replacer for Workers' log lines: secrets censored, errors by name and message. */
function censored(name: string, value: unknown): unknown {
  if (SECRET_FIELDS.has(name)) return CENSOR;
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { type: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
  }
  return value;
}

/**
 * JSON logs. Authorization headers and anything that looks like a key are redacted, so a
 * secret can not reach the logs even if a caller logs a whole request object.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "bot-platform" },
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
