import { z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Database } from "../../../db/database.js";
import { classifyDbError, describeDbError } from "../../../db/pg-errors.js";
import { type CommandCounters, createCommandCounters } from "../../../iot/command-counters.js";
import type { ReadinessCheck } from "../../context.js";
import { createRoute, createRouter, jsonResponse, problem } from "../../openapi.js";
import { DELIVERY_COUNTERS } from "../../services/notifications/delivery.js";

/**
 * How long /readyz waits for the database: a ping still pending then is a failed check, so that
 * a load balancer gets its answer within a second however the database fails (a partition leaves
 * a connection attempt hanging for postgres.js's connect_timeout).
 */
export const DATABASE_CHECK_MS = 800;

/** The one 4xx a health route gives: it takes no query parameter. */
const unknownQuery = problem("A query parameter was given: these routes take none");

const Health = z.object({ status: z.literal("ok") }).openapi("Health");
const Readiness = z
  .object({
    status: z.enum(["ready", "not_ready"]),
    checks: z.record(z.string(), z.boolean()).openapi({
      description: "Each check (database, and mqtt and ingest where the ingest runs): passing or not",
    }),
    reasons: z.record(z.string(), z.string()).openapi({
      description: "Why each failing check fails, by its name; empty when ready",
      example: { database: `the database did not answer within ${DATABASE_CHECK_MS} ms` },
    }),
  })
  .openapi("Readiness");

export const healthz = createRoute({
  operationId: "getLiveness",
  method: "get",
  path: "/healthz",
  tags: ["health"],
  security: [],
  summary: "The process is up",
  description:
    "Answers 200 as long as the process serves HTTP, whatever the database and broker do: for a supervisor deciding whether to restart the process. No key needed.",
  responses: { 200: jsonResponse(Health, "Up"), 400: unknownQuery },
});

export const readyz = createRoute({
  operationId: "getReadiness",
  method: "get",
  path: "/readyz",
  tags: ["health"],
  security: [],
  summary: "The database (and broker, when ingest runs) are reachable",
  description: `For a load balancer deciding whether to send requests here: 200 when every check passes, 503 naming the failing ones otherwise, within about ${DATABASE_CHECK_MS} ms however the database fails. No key needed.`,
  responses: {
    200: jsonResponse(Readiness, "Ready"),
    400: unknownQuery,
    503: jsonResponse(Readiness, "Not ready"),
  },
});

export const metrics = createRoute({
  operationId: "getMetrics",
  method: "get",
  path: "/metrics",
  tags: ["health"],
  security: [],
  summary: "Ingest counters of this process (Prometheus text format)",
  description:
    "Events stored, duplicates absorbed, dead letters by reason, and device logins the broker refused (by reason where the broker says) since the process started: for the operator's monitoring. No business data.",
  responses: {
    200: {
      description: "Counters",
      content: {
        "text/plain": {
          schema: z.string().openapi({
            example:
              "# TYPE bot_ingest_events_stored_total counter\nbot_ingest_events_stored_total 1042\n# TYPE bot_ingest_dead_letters_total counter\nbot_ingest_dead_letters_total 3\n",
          }),
        },
      },
    },
    400: unknownQuery,
  },
});

