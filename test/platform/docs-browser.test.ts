/**
 * /docs in a real Chromium, served by the Node HTTP server as `npm start` serves it: Swagger UI
 * renders every operation under the app's Content-Security-Policy (no violation reported), and a
 * key typed into "Authorize" is not left in the browser's storage.
 */
import { readFile } from "node:fs/promises";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import pino from "pino";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { createApp } from "../../src/app.js";
import { startHttpServer } from "../../src/http-server.js";
import { openTestDatabase } from "../support/db.js";

const SWAGGER_DIST = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

/** Everything the page keeps in the browser's storage, as one string (evaluated in the page). */
const BROWSER_STORAGE = "JSON.stringify({ ...localStorage, ...sessionStorage })";

let database: DatabaseHandle;
let server: Server;
let base: string;
let browser: Browser;

beforeAll(async () => {
  database = await openTestDatabase();
  const app = createApp({
    db: database.db,
    logger: pino({ level: "silent" }),
    clock: () => new Date(),
    readDocsAsset: (file) => readFile(join(SWAGGER_DIST, file), "utf8").catch(() => null),
  });
  const started = await startHttpServer({
    fetch: app.fetch,
    port: 0,
    hostname: "127.0.0.1",
    limits: { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxConnections: 100 },
  });
  server = started.server;
  base = `http://127.0.0.1:${started.port}`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
  await database?.close();
});

describe("/docs in Chromium", () => {
  it("renders every operation with no Content-Security-Policy violation, and keeps no typed key", async () => {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    page.on("pageerror", (err) => violations.push(String(err)));
    await page.addInitScript(
      `document.addEventListener("securitypolicyviolation", (e) =>
        console.error("Refused to load: CSP violation of " + e.violatedDirective + " by " + e.blockedURI));`,
    );

    const answer = await page.goto(`${base}/docs`);
    expect(answer?.headers()["content-security-policy"]).toContain("script-src 'self'");
    await page.waitForSelector(".opblock", { timeout: 20_000 });
    const spec = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, object> };
    const operations = Object.values(spec.paths).reduce((n, path) => n + Object.keys(path).length, 0);
    expect(await page.locator(".opblock").count()).toBe(operations);

    const key = "bot_k_typed-into-swagger-0123456789abcdef";
    await page.click("button.authorize");
    for (const input of await page.locator(".modal-ux input").all()) await input.fill(key);
    // Each "Authorize" becomes "Logout" once clicked: click the first left until none is.
    const schemes = await page.locator(".modal-ux button.authorize").count();
    expect(schemes).toBe(2);
    for (let i = 0; i < schemes; i++) await page.locator(".modal-ux button.authorize").first().click();
    expect(
      await page.locator(".modal-ux").getByRole("button", { name: "Remove authorization" }).count(),
    ).toBe(2);
    await page.click(".modal-ux button.close-modal");
    const stored = await page.evaluate<string>(BROWSER_STORAGE);
    expect(stored).not.toContain(key);
    await page.reload();
    await page.waitForSelector(".opblock");
    expect(await page.evaluate<string>(BROWSER_STORAGE)).not.toContain(key);
    expect(violations).toEqual([]);
    await page.close();
  }, 60_000);
});
