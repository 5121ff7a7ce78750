import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { Database } from "../../db/database.js";
import { hashKey, sameHash } from "../../db/keys.js";
import { type AppDeps, type AppEnv, type Credential, clientAddress } from "../context.js";
import { ApiError } from "../errors.js";
import { resolveSession } from "../services/people.js";
import type { Principal } from "./principal.js";
import { SESSION_COOKIE } from "./session-cookie.js";

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The key of an `Authorization: Bearer <key>` header, if it is one. */
export function bearerKey(header: string | undefined): string | undefined {
  return BEARER.exec(header ?? "")?.[1];
}

const PLATFORM_ADMIN: Principal = Object.freeze({
  role: "platform_admin",
  orgId: null,
  keyId: null,
  keyRole: "admin",
  streetId: null,
  communityIds: [],
  person: null,
});

/**
 * Answers a refused key with `refusal`, after a wait that grows with the recent refusals of the
 * caller's address (and of `user`, the sensor a key was offered for): a guesser gets its answers
 * ever more slowly, while a right key is never waited on (HTTP tells a right key from a wrong one
 * by its status anyway, so only the refusals need to wait). An address that can not be told (an
 * in-process request) is not counted.
 */
export async function refuseSlowly(c: Context<AppEnv>, refusal: ApiError, user?: string): Promise<never> {
  const { byAddress, byUser } = c.var.deps.failedLogins;
  const address = clientAddress(c);
  if (address) byAddress.recordFailure(address);
  if (user) byUser.recordFailure(user);
  const wait = Math.max(address ? byAddress.delayMs(address) : 0, user ? byUser.delayMs(user) : 0);
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  throw refusal;
}

/**
 * The principal a credential stands for now, or null when it no longer stands for anyone (a key
 * revoked, a session signed out, expired or of a disabled person). The request's check, and an
 * open stream's check again while it lasts (src/routes/incidents/feed.handlers.ts).
 */
export async function resolveCredential(
  deps: AppDeps,
  db: Database,
  credential: Credential,
): Promise<Principal | null> {
  if (credential.kind === "session") {
    return (await resolveSession({ db, clock: deps.clock }, credential.token))?.principal ?? null;
  }
  // ADMIN_TOKEN has no row: it is valid while it is this process's token.
  if (deps.adminTokenHash && sameHash(credential.hash, deps.adminTokenHash)) return PLATFORM_ADMIN;
  return deps.keyCache.resolve(db, credential.hash);
}

/**
 * Resolves `Authorization: Bearer <key>` to the principal, or answers 401. Organization keys go
 * through the key cache (src/auth/key-cache.ts): a few seconds per key, so most requests make no
 * database round trip for it.
 *
 * Without the header, a GET or HEAD may come from a signed-in person's browser instead: the
 * portal's session cookie (src/pages/session.ts) is accepted for reading, so a page's script can
 * read the API (the live incident board's EventSource, which can not send a header). Never for a
 * request that changes something: the cookie goes with any request the browser sends, so a
 * write by cookie would need the portal's form token, and the API's writes are for keys.
 */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization");
  const key = bearerKey(header);
  let credential: Credential;
  if (key) credential = { kind: "key", hash: hashKey(key) };
  else {
    const token = header === undefined && readsOnly(c.req.method) ? getCookie(c, SESSION_COOKIE) : undefined;
    if (!token) throw ApiError.unauthorized();
    credential = { kind: "session", token };
  }
  const principal = await resolveCredential(c.var.deps, c.var.db, credential);
  if (!principal) {
    return refuseSlowly(
      c,
      ApiError.unauthorized(
        credential.kind === "key"
          ? "The API key is unknown or revoked."
          : "The session has ended; sign in again.",
      ),
    );
  }
  c.set("principal", principal);
  c.set("credential", credential);
  await next();
});

function readsOnly(method: string): boolean {
  return method === "GET" || method === "HEAD";
}
