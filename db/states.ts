/**
 * State lists of the domain core as SQL text, for `state in (…)`: rendered as literals so that
 * a partial index built from one keeps its exact definition (no migration when nothing changes).
 */
import { sql } from "drizzle-orm";
import { RUNNING_SUBSCRIPTION_STATES } from "../contracts/billing.js";

/** contracts/billing.ts RUNNING_SUBSCRIPTION_STATES: `'active', 'suspended'`. */
export const RUNNING_SUBSCRIPTION_STATES_SQL = sql.raw(
  RUNNING_SUBSCRIPTION_STATES.map((state) => `'${state}'`).join(", "),
);
