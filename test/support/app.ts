import pino from "pino";
import type { Database } from "../../db/database.js";
import { hashKey } from "../../db/keys.js";
import { createApp } from "../../src/app.js";
import type { KeyCache } from "../../src/auth/key-cache.js";
import type { AppDeps } from "../../src/context.js";

/** The platform admin's key in tests (what ADMIN_TOKEN would be). */
export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

export interface TestAppOptions {
  now?: () => Date;
  /** A key cache of the test's own (e.g. on a clock it moves), instead of the app's 5 s one. */
  keyCache?: KeyCache;
  /** The ingest's checks for /readyz (as src/node.ts passes the runtime's). */
  readiness?: AppDeps["readiness"];
  /** The ingest runtime's parts (as src/node.ts passes them), for tests with a real broker. */
  ingest?: AppDeps["ingest"];
  devices?: AppDeps["devices"];
  /** Where snapshots are kept (a bucket in the snapshot tests); PostgreSQL when absent. */
  snapshots?: AppDeps["snapshots"];
  /** The ingest runtime's command dispatcher (as src/node.ts passes it), kicked after a command commits. */
  commandDispatcher?: AppDeps["commandDispatcher"];
}

export function createTestApp(db: Database, opts: TestAppOptions = {}) {
  return createApp({
    db,
    logger: pino({ level: "silent" }),
    clock: opts.now ?? (() => new Date()),
    adminTokenHash: hashKey(TEST_ADMIN_TOKEN),
    readDocsAsset: async (file) => (file === "swagger-ui.css" ? "/* css */" : null),
    ...(opts.keyCache ? { keyCache: opts.keyCache } : {}),
    ...(opts.readiness ? { readiness: opts.readiness } : {}),
    ...(opts.ingest ? { ingest: opts.ingest } : {}),
    ...(opts.devices ? { devices: opts.devices } : {}),
    ...(opts.snapshots ? { snapshots: opts.snapshots } : {}),
    ...(opts.commandDispatcher ? { commandDispatcher: opts.commandDispatcher } : {}),
  });
}

export type TestApp = ReturnType<typeof createTestApp>;

/** Sends a request for a path of the API (the Workers entry's, in test/support/worker.ts). */
export type Fetcher = (path: string, init: RequestInit) => Promise<Response>;

/** A small client over `app.request` (or another fetcher) that speaks JSON with a bearer key. */
export function client(app: TestApp | Fetcher, key?: string) {
  const send: Fetcher = typeof app === "function" ? app : async (path, init) => app.request(path, init);
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await send(path, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined
        ? { body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body) }
        : {}),
    });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected field by field
    const json: any = text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text;
    return { status: res.status, body: json, headers: res.headers };
  };
  return {
    get: (path: string, headers?: Record<string, string>) => call("GET", path, undefined, headers),
    post: (path: string, body?: unknown, headers?: Record<string, string>) =>
      call("POST", path, body ?? {}, headers),
    put: (path: string, body: unknown, headers?: Record<string, string>) => call("PUT", path, body, headers),
    patch: (path: string, body: unknown, headers?: Record<string, string>) =>
      call("PATCH", path, body, headers),
    delete: (path: string, headers?: Record<string, string>) => call("DELETE", path, undefined, headers),
  };
}
