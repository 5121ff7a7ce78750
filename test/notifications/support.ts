/**
 * What the notification tests share: a database of their own (the fan-out and the deliverer claim
 * every waiting row, so on a shared PostgreSQL they get a scratch database; PGlite is per file
 * anyway), a real HTTP receiver on 127.0.0.1 whose answers each test scripts, and endpoints.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Database } from "../../db/database.js";
import { notificationEndpoints, notificationRules } from "../../db/schema.js";
import { loadConfig } from "../../src/config.js";
import { generateWebhookSecret } from "../../src/services/notifications/signing.js";
import { createScratchDatabase, openTestDatabase } from "../support/db.js";

export const DATABASE_URL = loadConfig(process.env).DATABASE_URL;

/** A database only this file uses: a scratch one on PostgreSQL, a fresh PGlite otherwise. */
export async function ownDatabase(
  label: string,
): Promise<{ db: Database; close: () => Promise<void>; url?: string }> {
  if (DATABASE_URL) {
    const scratch = await createScratchDatabase(
      DATABASE_URL,
      `notif_${label}_${process.pid}_${randomUUID().slice(0, 8)}`,
    );
    return { db: scratch.db, close: () => scratch.drop(), url: scratch.url };
  }
  const handle = await openTestDatabase();
  return { db: handle.db, close: () => handle.close() };
}

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the receiver does with one request: answer with a status (and body), or never answer. */
export type Answer = { status: number; body?: string; headers?: Record<string, string> } | "hang";

/**
 * A receiver on 127.0.0.1. Each request takes the next scripted answer (then `fallback`); every
 * request is recorded, answered or not.
 */
export async function startReceiver(fallback: Answer = { status: 200, body: "ok" }) {
  const received: Received[] = [];
  const script: Answer[] = [];
  const hanging = new Set<import("node:http").ServerResponse>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      const answer = script.shift() ?? fallback;
      if (answer === "hang") {
        hanging.add(res);
        return;
      }
      res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      res.end(answer.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    /** Queues answers for the next requests, in order. */
    answer(...answers: Answer[]) {
      script.push(...answers);
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** An endpoint written directly (the API's own tests create them through the API). */
export async function createEndpoint(
  db: Database,
  opts: {
    organizationId: string;
    url: string;
    channel?: "webhook" | "wecom" | "dingtalk";
    secret?: string | null;
    rules?: { type: (typeof notificationRules.$inferInsert)["type"]; afterMinutes?: number }[];
  },
) {
  const channel = opts.channel ?? "webhook";
  const secret =
    opts.secret !== undefined ? opts.secret : channel === "webhook" ? generateWebhookSecret() : null;
  const [row] = await db
    .insert(notificationEndpoints)
    .values({
      organizationId: opts.organizationId,
      name: `endpoint ${randomUUID().slice(0, 6)}`,
      channel,
      url: opts.url,
      secret,
    })
    .returning();
  if (!row) throw new Error("no endpoint");
  const rules = opts.rules ?? [{ type: "ebike_halt_opened" }];
  if (rules.length) {
    await db
      .insert(notificationRules)
      .values(rules.map((r) => ({ endpointId: row.id, type: r.type, afterMinutes: r.afterMinutes ?? null })));
  }
  return { ...row, secret };
}

/** A clock the test moves by hand. */
export function manualClock(start = new Date("2025-03-01T02:00:00Z")) {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
  };
}
