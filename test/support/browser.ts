/**
 * The portal in a real Chromium (Debian's, launched by path, headless), served by the Node HTTP
 * server as `npm start` serves it. Helpers for what every browser test checks: no console error
 * or CSP violation, axe-core finds no serious or critical violation, and a screenshot of the page
 * at a phone's and a desk's width under test-results/screenshots (git-ignored) for a reviewer.
 */
import { mkdir, readFile } from "node:fs/promises";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import type { App } from "../../src/app.js";
import { startHttpServer } from "../../src/http-server.js";

const AXE_SOURCE = readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
export const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), "../../test-results/screenshots");

export const PHONE = { width: 360, height: 780 } as const;
export const DESK = { width: 1280, height: 900 } as const;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}

/** The app on a real Node server on a free port of 127.0.0.1 (a secure context: Secure cookies work). */
export async function serve(app: App): Promise<{ base: string; close: () => Promise<void> }> {
  const started = await startHttpServer({
    fetch: app.fetch,
    port: 0,
    hostname: "127.0.0.1",
    limits: { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxConnections: 200 },
  });
  const server: Server = started.server;
  return {
    base: `http://127.0.0.1:${started.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A fresh browser context (its own cookies) whose pages record console errors, page errors and
 * CSP violations into `problems`; a test ends with `expect(problems).toEqual([])`.
 */
export async function openContext(browser: Browser, viewport: { width: number; height: number } = PHONE) {
  const context: BrowserContext = await browser.newContext({ viewport, locale: "zh-CN" });
  const problems: string[] = [];
  await context.addInitScript(
    `document.addEventListener("securitypolicyviolation", (e) =>
      console.error("CSP violation of " + e.violatedDirective + " by " + e.blockedURI));`,
  );
  context.on("page", (page) => watch(page, problems));
  return { context, problems };
}

function watch(page: Page, problems: string[]) {
  page.on("console", (m) => {
    // A 4xx the test asked for (a refused form, a 404 page) is logged by Chromium as a failed load.
    if (
      m.type() === "error" &&
      !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())
    ) {
      problems.push(m.text());
    }
  });
  page.on("pageerror", (err) => problems.push(String(err)));
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * axe-core run in the page; returns the serious and critical violations (a test expects none).
 * The script is evaluated, not loaded from a URL, so the page's CSP is not loosened for it.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(await AXE_SOURCE);
  const result = await page.evaluate<{ violations: AxeViolation[] }>(
    "axe.run(document, { resultTypes: ['violations'] })",
  );
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
}

/** Saves the page at a phone's width and a desk's (full page) as `<name>-360.png` and `<name>-1280.png`. */
export async function screenshots(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const before = page.viewportSize();
  for (const viewport of [PHONE, DESK]) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${viewport.width}.png`), fullPage: true });
  }
  if (before) await page.setViewportSize(before);
}

/** Whether the page is wider than the viewport (a phone would scroll sideways): scrollWidth vs width. */
export function overflowsSideways(page: Page): Promise<boolean> {
  return page.evaluate<boolean>("document.documentElement.scrollWidth > window.innerWidth + 1");
}

/** Signs in through the sign-in form, as a person does. */
export async function signInAs(page: Page, base: string, login: string, password: string): Promise<void> {
  await page.goto(`${base}/sign-in`);
  await page.getByLabel(/账号|Login/).fill(login);
  await page.getByLabel(/^密码$|^Password$/).fill(password);
  await Promise.all([
    page.waitForURL((url) => !url.pathname.startsWith("/sign-in")),
    page.getByRole("button", { name: /登录|Sign in/ }).click(),
  ]);
}
