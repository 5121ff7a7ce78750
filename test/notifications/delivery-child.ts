/**
 * The notification deliverer as its own process, for test/notifications/durability.test.ts (which
 * SIGKILLs it): `node --import tsx test/notifications/delivery-child.ts` with
 *   CHILD_DATABASE_URL  a real PostgreSQL, or CHILD_PGLITE_DIR: an on-disk PGlite (migrated already);
 *   CHILD_LEASE_MS, CHILD_TIMEOUT_MS  the deliverer's lease and request time-out.
 * It runs the same job as src/node.ts (fan-out, then delivery, on a timer), prints `{"ready":true}`
 * and stops cleanly on SIGTERM (closing the database, so that PGlite can be opened again).
 */
import pino from "pino";
import { openDatabase } from "../../db/client.js";
import { startNotificationDelivery } from "../../src/services/notifications/jobs.js";

const url = process.env.CHILD_DATABASE_URL;
const dataDir = process.env.CHILD_PGLITE_DIR;
if (!(url || dataDir)) throw new Error("CHILD_DATABASE_URL or CHILD_PGLITE_DIR is required");

const logger = pino(
  { level: process.env.CHILD_LOG_LEVEL ?? "info" },
  pino.destination({ dest: 1, sync: true }),
);
const database = await openDatabase(url ? { url, max: 2 } : { dataDir });
const job = startNotificationDelivery({
  db: database.db,
  clock: () => new Date(),
  logger,
  intervalMs: 100,
  leaseMs: Number(process.env.CHILD_LEASE_MS ?? 60_000),
  timeoutMs: Number(process.env.CHILD_TIMEOUT_MS ?? 10_000),
});
// The job's timer is unref'd (it never holds a server open); this process exists for it.
const keepAlive = setInterval(() => {}, 60_000);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

process.on("SIGTERM", () => {
  clearInterval(keepAlive);
  void job
    .stop()
    .then(() => database.close())
    .then(() => process.exit(0));
});
