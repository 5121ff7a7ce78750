import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./context.js";

/** A JSON media type, as the route validators recognise it. */
export const JSON_TYPE = /^application\/([a-z-.]+\+)?json/i;

/**
 * An empty body sent as JSON (`curl -X POST -H 'Content-Type: application/json'`, which sends
 * neither Content-Length nor a body) says nothing: it is read as `{}`, so an action that takes no
 * body runs and a create names its missing fields, instead of a parse error. It reads the body, so
 * it runs only after the caller's key is checked; the bytes stay cached on the request for the
 * validators and handlers.
 */
export const emptyJsonAsObject = createMiddleware<AppEnv>(async (c, next) => {
  if (
    c.req.method === "GET" ||
    c.req.method === "HEAD" ||
    !JSON_TYPE.test(c.req.header("content-type") ?? "")
  ) {
    return next();
  }
  if ((await c.req.arrayBuffer()).byteLength === 0) {
    const raw = c.req.raw;
    c.req.raw = new Request(raw.url, {
      method: raw.method,
      headers: raw.headers,
      body: "{}",
      signal: raw.signal,
    });
    c.req.bodyCache = {};
  }
  await next();
});