/** Device commands of this process (its dispatcher); zeros where none runs (Workers). */
function commandMetrics(counters: CommandCounters | undefined): string[] {
  const c = counters ?? createCommandCounters();
  return [
    "# HELP bot_device_commands_issued_total Commands people sent to sensors through this process, by type.",
    "# TYPE bot_device_commands_issued_total counter",
    ...Object.entries(c.issued).map(
      ([type, n]) => `bot_device_commands_issued_total{type="${label(type)}"} ${n}`,
    ),
    "# HELP bot_device_commands_expired_total Commands this process's expiry job found unanswered past expiresAt.",
    "# TYPE bot_device_commands_expired_total counter",
    `bot_device_commands_expired_total ${c.expired}`,
    "# HELP bot_commands_sent_total Device commands the broker confirmed (a resend counts again).",
    "# TYPE bot_commands_sent_total counter",
    `bot_commands_sent_total ${c.sent}`,
    "# HELP bot_command_results_total Devices' answers recorded, by result.",
    "# TYPE bot_command_results_total counter",
    ...["applied", "refused", "expired"].map(
      (r) => `bot_command_results_total{result="${r}"} ${c.results[r] ?? 0}`,
    ),
    "# HELP bot_command_results_invalid_total Devices' answers refused as invalid, by reason.",
    "# TYPE bot_command_results_invalid_total counter",
    ...Object.entries(c.invalid).map(
      ([reason, n]) => `bot_command_results_invalid_total{reason="${label(reason)}"} ${n}`,
    ),
    "# HELP bot_command_results_unknown_total Answers to no command of the answering sensor: ignored.",
    "# TYPE bot_command_results_unknown_total counter",
    `bot_command_results_unknown_total ${c.unknown}`,
  ];
}

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
      "# HELP bot_ingest_dead_letters_unstored_total Dead letters only counted, not stored: a sensor over its daily dead-letter quota.",
      "# TYPE bot_ingest_dead_letters_unstored_total counter",
      `bot_ingest_dead_letters_unstored_total ${c.var.deps.ingest.counters.deadLettersNotStored}`,
      "# HELP bot_broker_refused_connects_total Logins and connections the MQTT broker refused: unknown_sensor, revoked_sensor, bad_credentials, client_id_mismatch, connection_limit, connect_too_large, connect_timeout (embedded broker); not_authorised (Mosquitto, which does not say which).",
      "# TYPE bot_broker_refused_connects_total counter",
      ...Object.entries(c.var.deps.devices?.refusedConnects ?? {}).map(
        ([reason, n]) => `bot_broker_refused_connects_total{reason="${label(reason)}"} ${n}`,
      ),
      "# HELP bot_notification_deliveries_total Notifications delivered by this process.",
      "# TYPE bot_notification_deliveries_total counter",
      `bot_notification_deliveries_total ${DELIVERY_COUNTERS.deliveries}`,
      "# HELP bot_notification_retries_total Failed notification attempts this process will retry.",
      "# TYPE bot_notification_retries_total counter",
      `bot_notification_retries_total ${DELIVERY_COUNTERS.retries}`,
      "# HELP bot_notification_failures_total Notifications whose last attempt failed at the end of their 24 h retry window.",
      "# TYPE bot_notification_failures_total counter",
      `bot_notification_failures_total ${DELIVERY_COUNTERS.failures}`,
      "# HELP bot_notification_endpoints_disabled_total Endpoints this process disabled after repeated failure.",
      "# TYPE bot_notification_endpoints_disabled_total counter",
      `bot_notification_endpoints_disabled_total ${DELIVERY_COUNTERS.endpointsDisabled}`,
      "# HELP bot_broker_dropped_connections_total Logged-in connections the embedded broker closed: packet_too_large.",
      "# TYPE bot_broker_dropped_connections_total counter",
      ...Object.entries(c.var.deps.devices?.droppedConnections ?? {}).map(
        ([reason, n]) => `bot_broker_dropped_connections_total{reason="${label(reason)}"} ${n}`,
      ),
      "# HELP bot_snapshots_stored_total E-bike snapshots stored (a repeated upload of the same bytes is not counted).",
      "# TYPE bot_snapshots_stored_total counter",
      `bot_snapshots_stored_total ${c.var.deps.snapshots.counters.stored}`,
      "# HELP bot_snapshots_refused_total Snapshot uploads refused, by reason: too_large, not_jpeg, wrong_type, not_ebike, conflict.",
      "# TYPE bot_snapshots_refused_total counter",
      ...Object.entries(c.var.deps.snapshots.counters.refused).map(
        ([reason, n]) => `bot_snapshots_refused_total{reason="${label(reason)}"} ${n}`,
      ),
      ...commandMetrics(c.var.deps.commandCounters),
    ];
    return c.text(`${lines.join("\n")}\n`, 200, { "Content-Type": "text/plain; version=0.0.4" });
  })
  .openapi(readyz, async (c) => {
    const { readiness } = c.var.deps;
    const [database, others] = await Promise.all([
      checkDatabase(c.var.db, c.var.logger),
      readiness ? readiness() : {},
    ]);
    const results = Object.entries({ database, ...others });
    const checks = Object.fromEntries(results.map(([name, r]) => [name, r.ok]));
    const reasons = Object.fromEntries(
      results.filter(([, r]) => !r.ok).map(([name, r]) => [name, r.reason ?? "failing"]),
    );
    return results.every(([, r]) => r.ok)
      ? c.json({ status: "ready" as const, checks, reasons }, 200)
      : c.json({ status: "not_ready" as const, checks, reasons }, 503);
  });

/**
 * The ping in flight, per database: while one hangs (a partition), later probes wait on it
 * instead of piling up connection attempts of their own; for PING_REUSE_MS at most, so that a
 * ping the driver never settles can not keep the instance "not ready" after the database is back.
 */
const pings = new WeakMap<Database, { check: Promise<ReadinessCheck>; since: number }>();
const PING_REUSE_MS = 5_000;

/** The database check, answered within DATABASE_CHECK_MS whether or not the ping has settled. */
function checkDatabase(db: Database, logger: Logger): Promise<ReadinessCheck> {
  const inFlight = pings.get(db);
  let pending = inFlight && performance.now() - inFlight.since < PING_REUSE_MS ? inFlight.check : undefined;
  if (!pending) {
    const started = db.execute(sql`select 1`).then(
      (): ReadinessCheck => ({ ok: true }),
      (err: unknown): ReadinessCheck => {
        logger.warn({ dbError: describeDbError(err) }, "readiness: database check failed");
        // The error itself goes to the log only: /readyz is public, and it names hosts and ports.
        return {
          ok: false,
          reason:
            classifyDbError(err) === "transient"
              ? "the database is unreachable or not accepting queries"
              : "the database check failed (the error is in the log)",
        };
      },
    );
    const entry = { check: started, since: performance.now() };
    pending = started.finally(() => {
      if (pings.get(db) === entry) pings.delete(db);
    });
    pings.set(db, entry);
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<ReadinessCheck>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, reason: `the database did not answer within ${DATABASE_CHECK_MS} ms` }),
      DATABASE_CHECK_MS,
    );
  });
  return Promise.race([pending, late]).finally(() => clearTimeout(timer));
}
