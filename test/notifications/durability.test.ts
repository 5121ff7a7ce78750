/**
 * Delivery survives its deliverer: a process SIGKILLed while a receiver holds its request leaves
 * the notification leased, and a new process sends it again under the same delivery id once the
 * lease ran out (at least once). And two deliverers sharing the outbox send each notification
 * once: on PostgreSQL two loops with their own connection pools; on PGlite (one process may open
 * it) two loops on its one connection.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { eq } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DatabaseHandle, openDatabase } from "../../db/client.js";
import type { Database } from "../../db/database.js";
import { notificationAttempts, notifications } from "../../db/schema.js";
import { recordNotificationEvents } from "../../src/services/notifications/events.js";
import { startNotificationDelivery } from "../../src/services/notifications/jobs.js";
import { verifyWebhook } from "../../src/services/notifications/signing.js";
import { waitFor } from "../iot/support.js";
import { createScratchDatabase, type ScratchDatabase } from "../support/db.js";
import { createWorld } from "../support/factories.js";
import { createEndpoint, DATABASE_URL, type Receiver, startReceiver } from "./support.js";

const CHILD = fileURLToPath(new URL("./delivery-child.ts", import.meta.url));
/** The SIGKILL, this many times: a fault test that is flaky fails. */
const KILLS = 3;

function spawnDeliverer(env: Record<string, string>) {
  const proc: ChildProcess = spawn(process.execPath, ["--import", "tsx", CHILD], {
    env: { ...process.env, DATABASE_URL: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  proc.stderr?.on("data", (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    if (!proc.stdout) return reject(new Error("no stdout"));
    createInterface({ input: proc.stdout }).on("line", (line) => {
      if (process.env.NOTIFY_TRACE) console.error(`[child ${proc.pid}] ${line}`);
      if (line.includes('"ready":true')) resolve();
    });
    void exited.then(() => reject(new Error(`deliverer exited: ${output}`)));
  });
  ready.catch(() => {});
  return { proc, ready, exited };
}

describe("a deliverer SIGKILLed mid-delivery", () => {
  let dir = "";
  let scratch: ScratchDatabase | null = null;
  let receiver: Receiver;
  const children: ReturnType<typeof spawnDeliverer>[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "bot-notify-"));
    receiver = await startReceiver();
    if (DATABASE_URL) {
      scratch = await createScratchDatabase(
        DATABASE_URL,
        `notif_kill_${process.pid}_${randomUUID().slice(0, 8)}`,
      );
    }
  });
  afterAll(async () => {
    for (const c of children) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
      await c.exited;
    }
    await receiver?.close();
    await scratch?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The test's database, opened by the parent only while no child has it (PGlite is one process's). */
  async function withDatabase<T>(run: (db: Database) => Promise<T>): Promise<T> {
    if (scratch) return run(scratch.db);
    const handle: DatabaseHandle = await openDatabase({ dataDir: join(dir, "pglite") });
    try {
      await handle.migrate();
      return await run(handle.db);
    } finally {
      await handle.close();
    }
  }

  const childEnv = () => ({
    ...(scratch ? { CHILD_DATABASE_URL: scratch.url } : { CHILD_PGLITE_DIR: join(dir, "pglite") }),
    CHILD_LEASE_MS: "2000",
    CHILD_TIMEOUT_MS: "1500",
    CHILD_LOG_LEVEL: process.env.NOTIFY_TRACE ? "debug" : "info",
  });

  it(`delivers after a restart under the same delivery id (${KILLS} kills)`, {
    timeout: 180_000,
  }, async () => {
    for (let round = 0; round < KILLS; round++) {
      const path = `/kill-${round}`;
      const ep = await withDatabase(async (db) => {
        const world = await createWorld(db);
        const ep = await createEndpoint(db, {
          organizationId: world.propertyCompany.org.id,
          url: `${receiver.url}${path}`,
        });
        const now = new Date();
        await db.transaction((tx) =>
          recordNotificationEvents(tx, [
            {
              type: "ebike_halt_opened",
              subjectId: randomUUID(),
              streetId: world.street.id,
              communityId: world.community.id,
              payload: {
                facilityName: world.elevator.name,
                communityName: world.community.name,
                openedAt: now.toISOString(),
              },
              occurredAt: now,
            },
          ]),
        );
        return ep;
      });
      // The first request is held unanswered; the process dies while it waits.
      receiver.answer("hang");
      const first = spawnDeliverer(childEnv());
      children.push(first);
      await first.ready;
      await waitFor(
        async () => receiver.received.some((r) => r.path === path),
        30_000,
        `the first attempt (round ${round})`,
      );
      first.proc.kill("SIGKILL");
      await first.exited;
      expect(first.proc.signalCode).toBe("SIGKILL");

      const second = spawnDeliverer(childEnv());
      children.push(second);
      await second.ready;
      await waitFor(
        async () => receiver.received.filter((r) => r.path === path).length >= 2,
        30_000,
        "the attempt after the restart",
      );
      second.proc.kill("SIGTERM");
      await second.exited;

      const got = receiver.received.filter((r) => r.path === path);
      expect(got).toHaveLength(2);
      const ids = got.map((r) => r.headers["webhook-id"]);
      expect(ids[0]).toBe(ids[1]);
      const last = got[1];
      if (!last) throw new Error("no second request");
      expect(
        await verifyWebhook(ep.secret ?? "", last.headers as Record<string, string>, last.body),
      ).toMatchObject({
        ok: true,
      });
      await withDatabase(async (db) => {
        const [n] = await db.select().from(notifications).where(eq(notifications.endpointId, ep.id));
        expect(n).toMatchObject({ id: ids[0], state: "delivered", attempts: 2 });
        // The killed attempt wrote nothing (the process died before its answer); the second is logged.
        const log = await db
          .select()
          .from(notificationAttempts)
          .where(eq(notificationAttempts.notificationId, n?.id ?? ""));
        expect(log.map((a) => [a.attempt, a.ok, a.httpStatus])).toEqual([[2, true, 200]]);
      });
    }
  });
});

