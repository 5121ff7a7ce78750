/**
 * Request rate limits of the HTTP side (docs/api.md, "Rate limits"): a token bucket per caller,
 * in this process's memory (a Workers isolate's on Workers), so a request costs a map look-up
 * and no I/O. Three policies:
 *   key      per credential on /v1: an organization's key, ADMIN_TOKEN, a sensor's key, a
 *            person's portal session reading the API (RATE_LIMIT_KEY_PER_MIN)
 *   address  per client address on what anyone may read without a key: household links,
 *            invitations, /openapi.json (RATE_LIMIT_ADDRESS_PER_MIN)
 *   form     per client address on the portal's forms that need no session: signing in,
 *            accepting an invitation (RATE_LIMIT_FORM_PER_MIN)
 * A bucket holds `quota` requests and refills at `quota` per `windowS`: a client may send its
 * whole quota at once, then `quota / windowS` a second. Every request that reaches the limiter
 * counts, whatever its answer (a 304, a 404, a 409 too); one it refuses (429) does not.
 */
import type { Context, Env, MiddlewareHandler } from "hono";
import type { AppEnv } from "./context.js";
import { clientAddress } from "./context.js";
import { ApiError } from "./errors.js";

export type RateLimitPolicyName = "key" | "address" | "form";

export interface RateLimitPolicy {
  /** Requests a client may send at once, and on average per window. */
  quota: number;
  windowS: number;
}

/** What one request got: let in or not, and what the RateLimit fields say. */
export interface RateLimitVerdict {
  allowed: boolean;
  /** Requests the client may still send at once (`r`). */
  remaining: number;
  /**
   * Seconds until the bucket is full again (`t`), or, when refused, until the next request is
   * let in (also `Retry-After`).
   */
  windowS: number;
}

export interface RateLimitTable {
  readonly policy: RateLimitPolicy;
  /** Counts a request of `id` (a key's hash, an address) and says whether it is let in. */
  take(id: string): RateLimitVerdict;
  /** Buckets held: callers seen within the time a bucket takes to refill (at most `maxEntries`). */
  readonly size: number;
}

export interface RateLimitTableOptions {
  /** Buckets held at most; beyond, the least recently used is forgotten (it starts full again). */
  maxEntries?: number;
  /** Monotonic milliseconds (default `performance.now`). */
  now?: () => number;
}

export const DEFAULT_MAX_BUCKETS = 50_000;

/** Idle buckets looked at (and dropped when full again) per request: memory follows the live callers. */
const EVICTIONS_PER_TAKE = 2;

interface Bucket {
  tokens: number;
  at: number;
}

export function createRateLimitTable(
  policy: RateLimitPolicy,
  { maxEntries = DEFAULT_MAX_BUCKETS, now = () => performance.now() }: RateLimitTableOptions = {},
): RateLimitTable {
  const { quota, windowS } = policy;
  const perMs = quota / (windowS * 1000);
  /** A bucket left alone this long is full again: the same as no bucket. */
  const refillMs = windowS * 1000;
  // Map order is insertion order and a request re-inserts its caller's bucket, so the first
  // entries are the least recently used: the idle ones are found there, without a scan.
  const buckets = new Map<string, Bucket>();

  return {
    policy,
    take(id) {
      const t = now();
      let bucket = buckets.get(id);
      if (bucket) {
        buckets.delete(id);
        // A clock that steps back refills nothing (and takes nothing back).
        if (t > bucket.at) {
          bucket.tokens = Math.min(quota, bucket.tokens + (t - bucket.at) * perMs);
          bucket.at = t;
        }
      } else {
        bucket = { tokens: quota, at: t };
      }
      buckets.set(id, bucket);
      for (let i = 0; i < EVICTIONS_PER_TAKE; i++) {
        const oldest = buckets.entries().next();
        if (oldest.done || oldest.value[1] === bucket) break;
        if (t - oldest.value[1].at < refillMs && buckets.size <= maxEntries) break;
        buckets.delete(oldest.value[0]);
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return {
          allowed: true,
          remaining: Math.floor(bucket.tokens),
          windowS: Math.ceil((quota - bucket.tokens) / perMs / 1000),
        };
      }
      return {
        allowed: false,
        remaining: 0,
        windowS: Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)),
      };
    },
    get size() {
      return buckets.size;
    },
  };
}

