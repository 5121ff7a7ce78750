import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, Hono, MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { createFailedLogins } from "../contracts/login-throttle.js";
import { createCommandCounters } from "../iot/command-counters.js";
import type { EventRetention } from "../iot/event-partitions.js";
import { createIngest, type IngestLimits } from "../iot/ingest.js";
import { authenticate } from "./auth/authenticate.js";
import { createKeyCache } from "./auth/key-cache.js";
import { limitBody } from "./body-limit.js";
import { conditionalGet } from "./conditional-get.js";
import type { AppDeps, AppEnv } from "./context.js";
import { type DocsAssetReader, mountDocs } from "./docs.js";
import { emptyJsonAsObject } from "./empty-json-body.js";
import { ApiError, handleError, problemResponse } from "./errors.js";
import { idempotentPosts } from "./idempotency.js";
import { createRouter, registerHeaderComponents } from "./openapi.js";
import { createPortal, isApiPath, portalNotFound } from "./pages/index.js";
import type { PortalEnv } from "./pages/portal-env.js";
import { limitByAddress, limitByKey } from "./rate-limit.js";
import { locationOfCreated, routeMethods } from "./route-table.js";
import { healthRouter } from "./routes/health/health.index.js";
import { v1Routers } from "./routes/index.js";
import { problemsRouter } from "./routes/problems/problems.index.js";
import { sensorIngestRouter } from "./routes/sensors/sensor-ingest.index.js";
import { snapshotUploadRouter } from "./routes/snapshots/snapshots.index.js";
import { createSnapshots } from "./services/snapshots/snapshots.js";
import { databaseSnapshotStore } from "./services/snapshots/store.js";

export { BODY_LIMIT_BYTES } from "./body-limit.js";

/**
 * On every response; what matters is the HTML (/docs, and pages later). The policy admits only
 * this server's own scripts, styles and images: no inline script (Swagger UI's start-up is a file,
 * src/docs.ts), no framing, no referrer leaving the site. Inline styles stay allowed because
 * Swagger UI sets style attributes.
 */
const SECURITY_HEADERS = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    fontSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: "DENY",
  referrerPolicy: "same-origin",
});

/** A path as the request log writes it: the token of a household link or an invitation (secrets) left out. */
export function loggedPath(path: string): string {
  return path.replace(/^\/(h|invitations)\/[^/]*/, "/$1/[token]");
}

/** What a client's own X-Request-Id may look like to be logged beside ours. */
const CLIENT_REQUEST_ID = /^[\w\-=.:]{1,128}$/;

export interface CreateAppOptions
  extends Omit<AppDeps, "ingest" | "keyCache" | "failedLogins" | "snapshots"> {
  /** Defaults to snapshots kept in PostgreSQL (SNAPSHOT_STORE=database). */
  snapshots?: AppDeps["snapshots"];
  readDocsAsset?: DocsAssetReader;
  /** Defaults to an ingest of the HTTP route's own (what it needs when no MQTT runs). */
  ingest?: AppDeps["ingest"];
  /** The default ingest's limits (the Workers entry's settings); DEFAULT_INGEST_LIMITS when absent. */
  ingestLimits?: IngestLimits;
  /** How far back the HTTP ingest takes events (iot/event-partitions.ts); its default when absent. */
  eventRetention?: EventRetention;
  /** Defaults to a key cache with its 5 s TTL. */
  keyCache?: AppDeps["keyCache"];
  /** Defaults to the throttle of contracts/login-throttle.ts with its default waits. */
  failedLogins?: AppDeps["failedLogins"];
  /** Browser origins whose scripts may call /v1 (CORS_ORIGINS); none when absent or empty. */
  corsOrigins?: readonly string[];
}

/**
 * Builds the whole HTTP API from its dependencies, once per process or Workers isolate. It never
 * listens: entry points do.
 */