describe("two deliverers on one outbox", () => {
  let scratch: ScratchDatabase | null = null;
  let pglite: DatabaseHandle | null = null;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    if (DATABASE_URL) {
      scratch = await createScratchDatabase(
        DATABASE_URL,
        `notif_two_${process.pid}_${randomUUID().slice(0, 8)}`,
      );
    } else {
      pglite = await openDatabase({ dataDir: "memory://" });
      await pglite.migrate();
    }
  });
  afterAll(async () => {
    await receiver?.close();
    await scratch?.drop();
    await pglite?.close();
  });

  it("send each of N notifications once, whichever takes it", { timeout: 120_000 }, async () => {
    const db = scratch?.db ?? pglite?.db;
    if (!db) throw new Error("no database");
    // The second deliverer has its own connections on PostgreSQL, as a second instance would.
    const other: DatabaseHandle | null = scratch ? await openDatabase({ url: scratch.url, max: 2 }) : null;
    const world = await createWorld(db);
    const N = 60;
    const endpoints = await Promise.all(
      [0, 1, 2].map((i) =>
        createEndpoint(db, { organizationId: world.propertyCompany.org.id, url: `${receiver.url}/two-${i}` }),
      ),
    );
    const now = new Date();
    await db.transaction((tx) =>
      recordNotificationEvents(
        tx,
        Array.from({ length: N / endpoints.length }, () => ({
          type: "ebike_halt_opened" as const,
          subjectId: randomUUID(),
          streetId: world.street.id,
          communityId: world.community.id,
          payload: { openedAt: now.toISOString() },
          occurredAt: now,
        })),
      ),
    );
    const logger = pino({ level: "silent" });
    const loops = [db, other?.db ?? db].map((d) =>
      startNotificationDelivery({ db: d, clock: () => new Date(), logger, intervalMs: 5, limit: 7 }),
    );
    try {
      await waitFor(
        async () => receiver.received.filter((r) => r.path.startsWith("/two-")).length >= N,
        60_000,
        "every notification",
      );
      // A little longer: a double send would show up now.
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      for (const l of loops) await l.stop();
      await other?.close();
    }
    const ids = receiver.received
      .filter((r) => r.path.startsWith("/two-"))
      .map((r) => r.headers["webhook-id"]);
    expect(ids).toHaveLength(N);
    expect(new Set(ids).size).toBe(N);
    const rows = await db.select().from(notifications);
    expect(rows.filter((r) => r.state === "delivered" && r.attempts === 1)).toHaveLength(N);
  });
});
