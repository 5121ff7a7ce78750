/** The shipped deployment files (deploy/), read as their programs read them. */
import { readFileSync } from "node:fs";
import { type SQL, sql } from "drizzle-orm";
import { parse as parseYaml } from "yaml";
import { type HoconObject, type HoconValue, parseHocon } from "./hocon.js";

export const DEPLOY = new URL("../../deploy/", import.meta.url);
export const readDeployFile = (path: string) => readFileSync(new URL(path, DEPLOY), "utf8");

export const emqxConf = () => parseHocon(readDeployFile("emqx/emqx.conf"));

/** The value at `path` (keys and array indexes) of a parsed HOCON object; throws if absent. */
export function at(root: HoconValue, ...path: (string | number)[]): HoconValue {
  let node: HoconValue | undefined = root;
  for (const step of path) {
    node =
      typeof step === "number"
        ? Array.isArray(node)
          ? node[step]
          : undefined
        : node && typeof node === "object" && !Array.isArray(node)
          ? (node as HoconObject)[step]
          : undefined;
    if (node === undefined) throw new Error(`emqx.conf has no ${path.join(".")}`);
  }
  return node;
}

export const text = (v: HoconValue): string => {
  if (typeof v !== "string") throw new Error(`not a scalar: ${JSON.stringify(v)}`);
  return v;
};

/** The one element of a HOCON array whose `field` is `value` (authenticators, authz sources). */
export function findIn(array: HoconValue, field: string, value: string): HoconObject {
  if (!Array.isArray(array)) throw new Error("not an array");
  const found = array.filter(
    (e): e is HoconObject => typeof e === "object" && !Array.isArray(e) && e[field] === value,
  );
  if (found.length !== 1)
    throw new Error(`expected one element with ${field} = ${value}, got ${found.length}`);
  return found[0] as HoconObject;
}

/** The query of EMQX's PostgreSQL authenticator and of its PostgreSQL authorizer, as shipped. */
export function emqxQueries() {
  const conf = emqxConf();
  const authn = findIn(at(conf, "authentication"), "backend", "postgresql");
  const authz = findIn(at(conf, "authorization", "sources"), "type", "postgresql");
  return { authn: text(at(authn, "query")), authz: text(at(authz, "query")), authnConfig: authn };
}

export interface ClientInfo {
  username: string;
  clientid: string;
}

/**
 * An EMQX query template as EMQX runs it (emqx_template_sql:parse_prepstmt): each `${var}` becomes
 * the next positional parameter ($1, $2, … in order of appearance) bound to the client's value,
 * the rest of the text is sent as it is.
 */
export function emqxStatement(template: string, client: ClientInfo): SQL {
  const chunks: SQL[] = [];
  let last = 0;
  for (const m of template.matchAll(/\$\{([a-z_]+)\}/g)) {
    const name = m[1];
    if (name !== "username" && name !== "clientid")
      throw new Error(`placeholder \${${name}} not supported here`);
    chunks.push(sql.raw(template.slice(last, m.index)), sql`${client[name]}`);
    last = (m.index ?? 0) + m[0].length;
  }
  chunks.push(sql.raw(template.slice(last)));
  return sql.join(chunks);
}

/** Docker Compose's interpolation of `${NAME}`, `${NAME:?message}`, `${NAME:-default}` and `$$`. */
export function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(
    /\$\$|\$\{([A-Z0-9_]+)(?::([?-])([^}]*))?\}/g,
    (all, name?: string, op?: string, arg?: string) => {
      if (all === "$$") return "$";
      const v = name ? env[name] : undefined;
      if (v !== undefined && v !== "") return v;
      if (op === "-") return arg ?? "";
      throw new Error(`${name} is not set${op === "?" ? `: ${arg}` : ""}`);
    },
  );
}

/** deploy/.env.example as KEY=value pairs. */
export function envExample(): Record<string, string> {
  return Object.fromEntries(
    readDeployFile(".env.example")
      .split("\n")
      .filter((l) => l.trim() && !l.startsWith("#"))
      .map((l) => {
        const eq = l.indexOf("=");
        return [l.slice(0, eq), l.slice(eq + 1)];
      }),
  );
}

// biome-ignore lint/suspicious/noExplicitAny: a parsed YAML document, checked field by field by the tests.
export type Compose = any;

/** deploy/docker-compose.yml as Compose reads it: YAML with merge keys, then interpolated from `env`. */
export function compose(env: Record<string, string>): Compose {
  const walk = (v: unknown): unknown =>
    typeof v === "string"
      ? interpolate(v, env)
      : Array.isArray(v)
        ? v.map(walk)
        : v && typeof v === "object"
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
          : v;
  return walk(parseYaml(readDeployFile("docker-compose.yml"), { merge: true }));
}
