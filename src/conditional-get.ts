import { createHash } from "node:crypto";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./context.js";

/** The JSON answers a validator is computed for (problem+json and streams are left alone). */
const JSON_TYPE = /^application\/json/i;

/** Whether `If-None-Match` (a list of entity tags, or `*`) names `etag`, by weak comparison (RFC 9110 §13.1.2). */
export function noneMatch(ifNoneMatch: string, etag: string): boolean {
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  if (ifNoneMatch.trim() === "*") return true;
  return ifNoneMatch.split(",").some((tag) => opaque(tag) === opaque(etag));
}

/** 144 bits of the body's SHA-256, base64url. */
const digestOf = (body: Uint8Array) =>
  createHash("sha256").update(body).digest().subarray(0, 18).toString("base64url");

/**
 * Conditional GET on every JSON read: each 200 carries a strong `ETag` (the route's own, such as a
 * draft's revision, or a digest of the bytes), and an `If-None-Match` naming it is answered 304
 * without the body, so a client polling a contract or an incident pays only for changes. The
 * answer is private to the caller's key and must be revalidated before reuse.
 */
export const conditionalGet = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (c.req.method !== "GET" && c.req.method !== "HEAD") return;
  if (c.res.status !== 200 || !JSON_TYPE.test(c.res.headers.get("content-type") ?? "")) return;
  let etag = c.res.headers.get("etag");
  if (!etag) {
    // Read once and answered from the bytes: a clone() would tee the body's stream, and hashing
    // on the event loop is cheaper than the promise of crypto.subtle (BENCHMARKS.md).
    const bytes = new Uint8Array(await c.res.arrayBuffer());
    etag = `"${digestOf(bytes)}"`;
    c.res = new Response(bytes, c.res);
    c.res.headers.set("ETag", etag);
  }
  if (!c.res.headers.has("cache-control")) c.res.headers.set("Cache-Control", "private, no-cache");
  const ifNoneMatch = c.req.header("if-none-match");
  if (ifNoneMatch && noneMatch(ifNoneMatch, etag)) {
    // Hono carries the 200's headers over (ETag, Cache-Control, the request id, security headers);
    // a 304 has no content, so none of its content headers.
    c.res = new Response(null, { status: 304 });
    c.res.headers.delete("content-length");
    c.res.headers.delete("content-type");
  }
});
