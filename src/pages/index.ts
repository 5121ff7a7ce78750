/**
 * The portal: server-rendered pages for people, under `/` (the API stays under `/v1`). Each area
 * is a router of its own folder; they all share the frame, the session and the form token.
 */
import { type Context, Hono } from "hono";
import { accountPages } from "./account/account.pages.js";
import { alertPages } from "./alerts/alerts.pages.js";
import { mountAssets } from "./assets.js";
import { billingPages } from "./billing/billing.pages.js";
import { contractPages } from "./contracts/contracts.pages.js";
import { dashboardPages } from "./dashboard/dashboard.pages.js";
import { draftingPages } from "./drafting/drafting.pages.js";
import { notFoundPage, pageError } from "./errors.js";
import { formToken } from "./guards.js";
import { langOf } from "./i18n.js";
import { incidentPages } from "./incidents/incidents.pages.js";
import type { PortalEnv } from "./portal-env.js";
import { reportPages } from "./reports/reports.pages.js";
import { residentPages } from "./residents/residents.pages.js";
import { sensorPages } from "./sensors/sensors.pages.js";
import { portalContext } from "./session.js";

export function createPortal(): Hono<PortalEnv> {
  const portal = new Hono<PortalEnv>();
  mountAssets(portal);
  // Mounted at `/`, the portal's middleware would also see every path the API leaves unanswered.
  portal.use("*", (c, next) => (isApiPath(c.req.path) ? next() : portalContext(c, next)));
  portal.use("*", (c, next) => (isApiPath(c.req.path) ? next() : formToken(c, next)));
  portal.route("/", accountPages);
  portal.route("/", dashboardPages);
  portal.route("/", contractPages);
  portal.route("/", incidentPages);
  portal.route("/", sensorPages);
  portal.route("/", draftingPages);
  portal.route("/", billingPages);
  portal.route("/", residentPages);
  portal.route("/", reportPages);
  portal.route("/", alertPages);
  portal.onError(pageError);
  return portal;
}

/** Paths of the machines' side (the API, its document and docs, health): never a portal page. */
export function isApiPath(path: string): boolean {
  return /^\/(v1|openapi\.json|docs|healthz|readyz|metrics)(\/|$)/.test(path);
}

/** The app's 404 for a person's browser (a GET of a page that does not exist): the portal's page. */
export async function portalNotFound(c: Context<PortalEnv>): Promise<Response> {
  try {
    await portalContext(c, async () => {});
  } catch {
    // The database may be down: the page is still a page, without the person's name.
    c.set("lang", langOf(c));
    c.set("session", null);
    c.set("csrfToken", "");
  }
  return notFoundPage(c);
}
