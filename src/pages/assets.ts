/**
 * The portal's static files, served by the app itself (no CDN, the same on Node and Workers: they
 * are modules, not files read at run time). Each URL carries a hash of the content, so a browser
 * may keep it for a year and still never runs an old script against a new page.
 */
import { createHash } from "node:crypto";
import type { Hono } from "hono";
import { PORTAL_CSS } from "./assets/portal.css.js";
import { CHARTS_CSS } from "./charts.js";
import { CONTRACTS_CSS, CONTRACTS_PRINT_JS } from "./contracts/contracts.css.js";
import { BOARD_CSS, BOARD_JS } from "./incidents/board.assets.js";
import type { PortalEnv } from "./portal-env.js";
import { CARDS_CSS } from "./residents/cards.css.js";

interface Asset {
  body: string;
  type: string;
}

const ASSETS: Record<string, Asset> = {
  "portal.css": { body: PORTAL_CSS, type: "text/css; charset=utf-8" },
  "charts.css": { body: CHARTS_CSS, type: "text/css; charset=utf-8" },
  "contracts.css": { body: CONTRACTS_CSS, type: "text/css; charset=utf-8" },
  "contracts-print.js": { body: CONTRACTS_PRINT_JS, type: "text/javascript; charset=utf-8" },
  "incidents-board.js": { body: BOARD_JS, type: "text/javascript; charset=utf-8" },
  "incidents.css": { body: BOARD_CSS, type: "text/css; charset=utf-8" },
  "cards.css": { body: CARDS_CSS, type: "text/css; charset=utf-8" },
};

const versions = new Map<string, string>();

/** The URL of an asset, with its content hash. */
export function assetUrl(name: string): string {
  const asset = ASSETS[name];
  if (!asset) throw new Error(`no portal asset ${name}`);
  let version = versions.get(name);
  if (!version) {
    version = createHash("sha256").update(asset.body).digest("hex").slice(0, 12);
    versions.set(name, version);
  }
  return `/assets/${name}?v=${version}`;
}

export function mountAssets(app: Hono<PortalEnv>): void {
  app.get("/assets/:name", (c) => {
    const asset = ASSETS[c.req.param("name")];
    if (!asset) return c.notFound();
    return c.body(asset.body, 200, {
      "Content-Type": asset.type,
      "Cache-Control": c.req.query("v") ? "public, max-age=31536000, immutable" : "no-cache",
    });
  });
}
