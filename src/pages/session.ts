/**
 * Who is signed in, and forms that can not be forged. The session cookie is `__Host-` prefixed,
 * httpOnly, Secure and SameSite=Lax: only this origin sets or reads it, scripts never see it, and
 * other sites' forms do not carry it. Every form still carries a token: for a session, a hash of
 * its cookie (an attacker who could read it would have the cookie already); before signing in, a
 * random value also set as a cookie (double submit), so nobody can sign a victim in to an
 * attacker's account either.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { SESSION_COOKIE } from "../auth/session-cookie.js";
import { resolveSession } from "../services/people.js";
import { langOf } from "./i18n.js";
import type { PortalEnv } from "./portal-env.js";

export const FORM_COOKIE = "__Host-bot_form";
/** The field every form of the portal sends its token in. */
export const CSRF_FIELD = "_csrf";

const COOKIE_BASE = { httpOnly: true, secure: true, sameSite: "Lax", path: "/" } as const;

function csrfOfSession(sessionToken: string): string {
  return createHash("sha256").update(`csrf:${sessionToken}`).digest("base64url");
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Reads the language and the session (if the cookie names a live one) for every portal page. */
export const portalContext = createMiddleware<PortalEnv>(async (c, next) => {
  c.set("lang", langOf(c));
  const token = getCookie(c, SESSION_COOKIE);
  const session = token ? await resolveSession({ db: c.var.db, clock: c.var.deps.clock }, token) : null;
  if (token && !session) deleteCookie(c, SESSION_COOKIE, COOKIE_BASE);
  c.set("session", session);
  if (session && token) {
    c.set("principal", session.principal);
    c.set("csrfToken", csrfOfSession(token));
  } else {
    // Before signing in: the form token is a random value kept in its own cookie as well.
    let formToken = getCookie(c, FORM_COOKIE);
    if (!formToken || !/^[\w-]{43}$/.test(formToken)) {
      formToken = randomBytes(32).toString("base64url");
      setCookie(c, FORM_COOKIE, formToken, COOKIE_BASE);
    }
    c.set("csrfToken", formToken);
  }
  c.header("Cache-Control", "no-store");
  await next();
});

/** Refuses (403, the expired-form page) a POST whose token is missing or not this browser's. */
export async function formTokenMatches(c: Context<PortalEnv>): Promise<boolean> {
  const body = await c.req.parseBody();
  const sent = body[CSRF_FIELD];
  return typeof sent === "string" && sameToken(sent, c.var.csrfToken);
}

export function startSession(c: Context<PortalEnv>, token: string, expiresAt: Date): void {
  setCookie(c, SESSION_COOKIE, token, { ...COOKIE_BASE, expires: expiresAt });
  deleteCookie(c, FORM_COOKIE, COOKIE_BASE);
}

export function endSession(c: Context<PortalEnv>): void {
  deleteCookie(c, SESSION_COOKIE, COOKIE_BASE);
}

export function sessionToken(c: Context<PortalEnv>): string | undefined {
  return getCookie(c, SESSION_COOKIE);
}
