import type { Logger } from "pino";
import type { Database } from "../db/database.js";
import type { DeviceBroker } from "../iot/device-broker.js";
import type { Ingest } from "../iot/ingest.js";
import type { KeyCache } from "./auth/key-cache.js";
import type { Principal } from "./auth/principal.js";

/** One check of /readyz: whether it passes and, when it does not, why (a short sentence for an operator). */
export interface ReadinessCheck {
  ok: boolean;
  reason?: string;
}

/** What the app is built from: nothing here is a module-level singleton. */
export interface AppDeps {
  db: Database;
  logger: Logger;
  /** The time source; tests pass a fixed clock. */
  clock: () => Date;
  /** SHA-256 of ADMIN_TOKEN (the platform's bootstrap key), when set. */
  adminTokenHash?: string;
  /** Readiness of parts other than the database (the MQTT consumer, the ingest writer). */
  readiness?: () => Promise<Record<string, ReadinessCheck>>;
  /** Pings the database; throws when unreachable. */
  pingDatabase: () => Promise<void>;
  /** Sensor ingest (the HTTP ingest route writes through it, as the MQTT path does). */
  ingest: Ingest;
  /**
   * The broker's side of sensors' logins (iot/device-broker.ts): told inside the registering,
   * rotating and revoking transactions. Unset (tests of the API alone): nothing to tell.
   */
  devices?: DeviceBroker;
  /** Organization keys resolved to principals, cached a few seconds (revoking a key forgets it). */
  keyCache: KeyCache;
  /** Default heartbeat interval of a newly registered sensor (SENSOR_HEARTBEAT_S). */
  sensorHeartbeatS?: number;
}

export interface AppEnv {
  Variables: {
    deps: AppDeps;
    logger: Logger;
    requestId: string;
    principal: Principal;
  };
}
