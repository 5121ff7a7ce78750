/**
 * Responses exactly as documented (issue 12): every route of the authorization matrix, called by
 * every role on a fresh world (as matrix.test.ts calls it), answers a status the route declares,
 * in the media type it declares, and a JSON body its OWN declared schema for that status accepts
 * when made strict all the way down (test/support/strict-schema.ts): a field the schema does not
 * declare fails (a new column, a secret one included, cannot ship silently), and so does a
 * declared field that is missing. Every header of the API's own the answer carries (X-Request-Id,
 * ETag, Location, WWW-Authenticate, …) must be declared for its status too (issue 15). Problem bodies are parsed with the declared Problem schema,
 * whose extension members (a 409's `allowedActions`, a 400's `errors`) it declares as allowed.
 *
 * The schemas come from the app's own route definitions (`openAPIRegistry`), the same ones
 * /openapi.json is generated from, so the test cannot drift from the document either.
 *
 * A list the fixture leaves empty checks no item (dead letters, billing runs, a draft's
 * comments): billing runs and comments are checked where their POST answers one; every presenter
 * is typed by its schema besides.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import type { DatabaseHandle } from "../../db/client.js";
import { createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { describeIssues, strictSchema } from "../support/strict-schema.js";
import { type Answer, keyOf, rolesInCallOrder, send } from "./calls.js";
import { buildFixture } from "./fixtures.js";
import { type Fixture, MATRIX, NOW, routeKey } from "./matrix.js";

/**
 * Routes whose answers drift from their schema today, each with why; the test asserts they still
 * do, so a fixed one must leave this list. (Empty: add a route here only with its reason.)
 */
const KNOWN_DRIFT: Record<string, string> = {};

/** Bodies parsed as JSON; any other declared media type is a stream. */
const JSON_MEDIA = ["application/json", "application/problem+json"];

interface DeclaredResponse {
  content?: Record<string, { schema?: unknown }>;
  headers?: Record<string, unknown>;
}

/** The API's own fields of an answer: each one an answer carries must be declared for its status. */
const API_HEADERS = [
  "x-request-id",
  "etag",
  "cache-control",
  "location",
  "www-authenticate",
  "retry-after",
  "ratelimit",
  "ratelimit-policy",
  "idempotent-replayed",
  "allow",
  "connection",
];

/** The fields an answer carries that its status's declaration does not name. */
function undeclaredHeaders(declared: DeclaredResponse, res: Answer): string[] {
  const named = new Set(Object.keys(declared.headers ?? {}).map((h) => h.toLowerCase()));
  return API_HEADERS.filter((h) => res.headers.has(h) && !named.has(h)).map(
    (h) => `sends the header ${h}, which its ${res.status} does not declare`,
  );
}

let database: DatabaseHandle;
let app: TestApp;
/** Each route's declared responses by status, from the definitions /openapi.json is generated from. */
const declared = new Map<string, Record<string, DeclaredResponse>>();

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db, { now: () => NOW });
  for (const def of app.openAPIRegistry.definitions) {
    if (def.type === "route") {
      declared.set(routeKey(def.route), def.route.responses as Record<string, DeclaredResponse>);
    }
  }
});
afterAll(() => database.close());

const isZod = (schema: unknown): schema is z.ZodType =>
  typeof schema === "object" && schema !== null && "_zod" in schema;

/** How the answer departs from what the route declares for its status; empty when it does not. */
function drift(responses: Record<string, DeclaredResponse>, res: Answer): string[] {
  const declared = responses[String(res.status)];
  if (!declared) return [`status ${res.status} is not declared (${Object.keys(responses).join(", ")})`];
  const content = declared.content ?? {};
  const media = (res.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
  const documented = content[media];
  if (!documented) {
    return [`answered ${media || "no body"}; declared: ${Object.keys(content).join(", ") || "no body"}`];
  }
  // A stream (the incidents' Server-Sent Events; a list's CSV export, which the matrix, asking
  // for JSON, never gets: test/platform/csv-export.test.ts checks it against the JSON) is not one
  // JSON document: only its media type is checked here. Each event's data is built by
  // incidentJson, the presenter GET /v1/incidents/{id} is checked through.
  const headers = undeclaredHeaders(declared, res);
  if (!JSON_MEDIA.includes(media)) return headers;
  if (!isZod(documented.schema)) return [`the ${res.status} ${media} schema is not a zod schema`];
  const parsed = strictSchema(documented.schema).safeParse(res.body);
  return parsed.success ? headers : [...headers, ...describeIssues(parsed.error.issues)];
}

describe("responses are exactly their documented schemas", () => {
  it("lists as known drift only routes of the matrix", () => {
    const routes = MATRIX.map(routeKey);
    expect(Object.keys(KNOWN_DRIFT).filter((key) => !routes.includes(key))).toEqual([]);
  });

  describe.each(MATRIX.map((route) => [routeKey(route), route] as const))("%s", (label, route) => {
    let fx: Fixture;
    beforeAll(async () => {
      fx = await buildFixture(database.db, app, route.needs);
    });

    const known = KNOWN_DRIFT[label];
    it(known ? `still drifts (known: ${known})` : "every role's answer", async () => {
      const responses = declared.get(label);
      if (!responses) throw new Error(`${label} is not among the app's route definitions`);
      const failures: string[] = [];
      const check = async (who: string, key: string | undefined) => {
        const res = await send(app, route, fx, key);
        for (const line of drift(responses, res)) failures.push(`${label} — ${who} (${res.status}): ${line}`);
      };
      for (const role of rolesInCallOrder(route)) await check(role, keyOf(fx, role));
      if (route.auth === "sensor") await check("the sensor's own key", fx.sensor?.key);
      if (known) expect(failures, "fixed? then take it off KNOWN_DRIFT").not.toEqual([]);
      else expect(failures).toEqual([]);
    });
  });
});