export function createApp({
  readDocsAsset,
  ingest,
  ingestLimits,
  eventRetention,
  keyCache,
  failedLogins,
  snapshots,
  corsOrigins = [],
  ...rest
}: CreateAppOptions) {
  const deps: AppDeps = {
    ...rest,
    ingest:
      ingest ??
      createIngest({
        db: rest.db,
        logger: rest.logger,
        clock: rest.clock,
        ...(ingestLimits ? { limits: ingestLimits } : {}),
        ...(eventRetention ? { retention: eventRetention } : {}),
      }),
    keyCache: keyCache ?? createKeyCache(),
    failedLogins: failedLogins ?? createFailedLogins(),
    commandCounters: rest.commandCounters ?? createCommandCounters(),
    snapshots: snapshots ?? createSnapshots(databaseSnapshotStore),
  };
  const app = new OpenAPIHono<AppEnv>();
  registerHeaderComponents(app.openAPIRegistry);

  // The request id is always the server's own: a client could otherwise choose the id its request is
  // logged under (and pose as another request). A well-formed id of the client's is kept beside it.
  app.use(async (c, next) => {
    const id = crypto.randomUUID();
    c.set("requestId", id);
    c.header("X-Request-Id", id);
    const db = c.env?.db ?? deps.db;
    if (!db) throw new Error("no database: pass `db` to createApp, or one per request in its bindings");
    c.set("deps", deps);
    c.set("db", db);
    const clientRequestId = c.req.header("x-request-id");
    c.set(
      "logger",
      deps.logger.child(
        clientRequestId && CLIENT_REQUEST_ID.test(clientRequestId)
          ? { requestId: id, clientRequestId }
          : { requestId: id },
      ),
    );
    const started = performance.now();
    await next();
    c.var.logger.info(
      {
        method: c.req.method,
        path: loggedPath(c.req.path),
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        org: c.var.principal?.orgId ?? c.var.principal?.role,
      },
      "request",
    );
  });
  // A household link's token is its path: not kept by a cache, not sent on as a referrer (after
  // SECURITY_HEADERS has set its own Referrer-Policy, so this one stands).
  app.use("/h/*", async (c, next) => {
    await next();
    c.res.headers.set("Cache-Control", "no-store");
    c.res.headers.set("Referrer-Policy", "no-referrer");
  });
  app.use(SECURITY_HEADERS);
  if (corsOrigins.length > 0) app.use("/v1/*", corsOf(corsOrigins));
  // A snapshot upload has its own, smaller body limit, counted before anything is held: mounted
  // before the app's 1 MiB limit, which would buffer a chunked body of up to 1 MiB first.
  app.route("/v1", snapshotUploadRouter);
  // Sensors post events and answers with their own key, not an organization's: mounted before the
  // app's body limit (their router checks the key first, then the limit) and before the /v1
  // router, and its handlers answer without calling next(), so the organization `authenticate`
  // middleware never runs for them.
  app.route("/v1", sensorIngestRouter);
  // GET and HEAD carry no body. Asking for one (`c.req.raw.body`) makes @hono/node-server build a
  // whole Fetch Request with an AbortSignal for every read: ~8 % of the server's CPU on the
  // contract detail (bench:api --profile 1).
  app.use((c, next) => (c.req.method === "GET" || c.req.method === "HEAD" ? next() : limitBody(c, next)));
  app.route("/", healthRouter);
  // The document is public and the biggest answer there is.
  app.use("/openapi.json", limitByAddress("address"));
  app.route("/", problemsRouter);
  if (readDocsAsset) mountDocs(app, readDocsAsset);

  const v1 = createRouter();
  const methodsOf = routeMethods(app);
  // The key first: nothing of a body is read for a caller who is not let in (nor counted: a
  // refused key is slowed by `refuseSlowly` instead). A POST with an Idempotency-Key then runs in
  // the transaction that claims the key (src/idempotency.ts).
  v1.use("*", authenticate, limitByKey, emptyJsonAsObject, idempotentPosts, conditionalGet);
  v1.use("*", locationOfCreated(methodsOf));
  for (const router of v1Routers) v1.route("/", router);
  app.route("/v1", v1);

  // People's pages last: every path the API, the docs and health do not answer.
  app.route("/", createPortal() as unknown as Hono<AppEnv>);

  app.notFound((c) => {
    if (isPageRequest(c)) return portalNotFound(c as unknown as Context<PortalEnv>);
    const allowed = methodsOf(c.req.path);
    // A route of this method that answered "not found" (an unknown asset) stays a 404.
    if (allowed.length > 0 && !allowed.includes(c.req.method)) {
      const allow = allowed.join(", ");
      return problemResponse(
        c,
        Object.assign(
          new ApiError(
            405,
            "method_not_allowed",
            "Method not allowed",
            `${c.req.path} takes ${allow}, not ${c.req.method}.`,
          ),
          { headers: { Allow: allow } },
        ),
      );
    }
    return problemResponse(
      c,
      new ApiError(404, "route_not_found", "Not found", `No route for ${c.req.method} ${c.req.path}.`),
    );
  });
  app.onError(handleError);
  return app;
}

export type App = ReturnType<typeof createApp>;

/** Methods the API's routes answer (a preflight for another is refused by the browser). */
const CORS_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
/** Request headers a script may send beyond the safelisted ones. */
const CORS_REQUEST_HEADERS = [
  "Authorization",
  "Content-Type",
  "Idempotency-Key",
  "If-Match",
  "If-None-Match",
];
/** Response headers a script may read beyond the safelisted ones. */
const CORS_RESPONSE_HEADERS = [
  "ETag",
  "Location",
  "Retry-After",
  "RateLimit",
  "RateLimit-Policy",
  "X-Request-Id",
  "Idempotent-Replayed",
];
/** How long a browser may keep a preflight's answer (Chromium keeps at most 2 h). */
const CORS_MAX_AGE_S = 7200;

/**
 * CORS for /v1 only (docs/api.md, "CORS"): scripts of the listed origins may call the API with a
 * key. Never with credentials: a cross-origin script can not read the API with a person's portal
 * cookie. A request from an origin not listed gets no CORS header at all (and so, in a browser,
 * no answer it may read); every answer varies by Origin, so a cache keeps them apart.
 */
function corsOf(origins: readonly string[]): MiddlewareHandler<AppEnv> {
  const allowed = new Set(origins);
  const handler = cors({
    origin: (origin) => (allowed.has(origin) ? origin : null),
    allowMethods: CORS_METHODS,
    allowHeaders: CORS_REQUEST_HEADERS,
    exposeHeaders: CORS_RESPONSE_HEADERS,
    maxAge: CORS_MAX_AGE_S,
  });
  return async (c, next) => {
    if (allowed.has(c.req.header("origin") ?? "")) return handler(c, next);
    await next();
    c.header("Vary", "Origin", { append: true });
  };
}

/** A browser asking for a page (not a machine asking the API): answered with the portal's 404 page. */
function isPageRequest(c: Context<AppEnv>): boolean {
  if (c.req.method !== "GET" && c.req.method !== "HEAD") return false;
  if (isApiPath(c.req.path)) return false;
  return (c.req.header("accept") ?? "").includes("text/html");
}
