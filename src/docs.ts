import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./context.js";

/** Serves one file of the swagger-ui-dist package (Node: from disk; Workers: static assets). */
export type DocsAssetReader = (file: string) => Promise<string | null>;

/**
 * Swagger UI's start-up, served as a script of its own: the page has no inline script, so its
 * Content-Security-Policy (src/app.ts) can forbid them. Keys typed into "Authorize" live only as
 * long as the page (no `persistAuthorization`): a key, ADMIN_TOKEN included, is never left in the
 * browser's storage.
 */
const DOCS_INIT_JS = `window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", persistAuthorization: false });
});
`;

const DOCS_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>BOT platform API</title>
    <link rel="stylesheet" href="/docs/assets/swagger-ui-dist/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/assets/swagger-ui-dist/swagger-ui-bundle.js"></script>
    <script src="/docs/assets/docs-init.js"></script>
  </body>
</html>
`;

/** Only these files are served: nothing else of node_modules is reachable. */
const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
};

/** The document's own fields; everything else in it is generated from the routes. */
const DOCUMENT: Parameters<OpenAPIHono<AppEnv>["getOpenAPI31Document"]>[0] = {
  openapi: "3.1.0",
  info: {
    title: "BOT micro-infrastructure platform",
    version: "1.0.0",
    description:
      "Build–operate–transfer contracts for community elevators and e-bike garages: parties, facilities, contracts from draft to transfer. Errors are RFC 9457 problem+json.",
  },
};

/**
 * The OpenAPI document of an app built by createApp: the one source of `/openapi.json` and of
 * `npm run openapi` (the typed client's input). Generating it walks every route's schemas, which
 * takes hundreds of milliseconds: call it once.
 */
export function openApiDocument(app: OpenAPIHono<AppEnv>) {
  return app.getOpenAPI31Document(DOCUMENT);
}

/** The served document: its bytes and their strong validator. */
interface ServedDocument {
  bytes: Uint8Array<ArrayBuffer>;
  etag: string;
}

async function serveDocument(app: OpenAPIHono<AppEnv>): Promise<ServedDocument> {
  const bytes = new TextEncoder().encode(JSON.stringify(openApiDocument(app)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const etag = `"${Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")}"`;
  return { bytes, etag };
}

/**
 * Whether `If-None-Match` names this validator (RFC 9110 §13.1.2: `*`, or a list compared weakly,
 * so `W/"x"` matches `"x"`).
 */
function noneMatchHits(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === "*") return true;
  return (ifNoneMatch.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => tag.replace(/^W\//, "") === etag);
}

/**
 * `/openapi.json` (generated from the route schemas) and `/docs` (Swagger UI). The UI's assets
 * come from this server, not a CDN: street-office networks are often closed to the internet.
 *
 * The document is generated on its first request, then kept (per process; on Workers per
 * isolate) and served as the same bytes with a strong ETag. Not at start: generating it costs
 * hundreds of milliseconds of CPU that every start, every Workers cold start and every test's
 * app would pay although few read it; and the routes are only all registered once createApp
 * returns. `no-cache` lets a client keep it and revalidate (304) after a deployment.
 */
export function mountDocs(app: OpenAPIHono<AppEnv>, readAsset: DocsAssetReader) {
  app.openAPIRegistry.registerComponent("securitySchemes", "Bearer", {
    type: "http",
    scheme: "bearer",
    description: "An organization's API key, or ADMIN_TOKEN for the platform admin.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "SensorKey", {
    type: "http",
    scheme: "bearer",
    description: "A sensor's own key (HTTP ingest only), issued by POST /v1/sensors.",
  });
  let served: Promise<ServedDocument> | undefined;
  app.get("/openapi.json", async (c) => {
    // A failed build is not kept: the next request tries again (and this one answers 500).
    served ??= serveDocument(app).catch((err) => {
      served = undefined;
      throw err;
    });
    const { bytes, etag } = await served;
    c.header("ETag", etag);
    c.header("Cache-Control", "no-cache");
    if (noneMatchHits(c.req.header("if-none-match"), etag)) return c.body(null, 304);
    return c.body(bytes, 200, { "Content-Type": "application/json" });
  });
  app.get("/docs/assets/swagger-ui-dist/:file", async (c) => {
    const file = c.req.param("file");
    const type = ASSETS[file];
    const body = type ? await readAsset(file) : null;
    if (!type || !body) return c.notFound();
    return c.body(body, 200, { "Content-Type": type, "Cache-Control": "public, max-age=86400" });
  });
  app.get("/docs/assets/docs-init.js", (c) =>
    c.body(DOCS_INIT_JS, 200, { "Content-Type": "text/javascript; charset=utf-8" }),
  );
  app.get("/docs", (c) => c.html(DOCS_HTML));
}
