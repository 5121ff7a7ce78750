import { createMiddleware } from "hono/factory";
import { hashKey, sameHash } from "../../db/keys.js";
import type { AppEnv } from "../context.js";
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
});

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
  if (!principal) throw ApiError.unauthorized("The API key is unknown or revoked.");
  c.set("principal", principal);
  c.set("keyHash", hash);
  await next();
});
