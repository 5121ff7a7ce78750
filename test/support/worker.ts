/**
 * The Workers entry as `wrangler dev` runs it: wrangler.toml bundled by wrangler and served by
 * workerd (Miniflare), with Hyperdrive's local connection string pointed at a test database.
 */
import { dirname } from "node:path";
import { Miniflare } from "miniflare";
import { unstable_readConfig, unstable_startWorker } from "wrangler";
import { client, type Fetcher, TEST_ADMIN_TOKEN } from "./app.js";

/**
 * Wrangler and Miniflare refuse a local Hyperdrive connection string without a password; the test
 * server trusts local connections, so any password does.
 */
function withPassword(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (!url.password) url.password = "local";
  return url.toString();
}

export type TestWorker = Awaited<ReturnType<typeof unstable_startWorker>>;

/**
 * Starts the Worker over the database at `databaseUrl`. `vars` override wrangler.toml's [vars];
 * ADMIN_TOKEN is the tests' admin key (a secret in production).
 */
export async function startTestWorker(
  databaseUrl: string,
  vars: Record<string, string> = {},
  /** Bindings beside the vars, e.g. `{ SNAPSHOTS: { type: "r2_bucket", bucket_name: "snapshots" } }` (local R2). */
  bindings: Record<string, { type: "r2_bucket"; bucket_name: string }> = {},
) {
  process.env.CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE = withPassword(databaseUrl);
  const plain = (value: string) => ({ type: "plain_text" as const, value });
  const worker = await unstable_startWorker({
    config: "wrangler.toml",
    bindings: {
      ADMIN_TOKEN: plain(TEST_ADMIN_TOKEN),
      LOG_LEVEL: plain("error"),
      ...Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, plain(value)])),
      ...bindings,
    },
    sendMetrics: false,
    dev: {
      server: { hostname: "127.0.0.1", port: 0 },
      inspector: false,
      watch: false,
      persist: false,
      logLevel: "error",
    },
  });
  await worker.ready;
  return worker;
}

/** test/support/app.ts `client` over the Worker: the same calls as against the Node app. */
export function workerClient(worker: TestWorker, key?: string) {
  const send: Fetcher = async (path, init) =>
    (await worker.fetch(`http://worker.test${path}`, init as never)) as unknown as Response;
  return client(send, key);
}

/**
 * The bundle `npm run build:worker` made, served by workerd through Miniflare with the Hyperdrive
 * binding: how the cron trigger is tested. (The pinned wrangler's dev server fails every scheduled
 * event of a Worker with static assets, workers-sdk#9882, fixed after the last release that runs
 * on Node 20; the deployed platform calls the handler directly.)
 */
export async function startBundledWorker(
  script: string,
  databaseUrl: string,
  vars: Record<string, string> = {},
) {
  const config = unstable_readConfig({ config: "wrangler.toml" });
  const mf = new Miniflare({
    modules: true,
    scriptPath: script,
    modulesRoot: dirname(script),
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    hyperdrives: { HYPERDRIVE: withPassword(databaseUrl) },
    bindings: { ...config.vars, ADMIN_TOKEN: TEST_ADMIN_TOKEN, LOG_LEVEL: "error", ...vars },
  });
  // Miniflare's types describe the Fetcher without the scheduled() its object has.
  const worker = (await mf.getWorker()) as unknown as {
    scheduled(options: { cron: string; scheduledTime: Date }): Promise<{ outcome: string }>;
  };
  return {
    /** Where the bundle answers HTTP (workerd's own socket, no dev proxy in front). */
    url: await mf.ready,
    /** test/support/app.ts `client` over the bundle. */
    client: (key?: string) =>
      client(
        async (path, init) =>
          (await mf.dispatchFetch(`http://worker.test${path}`, init as never)) as unknown as Response,
        key,
      ),
    crons: config.triggers.crons ?? [],
    /** Fires the cron trigger once; the outcome is "ok" when the handler succeeded. */
    scheduled: (cron: string) => worker.scheduled({ cron, scheduledTime: new Date() }),
    dispose: () => mf.dispose(),
  };
}
