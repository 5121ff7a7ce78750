import { swaggerUI } from "@hono/swagger-ui";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./context.js";

/** Serves one file of the swagger-ui-dist package (Node: from disk; Workers: static assets). */
export type DocsAssetReader = (file: string) => Promise<string | null>;

/** Only these files are served: nothing else of node_modules is reachable. */
const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
};

/**
 * `/openapi.json` (generated from the route schemas) and `/docs` (Swagger UI). The UI's assets
 * come from this server, not a CDN: street-office networks are often closed to the internet.
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
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "BOT micro-infrastructure platform",
      version: "1.0.0",
      description:
        "Build–operate–transfer contracts for community elevators and e-bike garages: parties, facilities, contracts from draft to transfer. Errors are RFC 9457 problem+json.",
    },
  });
  app.get("/docs/assets/swagger-ui-dist/:file", async (c) => {
    const file = c.req.param("file");
    const type = ASSETS[file];
    const body = type ? await readAsset(file) : null;
    if (!type || !body) return c.notFound();
    return c.body(body, 200, { "Content-Type": type, "Cache-Control": "public, max-age=86400" });
  });
  app.get(
    "/docs",
    swaggerUI({
      url: "/openapi.json",
      baseUrl: "/docs/assets",
      title: "BOT platform API",
      persistAuthorization: true,
    }),
  );
}
