/**
 * One vocabulary across /v1 (issue 15, docs/api.md "Vocabulary"), pinned on the generated document
 * a client reads: `state`, never `status`; date ranges `from` (included) and `to` (excluded);
 * durations that end in their unit, clock durations in seconds; path parameters named one way;
 * JSON keys a client can write as identifiers; `…At` an instant, never a day.
 *
 * The device protocol (the routes a sensor calls with its own key) is a published wire format
 * that devices in the field speak (iot/protocol.ts): its bodies keep their names (`intervalS`),
 * and only the parameter names of its paths follow the rule (the URL is the same).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";

type Schema = {
  $ref?: string;
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
};
type Parameter = { name: string; in: string; description?: string; schema?: Schema };
type Operation = {
  parameters?: Parameter[];
  security?: Record<string, string[]>[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>;
};
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
};

let database: DatabaseHandle;
let doc: Document;
beforeAll(async () => {
  database = await openTestDatabase();
  const res = await createTestApp(database.db).request("/openapi.json");
  doc = (await res.json()) as Document;
});
afterAll(() => database.close());

const METHODS = new Set(["get", "put", "post", "patch", "delete"]);

/** Every operation of /v1, with whether a sensor calls it with its own key (the device protocol). */
function operations() {
  return Object.entries(doc.paths)
    .filter(([path]) => path.startsWith("/v1/"))
    .flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.has(method))
        .map(([method, op]) => ({
          where: `${method.toUpperCase()} ${path}`,
          path,
          op,
          byDevice: JSON.stringify(op.security ?? []).includes("SensorKey"),
        })),
    );
}

/** Every named property of the request bodies and 2xx answers, with where it was found. */
function properties(opts: { device: boolean }) {
  const found: { name: string; schema: Schema; where: string; siblings: string[] }[] = [];
  const walk = (s: Schema | undefined, where: string, seen: Set<Schema>) => {
    if (!s || seen.has(s)) return;
    seen.add(s);
    if (s.$ref) {
      const name = s.$ref.split("/").pop() ?? "";
      walk(doc.components.schemas[name], `${where}>${name}`, seen);
      return;
    }
    const siblings = Object.keys(s.properties ?? {});
    for (const [name, p] of Object.entries(s.properties ?? {})) {
      found.push({ name, schema: resolved(p), where: `${where}.${name}`, siblings });
      walk(p, `${where}.${name}`, seen);
    }
    walk(s.items, `${where}[]`, seen);
    if (typeof s.additionalProperties === "object") walk(s.additionalProperties, `${where}{}`, seen);
    for (const x of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])]) walk(x, where, seen);
  };
  for (const { where, op, byDevice } of operations()) {
    if (byDevice && !opts.device) continue;
    for (const media of Object.values(op.requestBody?.content ?? {}))
      walk(media.schema, `${where} body`, new Set());
    for (const [code, answer] of Object.entries(op.responses ?? {})) {
      if (!code.startsWith("2")) continue;
      for (const media of Object.values(answer.content ?? {}))
        walk(media.schema, `${where} ${code}`, new Set());
    }
  }
  return found;
}

/** A schema with its $ref and a nullable anyOf unwrapped. */
function resolved(s: Schema): Schema {
  if (s.$ref) return resolved(doc.components.schemas[s.$ref.split("/").pop() ?? ""] ?? {});
  const notNull = s.anyOf?.filter((x) => x.type !== "null");
  return notNull?.length === 1 && notNull[0] ? resolved(notNull[0]) : s;
}

function queryParameters() {
  return operations().flatMap(({ where, op }) =>
    (op.parameters ?? []).filter((p) => p.in === "query").map((p) => ({ ...p, where })),
  );
}

/** A name that says a length of time in a unit: `intervalS`, `durationMs`, `afterMinutes`, `daysUntil…`. */
const DURATION =
  /[a-z](S|Ms|Sec|Secs|Seconds|Min|Mins|Minutes|H|Hours|Millis|Milliseconds|Days|Weeks|Months|Years)$|^(seconds|minutes|hours|days|weeks|months|years|ms)[A-Z]/;
/** Clock durations in seconds; calendar ones in the calendar's own whole units (a month is no fixed number of seconds). */
const DURATION_UNITS = /[a-z](Seconds|Days|Months)$/;