/** The app's tables, one per policy. */
export type RateLimits = Record<RateLimitPolicyName, RateLimitTable>;

export interface RateLimitSettings {
  RATE_LIMITS: boolean;
  RATE_LIMIT_KEY_PER_MIN: number;
  RATE_LIMIT_ADDRESS_PER_MIN: number;
  RATE_LIMIT_FORM_PER_MIN: number;
}

/** The tables of the settings; undefined when RATE_LIMITS=false (nothing is limited). */
export function rateLimitsOf(
  settings: RateLimitSettings,
  options: RateLimitTableOptions = {},
): RateLimits | undefined {
  if (!settings.RATE_LIMITS) return undefined;
  const perMinute = (quota: number) => createRateLimitTable({ quota, windowS: 60 }, options);
  return {
    key: perMinute(settings.RATE_LIMIT_KEY_PER_MIN),
    address: perMinute(settings.RATE_LIMIT_ADDRESS_PER_MIN),
    form: perMinute(settings.RATE_LIMIT_FORM_PER_MIN),
  };
}

/**
 * Counts the request against `id`'s bucket of `policy`: sets `RateLimit-Policy` and `RateLimit`
 * (draft-ietf-httpapi-ratelimit-headers) on whatever the request is answered, or throws 429
 * `rate_limited` with `Retry-After`. Nothing happens when the app has no limits (RATE_LIMITS=false,
 * and tests that do not ask for them).
 */
export function countRequest<E extends Env>(c: Context<E>, policy: RateLimitPolicyName, id: string): void {
  const limits = (c as unknown as Context<AppEnv>).var.deps.rateLimits;
  if (!limits) return;
  const table = limits[policy];
  const verdict = table.take(id);
  c.header("RateLimit-Policy", `"${policy}";q=${table.policy.quota};w=${table.policy.windowS}`);
  c.header("RateLimit", `"${policy}";r=${verdict.remaining};t=${verdict.windowS}`);
  if (verdict.allowed) return;
  // Set here too, not only by the problem response: a portal page answers the 429 with HTML.
  c.header("Retry-After", String(verdict.windowS));
  throw Object.assign(
    new ApiError(
      429,
      "rate_limited",
      "Too many requests",
      policy === "key"
        ? `This key sent more than ${table.policy.quota} requests in ${table.policy.windowS} s; send the next after Retry-After.`
        : `This address sent more than ${table.policy.quota} such requests in ${table.policy.windowS} s; send the next after Retry-After.`,
      // The member the draft's quota-exceeded problem type names the policies in.
      { "violated-policies": [policy] },
    ),
    { retryAfterS: verdict.windowS },
  );
}

/**
 * Limits a route that needs no key by the client's address (its /64 for IPv6: one subscriber's
 * network). A request whose address can not be told (an in-process request) is not counted.
 */
export function limitByAddress<E extends Env>(policy: "address" | "form"): MiddlewareHandler<E> {
  return async (c, next) => {
    const address = clientAddress(c);
    if (address) countRequest(c, policy, addressBucket(address));
    await next();
  };
}

/**
 * The bucket of an address: an IPv4 address as it is (an IPv4-mapped IPv6 one as its IPv4), an
 * IPv6 address by its /64 prefix, which one subscriber usually holds whole (so a client can not
 * get a fresh bucket by taking the next address of its own network).
 */
export function addressBucket(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!address.includes(":")) return address;
  const bare = address.replace(/%.*$/, "").toLowerCase();
  const [head = "", tail] = bare.split("::");
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const groups =
    tail === undefined
      ? headGroups
      : [
          ...headGroups,
          ...Array(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill("0"),
          ...tailGroups,
        ];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/** Limits an authenticated /v1 request by what it was let in with (after `authenticate`). */
export const limitByKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { credential, principal } = c.var;
  countRequest(
    c,
    "key",
    credential.kind === "key" ? `key:${credential.hash}` : `person:${principal.person?.id ?? ""}`,
  );
  await next();
};

/**
 * Limits a sensor's request by its sensor (after `requireSensorKey`): its requests, whatever they
 * carry. The messages in them are the ingest's to limit (INGEST_SENSOR_RATE_PER_S), as over MQTT.
 */
export const limitBySensor: MiddlewareHandler<AppEnv> = async (c, next) => {
  countRequest(c, "key", `sensor:${c.req.param("id") ?? ""}`);
  await next();
};
