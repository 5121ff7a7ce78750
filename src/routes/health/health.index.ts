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

export const metrics = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["health"],
  summary: "Ingest counters of this process (Prometheus text format)",
  description:
    "Events stored, duplicates absorbed, dead letters by reason, and device logins the broker refused (by reason where the broker says) since the process started: for the operator's monitoring. No business data.",
  responses: { 200: { description: "Counters", content: { "text/plain": { schema: z.string() } } } },
});

/** Prometheus label values are quoted strings: escape backslash, quote and newline. */
const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export const healthRouter = createRouter()
  .openapi(healthz, (c) => c.json({ status: "ok" as const }, 200))
  .openapi(metrics, (c) => {
    const { stored, duplicates, deadLetters, byReason } = c.var.deps.ingest.counters;
    const lines = [
      "# HELP bot_ingest_events_stored_total Sensor events stored (exactly once).",
      "# TYPE bot_ingest_events_stored_total counter",
      `bot_ingest_events_stored_total ${stored}`,
      "# HELP bot_ingest_events_duplicate_total Redeliveries and device retries absorbed.",
      "# TYPE bot_ingest_events_duplicate_total counter",
      `bot_ingest_events_duplicate_total ${duplicates}`,
      "# HELP bot_ingest_dead_letters_total Messages dead-lettered, by reason.",
      "# TYPE bot_ingest_dead_letters_total counter",
      `bot_ingest_dead_letters_total ${deadLetters}`,
      ...Object.entries(byReason).map(
        ([reason, n]) => `bot_ingest_dead_letters_total{reason="${label(reason)}"} ${n}`,
      ),
      "# HELP bot_broker_refused_connects_total Logins the MQTT broker refused: unknown_sensor, revoked_sensor, bad_credentials (embedded broker); not_authorised (Mosquitto, which does not say which).",
      "# TYPE bot_broker_refused_connects_total counter",
      ...Object.entries(c.var.deps.devices?.refusedConnects ?? {}).map(
        ([reason, n]) => `bot_broker_refused_connects_total{reason="${label(reason)}"} ${n}`,
      ),
    ];
    return c.text(`${lines.join("\n")}\n`, 200, { "Content-Type": "text/plain; version=0.0.4" });
  })
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