describe("the API's vocabulary", () => {
  it("says `state` for a lifecycle, never `status`, in bodies, answers and filters", () => {
    const statuses = properties({ device: true }).filter((p) => p.name === "status");
    expect(statuses.map((p) => p.where)).toEqual([]);
    expect(queryParameters().filter((p) => p.name === "status")).toEqual([]);
    // And the states it does name are enums a client can switch on.
    const states = properties({ device: true }).filter((p) => p.name === "state");
    expect(states.length).toBeGreaterThan(10);
    for (const s of states) expect(s.schema.enum, s.where).toBeDefined();
  });

  it("takes every range as `from` (included) and `to` (excluded), dates or instants alike", () => {
    const params = queryParameters();
    const offRule = params.filter((p) =>
      /^(since|until|after|before|start|end|startDate|endDate|fromDate|toDate|begin)$/.test(p.name),
    );
    expect(offRule.map((p) => `${p.where} ?${p.name}`)).toEqual([]);
    const byRoute = new Map<string, Parameter[]>();
    for (const p of params) byRoute.set(p.where, [...(byRoute.get(p.where) ?? []), p]);
    const ranges = [...byRoute].filter(([, ps]) => ps.some((p) => p.name === "from" || p.name === "to"));
    expect(ranges.map(([where]) => where).sort()).toEqual([
      "GET /v1/dead-letters",
      "GET /v1/incidents",
      "GET /v1/incidents/stats",
    ]);
    for (const [where, ps] of ranges) {
      const from = ps.find((p) => p.name === "from");
      const to = ps.find((p) => p.name === "to");
      expect(from && to, `${where}: from and to come together`).toBeTruthy();
      const format = from?.schema?.format;
      expect(["date", "date-time"], where).toContain(format);
      expect(to?.schema?.format, where).toBe(format);
      expect(from?.description ?? "", where).toMatch(/included|at or after/i);
      expect(to?.description ?? "", where).toMatch(/excluded|before/i);
    }
  });

  it("names every duration with its unit: seconds for clock time, Days or Months for the calendar", () => {
    const names = [
      ...properties({ device: false }).map((p) => ({ name: p.name, where: p.where })),
      ...queryParameters().map((p) => ({ name: p.name, where: `${p.where} ?${p.name}` })),
    ];
    const wrong = names.filter((n) => DURATION.test(n.name) && !DURATION_UNITS.test(n.name));
    expect(wrong.map((n) => `${n.where} (${n.name})`)).toEqual([]);
    // The ones the issue named, as they are now.
    const all = new Set(names.map((n) => n.name));
    for (const name of ["haltSeconds", "heartbeatIntervalSeconds", "intervalSeconds", "afterSeconds"]) {
      expect(all, name).toContain(name);
    }
    for (const name of ["heartbeatIntervalS", "intervalS", "uptimeS", "afterMinutes", "durationMs"]) {
      expect(all, name).not.toContain(name);
    }
  });

  it("names path parameters one way: {id} after the first segment, {<noun>Id} or the nested key's own name after", () => {
    /** Nested resources named by a key of their own rather than an id (the field's name in the body). */
    const NATURAL_KEYS = new Set(["kind", "code"]);
    const wrong: string[] = [];
    for (const path of Object.keys(doc.paths).filter((p) => p.startsWith("/v1/"))) {
      const segments = path.split("/");
      segments.forEach((segment, i) => {
        const name = /^\{(\w+)\}$/.exec(segment)?.[1];
        if (!name) return;
        const first = i === 3;
        const ok = first
          ? name === "id"
          : name !== "id" && (/^[a-z][a-zA-Z]*(Id|No)$/.test(name) || NATURAL_KEYS.has(name));
        if (!ok) wrong.push(`${path}: {${name}}`);
      });
    }
    expect(wrong).toEqual([]);
    // The routes a device calls keep their URLs; only the parameter's name in the document changed.
    expect(Object.keys(doc.paths)).toContain("/v1/sensors/{id}/events");
    expect(Object.keys(doc.paths)).toContain("/v1/sensors/{id}/events/{eventId}/snapshot");
  });

  it("uses JSON keys a client can write as identifiers (a map keyed by an enum's values aside)", () => {
    const enumValues = new Set<unknown>();
    const collect = (x: unknown): void => {
      if (Array.isArray(x)) x.forEach(collect);
      else if (x && typeof x === "object") {
        const s = x as Schema;
        for (const v of s.enum ?? []) enumValues.add(v);
        for (const v of Object.values(x)) collect(v);
      }
    };
    collect(doc);
    const wrong = properties({ device: true }).filter(
      (p) =>
        !/^[a-z][a-zA-Z0-9]*$/.test(p.name) &&
        !(
          p.siblings.every((k) => /^[a-z][a-zA-Z0-9]*$/.test(k) || enumValues.has(k)) &&
          enumValues.has(p.name)
        ),
    );
    expect(wrong.map((p) => p.where)).toEqual([]);
    const aging = properties({ device: false }).filter((p) => p.where.endsWith(".aging"));
    expect(aging.length).toBeGreaterThan(0);
    for (const a of aging) {
      expect(Object.keys(a.schema.properties ?? {}), a.where).toEqual([
        "current",
        "days1To30",
        "days31To60",
        "days61To90",
        "over90Days",
      ]);
    }
  });

  it("names an instant `…At` and a day `…On` or `…Date`: never a day called `…At`", () => {
    const wrong = properties({ device: true }).filter(
      (p) =>
        (/At$/.test(p.name) && p.schema.format === "date") ||
        (p.schema.format === "date-time" && /(On|Date)$/.test(p.name)),
    );
    expect(wrong.map((p) => p.where)).toEqual([]);
  });
});
