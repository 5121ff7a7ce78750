/**
 * The ingest as its own process, for test/iot/durability.test.ts (which SIGKILLs it):
 * `node --import tsx test/iot/ingest-child.ts` with
 *   CHILD_DATABASE_URL  a real PostgreSQL, or CHILD_PGLITE_DIR: an on-disk PGlite (migrated already);
 *   MQTT_URL, MQTT_USERNAME, MQTT_PASSWORD, MQTT_CLIENT_ID, MQTT_CONSUMERS, MQTT_KEEPALIVE_S,
 *   DATABASE_STATEMENT_TIMEOUT_MS: as for `npm start`; without MQTT_URL, the embedded broker on
 *   MQTT_PORT (as `npm start` on its defaults);
 *   CHILD_COMMUNITY_ID  the community its offline sweeper is limited to (tests share a database).
 * It runs the real ingest runtime (consumer, group-commit writer, sweeper) and writes JSON lines
 * to stdout: pino's logs at debug level (each committed batch), `{"ready":true}` once every
 * consumer connection is subscribed, and, for each line `count <sensorId,…>` on stdin, the
 * stored events of those sensors as `{"count":n}` (read in a transaction: with PGlite this
 * process is the only one that can open the database); for `readiness`, its /readyz checks.
 */
import { createInterface } from "node:readline";
import { sql } from "drizzle-orm";
import pino from "pino";
import { openDatabase } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { commitDeadlineMs, POSTGRES_WRITER_PARTITIONS, startIngestRuntime } from "../../iot/runtime.js";
import { loadConfig } from "../../src/config.js";

const config = loadConfig(process.env);
const url = process.env.CHILD_DATABASE_URL;
const dataDir = process.env.CHILD_PGLITE_DIR;
if (!(url || dataDir)) throw new Error("CHILD_DATABASE_URL or CHILD_PGLITE_DIR is required");
const communityId = process.env.CHILD_COMMUNITY_ID;

const logger = pino({ level: "debug" }, pino.destination({ dest: 1, sync: true }));
const database = await openDatabase(
  url ? { url, max: 4, statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS } : { dataDir },
);
const runtime = await startIngestRuntime({
  config,
  db: database.db,
  logger,
  // As src/node.ts: two batches in flight on PostgreSQL, each commit with a deadline.
  writerPartitions: url ? POSTGRES_WRITER_PARTITIONS : 1,
  ...(url ? { commitTimeoutMs: commitDeadlineMs(config.DATABASE_STATEMENT_TIMEOUT_MS) } : {}),
  ...(communityId ? { sweeper: { scope: { communityId } } } : {}),
});

const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

for (;;) {
  const ready = await runtime.readiness();
  if (ready.mqtt?.ok) break;
  await new Promise((r) => setTimeout(r, 20));
}
say({ ready: true });

createInterface({ input: process.stdin }).on("line", (line) => {
  const [command, arg = ""] = line.trim().split(" ");
  if (command === "readiness") {
    void runtime.readiness().then((checks) => say({ readiness: checks }));
    return;
  }
  if (command !== "count") return;
  const ids = JSON.stringify(arg.split(","));
  database.db
    .transaction((tx) =>
      queryRows<{ n: number }>(
        tx,
        sql`select count(*)::int as n from sensor_events
            where sensor_id in (select x::uuid from jsonb_array_elements_text(${ids}::jsonb) x)`,
      ),
    )
    .then(
      (rows) => say({ count: rows[0]?.n ?? 0 }),
      (err: unknown) => say({ countError: String(err) }),
    );
});

let stopping = false;
process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  void runtime
    .close()
    .then(() => database.close())
    .then(() => process.exit(0));
});
