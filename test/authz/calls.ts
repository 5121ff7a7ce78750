/**
 * How the authorization tests call a route of the matrix: the role's key, the URL with its
 * parameters filled in, and the request the row builds.
 */
import type { Role } from "../../src/auth/principal.js";
import { client, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { type Call, type Expectation, type Fixture, ROLES, type RouteEntry, routeKey } from "./matrix.js";

export function keyOf(fx: Fixture, role: Role): string {
  switch (role) {
    case "platform_admin":
      return TEST_ADMIN_TOKEN;
    case "street_office":
      return fx.world.streetOffice.key;
    case "enterprise":
      return fx.world.enterprise.key;
    case "owners_committee":
      return fx.world.ownersCommittee.key;
    case "property_company":
      return fx.world.propertyCompany.key;
  }
}

/** The route's path with its parameters filled in, and the query string. */
function urlOf(route: RouteEntry, call: Call): string {
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = call.params?.[name];
    if (value === undefined) throw new Error(`${routeKey(route)}: the request gives no {${name}}`);
    return encodeURIComponent(String(value));
  });
  const query = new URLSearchParams(
    Object.entries(call.query ?? {}).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  return query ? `${path}?${query}` : path;
}

/** Calls the route with the request its row builds for `fx`, with `key` (none: no Authorization). */
export async function send(app: TestApp, route: RouteEntry, fx: Fixture, key: string | undefined) {
  return sendCall(app, route, route.request(fx), key);
}

/** Calls the route with a request built before (to send the same one again), `headers` added. */
export async function sendCall(
  app: TestApp,
  route: RouteEntry,
  call: Call,
  key: string | undefined,
  headers: Record<string, string> = {},
) {
  const api = client(app, key);
  const url = urlOf(route, call);
  const all = { ...call.headers, ...headers };
  switch (route.method) {
    case "GET":
      return api.get(url, all);
    case "DELETE":
      return api.delete(url, all);
    case "POST":
      return api.post(url, call.body ?? {}, all);
    case "PUT":
      return api.put(url, call.body, all);
    case "PATCH":
      return api.patch(url, call.body, all);
  }
}

export type Answer = Awaited<ReturnType<typeof send>>;

/** A one-line account of an answer, for failure messages. */
export const told = (res: Answer) =>
  `${res.status} ${typeof res.body === "object" ? JSON.stringify(res.body).slice(0, 400) : String(res.body)}`;

/** Refused roles first: none of them may change anything the allowed ones act on. */
export function rolesInCallOrder(route: RouteEntry): Role[] {
  const rank = (e: Expectation) => (e === "allow" ? 1 : 0);
  return [...ROLES].sort((a, b) => rank(route.expect[a]) - rank(route.expect[b]));
}
