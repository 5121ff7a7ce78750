import { billingRouter } from "./billing/billing.index.js";
import { contractsRouter } from "./contracts/contracts.index.js";
import { dashboardRouter } from "./dashboard/dashboard.index.js";
import { facilitiesRouter } from "./facilities/facilities.index.js";
import { financeRouter } from "./finance/finance.index.js";
import { incidentsRouter } from "./incidents/incidents.index.js";
import { notificationsRouter } from "./notifications/notifications.index.js";
import { organizationsRouter } from "./organizations/organizations.index.js";
import { paymentsRouter } from "./payments/payments.index.js";
import { placesRouter } from "./places/places.index.js";
import { reportsRouter } from "./reports/reports.index.js";
import { sensorsRouter } from "./sensors/sensors.index.js";
import { snapshotsRouter } from "./snapshots/snapshots.index.js";
import { statementsRouter } from "./statements/statements.index.js";
import { subscriptionsRouter } from "./subscriptions/subscriptions.index.js";

/** Every router under /v1, in the order they appear in the OpenAPI document. */
export const v1Routers = [
  placesRouter,
  organizationsRouter,
  facilitiesRouter,
  contractsRouter,
  sensorsRouter,
  incidentsRouter,
  subscriptionsRouter,
  billingRouter,
  paymentsRouter,
  statementsRouter,
  reportsRouter,
  financeRouter,
  dashboardRouter,
  notificationsRouter,
  snapshotsRouter,
];
