/**
 * Portal pages benchmark (`npm run bench:pages`): the demo (src/demo/seed.ts) on a fresh
 * PostgreSQL database, the app in-process (no network: the figure is the server's work, database
 * round trips included), each demo person signed in. Every page reachable from the person's home
 * page by links (two clicks deep, GET only) is rendered --runs times after a warm-up; the table
 * gives, per page, the server's p50/p99 ms and the bytes a browser transfers for it: the HTML
 * plus the style sheets and scripts it loads (fonts aside), raw and gzipped.
 *
 * Judged by the goals: every page ≤ 150 KB transferred (raw, the larger figure) and
 * rendered in ≤ 50 ms (p99) at the demo data's size.
 */
import { gzipSync } from "node:zlib";
import pino from "pino";
import { createApp } from "../src/app.js";
import { seedDemoOnce } from "../src/demo/seed.js";
import { portalClient } from "../test/support/portal.js";
import {
  createBenchDatabase,
  numberFlags,
  printFigures,
  printTable,
  quantile,
  round,
  withCleanup,
} from "./lib.js";

const USAGE = "usage: npm run bench:pages -- [--runs 50] [--warmup 5]";
const flags = numberFlags(USAGE, { runs: 50, warmup: 5 });
const MAX_BYTES = 150 * 1024;
const MAX_P99_MS = 50;

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
/** Links the crawl never follows: actions and switches, not pages. */
const NOT_PAGES = /^\/(sign-out|sign-in|lang|assets\/)/;

function linksOf(html: string): string[] {
  return [...html.matchAll(/<a [^>]*href="(\/[^"#]*)"/g)].map((m) => (m[1] ?? "").replace(/&amp;/g, "&"));
}

function assetsOf(html: string): string[] {
  return [
    ...[...html.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((m) => m[1] ?? ""),
    ...[...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1] ?? ""),
  ].map((u) => u.replace(/&amp;/g, "&"));
}

await withCleanup(async (cleanup) => {
  const database = await createBenchDatabase("pages");
  cleanup(() => database.drop());
  const keysDir = `/tmp/bot-bench-pages-${process.pid}`;
  const demo = await seedDemoOnce(database.db, {
    keysFile: `${keysDir}-demo-keys.json`,
    logger: pino({ level: "silent" }),
  });
  const app = createApp({ db: database.db, logger: pino({ level: "silent" }), clock: () => new Date() });
  const rows: (string | number)[][] = [];
  let worstBytes = 0;
  let worstP99 = 0;
  let pages = 0;
  for (const [role, person] of Object.entries(demo.signIns)) {
    const browser = portalClient(app);
    await browser.signIn(person.login, person.password);
    // Two clicks deep from home; one page per path template (ids replaced) per role.
    const seen = new Set<string>();
    let frontier = ["/home"];
    const toMeasure: string[] = [];
    for (let depth = 0; depth < 3 && frontier.length; depth++) {
      const next: string[] = [];
      for (const path of frontier) {
        const template = path.replace(UUID, ":id").replace(/\?.*$/, "");
        if (seen.has(template)) continue;
        seen.add(template);
        const page = await browser.get(path);
        if (page.status !== 200) continue;
        toMeasure.push(path);
        next.push(...linksOf(page.html).filter((l) => !NOT_PAGES.test(l)));
      }
      frontier = next;
    }
    for (const path of toMeasure) {
      for (let i = 0; i < flags.warmup; i++) await browser.get(path);
      const samples: number[] = [];
      let html = "";
      for (let i = 0; i < flags.runs; i++) {
        const t0 = performance.now();
        const page = await browser.get(path);
        samples.push(performance.now() - t0);
        html = page.html;
      }
      let raw = Buffer.byteLength(html);
      let gzip = gzipSync(html).length;
      for (const asset of assetsOf(html)) {
        const body = Buffer.from(await (await app.request(asset)).arrayBuffer());
        raw += body.length;
        gzip += gzipSync(body).length;
      }
      const p50 = quantile(samples, 0.5);
      const p99 = quantile(samples, 0.99);
      worstBytes = Math.max(worstBytes, raw);
      worstP99 = Math.max(worstP99, p99);
      pages++;
      rows.push([
        role,
        path.replace(UUID, ":id"),
        round(p50, 1),
        round(p99, 1),
        round(raw / 1024, 1),
        round(gzip / 1024, 1),
      ]);
    }
  }
  printTable(["role", "page", "p50 ms", "p99 ms", "KB", "KB gzip"], rows);
  printFigures({
    pages,
    worst_kb: round(worstBytes / 1024, 1),
    worst_p99_ms: round(worstP99, 1),
    within_goals: worstBytes <= MAX_BYTES && worstP99 <= MAX_P99_MS,
  });
});
