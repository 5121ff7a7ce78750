import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { csrfPage } from "./errors.js";
import type { PortalEnv } from "./portal-env.js";
import { formTokenMatches } from "./session.js";

/** Pages for a signed-in person: anyone else is sent to sign in, and comes back here after. */
export const signedIn = createMiddleware<PortalEnv>(async (c, next) => {
  if (!c.var.session) {
    const back = c.req.method === "GET" ? c.req.path + new URL(c.req.url).search : "/home";
    return c.redirect(`/sign-in?next=${encodeURIComponent(back)}`, 303);
  }
  await next();
});

/** Every POST of the portal: refused with the expired-form page unless it carries its token. */
export const formToken = createMiddleware<PortalEnv>(async (c, next) => {
  if (c.req.method === "POST" && !(await formTokenMatches(c))) return csrfPage(c);
  await next();
});

/** Where to go after signing in: only a path of this site (never another host). */
export function safeNext(value: unknown): string {
  return typeof value === "string" && /^\/(?![/\\])/.test(value) ? value : "/home";
}

/** A string field of a parsed form ("" when missing or a file). */
export function field(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  return typeof v === "string" ? v : "";
}

export async function formOf(c: Context<PortalEnv>): Promise<Record<string, unknown>> {
  return (await c.req.parseBody()) as Record<string, unknown>;
}
