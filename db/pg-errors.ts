/** PostgreSQL error codes (SQLSTATE) the API maps to answers, for both postgres.js and PGlite. */
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
 * Errors worth retrying as they are: no SQLSTATE (connection refused or reset, timeouts),
 * connection exceptions (08), serialization failures and deadlocks (40), resources (53),
 * operator intervention (57: shutdown, admin restart), system errors (58, XX).
 * Anything else is the data's fault.
 */
export function isTransient(err: unknown): boolean {
  const state = sqlState(err);
  if (!state) return true;
  return ["08", "40", "53", "57", "58", "XX"].some((c) => state.startsWith(c));
}
