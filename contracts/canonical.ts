/** Canonical JSON and content hashes: the same value always gives the same text and hash. */
import { createHash } from "node:crypto";

/**
 * Deterministic JSON: object keys sorted by UTF-16 code units, no whitespace, arrays in order,
 * properties whose value is `undefined` omitted (an `undefined` array element becomes null, as
 * JSON.stringify does), strings escaped as JSON.stringify does, `toJSON()` honoured (Date,
 * Decimal). Throws a TypeError on non-finite numbers, bigint, functions, symbols, circular
 * structures, and objects that are neither plain objects nor arrays nor have a toJSON.
 */
export function canonicalJson(value: unknown): string {
  const out = write(value, []);
  if (out === undefined) throw new TypeError("canonicalJson: value is not representable in JSON");
  return out;
}

/** A key as JSON: most keys are plain identifiers, which need no escaping (JSON.stringify is slower). */
const PLAIN_KEY = /^[A-Za-z0-9_$]*$/;
const quoteKey = (key: string) => (PLAIN_KEY.test(key) ? `"${key}"` : JSON.stringify(key));

/**
 * One pass, building the text by concatenation (V8 joins it lazily), with the objects being
 * written on `stack` (a document is a few levels deep: a scan is cheaper than a Set).
 */
function write(value: unknown, stack: object[]): string | undefined {
  switch (typeof value) {
    case "undefined":
      return undefined;
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number ${value}`);
      return JSON.stringify(value);
    case "bigint":
      throw new TypeError("canonicalJson: bigint is not allowed");
    case "function":
      throw new TypeError("canonicalJson: functions are not allowed");
    case "symbol":
      throw new TypeError("canonicalJson: symbols are not allowed");
  }
  if (value === null) return "null";
  const obj = value as object;
  const toJSON = (obj as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    return write((toJSON as (key: string) => unknown).call(obj, ""), stack);
  }
  if (stack.includes(obj)) throw new TypeError("canonicalJson: circular structure");
  stack.push(obj);
  let text: string;
  if (Array.isArray(obj)) {
    text = "[";
    for (let i = 0; i < obj.length; i++) {
      if (i > 0) text += ",";
      text += write(obj[i], stack) ?? "null";
    }
    text += "]";
  } else {
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError("canonicalJson: only plain objects, arrays and values with toJSON are allowed");
    }
    const record = obj as Record<string, unknown>;
    text = "{";
    for (const key of Object.keys(record).sort()) {
      const v = write(record[key], stack);
      if (v === undefined) continue;
      if (text.length > 1) text += ",";
      text += `${quoteKey(key)}:${v}`;
    }
    text += "}";
  }
  stack.pop();
  return text;
}

/** Lower-case hex SHA-256 of the UTF-8 text. */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** sha256Hex(canonicalJson(value)). */
export function contentHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
