import type { Database } from "../../db/database.js";
import type { Principal } from "../auth/principal.js";

/**
 * What every application-layer function is given: the database, the time source and who is
 * asking. Routes, pages, background jobs and the Workers cron build one; none passes a Hono context.
 */
export interface ServiceContext {
  db: Database;
  clock: () => Date;
  principal: Principal;
}

/**
 * What work the platform does on its own is given (the Node timers, the Workers cron): no
 * principal, because nobody asks; such a function acts on every row its rule applies to, and
 * any audit row it writes names no organization. Only jobs take one; no request may build one.
 */
export interface SystemContext {
  db: Database;
  clock: () => Date;
}
