import type { OpenAPIHono } from "@hono/zod-openapi";
import { noneMatch } from "./conditional-get.js";
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

/** Every tag an operation carries, declared with what it groups (the order /docs shows them in). */
const API_TAGS = [
  { name: "places", description: "Districts, streets, communities, buildings and the household register" },
  {
    name: "organizations",
    description:
      "Street offices, enterprises, owners committees, property companies; their API keys and invitations",
  },
  { name: "facilities", description: "Elevators and e-bike garages, planned to decommissioned" },
  {
    name: "contracts",
    description:
      "BOT contracts from draft through review, the owners' vote, signatures, milestones and transfer; versions, comments and the audit log",
  },
  {
    name: "financial model",
    description: "A contract's financial assumptions, its model, and the street's guidance funds",
  },
  {
    name: "subscriptions",
    description: "Residents' monthly and yearly subscriptions to a contract's fee items",
  },
  { name: "billing", description: "Billing runs, invoices and metered usage" },
  { name: "payments", description: "Payments, credit notes and refunds against invoices" },
  { name: "statements", description: "Statements of a household or subscriber, and the receivables aging" },
  {
    name: "operation reports",
    description: "The enterprise's periodic operation reports and the committee's review of them",
  },
  {
    name: "sensors",
    description:
      "Elevator e-bike sensors: keys, health, events, dead letters, commands to devices, snapshots",
  },
  {
    name: "incidents",
    description: "E-bike halts and offline sensors: the list, statistics, the live feed, acknowledgement",
  },
  {
    name: "notifications",
    description: "Webhook, WeCom and DingTalk endpoints that are told of incidents and contract events",
  },
  { name: "dashboard", description: "The street office's overview of its street" },
  {
    name: "problems",
    description:
      "What each error code of a problem+json answer means: the pages its `type` names; no key needed",
  },
  {
    name: "health",
    description: "Liveness, readiness and counters for the operator's monitoring; no key needed",
  },
];

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
      "Build–operate–transfer contracts for community elevators and e-bike garages: parties, facilities, contracts from draft to transfer, residents' fees, operation reports, sensors and incidents. The conventions every route follows (pages, idempotent creates, conditional requests, errors as RFC 9457 problem+json, rate limits) are in the repository's docs/api.md.",
    contact: { name: "The BOT platform's operator (the deployment's own support desk)" },
    // OpenAPI 3.1's SPDX `identifier`, which the generator's 3.0 types do not know yet.
    license: { name: "Proprietary: all rights reserved", identifier: "LicenseRef-Proprietary" } as {
      name: string;
    },
  },
  servers: [{ url: "/", description: "The server this document was fetched from" }],
  tags: API_TAGS,
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
    const ifNoneMatch = c.req.header("if-none-match");
    if (ifNoneMatch && noneMatch(ifNoneMatch, etag)) return c.body(null, 304);
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
