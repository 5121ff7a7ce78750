/**
 * The authorization matrix (issue 2: every role × every route: allowed, 403, or 404 outside
 * scope). The expectations live in ./matrix.ts; this file checks that the table names exactly the
 * /v1 routes of the generated OpenAPI document — a new route cannot escape it — and then, per
 * route, on a fresh world:
 *  - each role's admin key gets what the table says (forbidden and hidden roles are called first,
 *    so the allowed ones find the resource untouched);
 *  - no key, or an unknown one, gets 401;
 *  - for a route that addresses a resource by path, every organization's key gets 404 for the same
 *    kind of resource in another street, which the platform admin can see there (so the 404 is the
 *    scope's, not a missing row's);
 *  - for a route whose resource belongs to no street (a district): every key reads another
 *    street's too;
 *  - for sensor ingest (the sensor's own key, not an organization's): that key is let through,
 *    another street's sensor key is not.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { client, createTestApp, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { type Answer, keyOf, rolesInCallOrder, send as sendAs, told } from "./calls.js";
import { addEndpoint, addSensor, buildFixture } from "./fixtures.js";
import {
  addressesResource,
  type Expectation,
  type Fixture,
  MATRIX,
  NOW,
  ROLES,
  type RouteEntry,
  routeKey,
} from "./matrix.js";

let database: DatabaseHandle;
let app: TestApp;
/** The other street: one world with an operating contract and a sensor: every kind of resource. */
let elsewhere: Fixture;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db, { now: () => NOW });
  elsewhere = await addSensor(database.db, app, await buildFixture(database.db, app, "operating"));
  elsewhere = await addEndpoint(database.db, elsewhere);
});
afterAll(() => database.close());

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

const send = (route: RouteEntry, fx: Fixture, key: string | undefined) => sendAs(app, route, fx, key);

function expectProblem(res: Answer, status: number, code: string) {
  expect(res.status, told(res)).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  expect(res.body.code, told(res)).toBe(code);
}

function expectAllowed(res: Answer) {
  expect([401, 403, 404], `expected to be let through, got ${told(res)}`).not.toContain(res.status);
  expect(res.status, told(res)).toBeLessThan(500);
  // Every row sends a request its schema accepts; a 400 here would mean the request went stale
  // (zod refuses it before any role or scope check) and would prove nothing.
  expect(res.status, told(res)).not.toBe(400);
}

function check(res: Answer, expectation: Expectation) {
  if (expectation === "allow") expectAllowed(res);
  else if (expectation === "forbid") expectProblem(res, 403, "forbidden");
  else if (expectation === "hidden") expectProblem(res, 404, "not_found");
  else expectProblem(res, 401, "unauthorized");
}

function roleCases(route: RouteEntry) {
  return rolesInCallOrder(route).map(
    (role) => [`${routeKey(route)} — ${role}: ${route.expect[role]}`, role, route.expect[role]] as const,
  );
}

describe("the matrix covers the API", () => {
  it("has one row for every /v1 route of the OpenAPI document, and none for a route that is gone", async () => {
    const { status, body } = await client(app).get("/openapi.json");
    expect(status).toBe(200);
    const documented = Object.entries(body.paths as Record<string, Record<string, unknown>>)
      .filter(([path]) => path.startsWith("/v1/"))
      .flatMap(([path, item]) =>
        METHODS.filter((m) => item[m] !== undefined).map((m) => routeKey({ method: m, path })),
      );
    const tabled = MATRIX.map(routeKey);
    expect(new Set(tabled).size, "a route has two rows in the matrix").toBe(tabled.length);
    expect(
      documented.filter((r) => !tabled.includes(r)),
      "routes with no row in test/authz/matrix.ts",
    ).toEqual([]);
    expect(
      tabled.filter((r) => !documented.includes(r)),
      "rows of test/authz/matrix.ts for routes the API no longer has",
    ).toEqual([]);
  });

  it("has every route the app serves under /v1 in the OpenAPI document (so none bypasses the check above)", async () => {
    const { body } = await client(app).get("/openapi.json");
    const documented = new Set(
      Object.entries(body.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
        METHODS.filter((m) => item[m] !== undefined).map((m) => routeKey({ method: m, path })),
      ),
    );
    const served = app.routes
      // "ALL" entries are middleware (authentication), not routes.
      .filter((r) => r.path.startsWith("/v1/") && r.method !== "ALL")
      .map((r) => routeKey({ method: r.method, path: r.path.replace(/:(\w+)/g, "{$1}") }));
    expect(
      [...new Set(served)].filter((r) => !documented.has(r)),
      "routes served but missing from /openapi.json",
    ).toEqual([]);
  });

  it("gives every row a verdict for every role", () => {
    for (const route of MATRIX) {
      expect(Object.keys(route.expect).sort(), routeKey(route)).toEqual([...ROLES].sort());
    }
  });
});

describe.each(MATRIX.map((route) => [routeKey(route), route] as const))("%s", (label, route) => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await buildFixture(database.db, app, route.needs);
  });

  it.each(roleCases(route))("%s", async (_name, role, expectation) => {
    check(await send(route, fx, keyOf(fx, role)), expectation);
  });

  it(`${label} — no key or an unknown key: 401`, async () => {
    expectProblem(await send(route, fx, undefined), 401, "unauthorized");
    expectProblem(await send(route, fx, "org_not-a-key-0000000000000000"), 401, "unauthorized");
  });

  if (route.auth === "sensor") {
    it(`${label} — the sensor's own key: allow`, async () => {
      expectAllowed(await send(route, fx, fx.sensor?.key));
    });
    it(`${label} — another street's sensor key: 401`, async () => {
      expectProblem(await send(route, fx, elsewhere.sensor?.key), 401, "unauthorized");
    });
  } else if (route.unscoped) {
    it.each(ROLES)(`${label} — %s: reads the same resource in another street`, async (role) => {
      expectAllowed(await send(route, elsewhere, keyOf(fx, role)));
    });
  } else if (addressesResource(route)) {
    const organizations = ROLES.filter((r) => r !== "platform_admin");
    it.each(organizations)(`${label} — %s: 404 for the same resource in another street`, async (role) => {
      expectProblem(await send(route, elsewhere, keyOf(fx, role)), 404, "not_found");
    });
    it(`${label} — platform_admin: the other street's resource exists (not 404)`, async () => {
      const res = await send(route, elsewhere, TEST_ADMIN_TOKEN);
      expect(res.status, told(res)).not.toBe(404);
      expect(res.status, told(res)).not.toBe(400);
    });
  }
});
