import pino, { type Logger } from "pino";

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
      censor: "[redacted]",
    },
  });
}
