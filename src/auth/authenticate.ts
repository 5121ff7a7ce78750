import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { hashKey, sameHash } from "../../db/keys.js";
import { type AppEnv, clientAddress } from "../context.js";
import { ApiError } from "../errors.js";
import type { Principal } from "./principal.js";

const BEARER = /^Bearer\s+(\S+)\s*$/i;

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
 * Resolves `Authorization: Bearer <key>` to the principal, or answers 401. Organization keys go
 * through the key cache (src/auth/key-cache.ts): a few seconds per key, so most requests make no
 * database round trip for it.
 */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const match = BEARER.exec(c.req.header("authorization") ?? "");
  if (!match?.[1]) throw ApiError.unauthorized();
  const { deps } = c.var;
  const hash = hashKey(match[1]);
  const principal =
    deps.adminTokenHash && sameHash(hash, deps.adminTokenHash)
      ? PLATFORM_ADMIN
      : await deps.keyCache.resolve(c.var.db, hash);
  if (!principal) return refuseSlowly(c, ApiError.unauthorized("The API key is unknown or revoked."));
  c.set("principal", principal);
  c.set("keyHash", hash);
  await next();
});
