/**
 * The snapshot's size limit over a real Node HTTP server (the one `npm start` runs), as a device
 * meets it: refused from Content-Length before the body is read, or by counting a chunked body,
 * with problem+json, nothing stored, and the keep-alive connection still usable for the next
 * upload. Repeated: a refusal must leave the connection in the same state every time.
 */

import type { Server } from "node:http";
import { Agent, request as httpRequest, type IncomingMessage } from "node:http";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { eventSnapshots } from "../../db/schema.js";
import { startHttpServer } from "../../src/http-server.js";
import { createIotWorld, createSensor } from "../iot/support.js";
import { createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { CAR_JPEG, jpegOfSize, snapshotPath } from "./support.js";

let database: DatabaseHandle;
let server: Server;
let port: number;
let sensor: { id: string; key: string };
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

beforeAll(async () => {
  database = await openTestDatabase();
  const world = await createIotWorld(database.db);
  sensor = await createSensor(database.db, world);
  const app = createTestApp(database.db);
  ({ server, port } = await startHttpServer({
    fetch: app.fetch,
    port: 0,
    hostname: "127.0.0.1",
    limits: { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxConnections: 100 },
  }));
});
afterAll(async () => {
  agent.destroy();
  await new Promise((resolve) => server.close(resolve));
  await database.close();
});

interface Answer {
  status: number;
  body: string;
  contentType: string | undefined;
  socket: unknown;
}

/** PUTs `bytes` in `chunks` pieces; chunked (no Content-Length) unless `contentLength` is given. */
function put(eventId: string, bytes: Uint8Array, opts: { contentLength?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        agent,
        method: "PUT",
        path: snapshotPath(sensor.id, eventId),
        headers: {
          authorization: `Bearer ${sensor.key}`,
          "content-type": "image/jpeg",
          ...(opts.contentLength ? { "content-length": String(bytes.length) } : {}),
        },
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            contentType: res.headers["content-type"],
            socket: req.socket,
          }),
        );
      },
    );
    req.on("error", reject);
    // Written in pieces, as a device streams a picture it is still encoding.
    for (let at = 0; at < bytes.length; at += 16 * 1024) req.write(bytes.subarray(at, at + 16 * 1024));
    req.end();
  });
}

async function stored(eventId: string) {
  const rows = await database.db
    .select({ eventId: eventSnapshots.eventId })
    .from(eventSnapshots)
    .where(and(eq(eventSnapshots.sensorId, sensor.id), eq(eventSnapshots.eventId, eventId)));
  return rows.length;
}

describe("the snapshot size limit on the Node server", () => {
  for (const [label, contentLength] of [
    ["with Content-Length", true],
    ["chunked, without Content-Length", false],
  ] as const) {
    it(`${label}: 413 problem+json over 512 KiB, nothing stored, and the connection serves the next upload (5 times)`, async () => {
      for (let round = 0; round < 5; round++) {
        const id = `limit-${contentLength ? "cl" : "chunked"}-${round}`;
        const refused = await put(`${id}-big`, jpegOfSize(700 * 1024), { contentLength });
        expect(refused.status).toBe(413);
        expect(refused.contentType).toBe("application/problem+json");
        expect(JSON.parse(refused.body)).toMatchObject({ code: "payload_too_large", status: 413 });
        expect(await stored(`${id}-big`)).toBe(0);
        const next = await put(`${id}-ok`, CAR_JPEG, { contentLength });
        expect(next.status).toBe(201);
        expect(next.socket, "the next upload went over the same connection").toBe(refused.socket);
        expect(await stored(`${id}-ok`)).toBe(1);
      }
    });
  }
});
