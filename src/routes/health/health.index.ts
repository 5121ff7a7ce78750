import { createRoute, z } from "@hono/zod-openapi";
import { createRouter, jsonResponse } from "../../openapi.js";

const Health = z.object({ status: z.literal("ok") }).openapi("Health");
const Readiness = z
  .object({ status: z.enum(["ready", "not_ready"]), checks: z.record(z.string(), z.boolean()) })
  .openapi("Readiness");

export const healthz = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["health"],
  summary: "The process is up",
  responses: { 200: jsonResponse(Health, "Up") },
});

export const readyz = createRoute({
  method: "get",
  path: "/readyz",
  tags: ["health"],
  summary: "The database (and broker, when ingest runs) are reachable",
  responses: { 200: jsonResponse(Readiness, "Ready"), 503: jsonResponse(Readiness, "Not ready") },
});

export const healthRouter = createRouter()
  .openapi(healthz, (c) => c.json({ status: "ok" as const }, 200))
  .openapi(readyz, async (c) => {
    const { pingDatabase, readiness } = c.var.deps;
    const database = await pingDatabase().then(
      () => true,
      (err: unknown) => {
        c.var.logger.warn({ err }, "readiness: database unreachable");
        return false;
      },
    );
    const checks = { database, ...(readiness ? await readiness() : {}) };
    const ready = Object.values(checks).every(Boolean);
    return ready
      ? c.json({ status: "ready" as const, checks }, 200)
      : c.json({ status: "not_ready" as const, checks }, 503);
  });
