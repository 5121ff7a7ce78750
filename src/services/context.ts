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
