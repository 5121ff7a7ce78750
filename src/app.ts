import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { createIngest } from "../iot/ingest.js";
import { authenticate } from "./auth/authenticate.js";
import { createKeyCache } from "./auth/key-cache.js";
import type { AppDeps, AppEnv } from "./context.js";
import { type DocsAssetReader, mountDocs } from "./docs.js";
import { ApiError, handleError, problemResponse } from "./errors.js";
import { createRouter } from "./openapi.js";
import { healthRouter } from "./routes/health/health.index.js";
import { v1Routers } from "./routes/index.js";
import { sensorIngestRouter } from "./routes/sensors/sensor-ingest.index.js";

export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface CreateAppOptions extends Omit<AppDeps, "ingest" | "keyCache"> {
  readDocsAsset?: DocsAssetReader;
  /** Defaults to an ingest of the HTTP route's own (what it needs when no MQTT runs). */
  ingest?: AppDeps["ingest"];
  /** Defaults to a key cache with its 5 s TTL. */
  keyCache?: AppDeps["keyCache"];
}

/**
 * Builds the whole HTTP API from its dependencies, once per process or Workers isolate. It never
 * listens: entry points do.
 */
/** A JSON media type, as the route validators recognise it. */
const JSON_TYPE = /^application\/([a-z-.]+\+)?json/i;

export function createApp({ readDocsAsset, ingest, keyCache, ...rest }: CreateAppOptions) {
  const deps: AppDeps = {
    ...rest,
    ingest: ingest ?? createIngest({ db: rest.db, logger: rest.logger, clock: rest.clock }),
    keyCache: keyCache ?? createKeyCache(),
  };
  const app = new OpenAPIHono<AppEnv>();

  app.use(requestId());
  app.use(async (c, next) => {
    const db = c.env?.db ?? deps.db;
    if (!db) throw new Error("no database: pass `db` to createApp, or one per request in its bindings");
    c.set("deps", deps);
    c.set("db", db);
    c.set("logger", deps.logger.child({ requestId: c.var.requestId }));
    const started = performance.now();
    await next();
    c.var.logger.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        org: c.var.principal?.orgId ?? c.var.principal?.role,
      },
      "request",
    );
  });
  const limitBody = bodyLimit({
    maxSize: BODY_LIMIT_BYTES,
    onError: () => {
      throw new ApiError(413, "payload_too_large", "Payload too large", "The body is over the 1 MiB limit.");
    },
  });
  // GET and HEAD carry no body. Asking for one (`c.req.raw.body`) makes @hono/node-server build a
  // whole Fetch Request with an AbortSignal for every read: ~8 % of the server's CPU on the
  // contract detail (bench:api --profile 1).
  app.use((c, next) => (c.req.method === "GET" || c.req.method === "HEAD" ? next() : limitBody(c, next)));
  // An empty body sent as JSON (`curl -X POST -H 'Content-Type: application/json'`, which sends
  // neither Content-Length nor a body) says nothing: it is read as `{}`, so an action that takes no
  // body runs and a create names its missing fields, instead of a parse error. The bytes read
  // here stay cached on the request for the validators and handlers.
  app.use(async (c, next) => {
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

  app.route("/", healthRouter);
  if (readDocsAsset) mountDocs(app, readDocsAsset);

  // Sensors post events with their own key, not an organization's: this router is mounted
  // before the /v1 router, and its handler answers without calling next(), so the organization
  // `authenticate` middleware never runs for it.
  app.route("/v1", sensorIngestRouter);

  const v1 = createRouter();
  v1.use("*", authenticate);
  for (const router of v1Routers) v1.route("/", router);
  app.route("/v1", v1);

  app.notFound((c) =>
    problemResponse(
      c,
      new ApiError(404, "route_not_found", "Not found", `No route for ${c.req.method} ${c.req.path}.`),
    ),
  );
  app.onError(handleError);
  return app;
}

export type App = ReturnType<typeof createApp>;
