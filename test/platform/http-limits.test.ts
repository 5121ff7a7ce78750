/**
 * What a slow or greedy HTTP client meets at `npm start`, run as a user runs it (the Node entry on
 * its embedded defaults, a fresh DATA_DIR), with short limits set through the environment: slow
 * headers and slow bodies are cut off, a caller without a key is answered before any of its body is
 * read, connections over the cap are closed at once, and DATA_DIR is readable by its owner only.
 */
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, waitFor } from "../iot/support.js";
import { createSensorOnAnElevator, type NodeEntry, startNodeEntry } from "../support/node-entry.js";

const HEADERS_TIMEOUT_S = 2;
const REQUEST_TIMEOUT_S = 3;
const MAX_CONNECTIONS = 20;

let app: NodeEntry;
let base: string;
let port: number;
let dataDir: string;
let sensor: { id: string; key: string };

/** A raw connection: what the server sent, and when it closed (ms after `open`). */
interface Raw {
  socket: Socket;
  received: () => string;
  closedAfterMs: Promise<number>;
}

function open(): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
    });
    const closedAfterMs = new Promise<number>((done) =>
      socket.on("close", () => done(performance.now() - started)),
    );
    socket.on("error", () => {});
    socket.once("connect", () => resolve({ socket, received: () => received, closedAfterMs }));
    socket.once("error", reject);
  });
}

