/**
 * A strict reader of the subset of HOCON that deploy/emqx/emqx.conf is written in (no HOCON
 * library is installed): `#` and `//` comments, objects with `key = value`, `key: value` or
 * `key { … }` (dotted keys nest, objects under one key merge), arrays, "quoted" and """triple
 * quoted""" strings, and unquoted scalars (`password_based`, `64KB`, `101`), kept as text. Anything
 * outside that subset (an unbalanced brace, a substitution, `+=`, an include) throws, so the file
 * stays in a shape this test can read and that EMQX's own parser reads the same way.
 */
export type HoconValue = string | HoconValue[] | HoconObject;
export interface HoconObject {
  [key: string]: HoconValue;
}

const UNQUOTED = /[^\s{}[\],:=#"$+?]/;

export function parseHocon(text: string): HoconObject {
  let i = 0;
  const fail = (what: string): never => {
    const line = text.slice(0, i).split("\n").length;
    throw new Error(`HOCON line ${line}: ${what}`);
  };

  /** Skips spaces and comments, and newlines too when `newlines`. */
  const skip = (newlines: boolean) => {
    for (;;) {
      const c = text[i];
      if (c === "#" || (c === "/" && text[i + 1] === "/")) {
        while (i < text.length && text[i] !== "\n") i++;
      } else if (c === "\n" && newlines) {
        i++;
      } else if (c === " " || c === "\t" || c === "\r") {
        i++;
      } else {
        return;
      }
    }
  };

  const quoted = (): string => {
    if (text.startsWith('"""', i)) {
      const end = text.indexOf('"""', i + 3);
      if (end < 0) fail("unterminated triple-quoted string");
      const value = text.slice(i + 3, end);
      i = end + 3;
      return value;
    }
    i++;
    let value = "";
    for (;;) {
      const c = text[i];
      if (c === undefined || c === "\n") fail("unterminated string");
      i++;
      if (c === '"') return value;
      if (c === "\\") {
        const e = text[i++];
        const escapes: Record<string, string> = { '"': '"', "\\": "\\", n: "\n", t: "\t", "/": "/" };
        const replaced = e === undefined ? undefined : escapes[e];
        if (replaced === undefined) fail(`unsupported escape \\${e}`);
        value += replaced;
      } else {
        value += c;
      }
    }
  };

  const unquoted = (): string => {
    const start = i;
    // Stops at a space too: a value of several words would be a concatenation, not in this subset.
    while (i < text.length && UNQUOTED.test(text[i] ?? "") && !text.startsWith("//", i)) i++;
    if (i === start) fail(`unexpected ${JSON.stringify(text[i] ?? "end of file")}`);
    return text.slice(start, i);
  };

  const key = (): string[] => (text[i] === '"' ? [quoted()] : unquoted().split("."));

  const value = (): HoconValue => {
    skip(false);
    const c = text[i];
    if (c === "{") {
      i++;
      const object = fields("}");
      i++;
      return object;
    }
    if (c === "[") {
      i++;
      const items: HoconValue[] = [];
      for (;;) {
        skip(true);
        if (text[i] === "]") {
          i++;
          return items;
        }
        items.push(value());
        skip(false);
        if (text[i] === ",") i++;
        else if (text[i] !== "\n" && text[i] !== "]" && text[i] !== "#") fail("expected , or ] in an array");
      }
    }
    if (c === '"') return quoted();
    return unquoted();
  };

  const merge = (into: HoconObject, path: string[], v: HoconValue) => {
    const [head, ...rest] = path;
    if (head === undefined) return;
    if (rest.length === 0) {
      const existing = into[head];
      into[head] = isObject(existing) && isObject(v) ? Object.assign(existing, mergeObjects(existing, v)) : v;
      return;
    }
    const next = into[head];
    const child: HoconObject = isObject(next) ? next : {};
    into[head] = child;
    merge(child, rest, v);
  };

  const fields = (closing: "}" | null): HoconObject => {
    const object: HoconObject = {};
    for (;;) {
      skip(true);
      if (closing === null ? i >= text.length : text[i] === closing) return object;
      if (i >= text.length) fail(`missing ${closing}`);
      const path = key();
      skip(false);
      if (text[i] === "=" || text[i] === ":") i++;
      else if (text[i] !== "{") fail(`expected = after ${path.join(".")}`);
      merge(object, path, value());
      skip(false);
      if (text[i] === ",") i++;
      else if (text[i] !== "\n" && text[i] !== closing && i < text.length)
        fail("expected a newline or , after a field");
    }
  };

  return fields(null);
}

function isObject(v: HoconValue | undefined): v is HoconObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function mergeObjects(a: HoconObject, b: HoconObject): HoconObject {
  const out: HoconObject = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const existing = out[k];
    out[k] = isObject(existing) && isObject(v) ? mergeObjects(existing, v) : v;
  }
  return out;
}
