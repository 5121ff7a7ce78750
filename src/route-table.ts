import type { OpenAPIHono } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./context.js";

/**
 * The methods the app answers on a path, for a 405's `Allow` (HEAD wherever GET is): read from
 * the app's own routes once, on the first unanswered request, when every route is mounted.
 */
export function routeMethods(app: OpenAPIHono<AppEnv>): (path: string) => string[] {
  let routes: { pattern: RegExp; method: string }[] | undefined;
  return (path) => {
    routes ??= app.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => ({
        method: r.method,
        pattern: new RegExp(
          `^${r.path
            .split("/")
            .map((part) =>
              part === "*"
                ? ".*"
                : part.startsWith(":")
                  ? "[^/]+"
                  : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
            )
            .join("/")}/?$`,
        ),
      }));
    const methods = new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method));
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  };
}

/** The id of what a 201 created: its own `id`, or that of the one object it wraps (`{organization, firstKey}`). */
function createdId(body: unknown): string | undefined {
  if (!body || typeof body !== "object") return undefined;
  const own = (body as { id?: unknown }).id;
  if (typeof own === "string") return own;
  for (const value of Object.values(body)) {
    const inner = value && typeof value === "object" ? (value as { id?: unknown }).id : undefined;
    if (typeof inner === "string") return inner;
  }
  return undefined;
}

/**
 * `Location` on a 201: the URL of what was created, where the API can read it on its own — under
 * the path it was created at (`/v1/sensors/{id}/commands/{commandId}`), or in its own collection
 * (`POST /v1/contracts/{id}/reports` → `/v1/reports/{id}`). A handler that knows
 * better sets its own (a revised report, an amendment's version, a milestone by its kind). Something that
 * is read only as part of a list (a key, a payment) has no URL of its own and gets none; docs/api.md says which.
 */
export function locationOfCreated(methodsOf: (path: string) => string[]) {
  return createMiddleware<AppEnv>(async (c, next) => {
    await next();
    if (c.res.status !== 201 || c.res.headers.has("location")) return;
    if (!(c.res.headers.get("content-type") ?? "").startsWith("application/json")) return;
    const id = createdId(await c.res.clone().json());
    if (!id) return;
    const path = c.req.path.replace(/\/$/, "");
    const candidates = [`${path}/${id}`, `/v1/${path.slice(path.lastIndexOf("/") + 1)}/${id}`];
    const location = candidates.find((url) => methodsOf(url).includes("GET"));
    if (location) c.res.headers.set("Location", location);
  });
}