/** Writes `text` one byte per `everyMs` until the socket closes or the text ends. */
async function trickle(socket: Socket, text: string, everyMs: number) {
  for (const ch of text) {
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(ch);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function api(path: string, init: RequestInit & { key?: string } = {}) {
  const res = await fetch(`${base}${path}`, {
    ...init,
    headers: {
      "content-type": "application/json",
      ...(init.key ? { authorization: `Bearer ${init.key}` } : {}),
    },
  });
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected field by field
  return { status: res.status, body: (await res.json()) as any };
}

beforeAll(async () => {
  const parent = await mkdtemp(join(tmpdir(), "bot-http-limits-"));
  dataDir = join(parent, "data");
  // A DATA_DIR someone made world-readable before: start-up tightens it.
  await mkdir(dataDir, { mode: 0o755 });
  port = await freePort();
  app = await startNodeEntry({
    dataDir,
    port,
    mqttPort: await freePort(),
    readyPath: "/healthz",
    env: {
      HTTP_HEADERS_TIMEOUT_S: String(HEADERS_TIMEOUT_S),
      HTTP_REQUEST_TIMEOUT_S: String(REQUEST_TIMEOUT_S),
      HTTP_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
    },
  });
  base = app.base;
  sensor = await createSensorOnAnElevator(base, app.keys.enterprise ?? "", "slow client test");
  expect(sensor).toBeDefined();
}, 90_000);

afterAll(async () => {
  await app?.stop();
  await rm(join(dataDir, ".."), { recursive: true, force: true });
});

describe("npm start against slow and greedy clients", () => {
  it("makes DATA_DIR readable by its owner only, though it was made world-readable before", async () => {
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
  });

  it("cuts off a client whose headers arrive a byte at a time, at HTTP_HEADERS_TIMEOUT_S", async () => {
    const raw = await open();
    raw.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    void trickle(raw.socket, `X-Slow: ${"a".repeat(100)}\r\n\r\n`, 200);
    const closedAfter = await raw.closedAfterMs;
    expect(closedAfter).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_S * 1000 - 100);
    expect(closedAfter).toBeLessThan((HEADERS_TIMEOUT_S + 3) * 1000);
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408/);
  }, 15_000);

  it("answers a sensor post without a key, or with a wrong one, 401 before any of its body has come", async () => {
    for (const authorization of ["", `Authorization: Bearer ${"x".repeat(43)}\r\n`]) {
      const raw = await open();
      raw.socket.write(
        `POST /v1/sensors/${sensor.id}/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n${authorization}\r\n`,
      );
      void trickle(raw.socket, "[".padEnd(10_000, " "), 200);
      const answered = await waitFor(() => Promise.resolve(raw.received()), 2_000, "the 401");
      expect(answered).toMatch(/^HTTP\/1\.1 401/);
      expect(answered).toContain('"code":"unauthorized"');
      raw.socket.destroy();
    }
  }, 15_000);

  it("cuts off a body that arrives a byte at a time with a valid key at HTTP_REQUEST_TIMEOUT_S, and stores nothing of it", async () => {
    const raw = await open();
    const event = JSON.stringify({
      eventId: "slow-1",
      type: "heartbeat",
      occurredAt: new Date().toISOString(),
    });
    raw.socket.write(
      `POST /v1/sensors/${sensor.id}/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${sensor.key}\r\nContent-Type: application/json\r\nContent-Length: ${event.length}\r\n\r\n`,
    );
    void trickle(raw.socket, event, 250);
    const closedAfter = await raw.closedAfterMs;
    expect(closedAfter).toBeLessThan((REQUEST_TIMEOUT_S + 3) * 1000);
    expect(raw.received()).not.toMatch(/^HTTP\/1\.1 200/);
    const { keys } = app;
    const read = await api(`/v1/sensors/${sensor.id}`, { key: keys.enterprise });
    expect(read.body.lastSeenAt).toBeNull();
  }, 15_000);

  it("answers a body over 1 MiB 413 with Connection: close on a keep-alive connection, then closes it", async () => {
    const { keys } = app;
    const raw = await open();
    // Only the head: the server answers from Content-Length alone, and a client still writing when
    // the server closes could lose the answer to the reset.
    raw.socket.write(
      `POST /v1/contracts HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nAuthorization: Bearer ${keys.enterprise}\r\nContent-Type: application/json\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`,
    );
    await raw.closedAfterMs;
    const [head = ""] = raw.received().split("\r\n\r\n");
    expect(head).toMatch(/^HTTP\/1\.1 413/);
    expect(head).toMatch(/^connection: close$/im);
    expect(head).not.toMatch(/^connection: keep-alive$/im);
  }, 15_000);

  it("lets a keep-alive client (fetch) send its next request after a 413 on the same agent", async () => {
    const { keys } = app;
    for (let i = 0; i < 5; i++) {
      const refused = await fetch(`${base}/v1/contracts`, {
        method: "POST",
        headers: { authorization: `Bearer ${keys.enterprise}`, "content-type": "application/json" },
        body: JSON.stringify({ note: "x".repeat(1024 * 1024 + 1) }),
      });
      expect(refused.status).toBe(413);
      expect(await refused.json()).toMatchObject({ code: "payload_too_large" });
      const next = await fetch(`${base}/v1/contracts`, {
        headers: { authorization: `Bearer ${keys.enterprise}` },
      });
      expect(next.status).toBe(200);
    }
  }, 30_000);

  it("closes a connection over HTTP_MAX_CONNECTIONS at once, and serves again when one is free", async () => {
    // The connections of the other tests (fetch keeps its own alive) count too: let the server's
    // keep-alive time-out close them first.
    await new Promise((r) => setTimeout(r, 6_000));
    const held: Raw[] = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) {
      const raw = await open();
      raw.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      held.push(raw);
    }
    await waitFor(
      () => Promise.resolve(held.every((r) => r.received().startsWith("HTTP/1.1 200"))),
      5_000,
      "the held connections' answers",
    );
    const over = await open();
    over.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(await over.closedAfterMs).toBeLessThan(2_000);
    expect(over.received()).toBe("");
    for (const raw of held.splice(0, 2)) raw.socket.destroy();
    await waitFor(
      () =>
        fetch(`${base}/healthz`).then(
          (r) => r.ok,
          () => false,
        ),
      5_000,
      "a request once connections are free",
    );
    for (const raw of held) raw.socket.destroy();
  }, 25_000);
});
